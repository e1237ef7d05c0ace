/* Registered host memory: the GPU copies straight from and into your arrays,
 * with no staging copy on the host (the analogue of cudaHostRegister).
 * Allocate page-aligned arrays, register them once, stream chunks through a
 * device buffer (write, y = 2x + y with the built-in axpy, read), unregister.
 * The contract: do not touch a chunk being written until its ticket completes;
 * a read's chunk holds the result once its ticket completes.
 * Usage: registered [MiB]   (default 64) */
#include "example_util.h"

#include <math.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 64;
    if (mib == 0) {
        mib = 64;
    }
    gpuasync_executor ex;
    TRY(gpuasync_executor_create(NULL, &ex));
    size_t align;
    gpuasync_status s = gpuasync_host_alignment(ex, &align);
    if (s == GPUASYNC_UNSUPPORTED) {
        printf("this device cannot register host memory; nothing to show\n");
        TRY(gpuasync_executor_destroy(ex));
        return 0;
    }
    TRY(s);

    /* Sizes and addresses must be multiples of the alignment (4096 on common drivers). */
    size_t bytes = mib << 20, n = bytes / sizeof(float);
    bytes = (bytes + align - 1) / align * align;
    float *x = aligned_alloc(align, bytes), *y = aligned_alloc(align, bytes);
    if (x == NULL || y == NULL) {
        fprintf(stderr, "out of host memory\n");
        return 1;
    }
    uint64_t state = 11;
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(example_next(&state) >> 40) / 16777216.0f;
        y[i] = (float)(example_next(&state) >> 40) / 16777216.0f;
    }
    float *y0 = malloc(n * sizeof(float));
    if (y0 == NULL) {
        fprintf(stderr, "out of host memory\n");
        return 1;
    }
    memcpy(y0, y, n * sizeof(float));
    TRY(gpuasync_host_register(ex, x, bytes));
    TRY(gpuasync_host_register(ex, y, bytes));

    /* Chunks of 4M floats through two device buffers; y is updated in place. */
    enum { CHUNK = 1 << 22 };
    gpuasync_buffer xb, yb;
    TRY(gpuasync_buffer_create(ex, CHUNK * sizeof(float), GPUASYNC_BUFFER_DEVICE_LOCAL, &xb));
    TRY(gpuasync_buffer_create(ex, CHUNK * sizeof(float), GPUASYNC_BUFFER_DEVICE_LOCAL, &yb));
    gpuasync_ticket last = 0;
    for (size_t at = 0; at < n; at += CHUNK) {
        size_t len = n - at < CHUNK ? n - at : CHUNK;
        gpuasync_builtin axpy = { 0 };
        axpy.kind = GPUASYNC_BUILTIN_AXPY, axpy.type = GPUASYNC_F32, axpy.n = len, axpy.alpha = 2.0;
        axpy.a.buffer = xb, axpy.b.buffer = yb, axpy.c.buffer = yb;
        gpuasync_op ops[4];
        memset(ops, 0, sizeof ops);
        ops[0].kind = GPUASYNC_OP_WRITE, ops[0].buffer = xb, ops[0].size = len * sizeof(float), ops[0].host_src = x + at;
        ops[1].kind = GPUASYNC_OP_WRITE, ops[1].buffer = yb, ops[1].size = len * sizeof(float), ops[1].host_src = y + at;
        ops[2].kind = GPUASYNC_OP_BUILTIN, ops[2].builtin = &axpy;
        /* Into the same registered chunk of y: ordered after the write above. */
        ops[3].kind = GPUASYNC_OP_READ, ops[3].buffer = yb, ops[3].size = len * sizeof(float), ops[3].host_dst = y + at;
        TRY(gpuasync_executor_submit(ex, ops, 4, 0, &last));
    }
    TRY(gpuasync_ticket_wait(ex, last, UINT64_MAX));   /* every chunk of y now holds 2x + y */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double want = 2.0 * x[i] + y0[i];
        worst = fmax(worst, fabs(y[i] - want) / want);
    }
    printf("%zu MiB through registered memory: worst relative error %.2g\n", mib, worst);
    TRY(gpuasync_host_unregister(ex, x));              /* the work on them has completed */
    TRY(gpuasync_host_unregister(ex, y));
    TRY(gpuasync_buffer_destroy(ex, xb));
    TRY(gpuasync_buffer_destroy(ex, yb));
    example_check_validation(ex);
    TRY(gpuasync_executor_destroy(ex));
    free(x);
    free(y);
    free(y0);
    return worst > 2.5e-7 ? 1 : 0;
}
