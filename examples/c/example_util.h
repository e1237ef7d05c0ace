/*
 * Shared by the C examples: stop with the status name and the library's
 * message when a call fails, and, under the test command
 * (GPUASYNC_VALIDATION=1), insist that the validation layer is on and quiet.
 */
#ifndef GPUASYNC_EXAMPLE_UTIL_H
#define GPUASYNC_EXAMPLE_UTIL_H

#include <gpuasync.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TRY(call): on failure print what failed and why, and exit. */
#define TRY(call) example_try((call), #call)

static inline void example_try(gpuasync_status status, const char *call)
{
    if (status != GPUASYNC_OK) {
        char message[1024];
        gpuasync_last_error(message, sizeof message);
        fprintf(stderr, "%s failed: %s: %s\n", call, gpuasync_status_string(status), message);
        exit(1);
    }
}

static inline void example_check_validation(gpuasync_executor ex)
{
    const char *setting = getenv("GPUASYNC_VALIDATION");
    if (setting == NULL || strcmp(setting, "1") != 0) {
        return;
    }
    uint32_t enabled = 0;
    uint64_t messages = 0;
    TRY(gpuasync_executor_validation(ex, &enabled, &messages));
    if (enabled != 1 || messages != 0) {
        fprintf(stderr, "validation: enabled=%u, %llu messages\n", enabled, (unsigned long long)messages);
        exit(1);
    }
}

/* xorshift64: a reproducible stream of nonzero values. */
static inline uint64_t example_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
