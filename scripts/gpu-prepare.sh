#!/usr/bin/env bash
# Build release binaries here and copy them into .gl/bin for scripts/gpu-run.sh
# (the GPU machine has no Rust or Fortran toolchain). Run ../shared/device/prepare.sh
# once first, and add the glvnd packages (see gpu-run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
cargo test --release --no-run --quiet 2>/dev/null
mkdir -p .gl/bin
rm -f .gl/bin/test-*
for t in core errors ordering pipeline batch builtin measure registered transfer; do
    f=$(ls -t target/release/deps/$t-* 2>/dev/null | grep -v '\.d$' | head -1) || true
    [ -n "$f" ] && strip -o ".gl/bin/test-$t" "$f"
done
strip -o .gl/bin/gpuasync-bench target/release/gpuasync-bench
cp target/release/libgpuasync.so .gl/bin/libgpuasync.so.0 && strip .gl/bin/libgpuasync.so.0
for ex in demo pipeline; do
    gcc -std=c11 -O2 -Wall -Wextra -pedantic -Iinclude -Iexamples/c "examples/c/$ex.c" -o ".gl/bin/$ex" \
        -L.gl/bin -l:libgpuasync.so.0 -Wl,-rpath,'$ORIGIN' -lm
done
du -sh .gl
