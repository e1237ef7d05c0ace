/*
 * The asynchronous contract, from C:
 * - one submission of ops (write, write, dispatch, read) with timestamps, and
 *   the same work as single-op calls with no waits in between (ordering comes
 *   from the library's hazard tracking); a chain of dependent submissions;
 *   barriers between ops on the same buffer inside one submission;
 * - a read's bytes land only in a poll or wait on the calling thread, never
 *   behind the program's back;
 * - poll is NOT_READY then OK on a long kernel, and stays OK; a wait that
 *   times out (0 ns, 1 ms) changes nothing, an unbounded wait completes;
 * - a buffer and a kernel destroyed while their work is in flight: the work
 *   still completes correctly;
 * - host-visible and readback buffers through gpuasync_buffer_map;
 * - fill and copy, as single ops and inside one submission;
 * - specialization constants (workgroup size and a value) with spec_fill;
 * - destroying an executor with reads in flight delivers them first.
 * Every result is checked element by element against a CPU reference.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */

#include <time.h>

#include "gpuasync_test.h"

/* The long kernel: lcg over 2^16 words. On lavapipe (2 cores) this many
 * iterations takes about half a second: long enough to observe in flight. */
#define LONG_N (1u << 16)
#define LONG_ITERATIONS 4000u

static void section(const char *name)
{
    printf("\n== %s\n", name);
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}





/* Host memory that a read must not have touched yet: every word is `mark`. */
static int untouched(const uint32_t *v, size_t n, uint32_t mark)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] != mark) {
            return 0;
        }
    }
    return 1;
}

static void fill_mark(uint32_t *v, size_t n, uint32_t mark)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = mark;
    }
}

/* Count elements of `got` that are not `iterations` LCG steps from `start`;
 * the affine shortcut checks all, the step-by-step loop a sample. */
static size_t lcg_mismatches(const uint32_t *got, const uint32_t *start, size_t n, uint32_t iterations,
                             test_rng *rng)
{
    uint32_t mul, add;
    test_lcg_affine(iterations, &mul, &add);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (got[i] != mul * start[i] + add) {
            if (bad < 5) {
                printf("     element %zu: got %#x, expected %#x\n", i, got[i], mul * start[i] + add);
            }
            bad++;
        }
    }
    for (int s = 0; s < 32; s++) {
        size_t i = (size_t)(test_rng_next(rng) % n);
        if (got[i] != test_lcg_steps(start[i], iterations)) {
            printf("     element %zu: step-by-step reference disagrees\n", i);
            bad++;
        }
    }
    return bad;
}

typedef struct kernels {
    gpuasync_kernel saxpy;
    gpuasync_kernel scale_add;
    gpuasync_kernel lcg;
} kernels;

static kernels load_kernels(gpuasync_executor ex)
{
    kernels k;
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("saxpy"), "main", NULL, 0, &k.saxpy));
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("scale_add"), "main", NULL, 0, &k.scale_add));
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("lcg"), "main", NULL, 0, &k.lcg));
    return k;
}

/* The four-op saxpy, submitted as one unit with timestamps. */
static void check_submit_ops(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("saxpy as one submission (write x, write y, dispatch, read y) with timestamps");
    const size_t n = 100003;
    const size_t bytes = n * sizeof(float);
    float *x = test_alloc(bytes), *y = test_alloc(bytes), *out = test_alloc(bytes);
    float *x_ref = test_alloc(bytes), *y_ref = test_alloc(bytes);
    test_fill_f32(rng, x, n);
    test_fill_f32(rng, y, n);
    memcpy(x_ref, x, bytes);
    memcpy(y_ref, y, bytes);
    const uint32_t mark = 0x7FC0DEADu; /* a NaN pattern no result can have */
    fill_mark((uint32_t *)out, n, mark);

    gpuasync_buffer bx, by;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &bx));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &by));
    const gpuasync_buffer bindings[2] = {bx, by};
    const saxpy_push push = {test_rng_f32(rng), (uint32_t)n};
    const gpuasync_op ops[4] = {
        write_op(bx, 0, x, bytes),
        write_op(by, 0, y, bytes),
        dispatch_op(k->saxpy, bindings, 2, &push, sizeof push, test_groups(n, 64)),
        read_op(by, 0, out, bytes),
    };
    gpuasync_ticket t = 0;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 4, GPUASYNC_SUBMIT_TIMESTAMPS, &t));
    CHECK(t != 0, "the submission has a nonzero ticket (%llu)", (unsigned long long)t);
    /* The write sources are the caller's again once submit returns. */
    test_fill_f32(rng, x, n);
    test_fill_f32(rng, y, n);
    /* Give the device ample time: still, no read byte may land without a poll or wait. */
    sleep_ms(200);
    CHECK(untouched((const uint32_t *)out, n, mark), "no read byte lands before a poll or wait sees the ticket");

    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    size_t bad = test_saxpy_mismatches(out, push.a, x_ref, y_ref, n);
    CHECK(bad == 0, "saxpy: all %zu elements match the CPU reference (%zu differ)", n, bad);

    gpuasync_timing timing;
    memset(&timing, 0, sizeof timing);
    EXPECT_OK(gpuasync_ticket_timing(ex, t, &timing));
    CHECK(timing.gpu_end_ns >= timing.gpu_begin_ns, "timing: gpu_end_ns %llu >= gpu_begin_ns %llu",
          (unsigned long long)timing.gpu_end_ns, (unsigned long long)timing.gpu_begin_ns);
    CHECK(timing.host_complete_ns >= timing.host_submit_ns, "timing: host_complete_ns >= host_submit_ns");
    printf("     GPU time %.1f us\n", (double)(timing.gpu_end_ns - timing.gpu_begin_ns) / 1e3);

    EXPECT_OK(gpuasync_buffer_destroy(ex, bx));
    EXPECT_OK(gpuasync_buffer_destroy(ex, by));
    free(x);
    free(y);
    free(out);
    free(x_ref);
    free(y_ref);
}

