/*
 * The C API's error contract, entry point by entry point:
 * - every required pointer argument, when null, gives GPUASYNC_NULL_ARGUMENT
 *   (documented-optional ones excepted; a zero length with a null pointer is
 *   an empty array);
 * - a zero, destroyed, stale, forged or foreign handle gives
 *   GPUASYNC_INVALID_HANDLE;
 * - domain errors give their own codes (KERNEL_MISMATCH, INVALID_SPIRV,
 *   IO_ERROR, OUT_OF_RANGE, INVALID_ARGUMENT);
 * - on failure no output is written (outputs are pre-filled with a sentinel)
 *   and gpuasync_last_error has a message (truncation and per-thread
 *   messages tested too);
 * - a failed submission submits nothing;
 * - registered host memory: null, zero, misaligned, overlapping and unknown
 *   ranges, and one write and read through it;
 * - after all of it the executor still computes a correct saxpy.
 */
#include <threads.h>

#include "gpuasync_test.h"

#define SENTINEL_BYTE 0xA5

static int all_bytes(const void *p, size_t n, unsigned char value)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != value) {
            return 0;
        }
    }
    return 1;
}

/* Expect `call` to fail with `want` and leave the output variable `var` untouched. */
#define EXPECT_FAIL_UNWRITTEN(call, want, var)                                                  \
    do {                                                                                        \
        memset(&(var), SENTINEL_BYTE, sizeof(var));                                             \
        EXPECT_STATUS(call, want);                                                              \
        CHECK(all_bytes(&(var), sizeof(var), SENTINEL_BYTE), "  %s is not written on failure", #var); \
    } while (0)

/* Bad handles of each type, with what makes them bad. */
typedef struct bad_executor {
    const char *what;
    gpuasync_executor handle;
} bad_executor;

typedef struct bad_buffer {
    const char *what;
    gpuasync_buffer handle;
} bad_buffer;

typedef struct bad_kernel {
    const char *what;
    gpuasync_kernel handle;
} bad_kernel;

enum { BAD_EXECUTORS = 3, BAD_BUFFERS = 4, BAD_KERNELS = 4 };

/* The objects every section uses. */
typedef struct fixture {
    gpuasync_executor ex;        /* the executor under test (validation on) */
    gpuasync_executor other;     /* a second executor, owner of the foreign handles */
    gpuasync_buffer buf;         /* BUF_BYTES device-local bytes in ex */
    gpuasync_buffer buf2;        /* another BUF_BYTES in ex */
    gpuasync_buffer host_buf;    /* host-visible, in ex */
    gpuasync_kernel saxpy;       /* in ex */
    bad_executor bad_ex[BAD_EXECUTORS];
    bad_buffer bad_buf[BAD_BUFFERS];
    bad_kernel bad_k[BAD_KERNELS];
} fixture;

#define BUF_BYTES 1024u

static void section(const char *name)
{
    printf("\n== %s\n", name);
}

static void check_before_anything(void)
{
    section("before any call fails");
    char message[8] = "xxxxxxx";
    CHECK(gpuasync_last_error(NULL, 0) == 0, "gpuasync_last_error(NULL, 0) is 0 before any error");
    CHECK(gpuasync_last_error(message, sizeof message) == 0 && message[0] == '\0',
          "gpuasync_last_error gives an empty string before any error");
}

static void check_version_and_status_names(void)
{
    section("version and status names");
    CHECK(gpuasync_version() == GPUASYNC_VERSION, "gpuasync_version() %u == GPUASYNC_VERSION %d",
          gpuasync_version(), GPUASYNC_VERSION);
    CHECK(GPUASYNC_VERSION == GPUASYNC_VERSION_MAJOR * 10000 + GPUASYNC_VERSION_MINOR * 100 + GPUASYNC_VERSION_PATCH,
          "GPUASYNC_VERSION is MAJOR*10000 + MINOR*100 + PATCH");

    static const struct {
        gpuasync_status status;
        const char *name;
    } names[] = {
        {GPUASYNC_OK, "GPUASYNC_OK"},
        {GPUASYNC_NULL_ARGUMENT, "GPUASYNC_NULL_ARGUMENT"},
        {GPUASYNC_INVALID_HANDLE, "GPUASYNC_INVALID_HANDLE"},
        {GPUASYNC_INVALID_ARGUMENT, "GPUASYNC_INVALID_ARGUMENT"},
        {GPUASYNC_OUT_OF_RANGE, "GPUASYNC_OUT_OF_RANGE"},
        {GPUASYNC_INVALID_SPIRV, "GPUASYNC_INVALID_SPIRV"},
        {GPUASYNC_KERNEL_MISMATCH, "GPUASYNC_KERNEL_MISMATCH"},
        {GPUASYNC_TIMEOUT, "GPUASYNC_TIMEOUT"},
        {GPUASYNC_NOT_READY, "GPUASYNC_NOT_READY"},
        {GPUASYNC_WOULD_BLOCK, "GPUASYNC_WOULD_BLOCK"},
        {GPUASYNC_NOT_FOUND, "GPUASYNC_NOT_FOUND"},
        {GPUASYNC_NO_DEVICE, "GPUASYNC_NO_DEVICE"},
        {GPUASYNC_UNSUPPORTED, "GPUASYNC_UNSUPPORTED"},
        {GPUASYNC_OUT_OF_DEVICE_MEMORY, "GPUASYNC_OUT_OF_DEVICE_MEMORY"},
        {GPUASYNC_OUT_OF_HOST_MEMORY, "GPUASYNC_OUT_OF_HOST_MEMORY"},
        {GPUASYNC_DEVICE_LOST, "GPUASYNC_DEVICE_LOST"},
        {GPUASYNC_VULKAN_ERROR, "GPUASYNC_VULKAN_ERROR"},
        {GPUASYNC_IO_ERROR, "GPUASYNC_IO_ERROR"},
        {GPUASYNC_INTERNAL, "GPUASYNC_INTERNAL"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *got = gpuasync_status_string((int32_t)names[i].status);
        CHECK(got != NULL && strcmp(got, names[i].name) == 0, "gpuasync_status_string(%d) is \"%s\" (got \"%s\")",
              (int)names[i].status, names[i].name, got ? got : "(null)");
    }
    const int32_t unknown[] = {12345, -1, 7, 99, 104, 207, 1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *got = gpuasync_status_string(unknown[i]);
        CHECK(got != NULL && strcmp(got, "GPUASYNC_UNKNOWN_STATUS") == 0,
              "gpuasync_status_string(%ld) is \"GPUASYNC_UNKNOWN_STATUS\" (got \"%s\")", (long)unknown[i],
              got ? got : "(null)");
    }
}

static void check_devices(void)
{
    section("gpuasync_device_count / gpuasync_device_info");
    uint32_t count;
    EXPECT_STATUS(gpuasync_device_count(NULL), GPUASYNC_NULL_ARGUMENT);
    REQUIRE_OK(gpuasync_device_count(&count));
    CHECK(count >= 1, "at least one Vulkan device (%u)", count);

    struct gpuasync_device_info info;
    EXPECT_STATUS(gpuasync_device_describe(0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_FAIL_UNWRITTEN(gpuasync_device_describe(count, &info), GPUASYNC_INVALID_ARGUMENT, info);
    EXPECT_FAIL_UNWRITTEN(gpuasync_device_describe(UINT32_MAX, &info), GPUASYNC_INVALID_ARGUMENT, info);
    for (uint32_t i = 0; i < count; i++) {
        memset(&info, SENTINEL_BYTE, sizeof info);
        EXPECT_OK(gpuasync_device_describe(i, &info));
        CHECK(info.index == i, "device %u: index %u", i, info.index);
        CHECK(memchr(info.name, '\0', sizeof info.name) != NULL && info.name[0] != '\0',
              "device %u: a NUL-terminated, non-empty name", i);
        CHECK(info.device_type <= GPUASYNC_DEVICE_TYPE_DISCRETE_GPU, "device %u: a known type (%u)", i,
              info.device_type);
        CHECK(info.suitable == 0 || info.suitable == 1, "device %u: suitable is 0 or 1", i);
    }
}

/* Creates the executors, buffers and kernels, and the bad handles of each kind. */
static fixture make_fixture(void)
{
    section("executor creation (null, optional desc, bad device)");
    fixture f;
    memset(&f, 0, sizeof f);
    gpuasync_executor_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.flags = GPUASYNC_EXECUTOR_VALIDATION;
    gpuasync_executor scratch;
    EXPECT_STATUS(gpuasync_executor_create(&desc, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_executor_create(NULL, NULL), GPUASYNC_NULL_ARGUMENT);
    if (getenv("GPUASYNC_DEVICE") == NULL) { /* the variable would override desc.device */
        desc.device = "no device is called this 7f3a";
        EXPECT_FAIL_UNWRITTEN(gpuasync_executor_create(&desc, &scratch), GPUASYNC_NO_DEVICE, scratch);
        desc.device = NULL;
    }

    f.ex = test_executor_create();
    f.other = test_executor_create();
    /* desc is optional: NULL gives the defaults. This one is destroyed at once
     * and its handle kept as a destroyed executor. */
    gpuasync_executor dead = {0};
    REQUIRE_OK(gpuasync_executor_create(NULL, &dead));
    CHECK(dead.id != 0 && dead.id != f.ex.id && dead.id != f.other.id, "executor handles are distinct and nonzero");
    EXPECT_OK(gpuasync_executor_destroy(dead));

    /* The first buffer of ex and of other share index and generation: only the
     * owner bits of the foreign handle differ, so ownership is really checked. */
    REQUIRE_OK(gpuasync_buffer_create(f.ex, BUF_BYTES, GPUASYNC_BUFFER_DEVICE_LOCAL, &f.buf));
    gpuasync_buffer foreign_buf, dead_buf, stale_buf, reuse;
    REQUIRE_OK(gpuasync_buffer_create(f.other, BUF_BYTES, GPUASYNC_BUFFER_DEVICE_LOCAL, &foreign_buf));
    CHECK(foreign_buf.id != f.buf.id, "buffers of different executors have different handles");
    REQUIRE_OK(gpuasync_buffer_create(f.ex, BUF_BYTES, GPUASYNC_BUFFER_DEVICE_LOCAL, &dead_buf));
    EXPECT_OK(gpuasync_buffer_destroy(f.ex, dead_buf));
    /* stale: its slot is reused by a new buffer with a new generation. */
    REQUIRE_OK(gpuasync_buffer_create(f.ex, 16, GPUASYNC_BUFFER_DEVICE_LOCAL, &stale_buf));
    EXPECT_OK(gpuasync_buffer_destroy(f.ex, stale_buf));
    REQUIRE_OK(gpuasync_buffer_create(f.ex, BUF_BYTES, GPUASYNC_BUFFER_DEVICE_LOCAL, &reuse));
    CHECK(reuse.id != stale_buf.id, "a reused buffer slot gets a new handle");
    f.buf2 = reuse;
    REQUIRE_OK(gpuasync_buffer_create(f.ex, BUF_BYTES, GPUASYNC_BUFFER_HOST_VISIBLE, &f.host_buf));

    const char *saxpy_path = test_spirv_path("saxpy");
    REQUIRE_OK(gpuasync_kernel_create_from_file(f.ex, saxpy_path, "main", NULL, 0, &f.saxpy));
    gpuasync_kernel foreign_k, dead_k, stale_k, scratch_k;
    REQUIRE_OK(gpuasync_kernel_create_from_file(f.other, saxpy_path, "main", NULL, 0, &foreign_k));
    REQUIRE_OK(gpuasync_kernel_create_from_file(f.ex, saxpy_path, "main", NULL, 0, &dead_k));
    EXPECT_OK(gpuasync_kernel_destroy(f.ex, dead_k));
    REQUIRE_OK(gpuasync_kernel_create_from_file(f.ex, saxpy_path, "main", NULL, 0, &stale_k));
    EXPECT_OK(gpuasync_kernel_destroy(f.ex, stale_k));
    REQUIRE_OK(gpuasync_kernel_create_from_file(f.ex, saxpy_path, "main", NULL, 0, &scratch_k));
    CHECK(scratch_k.id != stale_k.id, "a reused kernel slot gets a new handle");
    EXPECT_OK(gpuasync_kernel_destroy(f.ex, scratch_k));

    f.bad_ex[0] = (bad_executor){"zero executor", {0}};
    f.bad_ex[1] = (bad_executor){"destroyed executor", dead};
    f.bad_ex[2] = (bad_executor){"forged executor (a buffer's id)", {f.buf.id}};
    f.bad_buf[0] = (bad_buffer){"zero buffer", {0}};
    f.bad_buf[1] = (bad_buffer){"destroyed buffer", dead_buf};
    f.bad_buf[2] = (bad_buffer){"stale buffer (slot reused)", stale_buf};
    f.bad_buf[3] = (bad_buffer){"buffer of another executor", foreign_buf};
    f.bad_k[0] = (bad_kernel){"zero kernel", {0}};
    f.bad_k[1] = (bad_kernel){"destroyed kernel", dead_k};
    f.bad_k[2] = (bad_kernel){"stale kernel (slot reused)", stale_k};
    f.bad_k[3] = (bad_kernel){"kernel of another executor", foreign_k};
    return f;
}

static void check_executor_calls(const fixture *f)
{
    section("gpuasync_executor_destroy / _device_info / _validation / _wait_idle / _stats");
    struct gpuasync_device_info info;
    struct gpuasync_stats stats;
    uint32_t enabled;
    uint64_t messages;
    EXPECT_STATUS(gpuasync_executor_device_info(f->ex, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_executor_validation(f->ex, NULL, &messages), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_executor_validation(f->ex, &enabled, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_executor_stats(f->ex, NULL), GPUASYNC_NULL_ARGUMENT);
    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_STATUS(gpuasync_executor_destroy(bad), GPUASYNC_INVALID_HANDLE);
        EXPECT_FAIL_UNWRITTEN(gpuasync_executor_device_info(bad, &info), GPUASYNC_INVALID_HANDLE, info);
        memset(&enabled, SENTINEL_BYTE, sizeof enabled);
        EXPECT_FAIL_UNWRITTEN(gpuasync_executor_validation(bad, &enabled, &messages), GPUASYNC_INVALID_HANDLE,
                              messages);
        CHECK(all_bytes(&enabled, sizeof enabled, SENTINEL_BYTE), "  enabled is not written on failure");
        EXPECT_STATUS(gpuasync_executor_wait_idle(bad), GPUASYNC_INVALID_HANDLE);
        EXPECT_FAIL_UNWRITTEN(gpuasync_executor_stats(bad, &stats), GPUASYNC_INVALID_HANDLE, stats);
        EXPECT_STATUS(gpuasync_executor_trace(bad, NULL), GPUASYNC_INVALID_HANDLE);
    }
    EXPECT_OK(gpuasync_executor_wait_idle(f->ex));
    EXPECT_OK(gpuasync_executor_stats(f->ex, &stats));
    CHECK(stats.completed == stats.submissions && stats.queue_submissions <= stats.submissions,
          "stats after wait_idle: %llu submissions, %llu completed, %llu queue submissions",
          (unsigned long long)stats.submissions, (unsigned long long)stats.completed,
          (unsigned long long)stats.queue_submissions);
    EXPECT_OK(gpuasync_executor_device_info(f->ex, &info));
    CHECK(info.suitable == 1 && info.name[0] != '\0', "the executor's device is suitable and named (%s)", info.name);
    CHECK(info.max_shared_memory >= 16384, "shared memory limit %u is at least Vulkan's 16 KiB", info.max_shared_memory);
    EXPECT_OK(gpuasync_executor_wait_idle(f->ex));
}

static void check_buffer_calls(const fixture *f)
{
    section("gpuasync_buffer_create / _destroy / _size / _map");
    gpuasync_buffer b;
    uint64_t size;
    void *pointer;
    EXPECT_STATUS(gpuasync_buffer_create(f->ex, 64, GPUASYNC_BUFFER_DEVICE_LOCAL, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_create(f->ex, 0, GPUASYNC_BUFFER_DEVICE_LOCAL, &b),
                          GPUASYNC_INVALID_ARGUMENT, b);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_create(f->ex, 64, 3, &b), GPUASYNC_INVALID_ARGUMENT, b);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_create(f->ex, 64, 0xFFFFFFFFu, &b), GPUASYNC_INVALID_ARGUMENT, b);
    EXPECT_STATUS(gpuasync_buffer_size(f->ex, f->buf, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_buffer_map(f->ex, f->host_buf, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_map(f->ex, f->buf, &pointer), GPUASYNC_INVALID_ARGUMENT, pointer);

    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_create(bad, 64, GPUASYNC_BUFFER_DEVICE_LOCAL, &b),
                              GPUASYNC_INVALID_HANDLE, b);
        EXPECT_STATUS(gpuasync_buffer_destroy(bad, f->buf), GPUASYNC_INVALID_HANDLE);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_size(bad, f->buf, &size), GPUASYNC_INVALID_HANDLE, size);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_map(bad, f->host_buf, &pointer), GPUASYNC_INVALID_HANDLE, pointer);
    }
    for (int i = 0; i < BAD_BUFFERS; i++) {
        gpuasync_buffer bad = f->bad_buf[i].handle;
        printf("-- %s\n", f->bad_buf[i].what);
        EXPECT_STATUS(gpuasync_buffer_destroy(f->ex, bad), GPUASYNC_INVALID_HANDLE);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_size(f->ex, bad, &size), GPUASYNC_INVALID_HANDLE, size);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_map(f->ex, bad, &pointer), GPUASYNC_INVALID_HANDLE, pointer);
    }
    printf("-- a buffer of ex, given to the other executor\n");
    EXPECT_STATUS(gpuasync_buffer_destroy(f->other, f->buf), GPUASYNC_INVALID_HANDLE);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_size(f->other, f->buf, &size), GPUASYNC_INVALID_HANDLE, size);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_map(f->other, f->host_buf, &pointer), GPUASYNC_INVALID_HANDLE, pointer);

    /* None of the failed destroys touched the live buffers. */
    EXPECT_OK(gpuasync_buffer_size(f->ex, f->buf, &size));
    CHECK(size == BUF_BYTES, "buffer size is %u after the failed destroys (%llu)", BUF_BYTES,
          (unsigned long long)size);
    EXPECT_OK(gpuasync_buffer_size(f->other, f->bad_buf[3].handle, &size));
    CHECK(size == BUF_BYTES, "the other executor's buffer is alive too");
    pointer = NULL;
    EXPECT_OK(gpuasync_buffer_map(f->ex, f->host_buf, &pointer));
    CHECK(pointer != NULL, "a host-visible buffer maps to a non-null address");
}

