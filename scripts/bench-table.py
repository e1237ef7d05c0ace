#!/usr/bin/env python3
"""Turn gpuasync-bench JSON runs and the CUDA anchors' output into the Markdown
table of docs/benchmarks.md.

    scripts/bench-table.py OUTDIR      (OUTDIR from scripts/gpu-run.sh bench: bench-*.json and
                                        anchors.txt, or, from runs before 2026-12-07,
                                        launch_anchor.txt, cuda_anchor.txt, anchor_extra.txt)

Each gpuasync figure is the median over the runs of each run's median; min and
max are over every sample of every run. The plain-Vulkan and Vulkan-floor
columns are the figures of ../shared/BENCHMARKS.md (a separate bare program on
the same card model, 2026-11-25), not of this run.
"""
import glob
import json
import re
import statistics
import sys

out = sys.argv[1]
runs = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/bench-*.json"))]
if not runs:
    sys.exit(f"no bench-*.json in {out}")


def anchor(path, pattern):
    try:
        for line in open(path):
            if re.search(pattern, line):
                return float(re.findall(r"([0-9]+\.[0-9]+)", line)[-1])
    except OSError:
        pass
    return None


la, ca, xa = f"{out}/launch_anchor.txt", f"{out}/cuda_anchor.txt", f"{out}/anchor_extra.txt"
try:
    open(f"{out}/anchors.txt").close()
    la = ca = xa = f"{out}/anchors.txt"  # the three anchors' output in one file
except OSError:
    pass
cuda = {
    "sync": anchor(la, r"launch \+ stream sync each"),
    "all": anchor(la, r"launch all, sync once"),
    "enqueue": anchor(la, r"host enqueue cost only"),
    "graph": anchor(la, r"graph replay \(1000"),
    "saxpy": anchor(ca, r"^saxpy 2\^28"),
    "copy": anchor(ca, r"^device copy 2\^28"),
    "h2d": anchor(ca, r"^H2D pinned"),
    "d2h": anchor(ca, r"^D2H pinned"),
    "sgemm1024": anchor(ca, r"^sgemm fp32 1024\^3"),
    "sgemm4096": anchor(ca, r"^sgemm fp32 4096\^3"),
    "sgemm8192": anchor(ca, r"^sgemm fp32 8192\^3"),
    "s20each": anchor(ca, r"^20 x sgemm 1024, wait each"),
    "s20once": anchor(ca, r"^20 x sgemm 1024, wait once"),
    "dgemm4096": anchor(xa, r"^dgemm fp64 4096"),
    "hgemm8192": anchor(xa, r"^gemm fp16 8192"),
    "bgemm8192": anchor(xa, r"^gemm bf16 8192"),
    "sum": anchor(xa, r"^sum 2\^28"),
    "dot": anchor(xa, r"^dot 2\^28"),
}


def rows_of(prefix):
    rows = [r for run in runs for r in run["rows"] if r["name"].startswith(prefix)]
    # One table row is one benchmark row: a prefix that matches two (say the
    # host cost of a submit and of a write) would mix their figures.
    names = sorted({r["name"] for r in rows})
    if len(names) > 1:
        sys.exit(f"bench-table.py: prefix {prefix!r} matches {len(names)} rows: {names}")
    return rows


def ours(prefix):
    rows = rows_of(prefix)
    if not rows:
        return None
    if any(r["measurement_error"] for r in rows):
        return "measurement error"
    med = statistics.median(r["median"] for r in rows)
    return med, min(r["min"] for r in rows), max(r["max"] for r in rows), rows[0]["unit"]


def ceiling_fraction(prefix, fraction):
    """Target: `fraction` of the ceiling printed beside the row (same runs)."""
    rows = rows_of(prefix)
    c = [r["ceiling"] for r in rows if r.get("ceiling")]
    return fraction * statistics.median(c) if c else None


