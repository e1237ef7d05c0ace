/*
 * Helpers shared by the C test programs: checks that report the status name
 * and the library's last error, a seeded xorshift generator, SPIR-V loading,
 * and executor set-up / tear-down that enforce the validation rules (every
 * test runs with the Khronos validation layer and must end with no messages).
 *
 * Everything here is `static` so each test program is one translation unit.
 */
#ifndef GPUASYNC_TEST_H
#define GPUASYNC_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpuasync.h"

#ifndef SPIRV_DIR
#error "compile with -DSPIRV_DIR=\"/path/to/spirv\""
#endif

/* ---- checks ---------------------------------------------------------------- */

static int test_checks;
static int test_failures;

static inline void test_report(int ok, const char *file, int line, const char *what)
{
    test_checks++;
    if (ok) {
        printf("ok   %s\n", what);
    } else {
        test_failures++;
        printf("FAIL %s:%d: %s\n", file, line, what);
    }
    fflush(stdout);
}

/* The calling thread's last error message, in a static buffer. */
static inline const char *test_last_error(void)
{
    static char message[1024];
    size_t n = gpuasync_last_error(message, sizeof message);
    if (n == 0) {
        snprintf(message, sizeof message, "(no last error)");
    }
    return message;
}

static inline void test_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline void test_check(int ok, const char *file, int line, const char *fmt, ...)
{
    char what[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    test_report(ok, file, line, what);
}

/* CHECK(condition, printf-style description). */
#define CHECK(cond, ...) test_check((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

/*
 * `got` must equal `want`. For an expected failure, the thread's last error
 * must be a non-empty message (and mention "null" for a null argument).
 */
static inline int test_expect_status(gpuasync_status got, gpuasync_status want, const char *call, const char *file,
                              int line)
{
    char what[2048];
    int ok = got == want;
    if (ok) {
        snprintf(what, sizeof what, "%.400s -> %s", call, gpuasync_status_string(got));
    } else {
        snprintf(what, sizeof what, "%.400s -> %s, expected %s (last error: %.400s)", call, gpuasync_status_string(got),
                 gpuasync_status_string(want), test_last_error());
    }
    test_report(ok, file, line, what);
    if (ok && want != GPUASYNC_OK && want != GPUASYNC_TIMEOUT && want != GPUASYNC_NOT_READY) {
        char message[1024];
        size_t n = gpuasync_last_error(message, sizeof message);
        int has_message = n > 0 && message[0] != '\0' && strlen(message) == (n < sizeof message ? n : sizeof message - 1);
        snprintf(what, sizeof what, "  last error after it is a message: \"%.400s\"", n > 0 ? message : "");
        test_report(has_message, file, line, what);
        if (want == GPUASYNC_NULL_ARGUMENT) {
            snprintf(what, sizeof what, "  the message says what is null");
            test_report(strstr(message, "null") != NULL, file, line, what);
        }
    }
    return ok;
}

#define EXPECT_STATUS(call, want) test_expect_status((call), (want), #call, __FILE__, __LINE__)
#define EXPECT_OK(call) EXPECT_STATUS(call, GPUASYNC_OK)

/* For set-up steps the rest of the program depends on: stop at once on failure. */
#define REQUIRE_OK(call)                                                                        \
    do {                                                                                        \
        if (!EXPECT_OK(call)) {                                                                 \
            printf("FATAL: cannot continue after a failed set-up step (%d checks failed)\n", \
                   test_failures);                                                              \
            exit(1);                                                                            \
        }                                                                                       \
    } while (0)

/* Print the summary; the process exit status. */
static inline int test_finish(const char *program)
{
    printf("%s: %d checks, %d failed\n", program, test_checks, test_failures);
    return test_failures == 0 ? 0 : 1;
}

/* ---- random inputs (never zero) --------------------------------------------- */

typedef struct test_rng {
    uint64_t state;
} test_rng;

static inline test_rng test_rng_new(uint64_t seed)
{
    test_rng r;
    r.state = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    if (r.state == 0) {
        r.state = 1;
    }
    return r;
}

static inline uint64_t test_rng_next(test_rng *r)
{
    /* xorshift64 */
    uint64_t x = r->state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->state = x;
    return x;
}

/* A nonzero 32-bit value. */
static inline uint32_t test_rng_u32(test_rng *r)
{
    uint32_t v;
    do {
        v = (uint32_t)(test_rng_next(r) >> 32);
    } while (v == 0);
    return v;
}

/* A float of magnitude in [0.5, 2), either sign: never zero, never tiny. */
static inline float test_rng_f32(test_rng *r)
{
    uint64_t bits = test_rng_next(r);
    float magnitude = 0.5f + 1.5f * (float)((bits >> 40) & 0xFFFFFF) / 16777216.0f;
    return (bits & 1) ? -magnitude : magnitude;
}

static inline void test_fill_f32(test_rng *r, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = test_rng_f32(r);
    }
}