static void check_transfer_calls(const fixture *f)
{
    section("gpuasync_buffer_write / _read / _fill / _copy");
    unsigned char bytes[BUF_BYTES];
    unsigned char dst[BUF_BYTES];
    gpuasync_ticket ticket;
    memset(bytes, 0x3C, sizeof bytes);

    /* null pointers */
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, f->buf, 0, NULL, 16, 0, &ticket), GPUASYNC_NULL_ARGUMENT,
                          ticket);
    EXPECT_STATUS(gpuasync_buffer_write(f->ex, f->buf, 0, bytes, 16, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_read(f->ex, f->buf, 0, NULL, 16, 0, &ticket), GPUASYNC_NULL_ARGUMENT,
                          ticket);
    EXPECT_STATUS(gpuasync_buffer_read(f->ex, f->buf, 0, dst, 16, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_buffer_fill(f->ex, f->buf, 0, 16, 7, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_buffer_copy(f->ex, f->buf, 0, f->buf2, 0, 16, 0, NULL), GPUASYNC_NULL_ARGUMENT);

    /* zero length with a null pointer is an empty array, not a null argument */
    memset(&ticket, SENTINEL_BYTE, sizeof ticket);
    EXPECT_OK(gpuasync_buffer_write(f->ex, f->buf, 0, NULL, 0, 0, &ticket));
    CHECK(!all_bytes(&ticket, sizeof ticket, SENTINEL_BYTE), "  an empty write returns a ticket");
    EXPECT_OK(gpuasync_ticket_wait(f->ex, ticket, UINT64_MAX));
    memset(&ticket, SENTINEL_BYTE, sizeof ticket);
    EXPECT_OK(gpuasync_buffer_read(f->ex, f->buf, 0, NULL, 0, 0, &ticket));
    CHECK(!all_bytes(&ticket, sizeof ticket, SENTINEL_BYTE), "  an empty read returns a ticket");
    EXPECT_OK(gpuasync_ticket_wait(f->ex, ticket, UINT64_MAX));

    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(bad, f->buf, 0, bytes, 16, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                              ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_read(bad, f->buf, 0, dst, 16, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                              ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(bad, f->buf, 0, 16, 7, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                              ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(bad, f->buf, 0, f->buf2, 0, 16, 0, &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
    }
    for (int i = 0; i < BAD_BUFFERS; i++) {
        gpuasync_buffer bad = f->bad_buf[i].handle;
        printf("-- %s\n", f->bad_buf[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, bad, 0, bytes, 16, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                              ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_read(f->ex, bad, 0, dst, 16, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                              ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(f->ex, bad, 0, 16, 7, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                              ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, bad, 0, f->buf2, 0, 16, 0, &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, f->buf, 0, bad, 0, 16, 0, &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
    }
    printf("-- a buffer of ex, given to the other executor\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->other, f->buf, 0, bytes, 16, 0, &ticket), GPUASYNC_INVALID_HANDLE,
                          ticket);

    printf("-- out of range\n");
    const uint64_t end = BUF_BYTES;
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, f->buf, end - 4, bytes, 8, 0, &ticket), GPUASYNC_OUT_OF_RANGE,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, f->buf, end, bytes, 1, 0, &ticket), GPUASYNC_OUT_OF_RANGE,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, f->buf, 0, bytes, BUF_BYTES + 1, 0, &ticket),
                          GPUASYNC_OUT_OF_RANGE, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, f->buf, UINT64_MAX - 3, bytes, 8, 0, &ticket),
                          GPUASYNC_OUT_OF_RANGE, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_read(f->ex, f->buf, end - 4, dst, 8, 0, &ticket), GPUASYNC_OUT_OF_RANGE,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_read(f->ex, f->buf, UINT64_MAX, dst, 1, 0, &ticket), GPUASYNC_OUT_OF_RANGE,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(f->ex, f->buf, end - 4, 8, 7, 0, &ticket), GPUASYNC_OUT_OF_RANGE,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(f->ex, f->buf, end + 4, GPUASYNC_WHOLE_SIZE, 7, 0, &ticket),
                          GPUASYNC_OUT_OF_RANGE, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, f->buf, end - 4, f->buf2, 0, 8, 0, &ticket),
                          GPUASYNC_OUT_OF_RANGE, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, f->buf, 0, f->buf2, end - 4, 8, 0, &ticket),
                          GPUASYNC_OUT_OF_RANGE, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, f->buf, 0, f->buf2, 0, UINT64_MAX, 0, &ticket),
                          GPUASYNC_OUT_OF_RANGE, ticket);

    printf("-- other invalid arguments\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(f->ex, f->buf, 2, 8, 7, 0, &ticket), GPUASYNC_INVALID_ARGUMENT,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(f->ex, f->buf, 0, 6, 7, 0, &ticket), GPUASYNC_INVALID_ARGUMENT,
                          ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, f->buf, 0, f->buf, 8, 16, 0, &ticket),
                          GPUASYNC_INVALID_ARGUMENT, ticket);

    printf("-- unknown submit flag bits\n");
    const uint32_t bad_flags[] = {8u, 0x80000000u, GPUASYNC_SUBMIT_TIMESTAMPS | (GPUASYNC_SUBMIT_OP_TIMESTAMPS << 1)};
    for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
        uint32_t flags = bad_flags[i];
        printf("   flags %#x\n", flags);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_write(f->ex, f->buf, 0, bytes, 16, flags, &ticket),
                              GPUASYNC_INVALID_ARGUMENT, ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_read(f->ex, f->buf, 0, dst, 16, flags, &ticket),
                              GPUASYNC_INVALID_ARGUMENT, ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_fill(f->ex, f->buf, 0, 16, 7, flags, &ticket),
                              GPUASYNC_INVALID_ARGUMENT, ticket);
        EXPECT_FAIL_UNWRITTEN(gpuasync_buffer_copy(f->ex, f->buf, 0, f->buf2, 0, 16, flags, &ticket),
                              GPUASYNC_INVALID_ARGUMENT, ticket);
    }
}

