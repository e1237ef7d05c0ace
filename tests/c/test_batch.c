/*
 * Recorded batches from C (gpuasync_batch_create / _replay / _destroy):
 * - two dependent scale_add dispatches replayed 1000 times with new push
 *   constants each time (small integers and halves: exact in f32), checked
 *   element by element; updates are copied at the call; a replay without
 *   updates keeps the last ones; replays take consecutive tickets;
 * - fill, copy and dispatch with offsets in one batch, with timestamps;
 * - null, zero, destroyed, forged and foreign handles and null pointers for
 *   the three functions, with outputs never written on failure, and failed
 *   replays applying none of their updates;
 * - one replay in flight: GPUASYNC_SUBMIT_NO_BLOCK is GPUASYNC_WOULD_BLOCK
 *   while a replay waits behind a long lcg kernel (calibrated per device to
 *   about 300 ms with timestamps); a refused replay takes no ticket;
 * - a batch holding a GPUASYNC_OP_WRITE or _READ is GPUASYNC_INVALID_ARGUMENT;
 * - a batch destroyed with its replay in flight still runs; a batch whose
 *   buffer was destroyed cannot replay.
 * Random inputs; every element checked against a host reference.
 */
#include "gpuasync_test.h"

#define LONG_N (1u << 16)

typedef struct scale_add_push {
    float a;
    float b;
    uint32_t n;
} scale_add_push;

static void section(const char *name)
{
    printf("\n== %s\n", name);
}





static gpuasync_push_update update_of(uint32_t op_index, const void *data, uint32_t size)
{
    gpuasync_push_update u;
    memset(&u, 0, sizeof u);
    u.op_index = op_index;
    u.size = size;
    u.data = data;
    return u;
}

/* Read `bytes` of `b` into `out` and wait. */
static void read_now(gpuasync_executor ex, gpuasync_buffer b, void *out, size_t bytes)
{
    memset(out, 0xFF, bytes);
    gpuasync_ticket t = 0;
    REQUIRE_OK(gpuasync_buffer_read(ex, b, 0, out, bytes, 0, &t));
    REQUIRE_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
}

/* Elements of `got` that are not exactly `want` (NaN counts); prints a few. */
static size_t float_mismatches(const float *got, const float *want, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(got[i] == want[i])) {
            if (bad < 5) {
                printf("     element %zu: got %.9g, expected %.9g\n", i, (double)got[i], (double)want[i]);
            }
            bad++;
        }
    }
    return bad;
}

static size_t u32_mismatches(const uint32_t *got, const uint32_t *want, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i]) {
            if (bad < 5) {
                printf("     element %zu: got %#x, expected %#x\n", i, got[i], want[i]);
            }
            bad++;
        }
    }
    return bad;
}

/* Small integers 1 .. limit, exact in f32. */
static void fill_small(test_rng *rng, float *v, size_t n, uint32_t limit)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = (float)(1 + test_rng_next(rng) % limit);
    }
}

static int same_batch(gpuasync_batch a, gpuasync_batch b)
{
    return a.id == b.id;
}

