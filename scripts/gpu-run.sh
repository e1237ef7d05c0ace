#!/usr/bin/env bash
# The runs on the lent GPU machine (see ../shared/device/README.md), in four
# parts that each fit one device command:
#   scripts/gpu-run.sh bench   three benchmark runs, the CUDA anchors after the first
#                              (../shared/anchors and scripts/anchor-extra.py),
#                              so the published figures and CUDA's come from one
#                              card in one command;
#   scripts/gpu-run.sh tests   gpuasync's tests (with the validation layer), the
#                              demo and the traced pipeline example;
#   scripts/gpu-run.sh coop    the 16-bit GEMM alone, short: its GPU tests, one
#                              benchmark run of it (and of each tuning variant
#                              in .gl/var), and cuBLAS fp16/bf16 beside it;
#   scripts/gpu-run.sh xfer    the transfers alone, in about 2 minutes: the raw-Vulkan
#                              probe (tools/xfer-probe, every queue), gpuasync's
#                              transfer and pipeline rows on copy queues (auto),
#                              on one copy queue for both directions (single)
#                              and on compute-family queues (shared), with
#                              uploads by a kernel (GPUASYNC_UPLOAD_KERNEL=66),
#                              CUDA's pinned copies, then the probe again;
#   scripts/gpu-run.sh host    the host-side rows alone (round trip, streams,
#                              batches, with their counters), as shipped and
#                              with each experimental host setting, and
#                              CUDA's launch anchor, in about 2 minutes;
#   scripts/gpu-run.sh check   what the last sessions left unmeasured, in about
#                              6 minutes: the 16-bit GEMM (benchmark, cuBLAS,
#                              GPU tests; then the 16 x 8 x 16 form, variant
#                              n8, timed), then the transfers and the pipeline
#                              on copy queues (auto) and on compute-family
#                              queues (shared), the transfers with chunked
#                              staging of writes, then the host-side rows (also
#                              with and without the flusher's handoff).
# Run there as:  source .gl/gpu-env.sh; scripts/gpu-run.sh bench
# after building here and copying binaries into .gl/bin (scripts/gpu-prepare.sh).
# At most 8 files come back from $OUT (../shared/device/README.md), so each
# part appends its text to one log, $OUT/PART.log, the CUDA anchors' output to
# $OUT/anchors.txt, and writes only the JSON files and clocks.csv beside them.
set -uo pipefail
part=${1:-bench}
out=${OUT:-/tmp/gpuasync-out}
# The NVIDIA ICD (libGLX_nvidia) needs glvnd: gpu-prepare.sh puts libglvnd0, libgl1,
# libglx0, libegl1, libopengl0, libgles2 (and the validation layer) in .gl/debs.
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p "$out"
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv
    vulkaninfo --summary 2>/dev/null | grep -E "deviceName|driverVersion|apiVersion" | head -3
} 2>&1 | tee "$out/$part.log"

if [ "$part" = tests ]; then
    # Tests read kernels from the path they were built at.
    [ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
    # The transfer and upload-kernel tests first: the call of 2026-12-07
    # 22:01 ran out of time before them (test-upload_kernel has not yet run
    # on the GPU).
    for t in .gl/bin/test-transfer .gl/bin/test-upload_kernel $(ls .gl/bin/test-* | grep -v -e test-transfer -e test-upload_kernel); do
        [ -e "$t" ] || continue
        echo "== $t"
        # GPU-only tests are ignored elsewhere: the transfer tests' overlap
        # test (copy engines), the cooperative-matrix GEMM tests.
        extra=""; case "$t" in .gl/bin/test-transfer | .gl/bin/test-half) extra=--include-ignored ;; esac
        GPUASYNC_VALIDATION=1 timeout 300 "$t" --test-threads=1 $extra 2>&1 | tail -25
    done 2>&1 | tee -a "$out/$part.log"
    .gl/bin/demo spirv/saxpy.spv 2>&1 | tee -a "$out/$part.log"
    # The pipeline example (upload / compute / download chunks) with a trace, for
    # the picture in docs/benchmarks.md (scripts/trace-svg.py renders it).
    GPUASYNC_TRACE="$out/trace-pipeline.json" .gl/bin/pipeline spirv/lcg.spv 16 4194304 3 2>&1 | tee -a "$out/$part.log"
    exit 0
fi

# The GPU's clocks, power and throttle reasons every 200 ms while the benchmark
# runs: the clocks drop when the GPU idles, and a figure taken before they
# recover is low (the benchmark warms up until its times settle).
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
    --format=csv -lms 200 > "$out/clocks.csv" 2>&1 &