static void check_kernel_create(const fixture *f, test_rng *rng)
{
    section("gpuasync_kernel_create / _create_from_file");
    size_t word_count;
    uint32_t *words = test_load_spirv("saxpy", &word_count);
    const char *path = test_spirv_path("saxpy");
    gpuasync_kernel k;

    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, NULL, word_count, "main", NULL, 0, &k),
                          GPUASYNC_NULL_ARGUMENT, k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, words, word_count, NULL, NULL, 0, &k),
                          GPUASYNC_NULL_ARGUMENT, k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, words, word_count, "main", NULL, 1, &k),
                          GPUASYNC_NULL_ARGUMENT, k);
    EXPECT_STATUS(gpuasync_kernel_create(f->ex, words, word_count, "main", NULL, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(f->ex, NULL, "main", NULL, 0, &k),
                          GPUASYNC_NULL_ARGUMENT, k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(f->ex, path, NULL, NULL, 0, &k), GPUASYNC_NULL_ARGUMENT,
                          k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(f->ex, path, "main", NULL, 1, &k),
                          GPUASYNC_NULL_ARGUMENT, k);
    EXPECT_STATUS(gpuasync_kernel_create_from_file(f->ex, path, "main", NULL, 0, NULL), GPUASYNC_NULL_ARGUMENT);

    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(bad, words, word_count, "main", NULL, 0, &k),
                              GPUASYNC_INVALID_HANDLE, k);
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(bad, path, "main", NULL, 0, &k),
                              GPUASYNC_INVALID_HANDLE, k);
    }

    printf("-- not SPIR-V\n");
    uint32_t garbage[64];
    test_fill_u32(rng, garbage, 64);
    if (garbage[0] == 0x07230203u) {
        garbage[0] ^= 1u;
    }
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, words, 3, "main", NULL, 0, &k), GPUASYNC_INVALID_SPIRV, k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, garbage, 64, "main", NULL, 0, &k), GPUASYNC_INVALID_SPIRV,
                          k);
    /* The right magic and header, then random words. */
    memcpy(garbage, words, 5 * sizeof(uint32_t));
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, garbage, 64, "main", NULL, 0, &k), GPUASYNC_INVALID_SPIRV,
                          k);
    /* A zero length with a null pointer is an empty array: empty SPIR-V. */
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create(f->ex, NULL, 0, "main", NULL, 0, &k), GPUASYNC_INVALID_SPIRV, k);

    printf("-- files that cannot be read\n");
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/no-such-kernel-7f3a.spv", SPIRV_DIR);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(f->ex, missing, "main", NULL, 0, &k), GPUASYNC_IO_ERROR,
                          k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(f->ex, "", "main", NULL, 0, &k), GPUASYNC_IO_ERROR, k);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_create_from_file(f->ex, SPIRV_DIR, "main", NULL, 0, &k), GPUASYNC_IO_ERROR,
                          k);

    printf("-- valid SPIR-V, optional spec constants (null with count 0)\n");
    memset(&k, SENTINEL_BYTE, sizeof k);
    EXPECT_OK(gpuasync_kernel_create(f->ex, words, word_count, "main", NULL, 0, &k));
    CHECK(k.id != 0 && !all_bytes(&k, sizeof k, SENTINEL_BYTE), "  the kernel handle is written");
    EXPECT_OK(gpuasync_kernel_destroy(f->ex, k));
    free(words);
}