/* Two dependent dispatches (a -> b, b -> a) replayed 1000 times. */
static void check_replay_1000(gpuasync_executor ex, gpuasync_kernel scale_add, test_rng *rng)
{
    section("two dependent scale_add dispatches replayed 1000 times, new push constants each time");
    const size_t n = 1031;
    const size_t bytes = n * sizeof(float);
    float *x0 = test_alloc(bytes), *want_a = test_alloc(bytes), *want_b = test_alloc(bytes);
    float *out = test_alloc(bytes);
    fill_small(rng, x0, n, 64);
    memcpy(want_a, x0, bytes);

    gpuasync_buffer a, b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &a));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    gpuasync_ticket t = 0;
    REQUIRE_OK(gpuasync_buffer_write(ex, a, 0, x0, bytes, 0, &t));
    scale_add_push first = {1.0f, 0.0f, (uint32_t)n};
    const gpuasync_buffer ab[2] = {a, b}, ba[2] = {b, a};
    gpuasync_op ops[2] = {
        dispatch_op(scale_add, ab, 2, &first, sizeof first, test_groups(n, 64)),
        dispatch_op(scale_add, ba, 2, &first, sizeof first, test_groups(n, 64)),
    };
    gpuasync_batch batch = {0};
    REQUIRE_OK(gpuasync_batch_create(ex, ops, 2, &batch));
    CHECK(batch.id != 0, "the batch has a nonzero handle");
    /* The batch owns copies: the caller's ops and push block are free at once. */
    memset(ops, 0, sizeof ops);
    first.a = 1e30f;

    size_t consecutive = 0, replays = 1000, bad_a = 0, bad_b = 0;
    gpuasync_ticket last = t;
    for (size_t i = 0; i < replays; i++) {
        scale_add_push p1, p2;
        if (i % 2 == 0) {
            p1 = (scale_add_push){2.0f, (float)(test_rng_next(rng) % 8), (uint32_t)n};
        } else {
            p1 = (scale_add_push){0.5f, 0.0f, (uint32_t)n};
        }
        p2 = (scale_add_push){1.0f, -(float)(test_rng_next(rng) % 4), (uint32_t)n};
        const gpuasync_push_update updates[2] = {update_of(0, &p1, sizeof p1), update_of(1, &p2, sizeof p2)};
        gpuasync_ticket r = 0;
        gpuasync_status s = gpuasync_batch_replay(ex, batch, updates, 2, 0, &r);
        if (s != GPUASYNC_OK) {
            EXPECT_OK(s);
            break;
        }
        consecutive += r == last + 1;
        last = r;
        for (size_t j = 0; j < n; j++) {
            want_b[j] = want_a[j] * p1.a + p1.b;
            want_a[j] = want_b[j] * p2.a + p2.b;
        }
        /* The update's bytes are copied at the call: scribbling on them now changes nothing. */
        p1.a = p2.a = 1e30f;
        if ((i + 1) % 250 == 0) {
            read_now(ex, a, out, bytes);
            bad_a += float_mismatches(out, want_a, n);
            read_now(ex, b, out, bytes);
            bad_b += float_mismatches(out, want_b, n);
            last = 0;
        }
    }
    /* The first replay follows the write's ticket; after each of the first three reads the chain restarts. */
    const size_t expected = replays - (replays / 250 - 1);
    CHECK(consecutive == expected, "replays with nothing in between take consecutive tickets (%zu of %zu)",
          consecutive, expected);
    CHECK(bad_a == 0, "a after 250, 500, 750, 1000 replays: all %zu elements exact (%zu differ)", n, bad_a);
    CHECK(bad_b == 0, "b (the first dispatch's output) at the same points: all exact (%zu differ)", bad_b);

    /* No updates (a null pointer with a zero count): the last push constants stay. */
    gpuasync_ticket r = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &r));
    /* The last loop iteration was odd (i = 999): op 0 keeps p1 = (0.5, 0), so b = a / 2. */
    read_now(ex, b, out, bytes);
    size_t bad = 0;
    for (size_t j = 0; j < n; j++) {
        bad += !(out[j] == want_a[j] * 0.5f);
    }
    CHECK(bad == 0, "a replay without updates reuses the last push constants (%zu differ)", bad);
    EXPECT_OK(gpuasync_batch_destroy(ex, batch));
    EXPECT_OK(gpuasync_buffer_destroy(ex, a));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    free(x0);
    free(want_a);
    free(want_b);
    free(out);
}

