#!/usr/bin/env python3
"""Render the seed scenario's timelines (gpuasync-bench --seed-json) as an SVG:
one row per mode (a: wait after each kernel, b: submit all then one wait,
c: one recorded batch), each kernel's GPU span (timestamps) as a box, and the
wall time the host measured around the mode as a bar beneath it. GPU spans
start at the mode's first GPU begin; the wall bar starts at the host's clock
start, which precedes it by the submission latency, so the boxes are drawn
against the GPU clock and the bar only shows the length of the wall time.

    scripts/seed-plot.py seed.json out.svg [title]
"""
import html
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
title = sys.argv[3] if len(sys.argv) > 3 else "seed scenario"
modes = json.load(open(src))["modes"]
if not modes:
    sys.exit("no modes in " + src)
t_max = max(max([m["wall_ns"]] + [e for _, e in m["spans"]]) for m in modes)
width, left, top, row_h = 1100, 300, 56, 64
scale = (width - left - 30) / t_max
height = top + row_h * len(modes) + 56
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       f'<text x="10" y="22" font-size="15">{html.escape(title)}</text>',
       '<text x="10" y="40" fill="#555">boxes: GPU spans of the kernels (timestamps); grey bar: wall time on the host, with full synchronisation</text>']
colors = ["#4e79a7", "#59a14f", "#f28e2b"]
for i, m in enumerate(modes):
    y = top + i * row_h
    busy, wall = m["busy_ns"], m["wall_ns"]
    label = f'{m["mode"]}'
    out.append(f'<text x="10" y="{y + 18}">{html.escape(label)}</text>')
    out.append(f'<text x="10" y="{y + 36}" fill="#555">wall {wall / 1e6:.3f} ms, GPU busy {busy / 1e6:.3f} ms ({100 * busy / wall:.0f}%)</text>')
    for j, (b, e) in enumerate(m["spans"]):
        x = left + b * scale
        w = max((e - b) * scale, 0.5)
        out.append(f'<rect x="{x:.2f}" y="{y + 4}" width="{w:.2f}" height="24" fill="{colors[i % 3]}" '
                   f'fill-opacity="{0.55 if j % 2 else 0.85}" stroke="white" stroke-width="0.5"/>')
    out.append(f'<rect x="{left}" y="{y + 34}" width="{wall * scale:.2f}" height="8" fill="#bab0ac"/>')
# Time axis.
axis_y = top + row_h * len(modes) + 8
out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + t_max * scale:.1f}" y2="{axis_y}" stroke="black"/>')
step = 10 ** len(str(int(t_max / 1e6 / 5) or 1)) / 10 if t_max >= 5e6 else 0.1
step_ns = max(step, 0.001) * 1e6
while t_max / step_ns > 12:
    step_ns *= 2
t = 0.0
while t <= t_max:
    x = left + t * scale
    out.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="black"/>')
    out.append(f'<text x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">{t / 1e6:g} ms</text>')
    t += step_ns
out.append('</svg>')
open(dst, "w").write("\n".join(out) + "\n")