static void check_kernel_calls(const fixture *f)
{
    section("gpuasync_kernel_info / _destroy");
    struct gpuasync_kernel_info info;
    EXPECT_STATUS(gpuasync_kernel_describe(f->ex, f->saxpy, NULL), GPUASYNC_NULL_ARGUMENT);
    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_describe(bad, f->saxpy, &info), GPUASYNC_INVALID_HANDLE, info);
        EXPECT_STATUS(gpuasync_kernel_destroy(bad, f->saxpy), GPUASYNC_INVALID_HANDLE);
    }
    for (int i = 0; i < BAD_KERNELS; i++) {
        gpuasync_kernel bad = f->bad_k[i].handle;
        printf("-- %s\n", f->bad_k[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_describe(f->ex, bad, &info), GPUASYNC_INVALID_HANDLE, info);
        EXPECT_STATUS(gpuasync_kernel_destroy(f->ex, bad), GPUASYNC_INVALID_HANDLE);
    }
    printf("-- a kernel of ex, given to the other executor\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_describe(f->other, f->saxpy, &info), GPUASYNC_INVALID_HANDLE, info);
    EXPECT_STATUS(gpuasync_kernel_destroy(f->other, f->saxpy), GPUASYNC_INVALID_HANDLE);

    EXPECT_OK(gpuasync_kernel_describe(f->ex, f->saxpy, &info));
    CHECK(info.binding_count == 2 && info.push_constant_size == 8 && info.local_size[0] == 64 &&
              info.local_size[1] == 1 && info.local_size[2] == 1,
          "saxpy: 2 bindings, 8 push-constant bytes, local size 64x1x1 (got %u, %u, %ux%ux%u)", info.binding_count,
          info.push_constant_size, info.local_size[0], info.local_size[1], info.local_size[2]);
    EXPECT_OK(gpuasync_kernel_describe(f->other, f->bad_k[3].handle, &info));
    CHECK(info.binding_count == 2, "the other executor's kernel is still alive after the failed destroys");
}

static void check_dispatch(const fixture *f)
{
    section("gpuasync_kernel_dispatch");
    const gpuasync_buffer bindings[3] = {f->buf, f->buf2, f->buf};
    const saxpy_push push = {1.5f, 16};
    const unsigned char push12[12] = {0};
    gpuasync_ticket ticket;

    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, NULL, 2, &push, sizeof push, 1, 1, 1, 0, &ticket),
                          GPUASYNC_NULL_ARGUMENT, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, NULL, 8, 1, 1, 1, 0, &ticket),
                          GPUASYNC_NULL_ARGUMENT, ticket);
    EXPECT_STATUS(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, 1, 1, 1, 0, NULL),
                  GPUASYNC_NULL_ARGUMENT);

    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(bad, f->saxpy, bindings, 2, &push, sizeof push, 1, 1, 1, 0,
                                                       &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
    }
    for (int i = 0; i < BAD_KERNELS; i++) {
        gpuasync_kernel bad = f->bad_k[i].handle;
        printf("-- %s\n", f->bad_k[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, bad, bindings, 2, &push, sizeof push, 1, 1, 1, 0,
                                                       &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
    }
    for (int i = 0; i < BAD_BUFFERS; i++) {
        printf("-- %s as binding 1\n", f->bad_buf[i].what);
        const gpuasync_buffer with_bad[2] = {f->buf, f->bad_buf[i].handle};
        EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, with_bad, 2, &push, sizeof push, 1, 1, 1, 0,
                                                       &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
    }
    printf("-- a kernel of ex, dispatched on the other executor\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->other, f->saxpy, bindings, 2, &push, sizeof push, 1, 1, 1, 0,
                                                   &ticket),
                          GPUASYNC_INVALID_HANDLE, ticket);

    printf("-- dispatches that do not match the kernel\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 1, &push, sizeof push, 1, 1, 1, 0,
                                                   &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 3, &push, sizeof push, 1, 1, 1, 0,
                                                   &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, NULL, 0, &push, sizeof push, 1, 1, 1, 0, &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, 4, 1, 1, 1, 0, &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, push12, sizeof push12, 1, 1, 1, 0,
                                                   &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, NULL, 0, 1, 1, 1, 0, &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, 0, 1, 1, 0,
                                                   &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, 1, 0, 1, 0,
                                                   &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, 1, 1, 0, 0,
                                                   &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, UINT32_MAX, 1, 1,
                                                   0, &ticket),
                          GPUASYNC_KERNEL_MISMATCH, ticket);

    printf("-- unknown submit flag bits\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, 1, 1, 1, 8u,
                                                   &ticket),
                          GPUASYNC_INVALID_ARGUMENT, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, 1, 1, 1,
                                                   0x80000000u, &ticket),
                          GPUASYNC_INVALID_ARGUMENT, ticket);
}