/* fill, dispatch and copy with offsets in one batch; timestamps; random words copied. */
static void check_fill_copy_dispatch(gpuasync_executor ex, gpuasync_kernel scale_add, test_rng *rng)
{
    section("fill, dispatch and copy (with offsets) in one batch, with timestamps");
    const size_t n = 4096;
    const size_t bytes = n * sizeof(uint32_t);
    uint32_t *c0 = test_alloc(bytes), *want = test_alloc(bytes), *out = test_alloc(bytes);
    test_fill_u32(rng, c0, n);
    gpuasync_buffer a, b, c;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &a));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &c));
    gpuasync_ticket t = 0;
    REQUIRE_OK(gpuasync_buffer_write(ex, c, 0, c0, bytes, 0, &t));
    float three = 3.0f;
    uint32_t three_bits;
    memcpy(&three_bits, &three, sizeof three_bits);
    scale_add_push p = {2.0f, 1.0f, (uint32_t)n};
    const gpuasync_buffer ab[2] = {a, b};
    const gpuasync_op ops[3] = {
        fill_op(a, 0, GPUASYNC_WHOLE_SIZE, three_bits),
        dispatch_op(scale_add, ab, 2, &p, sizeof p, test_groups(n, 64)),
        copy_op(c, 4 * (n / 4), b, 32, 4 * (n / 2)),
    };
    gpuasync_batch batch = {0};
    REQUIRE_OK(gpuasync_batch_create(ex, ops, 3, &batch));
    float seven = 7.0f, minus = -2.5f;
    uint32_t seven_bits, minus_bits;
    memcpy(&seven_bits, &seven, sizeof seven_bits);
    memcpy(&minus_bits, &minus, sizeof minus_bits);
    gpuasync_ticket timed = 0;
    for (int round = 0; round < 3; round++) {
        memcpy(want, c0, bytes);
        for (size_t i = n / 4; i < n / 4 + n / 2; i++) {
            want[i] = seven_bits;
        }
        REQUIRE_OK(gpuasync_batch_replay(ex, batch, NULL, 0, GPUASYNC_SUBMIT_TIMESTAMPS, &timed));
        read_now(ex, c, out, bytes);
        size_t bad = u32_mismatches(out, want, n);
        CHECK(bad == 0, "round %d: c is 7.0 on the copied range, the random words elsewhere (%zu differ)", round, bad);
        test_fill_u32(rng, c0, n);
        REQUIRE_OK(gpuasync_buffer_write(ex, c, 0, c0, bytes, 0, &t));
    }
    gpuasync_timing timing;
    memset(&timing, 0, sizeof timing);
    EXPECT_OK(gpuasync_ticket_timing(ex, timed, &timing));
    CHECK(timing.gpu_end_ns >= timing.gpu_begin_ns && timing.host_complete_ns >= timing.host_submit_ns,
          "a replay with GPUASYNC_SUBMIT_TIMESTAMPS has a timing (GPU %.1f us)",
          (double)(timing.gpu_end_ns - timing.gpu_begin_ns) / 1e3);
    p = (scale_add_push){0.5f, -4.0f, (uint32_t)n};
    const gpuasync_push_update u = update_of(1, &p, sizeof p);
    REQUIRE_OK(gpuasync_batch_replay(ex, batch, &u, 1, 0, &t));
    read_now(ex, c, out, bytes);
    memcpy(want, c0, bytes);
    for (size_t i = n / 4; i < n / 4 + n / 2; i++) {
        want[i] = minus_bits;
    }
    size_t bad = u32_mismatches(out, want, n);
    CHECK(bad == 0, "after a push update of op 1: the copied range is 3 * 0.5 - 4 (%zu differ)", bad);
    EXPECT_OK(gpuasync_batch_destroy(ex, batch));
    EXPECT_OK(gpuasync_buffer_destroy(ex, a));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    EXPECT_OK(gpuasync_buffer_destroy(ex, c));
    free(c0);
    free(want);
    free(out);
}

