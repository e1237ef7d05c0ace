/* Built-in kernels from C: no SPIR-V to write. One submission writes x and
 * y, runs y = a*x + y, dot(x, y) and nrm2(y) as GPUASYNC_OP_BUILTIN ops and
 * reads the results; then C = A B as one gpuasync_builtin_submit.
 * Usage: builtin */
#include "example_util.h"

#include <math.h>

enum { N = 100000, M = 64 };

static gpuasync_operand vector(gpuasync_buffer b, uint64_t offset)
{
    gpuasync_operand o = { b, offset, 0 };
    return o;
}

int main(void)
{
    static float x[N], y[N], y_out[N];
    static double a[M * M], b[M * M], c[M * M];
    float results[2];
    uint64_t state = 7;
    for (int i = 0; i < N; i++) {
        x[i] = (float)(example_next(&state) >> 40) / 16777216.0f - 0.5f;
        y[i] = (float)(example_next(&state) >> 40) / 16777216.0f - 0.5f;
    }
    for (int i = 0; i < M * M; i++) {
        a[i] = (double)(example_next(&state) >> 11) / 9007199254740992.0;
        b[i] = (double)(example_next(&state) >> 11) / 9007199254740992.0;
    }

    gpuasync_executor ex;
    gpuasync_buffer xb, yb, rb, ab, bb, cb;
    gpuasync_ticket ticket;
    TRY(gpuasync_executor_create(NULL, &ex));
    TRY(gpuasync_buffer_create(ex, sizeof x, GPUASYNC_BUFFER_DEVICE_LOCAL, &xb));
    TRY(gpuasync_buffer_create(ex, sizeof y, GPUASYNC_BUFFER_DEVICE_LOCAL, &yb));
    TRY(gpuasync_buffer_create(ex, sizeof results, GPUASYNC_BUFFER_DEVICE_LOCAL, &rb));

    /* Level 1: operands are (buffer, element offset, leading dimension). */
    gpuasync_builtin axpy = { 0 }, dot = { 0 }, nrm2 = { 0 };
    axpy.kind = GPUASYNC_BUILTIN_AXPY;               /* c = alpha * a + b; here c is b: y = 2x + y */
    axpy.type = GPUASYNC_F32;
    axpy.n = N;
    axpy.alpha = 2.0;
    axpy.a = vector(xb, 0);
    axpy.b = vector(yb, 0);
    axpy.c = vector(yb, 0);
    dot = axpy;                                      /* results[0] = x . y */
    dot.kind = GPUASYNC_BUILTIN_DOT;
    dot.c = vector(rb, 0);
    nrm2 = axpy;                                     /* results[1] = ||y|| */
    nrm2.kind = GPUASYNC_BUILTIN_NRM2;
    nrm2.a = vector(yb, 0);
    nrm2.c = vector(rb, 1);

    gpuasync_op ops[7];
    memset(ops, 0, sizeof ops);
    ops[0].kind = GPUASYNC_OP_WRITE, ops[0].buffer = xb, ops[0].size = sizeof x, ops[0].host_src = x;
    ops[1].kind = GPUASYNC_OP_WRITE, ops[1].buffer = yb, ops[1].size = sizeof y, ops[1].host_src = y;
    ops[2].kind = GPUASYNC_OP_BUILTIN, ops[2].builtin = &axpy;
    ops[3].kind = GPUASYNC_OP_BUILTIN, ops[3].builtin = &dot;
    ops[4].kind = GPUASYNC_OP_BUILTIN, ops[4].builtin = &nrm2;
    ops[5].kind = GPUASYNC_OP_READ, ops[5].buffer = yb, ops[5].size = sizeof y_out, ops[5].host_dst = y_out;
    ops[6].kind = GPUASYNC_OP_READ, ops[6].buffer = rb, ops[6].size = sizeof results, ops[6].host_dst = results;
    TRY(gpuasync_executor_submit(ex, ops, 7, 0, &ticket));  /* one submission, returns at once */

    /* GEMM, column-major as BLAS: C = 1.0 * A B + 0.0 * C (beta = 0: C is not read). */
    TRY(gpuasync_buffer_create(ex, sizeof a, GPUASYNC_BUFFER_DEVICE_LOCAL, &ab));
    TRY(gpuasync_buffer_create(ex, sizeof b, GPUASYNC_BUFFER_DEVICE_LOCAL, &bb));
    TRY(gpuasync_buffer_create(ex, sizeof c, GPUASYNC_BUFFER_DEVICE_LOCAL, &cb));
    gpuasync_ticket gemm_ticket;
    TRY(gpuasync_buffer_write(ex, ab, 0, a, sizeof a, 0, &gemm_ticket));
    TRY(gpuasync_buffer_write(ex, bb, 0, b, sizeof b, 0, &gemm_ticket));
    gpuasync_builtin gemm = { 0 };
    gemm.kind = GPUASYNC_BUILTIN_GEMM;
    gemm.type = GPUASYNC_F64;                        /* needs float64 (gpuasync_device_info.float64) */
    gemm.trans_a = 0, gemm.trans_b = 0;
    gemm.m = gemm.n = gemm.k = M;
    gemm.alpha = 1.0, gemm.beta = 0.0;
    gemm.a.buffer = ab, gemm.a.ld = M;
    gemm.b.buffer = bb, gemm.b.ld = M;
    gemm.c.buffer = cb, gemm.c.ld = M;
    gpuasync_device_info info;
    TRY(gpuasync_executor_device_info(ex, &info));
    if (!info.float64) {
        printf("%s has no float64: skipping the dgemm\n", info.name);
    } else {
        TRY(gpuasync_builtin_submit(ex, &gemm, 0, &gemm_ticket));
        TRY(gpuasync_buffer_read(ex, cb, 0, c, sizeof c, 0, &gemm_ticket));
    }

    TRY(gpuasync_ticket_wait(ex, ticket, UINT64_MAX));       /* y_out and results have landed */
    double dot_ref = 0, dot_abs = 0, nrm_ref = 0, worst = 0;
    for (int i = 0; i < N; i++) {
        double y_new = 2.0 * x[i] + y[i];
        worst = fmax(worst, fabs(y_out[i] - y_new) / (2.0 * fabs(x[i]) + fabs(y[i])));
        dot_ref += (double)x[i] * y_out[i];
        dot_abs += fabs((double)x[i] * y_out[i]);
        nrm_ref += (double)y_out[i] * y_out[i];
    }
    nrm_ref = sqrt(nrm_ref);
    printf("device: %s\n", info.name);
    printf("axpy: worst relative error %.2g; dot %.7g (double: %.7g); nrm2 %.7g (double: %.7g)\n", worst,
           (double)results[0], dot_ref, (double)results[1], nrm_ref);
    /* Rounding bounds: axpy 2 roundings; dot and nrm2 about one rounding of
     * the exact value, plus (dot, where fma() rounds twice) one per product. */
    int wrong = worst > 2.5e-7 || fabs(results[0] - dot_ref) > 1.2e-7 * (fabs(dot_ref) + dot_abs) ||
                fabs(results[1] - nrm_ref) > 1e-5 * nrm_ref;

    if (info.float64) {
        TRY(gpuasync_ticket_wait(ex, gemm_ticket, UINT64_MAX));
        double err = 0;
        for (int j = 0; j < M; j++) {
            for (int i = 0; i < M; i++) {
                double s = 0;
                for (int l = 0; l < M; l++) {
                    s += a[i + l * M] * b[l + j * M];
                }
                err = fmax(err, fabs(c[i + j * M] - s) / s);
            }
        }
        printf("dgemm %d x %d: worst relative error %.2g\n", M, M, err);
        wrong |= err > 1e-13;
    }
    example_check_validation(ex);
    TRY(gpuasync_executor_destroy(ex));
    return wrong ? 1 : 0;
}
