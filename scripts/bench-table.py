#!/usr/bin/env python3
"""Turn gpuasync-bench JSON runs and the CUDA anchors' output into the Markdown
table of docs/benchmarks.md.

    scripts/bench-table.py OUTDIR      (OUTDIR from scripts/gpu-run.sh: bench-*.json,
                                        launch_anchor.txt, cuda_anchor.txt)

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


la, ca = f"{out}/launch_anchor.txt", f"{out}/cuda_anchor.txt"
cuda = {
    "sync": anchor(la, r"launch \+ stream sync each"),
    "all": anchor(la, r"launch all, sync once"),
    "enqueue": anchor(la, r"host enqueue cost only"),
    "graph": anchor(la, r"graph replay \(1000"),
    "saxpy": anchor(ca, r"^saxpy 2\^28"),
    "h2d": anchor(ca, r"^H2D pinned"),
    "d2h": anchor(ca, r"^D2H pinned"),
}


def ours(prefix):
    rows = [r for run in runs for r in run["rows"] if r["name"].startswith(prefix)]
    if not rows:
        return None
    if any(r["measurement_error"] for r in rows):
        return "measurement error"
    med = statistics.median(r["median"] for r in rows)
    return med, min(r["min"] for r in rows), max(r["max"] for r in rows), rows[0]["unit"]


# (scenario, our row prefix, CUDA key, plain Vulkan, Vulkan floor, target, larger is better)
table = [
    ("tiny dispatch, submit + wait, per round trip", "tiny dispatch, submit + wait", "sync", "45 us", "17.3 us", 18, False),
    ("host cost of one asynchronous single-dispatch submit", "host cost of one asynchronous", "enqueue", "2.5-7 us", "—", 1, False),
    ("host cost of one submit while the GPU is busy (recording only)", "host cost of one submit while", None, "—", "—", None, False),
    ("10,000 independent tiny submits then one wait, per kernel", "10000 independent tiny", "all", "15.9 us", "0.17 us", 1, False),
    ("10,000 dependent tiny submits then one wait, per kernel", "10000 dependent tiny", "all", "15.9 us", "2.36 us", 2.6, False),
    ("recorded batch of 1,000 dependent dispatches replayed, per dispatch (wall)", "recorded batch of 1000 dependent dispatches, per dispatch, wall", "graph", "2.36 us", "2.36 us", 2.4, False),
    ("  the same, GPU time from timestamps", "recorded batch of 1000 dependent dispatches, per dispatch, GPU", None, "", "", 2.4, False),
    ("recorded batch of 1,000 independent dispatches replayed, per dispatch (wall)", "recorded batch of 1000 independent dispatches, per dispatch, wall", "graph", "—", "0.17 us", 0.2, False),
    ("  the same, GPU time from timestamps", "recorded batch of 1000 independent dispatches, per dispatch, GPU", None, "", "", 0.2, False),
    ("saxpy, 2^28 fp32, device-local (GPU time)", "saxpy, 268435456", "saxpy", "1260 GB/s (host-visible)", "—", 2900, True),
    ("host -> device, 256 MiB (wall, through staging)", "host -> device write, 256", "h2d", "—", "—", 50, True),
    ("device -> host, 256 MiB (wall, through staging)", "device -> host read, 256", "d2h", "—", "—", 50, True),
]

print("| scenario | gpuasync median (min-max) | CUDA, same run | plain Vulkan | Vulkan floor | target | met? |")
print("|---|---|---|---|---|---|---|")
for name, prefix, key, plain, floor, target, larger in table:
    got = ours(prefix)
    c = cuda.get(key) if key else None
    if got is None:
        cell, met = "not measured", "—"
    elif isinstance(got, str):
        cell, met = got, "no"
    else:
        med, lo, hi, unit = got
        digits = 2 if unit == "us" or med < 100 else 0
        cell = f"**{med:.{digits}f} {unit}** ({lo:.{digits}f}-{hi:.{digits}f})"
        met = "—" if target is None else ("yes" if (med >= target if larger else med <= target) else "no")
    unit = "GB/s" if larger else "us"
    ctext = f"{c:g} {unit}" if c is not None else "—"
    ttext = "—" if target is None else (f">= {target:g} {unit}" if larger else f"<= {target:g} {unit}")
    print(f"| {name} | {cell} | {ctext} | {plain} | {floor} | {ttext} | {met} |")
print()
print("Bandwidth ceilings measured in the same runs (GPU time; the saxpy row's ceiling is the best of these):")
print()
print("| kernel | median (min-max) |")
print("|---|---|")
for prefix in ["copy kernel", "vkCmdCopyBuffer", "read-mostly kernel", "triad"]:
    got = ours(prefix)
    if got and not isinstance(got, str):
        med, lo, hi, unit = got
        print(f"| {prefix} | {med:.0f} {unit} ({lo:.0f}-{hi:.0f}) |")
print()
print(f"gpuasync: {len(runs)} runs of gpuasync-bench in one command; CUDA: launch_anchor.cu and cuda_anchor.py in the same command.")