smi=$!
if [ "$part" = host ]; then
    # The host-side rows alone, in about 2 minutes, for when device time is
    # short: round trip, streams and batches (with their counters) as
    # shipped, then with the flusher not spinning, then with pre-begin, then
    # as shipped again (A/B/C/A, so drift shows), and CUDA's launch anchor.
    # No JSON: with `xfer` in the same call, at most 8 files come back.
    log=$out/$part.log
    for v in base GPUASYNC_FLUSHER_SPIN_NS=0 GPUASYNC_PREBEGIN=1 base; do
        echo "== $v (started ${SECONDS} s into the command)" | tee -a "$log"
        env $([ $v = base ] || echo $v) timeout 90 .gl/bin/gpuasync-bench --only round_trip,streamed,batch 2>&1 \
            | grep -v '^\[bench\]' | tee -a "$log"
    done
    echo "== CUDA launch anchor (started ${SECONDS} s into the command)" | tee -a "$log"
    { nvcc -O2 -arch=sm_90 -o /tmp/la .gl/anchors/launch_anchor.cu && timeout 120 /tmp/la; } 2>&1 | tee -a "$out/anchors.txt"
    echo "== done ${SECONDS} s into the command" | tee -a "$log"
    kill $smi 2>/dev/null
    exit 0
fi
if [ "$part" = xfer ]; then
    log=$out/$part.log
    echo "== xfer-probe (started ${SECONDS} s into the command)" | tee -a "$log"
    timeout 90 .gl/bin/xfer-probe --all-pairs 2>&1 | tee -a "$log"
    for q in auto single shared; do
        echo "== GPUASYNC_TRANSFER_QUEUE=$q (started ${SECONDS} s into the command)" | tee -a "$log"
        GPUASYNC_TRANSFER_QUEUE=$q timeout 120 .gl/bin/gpuasync-bench --only transfers,pipeline \
            --json "$out/xfer-$q.json" 2>&1 | grep -v '^\[bench\]' | tee -a "$log"
    done
    # Uploads by a copy kernel on the compute queue (experimental; docs/async.md).
    echo "== GPUASYNC_UPLOAD_KERNEL=66 (started ${SECONDS} s into the command)" | tee -a "$log"
    GPUASYNC_UPLOAD_KERNEL=66 timeout 120 .gl/bin/gpuasync-bench --only transfers,pipeline \
        --json "$out/xfer-upload-kernel.json" 2>&1 | grep -v '^\[bench\]' | tee -a "$log"
    echo "== CUDA (started ${SECONDS} s into the command)" | tee -a "$log"
    timeout 120 python3 scripts/anchor-extra.py 2>&1 | tee -a "$out/anchors.txt"
    echo "== xfer-probe again (started ${SECONDS} s into the command)" | tee -a "$log"
    timeout 60 .gl/bin/xfer-probe 2>&1 | grep -E '^(vkalloc|imported) +(up|down|both) ' | tee -a "$log"
    echo "== done ${SECONDS} s into the command" | tee -a "$log"
    kill $smi 2>/dev/null
    exit 0
