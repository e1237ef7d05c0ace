#!/usr/bin/env bash
# The README's test command: installs what is missing, checks generated files,
# then runs every test (Rust unit and integration tests, C test programs) with
# the Khronos validation layer and synchronization validation on. Any validation
# message fails a test; so does validation not being really enabled.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

echo "== generated files"
scripts/check-generated.sh

echo "== Vulkan devices"
vulkaninfo --summary 2>/dev/null | grep -E "deviceName|apiVersion" || echo "(vulkaninfo not installed)"

export GPUASYNC_VALIDATION=1
echo "== Rust tests"
cargo build --quiet
cargo test --quiet -- --test-threads=2

echo "== C tests (-Wall -Wextra -Werror -pedantic, AddressSanitizer)"
mkdir -p build/c
cflags=(-std=c11 -Wall -Wextra -Werror -pedantic -g -fsanitize=address,undefined -fno-omit-frame-pointer
        -Iinclude -Itests/c "-DSPIRV_DIR=\"$PWD/spirv\"")
libs=(-Ltarget/debug -lgpuasync "-Wl,-rpath,$PWD/target/debug" -lm)
failed=0
for src in tests/c/test_*.c; do
    exe=build/c/$(basename "${src%.c}")
    gcc "${cflags[@]}" "$src" -o "$exe" "${libs[@]}"
    if ASAN_OPTIONS=detect_leaks=0 "$exe" > "$exe.log" 2>&1; then
        echo "ok   $exe"
    else
        echo "FAIL $exe (output follows)"; cat "$exe.log"; failed=1
    fi
done
[ $failed = 0 ] || exit 1

echo "== demo"
gcc "${cflags[@]}" examples/c/demo.c -o build/c/demo "${libs[@]}"
ASAN_OPTIONS=detect_leaks=0 build/c/demo spirv/saxpy.spv
echo "== benchmark smoke test (--quick: checks the program works; lavapipe timings mean nothing)"
cargo build --quiet --release --bin gpuasync-bench
target/release/gpuasync-bench --quick --json build/bench-smoke.json
echo "== all tests passed"