/* The same work as single-op calls, with no wait until the last ticket. */
static void check_single_ops(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("saxpy as single-op calls (write, write, dispatch, read), no waits in between");
    const size_t n = 50021;
    const size_t bytes = n * sizeof(float);
    float *x = test_alloc(bytes), *y = test_alloc(bytes), *out = test_alloc(bytes);
    test_fill_f32(rng, x, n);
    test_fill_f32(rng, y, n);
    fill_mark((uint32_t *)out, n, 0x7FC0DEADu);
    gpuasync_buffer bx, by;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &bx));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &by));
    const gpuasync_buffer bindings[2] = {bx, by};
    const saxpy_push push = {test_rng_f32(rng), (uint32_t)n};
    gpuasync_ticket t[4];
    REQUIRE_OK(gpuasync_buffer_write(ex, bx, 0, x, bytes, 0, &t[0]));
    REQUIRE_OK(gpuasync_buffer_write(ex, by, 0, y, bytes, 0, &t[1]));
    REQUIRE_OK(gpuasync_kernel_dispatch(ex, k->saxpy, bindings, 2, &push, sizeof push, test_groups(n, 64), 1, 1,
                                        GPUASYNC_SUBMIT_TIMESTAMPS, &t[2]));
    REQUIRE_OK(gpuasync_buffer_read(ex, by, 0, out, bytes, 0, &t[3]));
    EXPECT_OK(gpuasync_ticket_wait(ex, t[3], UINT64_MAX));
    size_t bad = test_saxpy_mismatches(out, push.a, x, y, n);
    CHECK(bad == 0, "saxpy: all %zu elements match the CPU reference (%zu differ)", n, bad);
    for (int i = 0; i < 3; i++) {
        CHECK(gpuasync_ticket_poll(ex, t[i]) == GPUASYNC_OK, "the earlier ticket %d is complete too", i);
    }
    gpuasync_timing timing;
    EXPECT_OK(gpuasync_ticket_timing(ex, t[2], &timing));
    CHECK(timing.gpu_end_ns >= timing.gpu_begin_ns, "the dispatch's timing: gpu_end_ns >= gpu_begin_ns");
    EXPECT_OK(gpuasync_buffer_destroy(ex, bx));
    EXPECT_OK(gpuasync_buffer_destroy(ex, by));
    free(x);
    free(y);
    free(out);
}

/*
 * A chain of scale_add dispatches ping-ponging between two buffers, each its
 * own submission: every step reads what the one before wrote (and overwrites
 * what the one before read). The scales are powers of two, so a*x is exact and
 * the CPU reference is bit-exact whether or not the device fuses.
 */
