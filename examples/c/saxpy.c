/* The smallest complete gpuasync program in C: y = a*x + y, checked.
 * Usage: saxpy [path/to/saxpy.spv] */
#include "example_util.h"

#include <math.h>

int main(int argc, char **argv)
{
    enum { N = 100000 };
    static float x[N], y[N], result[N];
    uint64_t state = 42;
    for (int i = 0; i < N; i++) {
        x[i] = 0.5f + (float)(example_next(&state) >> 40) / 16777216.0f;
        y[i] = -1.5f + (float)(example_next(&state) >> 40) / 16777216.0f;
    }

    gpuasync_executor ex;
    gpuasync_buffer xb, yb;
    gpuasync_kernel saxpy;
    gpuasync_ticket ticket;
    TRY(gpuasync_executor_create(NULL, &ex));
    TRY(gpuasync_buffer_create(ex, sizeof x, GPUASYNC_BUFFER_DEVICE_LOCAL, &xb));
    TRY(gpuasync_buffer_create(ex, sizeof y, GPUASYNC_BUFFER_DEVICE_LOCAL, &yb));
    TRY(gpuasync_kernel_create_from_file(ex, argc > 1 ? argv[1] : "spirv/saxpy.spv", "main", NULL, 0, &saxpy));

    struct { float a; uint32_t n; } push = { 2.0f, N };
    gpuasync_buffer bindings[2] = { xb, yb };
    TRY(gpuasync_buffer_write(ex, xb, 0, x, sizeof x, 0, &ticket));   /* x is copied: free at once */
    TRY(gpuasync_buffer_write(ex, yb, 0, y, sizeof y, 0, &ticket));
    TRY(gpuasync_kernel_dispatch(ex, saxpy, bindings, 2, &push, sizeof push, (N + 63) / 64, 1, 1, 0, &ticket));
    TRY(gpuasync_buffer_read(ex, yb, 0, result, sizeof result, 0, &ticket)); /* returns at once */
    TRY(gpuasync_ticket_wait(ex, ticket, UINT64_MAX));                       /* result has landed */

    int wrong = 0;
    for (int i = 0; i < N; i++) {
        float want = 2.0f * x[i] + y[i];
        wrong += fabsf(result[i] - want) > 4.0f * 1.2e-7f * (2.0f * fabsf(x[i]) + fabsf(y[i]));
    }
    gpuasync_device_info info;
    TRY(gpuasync_executor_device_info(ex, &info));
    printf("device: %s\nsaxpy of %d elements, %d wrong\n", info.name, N, wrong);
    example_check_validation(ex);
    TRY(gpuasync_executor_destroy(ex));
    return wrong == 0 ? 0 : 1;
}
