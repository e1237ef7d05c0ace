/*
 * gpuasync demo: y = a*x + y on the GPU, asynchronously, while the CPU works.
 *
 *   demo [path/to/saxpy.spv]
 *
 * 1. Create an executor on the best Vulkan device (lavapipe on a machine with
 *    no GPU). Set GPUASYNC_VALIDATION=1 to load the Khronos validation layer.
 * 2. Submit write x, write y, dispatch saxpy, read y as one unit of work. The
 *    call returns a ticket at once.
 * 3. Keep the CPU busy (here: computing the same result on the CPU, in chunks)
 *    and poll the ticket between chunks. The read's bytes land in our array
 *    during the poll that first sees the ticket complete.
 * 4. Check every element and print the GPU time measured with timestamps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpuasync.h"

#ifndef SPIRV_DIR
#define SPIRV_DIR "spirv"
#endif

/* Stop with the status name and the library's message when a call fails. */
#define TRY(call)                                                                                   \
    do {                                                                                            \
        gpuasync_status status_ = (call);                                                           \
        if (status_ != GPUASYNC_OK) {                                                               \
            char message_[512];                                                                     \
            gpuasync_last_error(message_, sizeof message_);                                         \
            fprintf(stderr, "%s failed: %s: %s\n", #call, gpuasync_status_string(status_), message_); \
            exit(1);                                                                                \
        }                                                                                           \
    } while (0)

/* saxpy.comp's push-constant block: layout(push_constant) { float a; uint n; }. */
struct saxpy_params {
    float a;
    uint32_t n;
};

/* A small xorshift generator, so the input is random but reproducible. */
static uint32_t rng_state = 2463534242u;
static float random_float(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return 0.5f + (float)(rng_state >> 8) / 16777216.0f; /* in [0.5, 1.5): never zero */
}

/* The CPU reference: out[i] = a * x[i] + y[i] for begin <= i < end. */
static void cpu_saxpy(float a, const float *x, const float *y, float *out, uint32_t begin, uint32_t end)
{
    for (uint32_t i = begin; i < end; i++) {
        out[i] = a * x[i] + y[i];
    }
}

static const char *device_type_name(uint32_t type)
{
    switch (type) {
    case GPUASYNC_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case GPUASYNC_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case GPUASYNC_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case GPUASYNC_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
    }
}

int main(int argc, char **argv)
{
    const char *spv = argc > 1 ? argv[1] : SPIRV_DIR "/saxpy.spv";
    const uint32_t n = 1u << 20;
    const size_t bytes = (size_t)n * sizeof(float);

    /* The executor: NULL asks for the defaults (best device). */
    gpuasync_executor ex;
    TRY(gpuasync_executor_create(NULL, &ex));
    struct gpuasync_device_info info;
    TRY(gpuasync_executor_device_info(ex, &info));
    printf("device: %s (%s, Vulkan %u.%u.%u)\n", info.name, device_type_name(info.device_type),
           (info.api_version >> 22) & 0x7Fu, (info.api_version >> 12) & 0x3FFu, info.api_version & 0xFFFu);

    /* Random input. y_gpu receives the result; x and y stay as the CPU's input. */
    float *x = malloc(bytes), *y = malloc(bytes), *y_gpu = malloc(bytes), *y_cpu = malloc(bytes);
    if (!x || !y || !y_gpu || !y_cpu) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        x[i] = random_float();
        y[i] = random_float();
    }
    const struct saxpy_params params = {2.5f, n};

    /* Device buffers and the kernel (its bindings: 0 = x, 1 = y). */
    gpuasync_buffer bx, by;
    TRY(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &bx));
    TRY(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &by));
    gpuasync_kernel saxpy;
    TRY(gpuasync_kernel_create_from_file(ex, spv, "main", NULL, 0, &saxpy));
    const gpuasync_buffer bindings[2] = {bx, by};

    /* One submission of four ops; fields an op does not use stay zero. */
    const gpuasync_op ops[4] = {
        {.kind = GPUASYNC_OP_WRITE, .buffer = bx, .size = bytes, .host_src = x},
        {.kind = GPUASYNC_OP_WRITE, .buffer = by, .size = bytes, .host_src = y},
        {.kind = GPUASYNC_OP_DISPATCH,
         .kernel = saxpy,
         .bindings = bindings,
         .binding_count = 2,
         .push_constants = &params,
         .push_constant_size = sizeof params,
         .groups = {(n + 63) / 64, 1, 1}}, /* saxpy.comp: local_size_x = 64 */
        {.kind = GPUASYNC_OP_READ, .buffer = by, .size = bytes, .host_dst = y_gpu},
    };
    gpuasync_ticket ticket;
    TRY(gpuasync_executor_submit(ex, ops, 4, GPUASYNC_SUBMIT_TIMESTAMPS, &ticket));
    /* x and y are ours again already: writes copy their bytes before submit returns. */

    /* CPU work while the GPU runs: the reference, a chunk at a time, polling
     * in between. Leave y_gpu alone until a poll (or wait) returns OK. */
    const uint32_t chunk = 8192;
    uint32_t done = 0;             /* reference elements computed so far */
    unsigned long busy_polls = 0;  /* polls that found the GPU still working */
    gpuasync_status status;
    while ((status = gpuasync_ticket_poll(ex, ticket)) == GPUASYNC_NOT_READY) {
        busy_polls++;
        if (done == n) { /* no CPU work left: block instead of spinning */
            status = gpuasync_ticket_wait(ex, ticket, UINT64_MAX);
            break;
        }
        uint32_t end = n - done > chunk ? done + chunk : n;
        cpu_saxpy(params.a, x, y, y_cpu, done, end);
        done = end;
    }
    TRY(status);
    const uint32_t overlapped = done;
    cpu_saxpy(params.a, x, y, y_cpu, done, n); /* the rest, if the GPU finished first */

    /* Check every element. The device may fuse a*x+y into one FMA, so allow
     * a couple of rounding steps; a wrong element is off by far more. */
    uint32_t wrong = 0;
    for (uint32_t i = 0; i < n; i++) {
        float tolerance = 2.4e-7f * (fabsf(params.a * x[i]) + fabsf(y[i]));
        if (!(fabsf(y_gpu[i] - y_cpu[i]) <= tolerance) && wrong++ < 5) {
            fprintf(stderr, "element %u: GPU %.9g, CPU %.9g\n", i, (double)y_gpu[i], (double)y_cpu[i]);
        }
    }
    if (wrong == 0) {
        printf("%u elements correct\n", n);
    } else {
        printf("%u of %u elements WRONG\n", wrong, n);
    }

    /* GPU time from the submission's timestamps. */
    gpuasync_timing timing;
    status = gpuasync_ticket_timing(ex, ticket, &timing);
    if (status == GPUASYNC_OK) {
        printf("GPU time: %.1f us (write, dispatch, read)\n", (double)(timing.gpu_end_ns - timing.gpu_begin_ns) / 1e3);
    } else {
        printf("GPU time: not available (%s)\n", gpuasync_status_string(status));
    }
    printf("polls while the GPU worked: %lu (meanwhile the CPU computed %u of %u reference elements)\n",
           busy_polls, overlapped, n);

    /* Clean up (destroying the executor alone would also free its buffers and kernel). */
    TRY(gpuasync_kernel_destroy(ex, saxpy));
    TRY(gpuasync_buffer_destroy(ex, bx));
    TRY(gpuasync_buffer_destroy(ex, by));
    TRY(gpuasync_executor_destroy(ex));
    free(x);
    free(y);
    free(y_gpu);
    free(y_cpu);
    return wrong == 0 ? 0 : 1;
}