static void check_submit(const fixture *f, test_rng *rng)
{
    section("gpuasync_executor_submit");
    enum { N = BUF_BYTES / sizeof(float) };
    float before[N], attempt[N], got[N];
    test_fill_f32(rng, before, N);
    test_fill_f32(rng, attempt, N);
    const gpuasync_buffer bindings[2] = {f->buf, f->buf2};
    const saxpy_push push = {1.5f, N};
    gpuasync_ticket ticket;

    gpuasync_op write = op_of(GPUASYNC_OP_WRITE);
    write.buffer = f->buf2;
    write.size = sizeof attempt;
    write.host_src = attempt;
    gpuasync_op read = op_of(GPUASYNC_OP_READ);
    read.buffer = f->buf2;
    read.size = sizeof got;
    read.host_dst = got;
    gpuasync_op fill = op_of(GPUASYNC_OP_FILL);
    fill.buffer = f->buf2;
    fill.size = GPUASYNC_WHOLE_SIZE;
    fill.fill_value = 0x12345678u;
    gpuasync_op copy = op_of(GPUASYNC_OP_COPY);
    copy.src = f->buf;
    copy.buffer = f->buf2;
    copy.size = 64;
    gpuasync_op dispatch = op_of(GPUASYNC_OP_DISPATCH);
    dispatch.kernel = f->saxpy;
    dispatch.bindings = bindings;
    dispatch.binding_count = 2;
    dispatch.push_constants = &push;
    dispatch.push_constant_size = sizeof push;
    dispatch.groups[0] = test_groups(N, 64);
    dispatch.groups[1] = 1;
    dispatch.groups[2] = 1;

    /* The state every failed submission must leave alone: buf2 = before. */
    REQUIRE_OK(gpuasync_buffer_write(f->ex, f->buf2, 0, before, sizeof before, 0, &ticket));

    const gpuasync_op valid[1] = {write};
    EXPECT_FAIL_UNWRITTEN(gpuasync_executor_submit(f->ex, NULL, 1, 0, &ticket), GPUASYNC_NULL_ARGUMENT, ticket);
    EXPECT_STATUS(gpuasync_executor_submit(f->ex, valid, 1, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    for (int i = 0; i < BAD_EXECUTORS; i++) {
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_FAIL_UNWRITTEN(gpuasync_executor_submit(f->bad_ex[i].handle, valid, 1, 0, &ticket),
                              GPUASYNC_INVALID_HANDLE, ticket);
    }

    /* Each bad op is submitted after a valid write of `attempt` into buf2: the
     * whole submission must fail, so buf2 still holds `before` at the end. */
    gpuasync_op ops[2];
    ops[0] = write;
#define EXPECT_SUBMIT_FAILS(bad_op, want)                                                          \
    do {                                                                                           \
        ops[1] = (bad_op);                                                                         \
        EXPECT_FAIL_UNWRITTEN(gpuasync_executor_submit(f->ex, ops, 2, 0, &ticket), want, ticket); \
    } while (0)

    printf("-- unknown op kinds\n");
    EXPECT_SUBMIT_FAILS(op_of(0), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_SUBMIT_FAILS(op_of(GPUASYNC_OP_BUILTIN + 1), GPUASYNC_INVALID_ARGUMENT); /* the first unused kind */
    EXPECT_SUBMIT_FAILS(op_of(0xFFFFFFFFu), GPUASYNC_INVALID_ARGUMENT);
    printf("-- unknown submit flag bits\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_executor_submit(f->ex, valid, 1, 8u, &ticket), GPUASYNC_INVALID_ARGUMENT, ticket);
    EXPECT_FAIL_UNWRITTEN(gpuasync_executor_submit(f->ex, valid, 1, 0x80000000u | GPUASYNC_SUBMIT_TIMESTAMPS,
                                                   &ticket),
                          GPUASYNC_INVALID_ARGUMENT, ticket);

    printf("-- null pointers inside ops\n");
    gpuasync_op bad = write;
    bad.host_src = NULL;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_NULL_ARGUMENT);
    bad = read;
    bad.host_dst = NULL;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_NULL_ARGUMENT);
    bad = dispatch;
    bad.bindings = NULL;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_NULL_ARGUMENT);
    bad = dispatch;
    bad.push_constants = NULL;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_NULL_ARGUMENT);

    printf("-- bad handles inside ops\n");
    for (int i = 0; i < BAD_BUFFERS; i++) {
        printf("   %s\n", f->bad_buf[i].what);
        bad = read;
        bad.buffer = f->bad_buf[i].handle;
        EXPECT_SUBMIT_FAILS(bad, GPUASYNC_INVALID_HANDLE);
        bad = fill;
        bad.buffer = f->bad_buf[i].handle;
        EXPECT_SUBMIT_FAILS(bad, GPUASYNC_INVALID_HANDLE);
        bad = copy;
        bad.src = f->bad_buf[i].handle;
        EXPECT_SUBMIT_FAILS(bad, GPUASYNC_INVALID_HANDLE);
        bad = copy;
        bad.buffer = f->bad_buf[i].handle;
        EXPECT_SUBMIT_FAILS(bad, GPUASYNC_INVALID_HANDLE);
    }
    for (int i = 0; i < BAD_KERNELS; i++) {
        printf("   %s\n", f->bad_k[i].what);
        bad = dispatch;
        bad.kernel = f->bad_k[i].handle;
        EXPECT_SUBMIT_FAILS(bad, GPUASYNC_INVALID_HANDLE);
    }

    printf("-- out of range inside ops\n");
    bad = read;
    bad.offset = 4;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_OUT_OF_RANGE);
    bad = copy;
    bad.src_offset = BUF_BYTES - 32;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_OUT_OF_RANGE);
    bad = fill;
    bad.size = BUF_BYTES + 4;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_OUT_OF_RANGE);
    bad = write;
    bad.offset = BUF_BYTES;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_OUT_OF_RANGE);

    printf("-- dispatches that do not match the kernel\n");
    bad = dispatch;
    bad.binding_count = 1;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_KERNEL_MISMATCH);
    bad = dispatch;
    bad.push_constant_size = 4;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_KERNEL_MISMATCH);
    bad = dispatch;
    bad.groups[0] = 0;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_KERNEL_MISMATCH);
    bad = dispatch;
    bad.groups[2] = 0;
    EXPECT_SUBMIT_FAILS(bad, GPUASYNC_KERNEL_MISMATCH);