/* Null, zero, destroyed, forged and foreign handles; null pointers; outputs untouched. */
static void check_handles_and_pointers(gpuasync_executor ex, gpuasync_kernel scale_add, test_rng *rng)
{
    section("null / zero / destroyed / foreign handles and null pointers; outputs untouched on failure");
    const size_t n = 64;
    const size_t bytes = n * sizeof(float);
    float x0[64], out[64], want[64];
    fill_small(rng, x0, n, 50);
    gpuasync_buffer a, b;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &a));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    gpuasync_ticket t = 0;
    REQUIRE_OK(gpuasync_buffer_write(ex, a, 0, x0, bytes, 0, &t));
    const scale_add_push p = {2.0f, 1.0f, (uint32_t)n};
    const gpuasync_buffer ab[2] = {a, b};
    const gpuasync_op ops[2] = {fill_op(b, 0, GPUASYNC_WHOLE_SIZE, 5), dispatch_op(scale_add, ab, 2, &p, sizeof p, 1)};
    const gpuasync_batch sentinel = {0xDEADBEEFCAFEull};
    const gpuasync_executor null_ex = {0};

    /* create */
    gpuasync_batch out_batch = sentinel;
    EXPECT_STATUS(gpuasync_batch_create(ex, ops, 2, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_batch_create(ex, NULL, 2, &out_batch), GPUASYNC_NULL_ARGUMENT);
    CHECK(same_batch(out_batch, sentinel), "  the batch output is untouched");
    EXPECT_STATUS(gpuasync_batch_create(null_ex, ops, 2, &out_batch), GPUASYNC_INVALID_HANDLE);
    CHECK(same_batch(out_batch, sentinel), "  the batch output is untouched");
    gpuasync_op bad_ops[2] = {ops[0], ops[1]};
    bad_ops[1].bindings = NULL;
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 2, &out_batch), GPUASYNC_NULL_ARGUMENT);
    bad_ops[1] = ops[1];
    bad_ops[1].push_constants = NULL;
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 2, &out_batch), GPUASYNC_NULL_ARGUMENT);
    bad_ops[1] = ops[1];
    bad_ops[1].binding_count = 1;
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 2, &out_batch), GPUASYNC_KERNEL_MISMATCH);
    bad_ops[1] = ops[1];
    bad_ops[1].kernel.id = a.id; /* a buffer's id is no kernel */
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 2, &out_batch), GPUASYNC_INVALID_HANDLE);
    bad_ops[1] = ops[1];
    bad_ops[1].kind = 99;
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 2, &out_batch), GPUASYNC_INVALID_ARGUMENT);
    bad_ops[0] = fill_op(b, 2, 8, 0);
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 1, &out_batch), GPUASYNC_INVALID_ARGUMENT);
    bad_ops[0] = copy_op(b, 0, a, 0, 2 * bytes);
    EXPECT_STATUS(gpuasync_batch_create(ex, bad_ops, 1, &out_batch), GPUASYNC_OUT_OF_RANGE);
    CHECK(same_batch(out_batch, sentinel), "  the batch output is untouched after all failed creates");

    /* An empty batch (null ops, zero count) is valid and replays as nothing. */
    gpuasync_batch empty = {0};
    EXPECT_OK(gpuasync_batch_create(ex, NULL, 0, &empty));
    gpuasync_ticket te = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, empty, NULL, 0, 0, &te));
    EXPECT_OK(gpuasync_ticket_wait(ex, te, UINT64_MAX));
    EXPECT_OK(gpuasync_batch_destroy(ex, empty));

    gpuasync_batch batch = {0};
    REQUIRE_OK(gpuasync_batch_create(ex, ops, 2, &batch));

    /* replay */
    const scale_add_push q = {4.0f, -1.0f, (uint32_t)n};
    const uint32_t short_block[2] = {1, 2};
    gpuasync_push_update u = update_of(1, &q, sizeof q);
    const gpuasync_ticket ticket_sentinel = 0xABCDEF12345ull;
    gpuasync_ticket r = ticket_sentinel;
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &u, 1, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, NULL, 1, 0, &r), GPUASYNC_NULL_ARGUMENT);
    gpuasync_push_update null_data = update_of(1, NULL, sizeof q);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &null_data, 1, 0, &r), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_batch_replay(null_ex, batch, &u, 1, 0, &r), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_replay(ex, (gpuasync_batch){0}, &u, 1, 0, &r), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_replay(ex, (gpuasync_batch){a.id}, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_replay(ex, (gpuasync_batch){batch.id ^ 0x10000ull}, NULL, 0, 0, &r),
                  GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &u, 1, 0x80, &r), GPUASYNC_INVALID_ARGUMENT);
    gpuasync_push_update wrong = update_of(1, short_block, sizeof short_block);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &wrong, 1, 0, &r), GPUASYNC_KERNEL_MISMATCH);
    gpuasync_push_update to_fill = update_of(0, &q, sizeof q);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &to_fill, 1, 0, &r), GPUASYNC_INVALID_ARGUMENT);
    /* A valid update followed by a bad one: the whole call fails, the valid one is not applied. */
    const gpuasync_push_update mixed[2] = {u, update_of(2, &q, sizeof q)};
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, mixed, 2, 0, &r), GPUASYNC_INVALID_ARGUMENT);
    CHECK(r == ticket_sentinel, "  the ticket output is untouched after all failed replays");
    EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &r));
    read_now(ex, b, out, bytes);
    for (size_t i = 0; i < n; i++) {
        want[i] = x0[i] * 2.0f + 1.0f;
    }
    size_t bad = float_mismatches(out, want, n);
    CHECK(bad == 0, "failed replays applied no update: b = 2a + 1 on all %zu elements (%zu differ)", n, bad);
    EXPECT_OK(gpuasync_batch_replay(ex, batch, &u, 1, 0, &r));
    read_now(ex, b, out, bytes);
    for (size_t i = 0; i < n; i++) {
        want[i] = x0[i] * 4.0f - 1.0f;
    }
    bad = float_mismatches(out, want, n);
    CHECK(bad == 0, "then a good update applies: b = 4a - 1 on all %zu elements (%zu differ)", n, bad);

    /* another executor */
    gpuasync_executor other = test_executor_create();
    gpuasync_batch other_batch = sentinel;
    EXPECT_STATUS(gpuasync_batch_create(other, ops, 2, &other_batch), GPUASYNC_INVALID_HANDLE);
    CHECK(same_batch(other_batch, sentinel), "  another executor's buffers: the batch output is untouched");
    r = ticket_sentinel;
    EXPECT_STATUS(gpuasync_batch_replay(other, batch, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_destroy(other, batch), GPUASYNC_INVALID_HANDLE);
    CHECK(r == ticket_sentinel, "  the ticket output is untouched");
    EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &r));
    EXPECT_OK(gpuasync_ticket_wait(ex, r, UINT64_MAX));
    test_executor_finish(other);
    r = ticket_sentinel;
    EXPECT_STATUS(gpuasync_batch_replay(other, batch, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);
    CHECK(r == ticket_sentinel, "  a destroyed executor: the ticket output is untouched");

    /* destroy */
    EXPECT_STATUS(gpuasync_batch_destroy(ex, (gpuasync_batch){0}), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_destroy(null_ex, batch), GPUASYNC_INVALID_HANDLE);
    EXPECT_STATUS(gpuasync_batch_destroy(ex, (gpuasync_batch){a.id}), GPUASYNC_INVALID_HANDLE);
    EXPECT_OK(gpuasync_batch_destroy(ex, batch));
    EXPECT_STATUS(gpuasync_batch_destroy(ex, batch), GPUASYNC_INVALID_HANDLE);
    r = ticket_sentinel;
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);
    CHECK(r == ticket_sentinel, "  a destroyed batch: the ticket output is untouched");
    /* A new batch does not revive the old handle. */
    gpuasync_batch again = {0};
    EXPECT_OK(gpuasync_batch_create(ex, ops, 2, &again));
    CHECK(again.id != batch.id, "a new batch gets a new handle (%#llx, old %#llx)", (unsigned long long)again.id,
          (unsigned long long)batch.id);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);

    /* A batch whose kernel is destroyed cannot replay. */
    gpuasync_kernel doomed_kernel;
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("scale_add"), "main", NULL, 0, &doomed_kernel));
    const gpuasync_op with_doomed[1] = {dispatch_op(doomed_kernel, ab, 2, &p, sizeof p, 1)};
    gpuasync_batch orphan = {0};
    REQUIRE_OK(gpuasync_batch_create(ex, with_doomed, 1, &orphan));
    EXPECT_OK(gpuasync_kernel_destroy(ex, doomed_kernel));
    r = ticket_sentinel;
    EXPECT_STATUS(gpuasync_batch_replay(ex, orphan, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);
    CHECK(r == ticket_sentinel, "  a batch with a destroyed kernel: the ticket output is untouched");
    EXPECT_OK(gpuasync_batch_destroy(ex, orphan));

    /* A batch whose buffer is destroyed cannot replay. */
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    r = ticket_sentinel;
    EXPECT_STATUS(gpuasync_batch_replay(ex, again, NULL, 0, 0, &r), GPUASYNC_INVALID_HANDLE);
    CHECK(r == ticket_sentinel, "  a batch with a destroyed buffer: the ticket output is untouched");
    EXPECT_OK(gpuasync_batch_destroy(ex, again));
    EXPECT_OK(gpuasync_buffer_destroy(ex, a));
}