static void check_dependency_chain(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("a chain of 12 dependent scale_add submissions, one wait at the end");
    const size_t n = 20011;
    const size_t bytes = n * sizeof(float);
    float *v = test_alloc(bytes), *ref = test_alloc(bytes), *out = test_alloc(bytes);
    test_fill_f32(rng, v, n);
    memcpy(ref, v, bytes);
    gpuasync_buffer b[2];
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b[0]));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b[1]));
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_buffer_write(ex, b[0], 0, v, bytes, 0, &t));
    const float scales[4] = {2.0f, -0.5f, 0.25f, -4.0f};
    struct {
        float a;
        float b;
        uint32_t n;
    } push;
    int steps = 12;
    for (int s = 0; s < steps; s++) {
        push.a = scales[s % 4];
        push.b = test_rng_f32(rng);
        push.n = (uint32_t)n;
        const gpuasync_buffer bindings[2] = {b[s % 2], b[(s + 1) % 2]};
        REQUIRE_OK(gpuasync_kernel_dispatch(ex, k->scale_add, bindings, 2, &push, sizeof push, test_groups(n, 64), 1,
                                            1, 0, &t));
        for (size_t i = 0; i < n; i++) {
            ref[i] = ref[i] * push.a + push.b;
        }
    }
    REQUIRE_OK(gpuasync_buffer_read(ex, b[steps % 2], 0, out, bytes, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&out[i], &ref[i], sizeof(float)) != 0) {
            if (bad < 5) {
                printf("     element %zu: got %.9g, expected %.9g\n", i, (double)out[i], (double)ref[i]);
            }
            bad++;
        }
    }
    CHECK(bad == 0, "all %zu elements equal the CPU reference bit for bit (%zu differ)", n, bad);
    EXPECT_OK(gpuasync_buffer_destroy(ex, b[0]));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b[1]));
    free(v);
    free(ref);
    free(out);
}

/*
 * Hazards inside one submission: the library must put barriers between ops on
 * the same buffer. write, read, write, read, fill, read of one buffer gives
 * each read its own version; then two saxpy dispatches where the second reads
 * what the first wrote (y) and overwrites what the first read (x). The scale
 * is 2, so a*x is exact and the reference is bit-exact.
 */
