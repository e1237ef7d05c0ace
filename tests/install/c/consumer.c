/* Install-tree consumer: saxpy through the installed header and library,
 * every element checked; validation must be on and quiet when asked for. */
#include <gpuasync.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 4096

static int fail(const char *what, gpuasync_status status)
{
    char message[512];
    gpuasync_last_error(message, sizeof message);
    fprintf(stderr, "consumer: %s: %s: %s\n", what, gpuasync_status_string(status), message);
    return 1;
}

int main(int argc, char **argv)
{
    static float x[N], y[N], out[N];
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < N; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        x[i] = 0.5f + (float)(state >> 40) / 16777216.0f;
        y[i] = -1.0f - (float)((state >> 16) & 0xFFFF) / 65536.0f;
    }
    if (gpuasync_version() != GPUASYNC_VERSION) {
        fprintf(stderr, "consumer: header and library versions differ\n");
        return 1;
    }
    gpuasync_executor ex;
    gpuasync_buffer xb, yb;
    gpuasync_kernel k;
    gpuasync_ticket t;
    gpuasync_status s;
    if ((s = gpuasync_executor_create(NULL, &ex)) != GPUASYNC_OK) return fail("executor_create", s);
    if ((s = gpuasync_buffer_create(ex, sizeof x, GPUASYNC_BUFFER_DEVICE_LOCAL, &xb)) != GPUASYNC_OK) return fail("buffer_create", s);
    if ((s = gpuasync_buffer_create(ex, sizeof y, GPUASYNC_BUFFER_DEVICE_LOCAL, &yb)) != GPUASYNC_OK) return fail("buffer_create", s);
    if ((s = gpuasync_kernel_create_from_file(ex, argc > 1 ? argv[1] : "saxpy.spv", "main", NULL, 0, &k)) != GPUASYNC_OK)
        return fail("kernel_create_from_file", s);
    struct { float a; uint32_t n; } push = { 3.0f, N };
    gpuasync_buffer bindings[2] = { xb, yb };
    if ((s = gpuasync_buffer_write(ex, xb, 0, x, sizeof x, 0, &t)) != GPUASYNC_OK) return fail("write", s);
    if ((s = gpuasync_buffer_write(ex, yb, 0, y, sizeof y, 0, &t)) != GPUASYNC_OK) return fail("write", s);
    if ((s = gpuasync_kernel_dispatch(ex, k, bindings, 2, &push, sizeof push, N / 64, 1, 1, 0, &t)) != GPUASYNC_OK)
        return fail("dispatch", s);
    if ((s = gpuasync_buffer_read(ex, yb, 0, out, sizeof out, 0, &t)) != GPUASYNC_OK) return fail("read", s);
    if ((s = gpuasync_ticket_wait(ex, t, UINT64_MAX)) != GPUASYNC_OK) return fail("wait", s);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float want = 3.0f * x[i] + y[i];
        if (fabsf(out[i] - want) > 4.0f * 1.2e-7f * (fabsf(3.0f * x[i]) + fabsf(y[i]))) bad++;
    }
    const char *validation = getenv("GPUASYNC_VALIDATION");
    if (validation != NULL && strcmp(validation, "1") == 0) {
        uint32_t enabled = 0;
        uint64_t messages = 1;
        if ((s = gpuasync_executor_validation(ex, &enabled, &messages)) != GPUASYNC_OK) return fail("validation", s);
        if (enabled != 1 || messages != 0) {
            fprintf(stderr, "consumer: validation enabled=%u messages=%llu\n", enabled, (unsigned long long)messages);
            return 1;
        }
    }
    if ((s = gpuasync_executor_destroy(ex)) != GPUASYNC_OK) return fail("executor_destroy", s);
    printf("consumer (C): saxpy of %d elements, %d wrong\n", N, bad);
    return bad == 0 ? 0 : 1;
}