static inline void test_fill_u32(test_rng *r, uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = test_rng_u32(r);
    }
}

static inline void *test_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (p == NULL) {
        printf("FATAL: out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* ---- CPU references ------------------------------------------------------------ */

/*
 * saxpy's result within a few ulps: the device may fuse a*x+y into one FMA,
 * the host does not, so exact equality is not the contract; any real error
 * (a wrong element, a stale value, a swapped buffer) is far larger.
 */
static inline int test_saxpy_close(float got, float a, float x, float y)
{
    float want = a * x + y;
    float scale = fabsf(a * x) + fabsf(y);
    return fabsf(got - want) <= 4.0f * 1.1920929e-7f * scale + 1e-30f;
}

/* Count saxpy mismatches in y_out against a*x+y_in; prints the first few. */
static inline size_t test_saxpy_mismatches(const float *y_out, float a, const float *x, const float *y_in, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!test_saxpy_close(y_out[i], a, x[i], y_in[i])) {
            if (bad < 5) {
                printf("     element %zu: got %.9g, expected %.9g\n", i, (double)y_out[i],
                       (double)(a * x[i] + y_in[i]));
            }
            bad++;
        }
    }
    return bad;
}

/* The LCG the lcg kernel runs: x = x * 1664525 + 1013904223 (mod 2^32). */
#define TEST_LCG_A 1664525u
#define TEST_LCG_C 1013904223u

/* One element, step by step: the slow, obviously right reference. */
static inline uint32_t test_lcg_steps(uint32_t x, uint32_t iterations)
{
    for (uint32_t k = 0; k < iterations; k++) {
        x = x * TEST_LCG_A + TEST_LCG_C;
    }
    return x;
}

/*
 * `iterations` steps composed into one affine map x -> mul * x + add (mod
 * 2^32), so a whole array is checked in O(n); spot-checked against
 * test_lcg_steps by the callers.
 */
static inline void test_lcg_affine(uint32_t iterations, uint32_t *mul, uint32_t *add)
{
    uint32_t m = 1, c = 0;
    for (uint32_t k = 0; k < iterations; k++) {
        m = m * TEST_LCG_A;
        c = c * TEST_LCG_A + TEST_LCG_C;
    }
    *mul = m;
    *add = c;
}

/* ---- SPIR-V ---------------------------------------------------------------------- */

static inline char *test_spirv_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s.spv", SPIRV_DIR, name);
    return path;
}