/* Writes and reads belong to submissions, not batches. */
static void check_host_ops_refused(gpuasync_executor ex, gpuasync_kernel scale_add)
{
    section("a batch holding GPUASYNC_OP_WRITE or GPUASYNC_OP_READ is GPUASYNC_INVALID_ARGUMENT");
    const size_t n = 64;
    uint32_t data[64], back[64];
    memset(data, 0x5A, sizeof data);
    gpuasync_buffer a, b;
    REQUIRE_OK(gpuasync_buffer_create(ex, sizeof data, GPUASYNC_BUFFER_DEVICE_LOCAL, &a));
    REQUIRE_OK(gpuasync_buffer_create(ex, sizeof data, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    const scale_add_push p = {2.0f, 1.0f, (uint32_t)n};
    const gpuasync_buffer ab[2] = {a, b};
    gpuasync_op write = op_of(GPUASYNC_OP_WRITE);
    write.buffer = a;
    write.size = sizeof data;
    write.host_src = data;
    gpuasync_op read = op_of(GPUASYNC_OP_READ);
    read.buffer = b;
    read.size = sizeof back;
    read.host_dst = back;
    const gpuasync_op only_write[1] = {write};
    const gpuasync_op dispatch_then_read[2] = {dispatch_op(scale_add, ab, 2, &p, sizeof p, 1), read};
    const gpuasync_op fill_then_write[2] = {fill_op(b, 0, 16, 1), write};
    const gpuasync_batch sentinel = {0x1234567ull};
    gpuasync_batch batch = sentinel;
    EXPECT_STATUS(gpuasync_batch_create(ex, only_write, 1, &batch), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_batch_create(ex, dispatch_then_read, 2, &batch), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_batch_create(ex, fill_then_write, 2, &batch), GPUASYNC_INVALID_ARGUMENT);
    CHECK(same_batch(batch, sentinel), "  the batch output is untouched");
    EXPECT_OK(gpuasync_buffer_destroy(ex, a));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
}

/* lcg iterations that keep the device busy about 300 ms, from GPU timestamps. */
static uint32_t calibrate_long(gpuasync_executor ex, gpuasync_kernel lcg, gpuasync_buffer b)
{
    double probe = 1000, ns = 1;
    for (;;) {
        const lcg_push push = {LONG_N, (uint32_t)probe};
        gpuasync_ticket t = 0;
        REQUIRE_OK(gpuasync_kernel_dispatch(ex, lcg, &b, 1, &push, sizeof push, test_groups(LONG_N, 64), 1, 1,
                                            GPUASYNC_SUBMIT_TIMESTAMPS, &t));
        REQUIRE_OK(gpuasync_ticket_wait(ex, t, UINT64_MAX));
        gpuasync_timing timing;
        REQUIRE_OK(gpuasync_ticket_timing(ex, t, &timing));
        ns = (double)(timing.gpu_end_ns - timing.gpu_begin_ns);
        if (ns < 1) {
            ns = 1;
        }
        if (ns > 20e6 || probe > 1e8) {
            break;
        }
        double factor = 25e6 / ns;
        probe *= factor < 2 ? 2 : factor > 1000 ? 1000 : factor;
    }
    double iterations = probe * 300e6 / ns;
    iterations = iterations < 1000 ? 1000 : iterations > 2e9 ? 2e9 : iterations;
    printf("     long kernel: %u lcg iterations (~300 ms on this device)\n", (uint32_t)iterations);
    return (uint32_t)iterations;
}

/* One replay of a batch in flight: NO_BLOCK is WOULD_BLOCK behind a long kernel. */
static void check_one_in_flight(gpuasync_executor ex, gpuasync_kernel scale_add, test_rng *rng)
{
    section("one replay in flight: GPUASYNC_SUBMIT_NO_BLOCK behind a long kernel");
    const size_t n = 256;
    const size_t bytes = n * sizeof(float);
    float *x0 = test_alloc(bytes), *out = test_alloc(bytes), *want = test_alloc(bytes);
    fill_small(rng, x0, n, 100);
    uint32_t *start = test_alloc(LONG_N * sizeof(uint32_t)), *long_out = test_alloc(LONG_N * sizeof(uint32_t));
    test_fill_u32(rng, start, LONG_N);
    gpuasync_kernel lcg;
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("lcg"), "main", NULL, 0, &lcg));
    gpuasync_buffer a, b, lb;
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &a));
    REQUIRE_OK(gpuasync_buffer_create(ex, bytes, GPUASYNC_BUFFER_DEVICE_LOCAL, &b));
    REQUIRE_OK(gpuasync_buffer_create(ex, LONG_N * sizeof(uint32_t), GPUASYNC_BUFFER_DEVICE_LOCAL, &lb));
    const uint32_t iterations = calibrate_long(ex, lcg, lb);
    gpuasync_ticket t = 0;
    REQUIRE_OK(gpuasync_buffer_write(ex, a, 0, x0, bytes, 0, &t));
    REQUIRE_OK(gpuasync_buffer_write(ex, lb, 0, start, LONG_N * sizeof(uint32_t), 0, &t));
    const scale_add_push add_one = {1.0f, 1.0f, (uint32_t)n}, back = {1.0f, 0.0f, (uint32_t)n};
    const gpuasync_buffer ab[2] = {a, b}, ba[2] = {b, a};
    const gpuasync_op ops[2] = {
        dispatch_op(scale_add, ab, 2, &add_one, sizeof add_one, test_groups(n, 64)),
        dispatch_op(scale_add, ba, 2, &back, sizeof back, test_groups(n, 64)),
    };
    gpuasync_batch batch;
    REQUIRE_OK(gpuasync_batch_create(ex, ops, 2, &batch));
    /* Nothing in flight: NO_BLOCK replays at once. */
    gpuasync_ticket r0 = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, GPUASYNC_SUBMIT_NO_BLOCK, &r0));
    EXPECT_OK(gpuasync_ticket_wait(ex, r0, UINT64_MAX));

    const lcg_push lp = {LONG_N, iterations};
    gpuasync_ticket long_ticket = 0;
    REQUIRE_OK(gpuasync_kernel_dispatch(ex, lcg, &lb, 1, &lp, sizeof lp, test_groups(LONG_N, 64), 1, 1, 0,
                                        &long_ticket));
    gpuasync_ticket r1 = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, GPUASYNC_SUBMIT_NO_BLOCK, &r1));
    CHECK(r1 == long_ticket + 1, "the first replay is queued at once behind the long kernel (ticket %llu)",
          (unsigned long long)r1);
    EXPECT_STATUS(gpuasync_ticket_poll(ex, r1), GPUASYNC_NOT_READY);
    gpuasync_ticket refused = 0xFEEDull;
    const scale_add_push bogus = {1e30f, 1e30f, (uint32_t)n};
    const gpuasync_push_update u = update_of(0, &bogus, sizeof bogus);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, &u, 1, GPUASYNC_SUBMIT_NO_BLOCK, &refused), GPUASYNC_WOULD_BLOCK);
    EXPECT_STATUS(gpuasync_batch_replay(ex, batch, NULL, 0, GPUASYNC_SUBMIT_NO_BLOCK | GPUASYNC_SUBMIT_TIMESTAMPS,
                                        &refused),
                  GPUASYNC_WOULD_BLOCK);
    CHECK(refused == 0xFEEDull, "  a refused replay leaves the ticket output alone");
    EXPECT_STATUS(gpuasync_ticket_poll(ex, r1), GPUASYNC_NOT_READY);
    gpuasync_ticket r2 = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, batch, NULL, 0, 0, &r2));
    CHECK(r2 == r1 + 1, "a blocking replay waits for the first, then takes the next ticket: refused ones took none");
    EXPECT_OK(gpuasync_ticket_wait(ex, r2, UINT64_MAX));
    read_now(ex, a, out, bytes);
    for (size_t i = 0; i < n; i++) {
        want[i] = x0[i] + 3.0f;
    }
    size_t bad = float_mismatches(out, want, n);
    CHECK(bad == 0, "the batch ran exactly three times (the refused update was not applied): a + 3 (%zu differ)", bad);
    read_now(ex, lb, long_out, LONG_N * sizeof(uint32_t));
    uint32_t mul, add;
    test_lcg_affine(iterations, &mul, &add);
    size_t bad_long = 0;
    for (size_t i = 0; i < LONG_N; i++) {
        bad_long += long_out[i] != mul * start[i] + add;
    }
    for (int s = 0; s < 8; s++) {
        size_t i = (size_t)(test_rng_next(rng) % LONG_N);
        bad_long += long_out[i] != test_lcg_steps(start[i], iterations);
    }
    CHECK(bad_long == 0, "the long lcg: all %u elements match the host reference (%zu differ)", LONG_N, bad_long);

    /* Destroying a batch with its replay in flight is deferred: the replay still runs. */
    section("a batch destroyed with its replay in flight still runs");
    const gpuasync_op fill[1] = {fill_op(b, 0, GPUASYNC_WHOLE_SIZE, 0x9u)};
    gpuasync_batch doomed;
    REQUIRE_OK(gpuasync_batch_create(ex, fill, 1, &doomed));
    REQUIRE_OK(gpuasync_kernel_dispatch(ex, lcg, &lb, 1, &lp, sizeof lp, test_groups(LONG_N, 64), 1, 1, 0,
                                        &long_ticket));
    gpuasync_ticket r3 = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, doomed, NULL, 0, 0, &r3));
    EXPECT_OK(gpuasync_batch_destroy(ex, doomed));
    EXPECT_STATUS(gpuasync_batch_replay(ex, doomed, NULL, 0, 0, &t), GPUASYNC_INVALID_HANDLE);
    EXPECT_OK(gpuasync_ticket_wait(ex, r3, UINT64_MAX));
    uint32_t *words = (uint32_t *)out;
    read_now(ex, b, words, bytes);
    size_t not_nine = 0;
    for (size_t i = 0; i < n; i++) {
        not_nine += words[i] != 9u;
    }
    CHECK(not_nine == 0, "the destroyed batch's replay filled all %zu words (%zu differ)", n, not_nine);

    EXPECT_OK(gpuasync_batch_destroy(ex, batch));
    EXPECT_OK(gpuasync_kernel_destroy(ex, lcg));
    EXPECT_OK(gpuasync_buffer_destroy(ex, a));
    EXPECT_OK(gpuasync_buffer_destroy(ex, b));
    EXPECT_OK(gpuasync_buffer_destroy(ex, lb));
    free(x0);
    free(out);
    free(want);
    free(start);
    free(long_out);
}