static void check_barriers_in_submission(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("barriers inside one submission (write/read/write/read/fill/read; two dependent dispatches)");
    enum { N = 8192 };
    const size_t bytes = N * sizeof(uint32_t);
    uint32_t *v1 = test_alloc(bytes), *v2 = test_alloc(bytes);
    uint32_t *r1 = test_alloc(bytes), *r2 = test_alloc(bytes), *r3 = test_alloc(bytes);
    test_fill_u32(rng, v1, N);
    test_fill_u32(rng, v2, N);
    const uint32_t pattern = test_rng_u32(rng);
    gpuasync_buffer b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    gpuasync_op fill = op_of(GPUASYNC_OP_FILL);
    fill.buffer = b;
    fill.size = GPUASYNC_WHOLE_SIZE;
    fill.fill_value = pattern;
    const gpuasync_op ops[6] = {
        write_op(b, 0, v1, bytes), read_op(b, 0, r1, bytes), write_op(b, 0, v2, bytes),
        read_op(b, 0, r2, bytes),  fill,                      read_op(b, 0, r3, bytes),
    };
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 6, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    CHECK(memcmp(r1, v1, bytes) == 0, "the first read sees the first write");
    CHECK(memcmp(r2, v2, bytes) == 0, "the second read sees the second write");
    CHECK(untouched(r3, N, pattern), "the third read sees the fill");
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));

    float *x = test_alloc(N * sizeof(float)), *y = test_alloc(N * sizeof(float));
    float *x_out = test_alloc(N * sizeof(float)), *y_out = test_alloc(N * sizeof(float));
    test_fill_f32(rng, x, N);
    test_fill_f32(rng, y, N);
    gpuasync_buffer bx, by;
    REQUIRE_OK(gpuasync_buffer_create(ex, N * sizeof(float), GPUASYNC_BUFFER_DEVICE_LOCAL, &bx));
    REQUIRE_OK(gpuasync_buffer_create(ex, N * sizeof(float), GPUASYNC_BUFFER_DEVICE_LOCAL, &by));
    const gpuasync_buffer xy[2] = {bx, by}, yx[2] = {by, bx};
    const saxpy_push push = {2.0f, N};
    const gpuasync_op chain[6] = {
        write_op(bx, 0, x, N * sizeof(float)),
        write_op(by, 0, y, N * sizeof(float)),
        dispatch_op(k->saxpy, xy, 2, &push, sizeof push, test_groups(N, 64)), /* y = 2x + y */
        dispatch_op(k->saxpy, yx, 2, &push, sizeof push, test_groups(N, 64)), /* x = 2y + x */
        read_op(bx, 0, x_out, N * sizeof(float)),
        read_op(by, 0, y_out, N * sizeof(float)),
    };
    REQUIRE_OK(gpuasync_executor_submit(ex, chain, 6, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    size_t bad = 0;
    for (size_t i = 0; i < N; i++) {
        float y_new = 2.0f * x[i] + y[i];
        float x_new = 2.0f * y_new + x[i];
        bad += memcmp(&y_out[i], &y_new, sizeof(float)) != 0 || memcmp(&x_out[i], &x_new, sizeof(float)) != 0;
    }
    CHECK(bad == 0, "two dependent dispatches: all %d elements of x and y bit-exact (%zu differ)", (int)N, bad);
    EXPECT_OK(gpuasync_buffer_destroy(ex, bx));
    EXPECT_OK(gpuasync_buffer_destroy(ex, by));
    free(v1);
    free(v2);
    free(r1);
    free(r2);
    free(r3);
    free(x);
    free(y);
    free(x_out);
    free(y_out);
}

/* Poll: NOT_READY while a long lcg runs, then OK, and OK again after. */
static void check_poll(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("poll on a long kernel: NOT_READY, then OK, then still OK");
    const size_t bytes = LONG_N * sizeof(uint32_t);
    uint32_t *start = test_alloc(bytes), *out = test_alloc(bytes);
    test_fill_u32(rng, start, LONG_N);
    const uint32_t mark = 0xA5A5A5A5u;
    fill_mark(out, LONG_N, mark);
    gpuasync_buffer b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    const lcg_push push = {LONG_N, LONG_ITERATIONS};
    const gpuasync_op ops[3] = {
        write_op(b, 0, start, bytes),
        dispatch_op(k->lcg, &b, 1, &push, sizeof push, test_groups(LONG_N, 64)),
        read_op(b, 0, out, bytes),
    };
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 3, GPUASYNC_SUBMIT_TIMESTAMPS, &t));
    EXPECT_STATUS(gpuasync_ticket_poll(ex, t), GPUASYNC_NOT_READY);
    CHECK(untouched(out, LONG_N, mark), "a NOT_READY poll leaves the read's destination alone");
    gpuasync_timing timing;
    memset(&timing, 0xA5, sizeof timing);
    EXPECT_STATUS(gpuasync_ticket_timing(ex, t, &timing), GPUASYNC_NOT_READY);
    CHECK(timing.gpu_begin_ns == 0xA5A5A5A5A5A5A5A5ull, "  the timing is not written while not ready");

    unsigned long polls = 1, early_landing = 0;
    gpuasync_status s;
    while ((s = gpuasync_ticket_poll(ex, t)) == GPUASYNC_NOT_READY) {
        polls++;
        early_landing += !untouched(out, LONG_N, mark);
        sleep_ms(2);
    }
    CHECK(s == GPUASYNC_OK, "poll ends with GPUASYNC_OK (%s; %s)", gpuasync_status_string(s),
          s == GPUASYNC_OK ? "" : test_last_error());
    CHECK(polls >= 2, "%lu polls said NOT_READY before OK", polls);
    CHECK(early_landing == 0, "no read byte landed during a NOT_READY poll");
    size_t bad = lcg_mismatches(out, start, LONG_N, LONG_ITERATIONS, rng);
    CHECK(bad == 0, "lcg: all %u elements match the host reference (%zu mismatches)", LONG_N, bad);
    EXPECT_OK(gpuasync_ticket_poll(ex, t));
    EXPECT_OK(gpuasync_ticket_poll(ex, t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, 0));
    EXPECT_OK(gpuasync_ticket_timing(ex, t, &timing));
    CHECK(timing.gpu_end_ns >= timing.gpu_begin_ns, "timing: gpu_end_ns >= gpu_begin_ns (GPU time %.1f ms)",
          (double)(timing.gpu_end_ns - timing.gpu_begin_ns) / 1e6);
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    free(start);
    free(out);
}