fi
if [ "$part" = check ]; then
    [ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
    log=$out/$part.log
    GPUASYNC_PIPELINE_STATS=1 timeout 100 .gl/bin/gpuasync-bench --only gemm16 \
        --json "$out/gemm16.json" 2>&1 | grep -v '^\[bench\]' | tee -a "$log"
    timeout 80 python3 scripts/anchor-extra.py 2>&1 | tee -a "$out/anchors.txt"
    GPUASYNC_VALIDATION=1 timeout 90 .gl/bin/test-half --include-ignored --test-threads=1 \
        gemm_f16_matches gemm_bf16_matches 2>&1 | tail -40 | tee -a "$log"
    # Version 1's form (its tests passed on the H100; the benchmark checks
    # sampled elements of every result it times).
    echo "== variant n8 (16 x 8 x 16)" | tee -a "$log"
    GPUASYNC_BUILTIN_DIR=.gl/var/n8 GPUASYNC_PIPELINE_STATS=1 timeout 100 \
        .gl/bin/gpuasync-bench --only gemm16 --json "$out/gemm16-n8.json" 2>&1 | grep -v '^\[bench\]' | tee -a "$log"
    for q in auto shared; do
        echo "== GPUASYNC_TRANSFER_QUEUE=$q" | tee -a "$log"
        GPUASYNC_TRANSFER_QUEUE=$q timeout 90 .gl/bin/gpuasync-bench --only transfers,pipeline \
            --json "$out/xfer-$q.json" 2>&1 | grep -v '^\[bench\]' | tee -a "$log"
    done
    # Chunked staging of large writes (experimental, off by default).
    echo "== GPUASYNC_WRITE_CHUNK=33554432" | tee -a "$log"
    GPUASYNC_WRITE_CHUNK=33554432 timeout 60 .gl/bin/gpuasync-bench --only transfers 2>&1 \
        | grep -v '^\[bench\]' | tee -a "$log"
    timeout 60 .gl/bin/gpuasync-bench --only round_trip,streamed --json "$out/host.json" 2>&1 \
        | grep -v '^\[bench\]' | tee -a "$log"
    # The same with the flusher handing submissions to an idle GPU (handoff,
    # off by default until this says whether it wins), then without again.
    for h in 20000 0; do
        echo "== GPUASYNC_HANDOFF_NS=$h" | tee -a "$log"
        GPUASYNC_HANDOFF_NS=$h timeout 60 .gl/bin/gpuasync-bench --only round_trip,streamed 2>&1 \
            | grep -v '^\[bench\]' | tee -a "$log"
    done
    kill $smi 2>/dev/null
    exit 0
fi
if [ "$part" = coop ]; then
    [ -e /work/main ] || { mkdir -p /work && ln -s "$PWD" /work/main; }
    # The GPU tests (the real kernel against an f64 reference) and the
    # conversions; the emulated kernel's tests are lavapipe's. SHIPPED_TESTS=0
    # skips them (about 140 s) when only the variants changed since they passed.
    [ "${SHIPPED_TESTS:-1}" = 0 ] || GPUASYNC_VALIDATION=1 timeout 300 .gl/bin/test-half --include-ignored --test-threads=1 \
        gemm_f16_matches gemm_bf16_matches convert widen 2>&1 | tail -60 | tee -a "$out/$part.log"
    GPUASYNC_PIPELINE_STATS=1 timeout 200 .gl/bin/gpuasync-bench --only gemm16 \
        --json "$out/gemm16.json" 2>&1 | grep -v '^\[bench\]' | tee -a "$out/$part.log"
    timeout 120 python3 scripts/anchor-extra.py 2>&1 | tee -a "$out/anchors.txt"
    # Tuning variants (scripts/gemm16-variants.sh .gl/var, see gpu-prepare.sh):
    # each checked against the f64 reference on the device, then timed.
    for dir in .gl/var/*/; do
        [ -d "$dir" ] || continue
        v=$(basename "$dir")
        echo "== variant $v (started ${SECONDS} s into the command)"
        # VARIANT_TESTS=0: timing only, for variants whose GPU tests passed in an earlier call.
        [ "${VARIANT_TESTS:-1}" = 0 ] || GPUASYNC_BUILTIN_DIR=$dir GPUASYNC_VALIDATION=1 timeout 200 .gl/bin/test-half --include-ignored --test-threads=1 \
            gemm_f16_matches gemm_bf16_matches 2>&1 | tail -8
        GPUASYNC_BUILTIN_DIR=$dir timeout 200 .gl/bin/gpuasync-bench --only gemm16 \
            --json "$out/gemm16-$v.json" 2>&1 | grep -v '^\[bench\]'
    done 2>&1 | tee -a "$out/$part.log"
    kill $smi 2>/dev/null
    exit 0
fi

# Three runs of the benchmark (each warms up and repeats); the table takes the
# median of their medians (scripts/bench-table.py). The first also writes the
# seed scenario's timelines and the GEMM kernels' compiler statistics. The CUDA
# anchors run after the first, so that a call cut short at its time limit still
# brings both sides back from one card (a cut run writes no JSON; the table
# then takes the runs that finished).
# BENCH_RUNS=1 (or 2) when device time is short: the table then takes the runs made.
for run in $(seq 1 "${BENCH_RUNS:-3}"); do
    echo "== gpuasync-bench run $run (started ${SECONDS} s into the command)"
    if [ $run = 1 ]; then
        GPUASYNC_PIPELINE_STATS=1 timeout 200 .gl/bin/gpuasync-bench --json "$out/bench-$run.json" --seed-json "$out/seed.json"
        echo "== CUDA anchors (started ${SECONDS} s into the command)" >&2
        {
            timeout 240 python3 .gl/anchors/cuda_anchor.py
            nvcc -O2 -arch=sm_90 -o /tmp/la .gl/anchors/launch_anchor.cu && timeout 120 /tmp/la
            timeout 120 python3 scripts/anchor-extra.py
        } > "$out/anchors.txt" 2>&1
    else
        timeout 200 .gl/bin/gpuasync-bench --json "$out/bench-$run.json"
    fi
done 2>&1 | grep -v '^\[bench\]' | tee -a "$out/$part.log"
# The streams again with a flusher that never spins on the GPU's counter
# (it sleeps in vkWaitSemaphores at once): whether its polling of the
# timeline slows the submitting thread down.
echo "== GPUASYNC_FLUSHER_SPIN_NS=0 (started ${SECONDS} s into the command)" | tee -a "$out/$part.log"
GPUASYNC_FLUSHER_SPIN_NS=0 timeout 60 .gl/bin/gpuasync-bench --only streamed 2>&1 \
    | grep -v '^\[bench\]' | tee -a "$out/$part.log"
# And with the next command buffer begun by the flusher (experimental).
echo "== GPUASYNC_PREBEGIN=1 (started ${SECONDS} s into the command)" | tee -a "$out/$part.log"
GPUASYNC_PREBEGIN=1 timeout 60 .gl/bin/gpuasync-bench --only streamed 2>&1 \
    | grep -v '^\[bench\]' | tee -a "$out/$part.log"
echo "== done ${SECONDS} s into the command" | tee -a "$out/$part.log"
kill $smi 2>/dev/null