# (scenario, our row prefix, CUDA key, plain Vulkan, Vulkan floor, target, larger is better)
# A target may be a number, or (number, text) when it is derived from a ceiling.
sum_target = ceiling_fraction("built-in sum, 268435456", 0.9)
dot_target = ceiling_fraction("built-in dot, 268435456", 0.9)
table = [
    ("tiny dispatch, submit + wait, per round trip", "tiny dispatch, submit + wait", "sync", "45 us", "17.3 us", 18, False),
    ("host cost of one asynchronous single-dispatch submit", "host cost of one asynchronous single-dispatch submit", "enqueue", "2.5-7 us", "—", 1, False),
    ("host cost of one submit while the GPU is busy (recording only)", "host cost of one submit while", None, "—", "—", None, False),
    ("host cost of one asynchronous 256-byte write", "host cost of one asynchronous 256-byte write", None, "—", "—", None, False),
    ("256-byte write, tiny dispatch, 256-byte read, submit + wait, per round trip", "256-byte write, tiny dispatch", None, "—", "—", None, False),
    ("10,000 independent tiny submits then one wait, per kernel", "10000 independent tiny submits then one wait", "all", "15.9 us", "0.17 us", 1, False),
    ("  how that stream reached the GPU: submissions per command buffer", "10000 independent tiny submits: submissions per command buffer", None, "—", "—", None, True),
    ("  command buffers handed to the queue by the flusher thread", "10000 independent tiny submits: command buffers handed over by the flusher", None, "—", "—", None, True),
    ("  host time per vkQueueSubmit2 (any thread)", "10000 independent tiny submits: host time per vkQueueSubmit2", None, "—", "—", None, False),
    ("  host time per vkEndCommandBuffer (under the state lock)", "10000 independent tiny submits: host time per vkEndCommandBuffer", None, "—", "—", None, False),
    ("  host time per vkBeginCommandBuffer (the submitting thread; the flusher with pre-begin)", "10000 independent tiny submits: host time per vkBeginCommandBuffer", None, "—", "—", None, False),
    ("  flusher wake-ups per command buffer (a system call each)", "10000 independent tiny submits: flusher wake-ups", None, "—", "—", None, False),
    ("  submissions that waited for the state lock", "10000 independent tiny submits: submissions that waited", None, "—", "—", None, False),
    ("  state-lock wait per submission", "10000 independent tiny submits: state-lock wait", None, "—", "—", None, False),
    ("  one submit's host time, median", "10000 independent tiny submits: one submit's host time, median", None, "—", "—", None, False),
    ("  one submit's host time, 90th percentile", "10000 independent tiny submits: one submit's host time, 90th", None, "—", "—", None, False),
    ("  one submit's host time, 99th percentile", "10000 independent tiny submits: one submit's host time, 99th", None, "—", "—", None, False),
    ("  mean host time per submit above the median (time in bursts)", "10000 independent tiny submits: mean host time per submit above", None, "—", "—", None, False),
    ("10,000 dependent tiny submits then one wait, per kernel", "10000 dependent tiny submits then one wait", "all", "15.9 us", "2.36 us", 2.6, False),
    ("recorded batch of 1,000 dependent dispatches replayed, per dispatch (wall)", "recorded batch of 1000 dependent dispatches, per dispatch, wall", "graph", "2.36 us", "2.36 us", 2.4, False),
    ("  the same, GPU time from timestamps", "recorded batch of 1000 dependent dispatches, per dispatch, GPU", None, "", "", 2.4, False),
    ("  wall less GPU time, per replay", "recorded batch of 1000 dependent dispatches: wall less GPU", None, "—", "—", None, False),
    ("  host time in vkQueueSubmit2, per replay", "recorded batch of 1000 dependent dispatches: host time in vkQueueSubmit2", None, "—", "—", None, False),
    ("recorded batch of 1,000 independent dispatches replayed, per dispatch (wall)", "recorded batch of 1000 independent dispatches, per dispatch, wall", "graph", "—", "0.17 us", 0.2, False),
    ("  the same, GPU time from timestamps", "recorded batch of 1000 independent dispatches, per dispatch, GPU", None, "", "", 0.2, False),
    ("  wall less GPU time, per replay", "recorded batch of 1000 independent dispatches: wall less GPU", None, "—", "—", None, False),
    ("  host time in vkQueueSubmit2, per replay", "recorded batch of 1000 independent dispatches: host time in vkQueueSubmit2", None, "—", "—", None, False),
    ("saxpy, 2^28 fp32, device-local (GPU time)", "saxpy, 268435456", "saxpy", "1260 GB/s (host-visible)", "—", 2900, True),
    ("built-in axpy, 2^28 fp32, in place (GPU time)", "built-in axpy (in place", "saxpy", "—", "—", 2900, True),
    ("built-in copy, 2^28 fp32 (GPU time)", "built-in copy, 268435456", "copy", "—", "—", None, True),
    ("built-in sum, 2^28 fp32 (GPU time)", "built-in sum, 268435456", "sum", "—", "—", (sum_target, "90% of ceiling"), True),
    ("built-in dot, 2^28 fp32 (GPU time)", "built-in dot, 268435456", "dot", "—", "—", (dot_target, "90% of ceiling"), True),
    ("built-in SGEMM 1024^3 (GPU time)", "built-in SGEMM fp32 1024^3, GPU", "sgemm1024", "—", "—", 24, True),
    ("built-in SGEMM 4096^3 (GPU time)", "built-in SGEMM fp32 4096^3, GPU", "sgemm4096", "—", "—", None, True),
    ("built-in SGEMM 8192^3 (GPU time)", "built-in SGEMM fp32 8192^3, GPU", "sgemm8192", "—", "—", 40, True),
    ("built-in DGEMM 4096^3 (GPU time)", "built-in DGEMM fp64 4096^3, GPU", "dgemm4096", "—", "—", None, True),
    ("built-in fp16 GEMM 8192^3, f32 C, cooperative matrices (GPU time)", "built-in F16 GEMM (f32 C, cooperative matrices) 8192^3", "hgemm8192", "—", "—", None, True),
    ("built-in fp16 GEMM 8191^3 (GPU time)", "built-in F16 GEMM (f32 C, cooperative matrices) 8191^3", None, "—", "—", None, True),
    ("built-in bf16 GEMM 8192^3, f32 C, cooperative matrices (GPU time)", "built-in BF16 GEMM (f32 C, cooperative matrices) 8192^3", "bgemm8192", "—", "—", None, True),
    ("seed: 20 x SGEMM 1024, wait after each (wall)", "seed a: one by one, wait after each: wall, no timestamps", "s20each", "—", "—", None, False),
    ("seed: 20 x SGEMM 1024, submit all, wait once (wall)", "seed b: all submitted, one wait: wall, no timestamps", "s20once", "—", "—", 1.3, False),
    ("seed: 20 x SGEMM 1024 as one recorded batch (wall)", "seed c: recorded batch, one replay: wall, no timestamps", None, "—", "—", 1.3, False),
    ("host -> device, 256 MiB (wall, through staging)", "host -> device write, 256", "h2d", "—", "—", 50, True),
    ("device -> host, 256 MiB (wall, through staging)", "device -> host read, 256", "d2h", "—", "—", 50, True),
    ("host -> device, 256 MiB, from registered memory (wall)", "host -> device write from registered memory", "h2d", "—", "—", 50, True),
    ("device -> host, 256 MiB, into registered memory (wall)", "device -> host read into registered memory", "d2h", "—", "—", 50, True),
    ("upload / compute / download pipeline, one submission per chunk, efficiency (bound / wall)", "pipeline, 32 chunks of 32 MiB, one submission each: efficiency, bound", None, "—", "—", 90, True),
    ("  the same with the host arrays registered", "pipeline, 32 chunks of 32 MiB, one submission each, registered host memory: efficiency, bound", None, "—", "—", 90, True),
    ("  three submissions per chunk (upload, kernel, download)", "pipeline, 32 chunks of 32 MiB, three submissions each: efficiency, bound", None, "—", "—", 90, True),
    ("  three submissions per chunk, registered", "pipeline, 32 chunks of 32 MiB, three submissions each, registered host memory: efficiency, bound", None, "—", "—", 90, True),
    ("  registered, one submission per chunk, against max(both transfer directions at once, kernel stage)", "pipeline, 32 chunks of 32 MiB, one submission each, registered host memory: efficiency against", None, "—", "—", None, True),
    ("  registered, three submissions per chunk, against max(both transfer directions at once, kernel stage)", "pipeline, 32 chunks of 32 MiB, three submissions each, registered host memory: efficiency against", None, "—", "—", None, True),
]