/* Wait: timeouts of 0 and 1 ms change nothing; an unbounded wait completes. */
static void check_wait_timeout(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("wait on a long kernel: TIMEOUT at 0 ns and 1 ms, then OK without a limit");
    const size_t bytes = LONG_N * sizeof(uint32_t);
    uint32_t *start = test_alloc(bytes), *out = test_alloc(bytes);
    test_fill_u32(rng, start, LONG_N);
    const uint32_t mark = 0x5A5A5A5Au;
    fill_mark(out, LONG_N, mark);
    gpuasync_buffer b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    const lcg_push push = {LONG_N, LONG_ITERATIONS};
    gpuasync_ticket tw, td, tr;
    REQUIRE_OK(gpuasync_buffer_write(ex, b, 0, start, bytes, 0, &tw));
    REQUIRE_OK(gpuasync_kernel_dispatch(ex, k->lcg, &b, 1, &push, sizeof push, test_groups(LONG_N, 64), 1, 1, 0,
                                        &td));
    REQUIRE_OK(gpuasync_buffer_read(ex, b, 0, out, bytes, 0, &tr));
    EXPECT_STATUS(gpuasync_ticket_wait(ex, tr, 0), GPUASYNC_TIMEOUT);
    CHECK(untouched(out, LONG_N, mark), "after a 0 ns timeout the destination is untouched");
    EXPECT_STATUS(gpuasync_ticket_wait(ex, tr, 1000000), GPUASYNC_TIMEOUT);
    CHECK(untouched(out, LONG_N, mark), "after a 1 ms timeout the destination is untouched");
    EXPECT_STATUS(gpuasync_ticket_wait(ex, td, 1000000), GPUASYNC_TIMEOUT);
    EXPECT_STATUS(gpuasync_ticket_poll(ex, tr), GPUASYNC_NOT_READY);
    EXPECT_OK(gpuasync_ticket_wait(ex, tr, UINT64_MAX));
    size_t bad = lcg_mismatches(out, start, LONG_N, LONG_ITERATIONS, rng);
    CHECK(bad == 0, "lcg: all %u elements match the host reference (%zu mismatches)", LONG_N, bad);
    EXPECT_OK(gpuasync_ticket_wait(ex, tw, 0));
    EXPECT_OK(gpuasync_ticket_wait(ex, td, 0));
    EXPECT_OK(gpuasync_ticket_wait(ex, tr, UINT64_MAX));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    free(start);
    free(out);
}

/* A buffer and a kernel destroyed while work using them is in flight. */
static void check_destroy_in_flight(gpuasync_executor ex, test_rng *rng)
{
    section("buffer and kernel destroyed while their work is in flight");
    const size_t n = LONG_N;
    const size_t bytes = n * sizeof(uint32_t);
    const uint32_t iterations = LONG_ITERATIONS / 4;
    uint32_t *start = test_alloc(bytes), *out = test_alloc(bytes);
    test_fill_u32(rng, start, n);
    fill_mark(out, n, 0xA5A5A5A5u);
    gpuasync_kernel lcg;
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("lcg"), "main", NULL, 0, &lcg));
    gpuasync_buffer b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    const lcg_push push = {(uint32_t)n, iterations};
    const gpuasync_op ops[3] = {
        write_op(b, 0, start, bytes),
        dispatch_op(lcg, &b, 1, &push, sizeof push, test_groups(n, 64)),
        read_op(b, 0, out, bytes),
    };
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 3, 0, &t));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    EXPECT_OK(gpuasync_kernel_destroy(ex, lcg));
    uint64_t size;
    struct gpuasync_kernel_info info;
    EXPECT_STATUS(gpuasync_buffer_size(ex, b, &size), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_kernel_describe(ex, lcg, &info), GPUASYNC_INVALID_HANDLE);
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    size_t bad = lcg_mismatches(out, start, n, iterations, rng);
    CHECK(bad == 0, "the work completed correctly: all %zu elements match (%zu mismatches)", n, bad);
    free(start);
    free(out);
}