/* Load spirv/<name>.spv into a malloc'd word array; exits on failure. */
static inline uint32_t *test_load_spirv(const char *name, size_t *word_count)
{
    const char *path = test_spirv_path(name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("FATAL: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (bytes <= 0 || bytes % 4 != 0) {
        printf("FATAL: %s is not a whole number of words (%ld bytes)\n", path, bytes);
        exit(1);
    }
    uint32_t *words = test_alloc((size_t)bytes);
    if (fread(words, 1, (size_t)bytes, f) != (size_t)bytes) {
        printf("FATAL: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *word_count = (size_t)bytes / 4;
    return words;
}

/* ---- executors --------------------------------------------------------------------- */

/* An executor with the validation layer, which must really be on and quiet. */
static inline gpuasync_executor test_executor_create(void)
{
    gpuasync_executor_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.flags = GPUASYNC_EXECUTOR_VALIDATION;
    gpuasync_executor ex = {0};
    REQUIRE_OK(gpuasync_executor_create(&desc, &ex));
    uint32_t enabled = 0;
    uint64_t messages = UINT64_MAX;
    REQUIRE_OK(gpuasync_executor_validation(ex, &enabled, &messages));
    CHECK(enabled == 1, "executor %#llx has the validation layer on (enabled = %u)", (unsigned long long)ex.id,
          enabled);
    CHECK(messages == 0, "a new executor has no validation messages (%llu)", (unsigned long long)messages);
    if (enabled != 1) {
        printf("FATAL: validation is required for every test\n");
        exit(1);
    }
    return ex;
}

/* Check the validation layer stayed quiet over the executor's life. */
static inline void test_executor_check_quiet(gpuasync_executor ex)
{
    uint32_t enabled = 0;
    uint64_t messages = UINT64_MAX;
    EXPECT_OK(gpuasync_executor_validation(ex, &enabled, &messages));
    CHECK(enabled == 1, "validation still on at the end");
    CHECK(messages == 0, "no validation messages over the executor's life (%llu)", (unsigned long long)messages);
}

/* The validation check, then destroy. */
static inline void test_executor_finish(gpuasync_executor ex)
{
    test_executor_check_quiet(ex);
    EXPECT_OK(gpuasync_executor_destroy(ex));
}

/* Workgroups of `local` to cover n items. */
static inline uint32_t test_groups(size_t n, uint32_t local)
{
    return (uint32_t)((n + local - 1) / local);
}

/* Push-constant blocks of the kernels in spirv/. */
typedef struct saxpy_push {
    float a;
    uint32_t n;
} saxpy_push;

typedef struct lcg_push {
    uint32_t n;
    uint32_t iterations;
} lcg_push;

typedef struct spec_fill_push {
    uint32_t n;
} spec_fill_push;

/* Op builders: a zeroed op of one kind with its fields set. */
static inline gpuasync_op op_of(uint32_t kind)
{
    gpuasync_op op;
    memset(&op, 0, sizeof op);
    op.kind = kind;
    return op;
}

static inline gpuasync_op write_op(gpuasync_buffer b, uint64_t offset, const void *src, uint64_t size)
{
    gpuasync_op op = op_of(GPUASYNC_OP_WRITE);
    op.buffer = b;
    op.offset = offset;
    op.host_src = src;
    op.size = size;
    return op;
}

static inline gpuasync_op read_op(gpuasync_buffer b, uint64_t offset, void *dst, uint64_t size)
{
    gpuasync_op op = op_of(GPUASYNC_OP_READ);
    op.buffer = b;
    op.offset = offset;
    op.host_dst = dst;
    op.size = size;
    return op;
}

static inline gpuasync_op dispatch_op(gpuasync_kernel k, const gpuasync_buffer *bindings, uint32_t binding_count,
                                      const void *push, uint32_t push_size, uint32_t groups_x)
{
    gpuasync_op op = op_of(GPUASYNC_OP_DISPATCH);
    op.kernel = k;
    op.bindings = bindings;
    op.binding_count = binding_count;
    op.push_constants = push;
    op.push_constant_size = push_size;
    op.groups[0] = groups_x;
    op.groups[1] = 1;
    op.groups[2] = 1;
    return op;
}

static inline gpuasync_op fill_op(gpuasync_buffer b, uint64_t offset, uint64_t size, uint32_t value)
{
    gpuasync_op op = op_of(GPUASYNC_OP_FILL);
    op.buffer = b;
    op.offset = offset;
    op.size = size;
    op.fill_value = value;
    return op;
}

static inline gpuasync_op copy_op(gpuasync_buffer dst, uint64_t dst_offset, gpuasync_buffer src,
                                  uint64_t src_offset, uint64_t size)
{
    gpuasync_op op = op_of(GPUASYNC_OP_COPY);
    op.buffer = dst;
    op.offset = dst_offset;
    op.src = src;
    op.src_offset = src_offset;
    op.size = size;
    return op;
}

#endif /* GPUASYNC_TEST_H */