#undef EXPECT_SUBMIT_FAILS

    printf("-- no failed submission changed anything\n");
    for (size_t i = 0; i < N; i++) {
        got[i] = -before[i];
    }
    REQUIRE_OK(gpuasync_buffer_read(f->ex, f->buf2, 0, got, sizeof got, 0, &ticket));
    REQUIRE_OK(gpuasync_ticket_wait(f->ex, ticket, UINT64_MAX));
    size_t changed = 0;
    for (size_t i = 0; i < N; i++) {
        changed += memcmp(&got[i], &before[i], sizeof(float)) != 0;
    }
    CHECK(changed == 0, "buf2 still holds what was written before the failed submissions (%zu of %d differ)",
          changed, (int)N);

    printf("-- an empty submission (null ops, count 0) is valid\n");
    memset(&ticket, SENTINEL_BYTE, sizeof ticket);
    EXPECT_OK(gpuasync_executor_submit(f->ex, NULL, 0, 0, &ticket));
    CHECK(!all_bytes(&ticket, sizeof ticket, SENTINEL_BYTE), "  it returns a ticket");
    EXPECT_OK(gpuasync_ticket_wait(f->ex, ticket, UINT64_MAX));
}

static void check_tickets(const fixture *f)
{
    section("gpuasync_ticket_poll / _wait / _timing");
    gpuasync_ticket untimed, timed;
    const uint32_t word = 0x2468ACE1u;
    REQUIRE_OK(gpuasync_buffer_write(f->ex, f->buf, 0, &word, sizeof word, 0, &untimed));
    REQUIRE_OK(gpuasync_buffer_fill(f->ex, f->buf, 0, 64, word, GPUASYNC_SUBMIT_TIMESTAMPS, &timed));
    REQUIRE_OK(gpuasync_ticket_wait(f->ex, timed, UINT64_MAX));
    REQUIRE_OK(gpuasync_ticket_wait(f->ex, untimed, UINT64_MAX));
    const gpuasync_ticket never = timed + 1000;
    gpuasync_timing timing;

    EXPECT_STATUS(gpuasync_ticket_timing(f->ex, timed, NULL), GPUASYNC_NULL_ARGUMENT);
    for (int i = 0; i < BAD_EXECUTORS; i++) {
        gpuasync_executor bad = f->bad_ex[i].handle;
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_STATUS(gpuasync_ticket_poll(bad, 0), GPUASYNC_INVALID_HANDLE);
        EXPECT_STATUS(gpuasync_ticket_poll(bad, timed), GPUASYNC_INVALID_HANDLE);
        EXPECT_STATUS(gpuasync_ticket_wait(bad, timed, 0), GPUASYNC_INVALID_HANDLE);
        EXPECT_STATUS(gpuasync_ticket_wait(bad, timed, UINT64_MAX), GPUASYNC_INVALID_HANDLE);
        EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_timing(bad, timed, &timing), GPUASYNC_INVALID_HANDLE, timing);
    }
    printf("-- tickets never issued\n");
    EXPECT_STATUS(gpuasync_ticket_wait(f->ex, never, 0), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_ticket_wait(f->ex, never, UINT64_MAX), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_ticket_wait(f->ex, UINT64_MAX, UINT64_MAX), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_ticket_poll(f->ex, never), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_timing(f->ex, never, &timing), GPUASYNC_INVALID_ARGUMENT, timing);
    printf("-- tickets without timestamps\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_timing(f->ex, untimed, &timing), GPUASYNC_NOT_FOUND, timing);
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_timing(f->ex, 0, &timing), GPUASYNC_NOT_FOUND, timing);
    printf("-- valid tickets\n");
    EXPECT_OK(gpuasync_ticket_poll(f->ex, 0));
    EXPECT_OK(gpuasync_ticket_wait(f->ex, 0, 0));
    EXPECT_OK(gpuasync_ticket_poll(f->ex, timed));
    EXPECT_OK(gpuasync_ticket_wait(f->ex, untimed, 0));
    EXPECT_OK(gpuasync_ticket_timing(f->ex, timed, &timing));
    CHECK(timing.gpu_end_ns >= timing.gpu_begin_ns, "gpu_end_ns >= gpu_begin_ns");

    section("gpuasync_ticket_op_timing");
    gpuasync_ticket per_op;
    REQUIRE_OK(gpuasync_buffer_fill(f->ex, f->buf, 0, 64, word, GPUASYNC_SUBMIT_OP_TIMESTAMPS, &per_op));
    REQUIRE_OK(gpuasync_ticket_wait(f->ex, per_op, UINT64_MAX));
    EXPECT_STATUS(gpuasync_ticket_op_timing(f->ex, per_op, 0, NULL), GPUASYNC_NULL_ARGUMENT);
    for (int i = 0; i < BAD_EXECUTORS; i++) {
        EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_op_timing(f->bad_ex[i].handle, per_op, 0, &timing), GPUASYNC_INVALID_HANDLE, timing);
    }
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_op_timing(f->ex, never, 0, &timing), GPUASYNC_INVALID_ARGUMENT, timing);
    printf("-- no per-op timestamps, or no such op\n");
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_op_timing(f->ex, untimed, 0, &timing), GPUASYNC_NOT_FOUND, timing);
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_op_timing(f->ex, timed, 0, &timing), GPUASYNC_NOT_FOUND, timing);
    EXPECT_FAIL_UNWRITTEN(gpuasync_ticket_op_timing(f->ex, per_op, 1, &timing), GPUASYNC_NOT_FOUND, timing);
    printf("-- the op of a submission made with GPUASYNC_SUBMIT_OP_TIMESTAMPS\n");
    gpuasync_timing whole;
    EXPECT_OK(gpuasync_ticket_timing(f->ex, per_op, &whole));
    EXPECT_OK(gpuasync_ticket_op_timing(f->ex, per_op, 0, &timing));
    CHECK(timing.gpu_end_ns >= timing.gpu_begin_ns && timing.gpu_begin_ns >= whole.gpu_begin_ns &&
              timing.gpu_end_ns <= whole.gpu_end_ns,
          "the op's span lies inside the submission's");
    CHECK(timing.host_submit_ns == whole.host_submit_ns, "host times are the submission's");
}

