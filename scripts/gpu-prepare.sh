#!/usr/bin/env bash
# Build release binaries here and copy them into .gl/bin for scripts/gpu-run.sh
# (the GPU machine has no Rust or Fortran toolchain). Run ../shared/device/prepare.sh
# once first; this adds what that leaves out: the glvnd libraries the NVIDIA
# driver needs and the validation layer the tests assert is on.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=(vulkan-validationlayers libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2)
if ! ls .gl/debs/vulkan-validationlayers_*.deb >/dev/null 2>&1; then
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    (cd .gl/debs && apt-get $o download -qq "${extra[@]}" 2>/dev/null)
fi
cargo build --release --quiet
cargo test --release --no-run --quiet 2>/dev/null
mkdir -p .gl/bin
rm -f .gl/bin/test-*
for t in core errors ordering pipeline batch builtin measure registered transfer half upload_kernel; do
    f=$(ls -t target/release/deps/$t-* 2>/dev/null | grep -v '\.d$' | head -1) || true
    [ -n "$f" ] && strip -o ".gl/bin/test-$t" "$f"
done
strip -o .gl/bin/gpuasync-bench target/release/gpuasync-bench
# The raw-Vulkan transfer probe (tools/xfer-probe): what the driver gives each
# queue, with none of gpuasync's code, for the transfer rows' ceiling.
CARGO_TARGET_DIR=target/xfer-probe cargo build --quiet --release --locked --manifest-path tools/xfer-probe/Cargo.toml
strip -o .gl/bin/xfer-probe target/xfer-probe/release/xfer-probe
cp target/release/libgpuasync.so .gl/bin/libgpuasync.so.0 && strip .gl/bin/libgpuasync.so.0
for ex in demo pipeline; do
    gcc -std=c11 -O2 -Wall -Wextra -pedantic -Iinclude -Iexamples/c "examples/c/$ex.c" -o ".gl/bin/$ex" \
        -L.gl/bin -l:libgpuasync.so.0 -Wl,-rpath,'$ORIGIN' -lm
done
# The 16-bit GEMM's tuning variants, for `gpu-run.sh coop`.
rm -rf .gl/var
scripts/gemm16-variants.sh .gl/var
CARGO_TARGET_DIR=target/spirv-val cargo build --quiet --release --locked --manifest-path tools/spirv-val/Cargo.toml
target/spirv-val/release/spirv-val .gl/var/*/*.spv
du -sh .gl
