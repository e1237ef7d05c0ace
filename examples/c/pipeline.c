/* The asynchronous pipeline in C (the same program as ../fortran/pipeline.f90):
 * a stream of chunks through the lcg kernel with at most `depth` in flight;
 * while the GPU computes chunk i the CPU prepares chunk i+1 and checks chunk
 * i-1. Every element checked; wall time and GPU time (timestamps) printed.
 * Usage: pipeline [lcg.spv] [chunks] [elements per chunk] [depth] */
#include "example_util.h"

#include <time.h>

enum { ITERATIONS = 64, MAX_DEPTH = 16 };

typedef struct lcg_push {
    uint32_t n, iterations;
} lcg_push;

static double now_ms(void)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void prepare(int chunk, uint32_t *input, size_t n)
{
    uint64_t state = 88172645463325252ull + (uint64_t)chunk;
    for (size_t k = 0; k < n; k++) {
        uint32_t v = (uint32_t)(example_next(&state) >> 32);
        input[k] = v ? v : 1;
    }
}

int main(int argc, char **argv)
{
    const char *spv = argc > 1 ? argv[1] : "spirv/lcg.spv";
    int chunks = argc > 2 ? atoi(argv[2]) : 24;
    size_t n = argc > 3 ? (size_t)atol(argv[3]) : 65536;
    int depth = argc > 4 ? atoi(argv[4]) : 3;
    if (chunks < 1 || n < 1 || depth < 1 || depth > MAX_DEPTH) {
        fprintf(stderr, "usage: pipeline [lcg.spv] [chunks >= 1] [elements >= 1] [depth 1..%d]\n", MAX_DEPTH);
        return 2;
    }
    uint32_t mul = 1, add = 0;
    for (int k = 0; k < ITERATIONS; k++) {
        mul *= 1664525u;
        add = add * 1664525u + 1013904223u;
    }

    gpuasync_executor ex;
    gpuasync_kernel lcg;
    TRY(gpuasync_executor_create(NULL, &ex));
    TRY(gpuasync_kernel_create_from_file(ex, spv, "main", NULL, 0, &lcg));
    gpuasync_buffer data[MAX_DEPTH];
    uint32_t *inputs[MAX_DEPTH], *results[MAX_DEPTH];
    gpuasync_ticket tickets[MAX_DEPTH][3];
    for (int s = 0; s < depth; s++) {
        TRY(gpuasync_buffer_create(ex, n * 4, GPUASYNC_BUFFER_DEVICE_LOCAL, &data[s]));
        inputs[s] = malloc(n * 4);
        results[s] = malloc(n * 4);
        if (!inputs[s] || !results[s]) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
    }
    lcg_push push = { (uint32_t)n, ITERATIONS };
    uint64_t busy_ns = 0, first_begin = UINT64_MAX, last_end = 0;
    long long wrong = 0;
    int overlapped = 0;

    double t0 = now_ms();
    for (int i = 0; i < chunks + depth; i++) {
        int s = i % depth;
        if (i >= depth) { /* consume chunk i - depth, freeing its slot */
            TRY(gpuasync_ticket_wait(ex, tickets[s][2], UINT64_MAX));
            for (int k = 0; k < 3; k++) {
                gpuasync_timing t;
                TRY(gpuasync_ticket_wait(ex, tickets[s][k], UINT64_MAX));
                TRY(gpuasync_ticket_timing(ex, tickets[s][k], &t));
                busy_ns += t.gpu_end_ns - t.gpu_begin_ns;
                first_begin = t.gpu_begin_ns < first_begin ? t.gpu_begin_ns : first_begin;
                last_end = t.gpu_end_ns > last_end ? t.gpu_end_ns : last_end;
            }
            for (size_t k = 0; k < n; k++) {
                wrong += results[s][k] != mul * inputs[s][k] + add;
            }
        }
        if (i >= chunks) {
            continue;
        }
        prepare(i, inputs[s], n); /* CPU work while the GPU runs earlier chunks */
        if (i > 0 && gpuasync_ticket_poll(ex, tickets[(i - 1) % depth][2]) == GPUASYNC_NOT_READY) {
            overlapped++;
        }
        gpuasync_buffer binding = data[s];
        TRY(gpuasync_buffer_write(ex, data[s], 0, inputs[s], n * 4, GPUASYNC_SUBMIT_TIMESTAMPS, &tickets[s][0]));
        TRY(gpuasync_kernel_dispatch(ex, lcg, &binding, 1, &push, sizeof push, (uint32_t)((n + 63) / 64), 1, 1,
                                     GPUASYNC_SUBMIT_TIMESTAMPS, &tickets[s][1]));
        TRY(gpuasync_buffer_read(ex, data[s], 0, results[s], n * 4, GPUASYNC_SUBMIT_TIMESTAMPS, &tickets[s][2]));
    }
    double wall = now_ms() - t0;

    gpuasync_device_info info;
    TRY(gpuasync_executor_device_info(ex, &info));
    double span = (double)(last_end - first_begin);
    printf("device: %s\n%d chunks of %zu elements, %d LCG steps each, at most %d chunks in flight\n", info.name,
           chunks, n, ITERATIONS, depth);
    printf("CPU preparation overlapped a running GPU chunk %d of %d times\n", overlapped, chunks - 1);
    printf("wall time (all results landed): %10.3f ms\n", wall);
    printf("GPU busy time (timestamps):     %10.3f ms over a span of %10.3f ms (%.1f%% busy)\n", (double)busy_ns / 1e6,
           span / 1e6, span > 0 ? 100.0 * (double)busy_ns / span : 0.0);
    printf("elements checked: %lld, wrong: %lld\n", (long long)chunks * (long long)n, wrong);
    example_check_validation(ex);
    TRY(gpuasync_executor_destroy(ex));
    for (int s = 0; s < depth; s++) {
        free(inputs[s]);
        free(results[s]);
    }
    return wrong == 0 ? 0 : 1;
}