print("| scenario | gpuasync median (min-max) | CUDA, same run | plain Vulkan | Vulkan floor | target | met? |")
print("|---|---|---|---|---|---|---|")
for name, prefix, key, plain, floor, target, larger in table:
    got = ours(prefix)
    c = cuda.get(key) if key else None
    ttext_override = None
    if isinstance(target, tuple):
        target, ttext_override = target
    # The unit when a row is missing (a measured row brings its own).
    unit = ("ms" if name.startswith("seed") else "TFLOP/s" if "GEMM" in name else "%" if "efficiency" in name or "submissions per chunk" in name
            else "GB/s" if larger else "us")
    if got is None:
        cell, met = "not measured", "—"
    elif isinstance(got, str):
        cell, met = got, "no"
    else:
        med, lo, hi, unit = got
        digits = 2 if unit in ("us", "ms", "TFLOP/s") or med < 100 else 0
        cell = f"**{med:.{digits}f} {unit}** ({lo:.{digits}f}-{hi:.{digits}f})"
        met = "—" if target is None else ("yes" if (med >= target if larger else med <= target) else "no")
    ctext = f"{c:g} {unit}" if c is not None else "—"
    if target is None:
        ttext = "—"
    else:
        ttext = (">= " if larger else "<= ") + f"{target:.4g} {unit}"
        if ttext_override:
            ttext += f" ({ttext_override})"
    print(f"| {name} | {cell} | {ctext} | {plain} | {floor} | {ttext} | {met} |")
print()
print("Ceilings measured in the same runs (GPU time; a rate row's ceiling is the best of these):")
print()
print("| kernel | median (min-max) |")
print("|---|---|")
for prefix in ["copy kernel", "vkCmdCopyBuffer", "read-mostly kernel", "two-array read kernel", "triad", "FMA-chain kernel, fp32", "FMA-chain kernel, fp64"]:
    got = ours(prefix)
    if got and not isinstance(got, str):
        med, lo, hi, unit = got
        digits = 2 if unit == "TFLOP/s" else 0
        print(f"| {prefix} | {med:.{digits}f} {unit} ({lo:.{digits}f}-{hi:.{digits}f}) |")
print()
print(f"gpuasync: {len(runs)} runs of gpuasync-bench in one command; CUDA: launch_anchor.cu, cuda_anchor.py and scripts/anchor-extra.py in the same command.")