/* Host-visible buffers written and read through their mapping; a readback buffer. */
static void check_mapped(gpuasync_executor ex, const kernels *k, test_rng *rng)
{
    section("host-visible and readback buffers through gpuasync_buffer_map");
    const size_t n = 30011;
    const size_t bytes = n * sizeof(float);
    gpuasync_buffer hx, hy, rb;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_HOST_VISIBLE, &hx));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_HOST_VISIBLE, &hy));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_READBACK, &rb));
    uint64_t size = 0;
    EXPECT_OK(gpuasync_buffer_size(ex, rb, &size));
    CHECK(size == bytes, "buffer size %llu == %zu", (unsigned long long)size, bytes);
    void *px = NULL, *py = NULL, *pr = NULL;
    REQUIRE_OK(gpuasync_buffer_map(ex, hx, &px));
    REQUIRE_OK(gpuasync_buffer_map(ex, hy, &py));
    REQUIRE_OK(gpuasync_buffer_map(ex, rb, &pr));
    CHECK(px && py && pr && px != py && py != pr, "three distinct mappings");
    void *again = NULL;
    EXPECT_OK(gpuasync_buffer_map(ex, hx, &again));
    CHECK(again == px, "mapping twice gives the same address");

    float *x = px, *y = py, *r = pr;
    float *x_ref = test_alloc(bytes), *y_ref = test_alloc(bytes);
    test_fill_f32(rng, x_ref, n);
    test_fill_f32(rng, y_ref, n);
    memcpy(x, x_ref, bytes);
    memcpy(y, y_ref, bytes);
    fill_mark((uint32_t *)r, n, 0x7FC0DEADu);

    const gpuasync_buffer bindings[2] = {hx, hy};
    const saxpy_push push = {test_rng_f32(rng), (uint32_t)n};
    gpuasync_op copy = op_of(GPUASYNC_OP_COPY);
    copy.src = hy;
    copy.buffer = rb;
    copy.size = bytes;
    const gpuasync_op ops[2] = {dispatch_op(k->saxpy, bindings, 2, &push, sizeof push, test_groups(n, 64)), copy};
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 2, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    size_t bad = test_saxpy_mismatches(y, push.a, x_ref, y_ref, n);
    CHECK(bad == 0, "saxpy result read through the host-visible mapping: all %zu match (%zu differ)", n, bad);
    bad = test_saxpy_mismatches(r, push.a, x_ref, y_ref, n);
    CHECK(bad == 0, "the copy read through the readback mapping: all %zu match (%zu differ)", n, bad);
    size_t x_changed = 0;
    for (size_t i = 0; i < n; i++) {
        x_changed += memcmp(&x[i], &x_ref[i], sizeof(float)) != 0;
    }
    CHECK(x_changed == 0, "the read-only input is unchanged in its mapping");

    /* A mapped buffer also works with ordinary write and read. */
    float *back = test_alloc(bytes);
    test_fill_f32(rng, x_ref, n);
    REQUIRE_OK(gpuasync_buffer_write(ex, hx, 0, x_ref, bytes, 0, &t));
    REQUIRE_OK(gpuasync_buffer_read(ex, hx, 0, back, bytes, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    CHECK(memcmp(back, x_ref, bytes) == 0 && memcmp(x, x_ref, bytes) == 0,
          "write then read of a host-visible buffer round-trips, and the mapping shows it");

    EXPECT_OK(gpuasync_buffer_destroy(ex, hx));
    EXPECT_OK(gpuasync_buffer_destroy(ex, hy));
    EXPECT_OK(gpuasync_buffer_destroy(ex, rb));
    free(x_ref);
    free(y_ref);
    free(back);
}

/* Fill and copy, as single ops and as ops of one submission. */
static void check_fill_copy(gpuasync_executor ex, test_rng *rng)
{
    section("fill and copy");
    const size_t n = 4099; /* words per buffer */
    const size_t bytes = n * sizeof(uint32_t);
    uint32_t *a_ref = test_alloc(bytes), *b_ref = test_alloc(bytes);
    uint32_t *a_out = test_alloc(bytes), *b_out = test_alloc(bytes);
    gpuasync_buffer a, b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &a));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));

    /* Single ops: fill all of a, fill a middle range, write b, copy a range of a into b. */
    const uint32_t v1 = test_rng_u32(rng), v2 = test_rng_u32(rng);
    const size_t fill_at = 16, fill_words = 100, src_at = 32, dst_at = 1000, copy_words = 2000;
    test_fill_u32(rng, b_ref, n);
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_buffer_fill(ex, a, 0, GPUASYNC_WHOLE_SIZE, v1, 0, &t));
    REQUIRE_OK(gpuasync_buffer_fill(ex, a, fill_at * 4, fill_words * 4, v2, 0, &t));
    REQUIRE_OK(gpuasync_buffer_write(ex, b, 0, b_ref, bytes, 0, &t));
    REQUIRE_OK(gpuasync_buffer_copy(ex, a, src_at * 4, b, dst_at * 4, copy_words * 4, 0, &t));
    REQUIRE_OK(gpuasync_buffer_read(ex, a, 0, a_out, bytes, 0, &t));
    REQUIRE_OK(gpuasync_buffer_read(ex, b, 0, b_out, bytes, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    for (size_t i = 0; i < n; i++) {
        a_ref[i] = (i >= fill_at && i < fill_at + fill_words) ? v2 : v1;
    }
    for (size_t i = 0; i < copy_words; i++) {
        b_ref[dst_at + i] = a_ref[src_at + i];
    }
    CHECK(memcmp(a_out, a_ref, bytes) == 0, "single ops: the filled buffer matches word for word");
    CHECK(memcmp(b_out, b_ref, bytes) == 0, "single ops: the copy destination matches word for word");

    /* One submission: write a, fill b, copy a range of a into b, fill a range of a, read both. */
    uint32_t *src = test_alloc(bytes);
    test_fill_u32(rng, src, n);
    const uint32_t v3 = test_rng_u32(rng), v4 = test_rng_u32(rng);
    gpuasync_op fill_b = op_of(GPUASYNC_OP_FILL);
    fill_b.buffer = b;
    fill_b.size = GPUASYNC_WHOLE_SIZE;
    fill_b.fill_value = v3;
    gpuasync_op copy = op_of(GPUASYNC_OP_COPY);
    copy.src = a;
    copy.src_offset = 7 * 4;
    copy.buffer = b;
    copy.offset = 3000 * 4;
    copy.size = 1000 * 4;
    gpuasync_op fill_a = op_of(GPUASYNC_OP_FILL);
    fill_a.buffer = a;
    fill_a.offset = 500 * 4;
    fill_a.size = 8 * 4;
    fill_a.fill_value = v4;
    const gpuasync_op ops[6] = {
        write_op(a, 0, src, bytes), fill_b, copy, fill_a, read_op(a, 0, a_out, bytes), read_op(b, 0, b_out, bytes),
    };
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 6, GPUASYNC_SUBMIT_TIMESTAMPS, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    for (size_t i = 0; i < n; i++) {
        b_ref[i] = v3;
        a_ref[i] = src[i];
    }
    for (size_t i = 0; i < 1000; i++) {
        b_ref[3000 + i] = src[7 + i]; /* the copy sees a before fill_a */
    }
    for (size_t i = 500; i < 508; i++) {
        a_ref[i] = v4;
    }
    CHECK(memcmp(a_out, a_ref, bytes) == 0, "one submission: a = written data with a filled range");
    CHECK(memcmp(b_out, b_ref, bytes) == 0, "one submission: b = fill with a copied range (copy before fill_a)");

    EXPECT_OK(gpuasync_buffer_destroy(ex, a));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    free(a_ref);
    free(b_ref);
    free(a_out);
    free(b_out);
    free(src);
}

/* spec_fill: out[i] = value + i, local size and value from specialization. */
static void check_spec_fill(gpuasync_executor ex, gpuasync_kernel k, uint32_t local, uint32_t value, size_t n,
                            const char *how)
{
    struct gpuasync_kernel_info info;
    memset(&info, 0, sizeof info);
    EXPECT_OK(gpuasync_kernel_describe(ex, k, &info));
    CHECK(info.local_size[0] == local && info.local_size[1] == 1 && info.local_size[2] == 1,
          "%s: local size %ux1x1 (got %ux%ux%u)", how, local, info.local_size[0], info.local_size[1],
          info.local_size[2]);
    CHECK(info.binding_count == 1 && info.push_constant_size == 4, "%s: 1 binding, 4 push-constant bytes", how);

    const size_t total = n + 37; /* words past n must stay as filled */
    const size_t bytes = total * sizeof(uint32_t);
    const uint32_t mark = 0xC0FFEE11u;
    uint32_t *out = test_alloc(bytes);
    gpuasync_buffer b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    gpuasync_op fill = op_of(GPUASYNC_OP_FILL);
    fill.buffer = b;
    fill.size = GPUASYNC_WHOLE_SIZE;
    fill.fill_value = mark;
    const spec_fill_push push = {(uint32_t)n};
    const gpuasync_op ops[3] = {fill, dispatch_op(k, &b, 1, &push, sizeof push, test_groups(n, local)),
                                read_op(b, 0, out, bytes)};
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 3, 0, &t));
    EXPECT_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
    size_t bad = 0;
    for (size_t i = 0; i < total; i++) {
        uint32_t want = i < n ? value + (uint32_t)i : mark;
        if (out[i] != want) {
            if (bad < 5) {
                printf("     element %zu: got %#x, expected %#x\n", i, out[i], want);
            }
            bad++;
        }
    }
    CHECK(bad == 0, "%s: out[i] = %#x + i for all %zu elements, untouched beyond (%zu differ)", how, value, n, bad);
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    free(out);
}

