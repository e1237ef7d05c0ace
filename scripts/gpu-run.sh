#!/usr/bin/env bash
# The published-figures run on the lent GPU machine (see ../shared/device/README.md):
# gpuasync's tests (with the validation layer), benchmark and demo, then the CUDA
# anchors, all in one command so both sides come from one card.
# Run there as:  source .gl/gpu-env.sh; scripts/gpu-run.sh
# after building here and copying binaries into .gl/bin (scripts/gpu-prepare.sh).
set -uo pipefail
out=${OUT:-/tmp/gpuasync-out}
# The NVIDIA ICD (libGLX_nvidia) needs glvnd: carry libglvnd0, libgl1, libglx0, libegl1,
# libopengl0, libgles2 in .gl/debs as well as what prepare.sh fetches.
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p "$out"
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv
    vulkaninfo --summary 2>/dev/null | grep -E "deviceName|driverVersion|apiVersion" | head -3
} 2>&1 | tee "$out/machine.txt"
# Tests read kernels from the path they were built at.
[ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
for t in .gl/bin/test-*; do
    echo "== $t"
    GPUASYNC_VALIDATION=1 timeout 300 "$t" --test-threads=4 2>&1 | tail -25
done 2>&1 | tee "$out/tests.txt"
# Variants: extra binaries (.gl/bin/gpuasync-bench-*) and settings in $BENCH_VARIANTS
# (space-separated VAR=value), each printed under its own heading.
{
    for b in .gl/bin/gpuasync-bench-*; do
        [ -e "$b" ] || continue
        echo "== $b"; timeout 300 "$b"
    done
    for v in ${BENCH_VARIANTS:-}; do
        echo "== gpuasync-bench with $v"; env "$v" timeout 300 .gl/bin/gpuasync-bench
    done
} 2>&1 | grep -v '^\[bench\]' | tee "$out/bench-variants.txt"
# Three runs of the benchmark (each warms up and repeats); the table takes the
# median of their medians (scripts/bench-table.py).
for run in 1 2 3; do
    echo "== gpuasync-bench run $run"
    timeout 300 .gl/bin/gpuasync-bench --json "$out/bench-$run.json"
done 2>&1 | grep -v '^\[bench\]' | tee "$out/bench.txt"
.gl/bin/demo spirv/saxpy.spv 2>&1 | tee "$out/demo.txt"
# The pipeline example (upload / compute / download chunks) with a trace, for
# the picture in docs/benchmarks.md (scripts/trace-svg.py renders it).
GPUASYNC_TRACE="$out/trace-pipeline.json" .gl/bin/pipeline spirv/lcg.spv 16 4194304 3 2>&1 | tee "$out/pipeline.txt"
timeout 300 python3 .gl/anchors/cuda_anchor.py 2>&1 | tee "$out/cuda_anchor.txt"
nvcc -O2 -arch=sm_90 -o /tmp/la .gl/anchors/launch_anchor.cu && timeout 120 /tmp/la 2>&1 | tee "$out/launch_anchor.txt"
