/* Your own GLSL kernel (../fortran/custom_kernel.comp, compiled by glslc at
 * build time) dispatched with a struct of push constants; every element checked.
 * Usage: custom_kernel path/to/custom_kernel.spv */
#include "example_util.h"

#include <math.h>

/* Mirrors `layout(push_constant) uniform Quadratic { float a, b, c; uint n; }`. */
typedef struct quadratic {
    float a, b, c;
    uint32_t n;
} quadratic;

int main(int argc, char **argv)
{
    enum { N = 50000 };
    static float x[N], y[N];
    uint64_t state = 7;
    for (int i = 0; i < N; i++) {
        x[i] = -2.0f + 4.0f * (float)(example_next(&state) >> 40) / 16777216.0f;
    }
    gpuasync_executor ex;
    gpuasync_kernel kernel;
    gpuasync_buffer xb, yb;
    gpuasync_kernel_info info;
    gpuasync_ticket ticket;
    TRY(gpuasync_executor_create(NULL, &ex));
    TRY(gpuasync_kernel_create_from_file(ex, argc > 1 ? argv[1] : "custom_kernel.spv", "main", NULL, 0, &kernel));
    TRY(gpuasync_kernel_describe(ex, kernel, &info));
    printf("kernel: %u bindings, %u bytes of push constants, workgroups of %u\n", info.binding_count,
           info.push_constant_size, info.local_size[0]);
    TRY(gpuasync_buffer_create(ex, sizeof x, GPUASYNC_BUFFER_DEVICE_LOCAL, &xb));
    TRY(gpuasync_buffer_create(ex, sizeof y, GPUASYNC_BUFFER_DEVICE_LOCAL, &yb));
    TRY(gpuasync_buffer_write(ex, xb, 0, x, sizeof x, 0, &ticket));
    gpuasync_buffer bindings[2] = { xb, yb };
    uint32_t groups = (N + info.local_size[0] - 1) / info.local_size[0];
    int wrong = 0;
    for (int round = 1; round <= 2; round++) {
        quadratic q = { 0.5f * (float)round, -1.25f, 0.75f / (float)round, N };
        TRY(gpuasync_kernel_dispatch(ex, kernel, bindings, 2, &q, sizeof q, groups, 1, 1, 0, &ticket));
        TRY(gpuasync_buffer_read(ex, yb, 0, y, sizeof y, 0, &ticket));
        TRY(gpuasync_ticket_wait(ex, ticket, UINT64_MAX));
        for (int i = 0; i < N; i++) {
            double want = ((double)q.a * x[i] + q.b) * x[i] + q.c;
            double scale = fabs((double)q.a * x[i] * x[i]) + fabs((double)q.b * x[i]) + fabs((double)q.c);
            wrong += fabs(y[i] - want) > 8 * 1.2e-7 * scale;
        }
        printf("a, b, c = %.3f %.3f %.3f: %d elements, %d wrong so far\n", (double)q.a, (double)q.b, (double)q.c, N,
               wrong);
    }
    example_check_validation(ex);
    TRY(gpuasync_executor_destroy(ex));
    return wrong == 0 ? 0 : 1;
}