static void check_spec_constants(gpuasync_executor ex, test_rng *rng)
{
    section("specialization constants (spec_fill)");
    const char *path = test_spirv_path("spec_fill");
    gpuasync_kernel k;

    const uint32_t value = test_rng_u32(rng) & 0x7FFFFFFFu;
    const gpuasync_spec_constant both[2] = {{0, 32}, {1, value}};
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, path, "main", both, 2, &k));
    check_spec_fill(ex, k, 32, value, 10007, "from file, local size 32 and a random value");
    EXPECT_OK(gpuasync_kernel_destroy(ex, k));

    const uint32_t value2 = test_rng_u32(rng);
    const gpuasync_spec_constant reordered[2] = {{1, value2}, {0, 256}};
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, path, "main", reordered, 2, &k));
    check_spec_fill(ex, k, 256, value2, 5000, "from file, constants given in reverse order, local size 256");
    EXPECT_OK(gpuasync_kernel_destroy(ex, k));

    size_t word_count;
    uint32_t *words = test_load_spirv("spec_fill", &word_count);
    const gpuasync_spec_constant size_only[1] = {{0, 64}};
    REQUIRE_OK(gpuasync_kernel_create(ex, words, word_count, "main", size_only, 1, &k));
    check_spec_fill(ex, k, 64, 7u, 3001, "from memory, local size 64, value left at its default 7");
    EXPECT_OK(gpuasync_kernel_destroy(ex, k));

    REQUIRE_OK(gpuasync_kernel_create(ex, words, word_count, "main", NULL, 0, &k));
    check_spec_fill(ex, k, 1, 7u, 300, "from memory, no constants: local size 1, value 7");
    EXPECT_OK(gpuasync_kernel_destroy(ex, k));
    free(words);
}