static void check_last_error_truncation(const fixture *f)
{
    section("gpuasync_last_error truncation");
    uint64_t size;
    EXPECT_STATUS(gpuasync_buffer_size(f->ex, f->bad_buf[0].handle, &size), GPUASYNC_INVALID_HANDLE);
    size_t full = gpuasync_last_error(NULL, 0);
    CHECK(full > 8, "the message length is known without a buffer (%zu)", full);

    /* Buffers of exactly the given size, so AddressSanitizer sees any overrun. */
    char *whole = test_alloc(full + 1);
    CHECK(gpuasync_last_error(whole, full + 1) == full && strlen(whole) == full,
          "a buffer of length+1 gets the whole message: \"%s\"", whole);

    char *small = test_alloc(5);
    memset(small, 'Z', 5);
    size_t n = gpuasync_last_error(small, 5);
    CHECK(n == full, "a 5-byte buffer: the return value is still the full length (%zu)", n);
    CHECK(small[4] == '\0' && memcmp(small, whole, 4) == 0, "a 5-byte buffer gets a NUL-terminated 4-byte prefix");

    char *exact = test_alloc(full);
    n = gpuasync_last_error(exact, full);
    CHECK(n == full && exact[full - 1] == '\0' && memcmp(exact, whole, full - 1) == 0,
          "a buffer of exactly the length loses the last character to the NUL");

    char one = 'Z';
    CHECK(gpuasync_last_error(&one, 1) == full && one == '\0', "a 1-byte buffer gets just the NUL");
    char untouched = 'Z';
    CHECK(gpuasync_last_error(&untouched, 0) == full && untouched == 'Z', "a 0-length buffer is not written");

    /* A successful call does not invent a new error: the message is the same. */
    EXPECT_OK(gpuasync_buffer_size(f->ex, f->buf, &size));
    char *again = test_alloc(full + 1);
    CHECK(gpuasync_last_error(again, full + 1) == full && strcmp(again, whole) == 0,
          "a later success leaves the last error alone");
    free(whole);
    free(small);
    free(exact);
    free(again);
}

/* What a second thread saw of its own last error. */
typedef struct thread_probe {
    gpuasync_executor ex;
    size_t length_before;
    gpuasync_status status;
    char message[256];
} thread_probe;

static int thread_probe_run(void *arg)
{
    thread_probe *p = arg;
    p->length_before = gpuasync_last_error(NULL, 0);
    uint64_t size;
    const gpuasync_buffer zero = {0};
    p->status = gpuasync_buffer_size(p->ex, zero, &size);
    gpuasync_last_error(p->message, sizeof p->message);
    return 0;
}

static void check_last_error_per_thread(const fixture *f)
{
    section("gpuasync_last_error is per thread");
    char mine[256], after[256];
    EXPECT_STATUS(gpuasync_buffer_size(f->ex, f->buf, NULL), GPUASYNC_NULL_ARGUMENT);
    gpuasync_last_error(mine, sizeof mine);
    thread_probe probe;
    memset(&probe, 0, sizeof probe);
    probe.ex = f->ex;
    thrd_t thread;
    if (thrd_create(&thread, thread_probe_run, &probe) != thrd_success) {
        CHECK(0, "thrd_create");
        return;
    }
    thrd_join(thread, NULL);
    CHECK(probe.length_before == 0, "a new thread starts with no last error (length %zu)", probe.length_before);
    CHECK(probe.status == GPUASYNC_INVALID_HANDLE && probe.message[0] != '\0',
          "the thread's own failure gives it a message: \"%s\"", probe.message);
    gpuasync_last_error(after, sizeof after);
    CHECK(strcmp(mine, after) == 0 && strcmp(mine, probe.message) != 0,
          "this thread's message is unchanged by the other thread's failure (\"%s\")", after);
}

