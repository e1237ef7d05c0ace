/*
 * The header's include guard: including gpuasync.h twice must compile cleanly
 * as C11 with -Wall -Wextra -Werror -pedantic, and the library must link.
 */
#include "gpuasync.h"
#include "gpuasync.h"

#include <stdio.h>

int main(void)
{
    unsigned version = gpuasync_version();
    int ok = version == (unsigned)GPUASYNC_VERSION;
    printf("%s gpuasync.h included twice; gpuasync_version() %u == GPUASYNC_VERSION %d\n", ok ? "ok  " : "FAIL",
           version, GPUASYNC_VERSION);
    return ok ? 0 : 1;
}