/* Destroying an executor with reads in flight delivers them before returning. */
static void check_destroy_executor_with_reads(test_rng *rng)
{
    section("gpuasync_executor_destroy with reads in flight delivers them");
    gpuasync_executor ex = test_executor_create();
    const size_t n = LONG_N;
    const size_t bytes = n * sizeof(uint32_t);
    const uint32_t iterations = LONG_ITERATIONS / 2;
    uint32_t *start = test_alloc(bytes), *out1 = test_alloc(bytes), *out2 = test_alloc(bytes);
    test_fill_u32(rng, start, n);
    fill_mark(out1, n, 0xA5A5A5A5u);
    fill_mark(out2, n, 0xA5A5A5A5u);
    gpuasync_kernel lcg;
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("lcg"), "main", NULL, 0, &lcg));
    gpuasync_buffer b, c;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &c));
    const lcg_push push = {(uint32_t)n, iterations};
    const gpuasync_op ops[3] = {
        write_op(b, 0, start, bytes),
        dispatch_op(lcg, &b, 1, &push, sizeof push, test_groups(n, 64)),
        read_op(b, 0, out1, bytes),
    };
    gpuasync_ticket t1, t2, t3;
    REQUIRE_OK(gpuasync_executor_submit(ex, ops, 3, GPUASYNC_SUBMIT_TIMESTAMPS, &t1));
    REQUIRE_OK(gpuasync_buffer_copy(ex, b, 0, c, 0, bytes, 0, &t2));
    REQUIRE_OK(gpuasync_buffer_read(ex, c, 0, out2, bytes, 0, &t3));
    EXPECT_STATUS(gpuasync_ticket_poll(ex, t3), GPUASYNC_NOT_READY);
    CHECK(untouched(out1, n, 0xA5A5A5A5u) && untouched(out2, n, 0xA5A5A5A5u),
          "both reads are still in flight when the executor is destroyed");
    test_executor_check_quiet(ex);
    EXPECT_OK(gpuasync_executor_destroy(ex));
    size_t bad1 = lcg_mismatches(out1, start, n, iterations, rng);
    size_t bad2 = lcg_mismatches(out2, start, n, iterations, rng);
    CHECK(bad1 == 0, "the read in the lcg submission landed: all %zu elements match (%zu mismatches)", n, bad1);
    CHECK(bad2 == 0, "the read after the copy landed: all %zu elements match (%zu mismatches)", n, bad2);
    EXPECT_STATUS(gpuasync_ticket_poll(ex, t3), GPUASYNC_INVALID_HANDLE);
    free(start);
    free(out1);
    free(out2);
}

int main(void)
{
    test_rng rng = test_rng_new(77001);
    gpuasync_executor ex = test_executor_create();
    struct gpuasync_device_info info;
    REQUIRE_OK(gpuasync_executor_device_info(ex, &info));
    printf("device: %s\n", info.name);
    kernels k = load_kernels(ex);

    check_submit_ops(ex, &k, &rng);
    check_single_ops(ex, &k, &rng);
    check_dependency_chain(ex, &k, &rng);
    check_barriers_in_submission(ex, &k, &rng);
    check_poll(ex, &k, &rng);
    check_wait_timeout(ex, &k, &rng);
    check_destroy_in_flight(ex, &rng);
    check_mapped(ex, &k, &rng);
    check_fill_copy(ex, &rng);
    check_spec_constants(ex, &rng);

    section("teardown");
    EXPECT_OK(gpuasync_kernel_destroy(ex, k.saxpy));
    EXPECT_OK(gpuasync_kernel_destroy(ex, k.scale_add));
    EXPECT_OK(gpuasync_kernel_destroy(ex, k.lcg));
    test_executor_finish(ex);

    check_destroy_executor_with_reads(&rng);
    return test_finish("test_pipeline");
}