/* After every misuse above, the executor still computes correctly. */
/* Registered host memory: argument errors, and (where the device has
 * VK_EXT_external_memory_host) a register / write / read / unregister cycle.
 * 64 KiB alignment and length suit any import alignment up to 64 KiB. */
static void check_host_calls(const fixture *f, test_rng *rng)
{
    section("gpuasync_host_register / _unregister");
    enum { HOST_BYTES = 65536, N = BUF_BYTES / sizeof(uint32_t) };
    unsigned char *host = aligned_alloc(HOST_BYTES, 2 * HOST_BYTES);
    CHECK(host != NULL, "aligned_alloc of %d bytes", 2 * HOST_BYTES);
    if (host == NULL) {
        return;
    }
    EXPECT_STATUS(gpuasync_host_register(f->ex, NULL, HOST_BYTES), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_register(f->ex, host, 0), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_unregister(f->ex, NULL), GPUASYNC_NULL_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_unregister(f->ex, host), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_alignment(f->ex, NULL), GPUASYNC_NULL_ARGUMENT);
    size_t alignment;
    for (int i = 0; i < BAD_EXECUTORS; i++) {
        printf("-- %s\n", f->bad_ex[i].what);
        EXPECT_STATUS(gpuasync_host_register(f->bad_ex[i].handle, host, HOST_BYTES), GPUASYNC_INVALID_HANDLE);
        EXPECT_STATUS(gpuasync_host_unregister(f->bad_ex[i].handle, host), GPUASYNC_INVALID_HANDLE);
        EXPECT_FAIL_UNWRITTEN(gpuasync_host_alignment(f->bad_ex[i].handle, &alignment), GPUASYNC_INVALID_HANDLE, alignment);
    }
    gpuasync_status sa = gpuasync_host_alignment(f->ex, &alignment);
    CHECK(sa == GPUASYNC_OK || sa == GPUASYNC_UNSUPPORTED, "gpuasync_host_alignment: OK or UNSUPPORTED");
    if (sa == GPUASYNC_OK) {
        CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0 && alignment <= HOST_BYTES,
              "the alignment (%zu) is a power of two no larger than this test's %d", alignment, HOST_BYTES);
    }
    gpuasync_status s = gpuasync_host_register(f->ex, host, HOST_BYTES);
    if (s == GPUASYNC_UNSUPPORTED) {
        printf("SKIP: the device lacks VK_EXT_external_memory_host\n");
        free(host);
        return;
    }
    EXPECT_STATUS(s, GPUASYNC_OK);
    EXPECT_STATUS(gpuasync_host_register(f->ex, host + 64, HOST_BYTES), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_register(f->ex, host + HOST_BYTES, HOST_BYTES + 4), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_register(f->ex, host, 2 * HOST_BYTES), GPUASYNC_INVALID_ARGUMENT);
    EXPECT_STATUS(gpuasync_host_unregister(f->ex, host + HOST_BYTES), GPUASYNC_INVALID_ARGUMENT);
    /* A write from the registered half, a read into the other half. */
    uint32_t *words = (uint32_t *)host;
    for (size_t i = 0; i < N; i++) {
        words[i] = test_rng_u32(rng);
    }
    gpuasync_ticket t;
    EXPECT_OK(gpuasync_buffer_write(f->ex, f->buf, 0, host, BUF_BYTES, 0, &t));
    EXPECT_OK(gpuasync_buffer_read(f->ex, f->buf, 0, host + HOST_BYTES, BUF_BYTES, 0, &t));
    EXPECT_STATUS(gpuasync_host_unregister(f->ex, host), GPUASYNC_OK);
    EXPECT_OK(gpuasync_ticket_wait(f->ex, t, UINT64_MAX));
    CHECK(memcmp(host, host + HOST_BYTES, BUF_BYTES) == 0, "%u bytes written from registered memory came back",
          BUF_BYTES);
    EXPECT_STATUS(gpuasync_host_unregister(f->ex, host), GPUASYNC_INVALID_ARGUMENT);
    free(host);
}

static void check_still_works(const fixture *f, test_rng *rng)
{
    section("the executor still works: saxpy on random data");
    const size_t n = 10007;
    float *x = test_alloc(n * sizeof(float));
    float *y = test_alloc(n * sizeof(float));
    float *out = test_alloc(n * sizeof(float));
    test_fill_f32(rng, x, n);
    test_fill_f32(rng, y, n);
    for (size_t i = 0; i < n; i++) {
        out[i] = -y[i];
    }
    const saxpy_push push = {test_rng_f32(rng), (uint32_t)n};
    gpuasync_buffer bx, by;
    REQUIRE_OK(gpuasync_buffer_create(f->ex, n * sizeof(float), GPUASYNC_BUFFER_DEVICE_LOCAL, &bx));
    REQUIRE_OK(gpuasync_buffer_create(f->ex, n * sizeof(float), GPUASYNC_BUFFER_DEVICE_LOCAL, &by));
    const gpuasync_buffer bindings[2] = {bx, by};
    gpuasync_ticket t;
    REQUIRE_OK(gpuasync_buffer_write(f->ex, bx, 0, x, n * sizeof(float), 0, &t));
    REQUIRE_OK(gpuasync_buffer_write(f->ex, by, 0, y, n * sizeof(float), 0, &t));
    REQUIRE_OK(gpuasync_kernel_dispatch(f->ex, f->saxpy, bindings, 2, &push, sizeof push, test_groups(n, 64), 1, 1, 0,
                                        &t));
    REQUIRE_OK(gpuasync_buffer_read(f->ex, by, 0, out, n * sizeof(float), 0, &t));
    REQUIRE_OK(gpuasync_ticket_wait(f->ex, t, UINT64_MAX));
    size_t bad = test_saxpy_mismatches(out, push.a, x, y, n);
    CHECK(bad == 0, "saxpy: all %zu elements match the CPU reference (%zu differ)", n, bad);
    EXPECT_OK(gpuasync_buffer_destroy(f->ex, bx));
    EXPECT_OK(gpuasync_buffer_destroy(f->ex, by));
    free(x);
    free(y);
    free(out);
}

int main(void)
{
    test_rng rng = test_rng_new(20240611);
    check_before_anything();
    check_version_and_status_names();
    check_devices();
    fixture f = make_fixture();
    check_executor_calls(&f);
    check_buffer_calls(&f);
    check_transfer_calls(&f);
    check_kernel_create(&f, &rng);
    check_kernel_calls(&f);
    check_dispatch(&f);
    check_submit(&f, &rng);
    check_tickets(&f);
    check_host_calls(&f, &rng);
    check_last_error_truncation(&f);
    check_last_error_per_thread(&f);
    check_still_works(&f, &rng);

    section("teardown");
    test_executor_finish(f.other);
    test_executor_finish(f.ex);
    return test_finish("test_api");
}
