#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds the library in
# release mode, and runs the C demo (random data, an asynchronous kernel, CPU
# work while polling, the result checked, the device and GPU time printed).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --quiet
mkdir -p build
gcc -std=c11 -O2 -Wall -Wextra -pedantic -Iinclude "-DSPIRV_DIR=\"$PWD/spirv\"" examples/c/demo.c \
    -o build/demo -Ltarget/release -lgpuasync "-Wl,-rpath,$PWD/target/release" -lm
build/demo spirv/saxpy.spv