int main(void)
{
    test_rng rng = test_rng_new(0xBA7C4ull);
    gpuasync_executor ex = test_executor_create();
    gpuasync_kernel scale_add;
    REQUIRE_OK(gpuasync_kernel_create_from_file(ex, test_spirv_path("scale_add"), "main", NULL, 0, &scale_add));

    check_replay_1000(ex, scale_add, &rng);
    check_fill_copy_dispatch(ex, scale_add, &rng);
    check_handles_and_pointers(ex, scale_add, &rng);
    check_host_ops_refused(ex, scale_add);
    check_one_in_flight(ex, scale_add, &rng);

    /* A batch still alive when its executor is destroyed is freed with it. */
    section("teardown (one batch left alive for the executor to free)");
    gpuasync_buffer leftover_buffer;
    REQUIRE_OK(gpuasync_buffer_create(ex, 256, GPUASYNC_BUFFER_DEVICE_LOCAL, &leftover_buffer));
    const gpuasync_op fill[1] = {fill_op(leftover_buffer, 0, GPUASYNC_WHOLE_SIZE, 1)};
    gpuasync_batch leftover;
    REQUIRE_OK(gpuasync_batch_create(ex, fill, 1, &leftover));
    gpuasync_ticket t = 0;
    EXPECT_OK(gpuasync_batch_replay(ex, leftover, NULL, 0, 0, &t));
    EXPECT_OK(gpuasync_kernel_destroy(ex, scale_add));
    test_executor_finish(ex);
    EXPECT_STATUS(gpuasync_batch_replay(ex, leftover, NULL, 0, 0, &t), GPUASYNC_INVALID_HANDLE);
    return test_finish("test_batch");
}
