#!/usr/bin/env python3
"""Render a gpuasync trace (Chrome/Perfetto JSON) as an SVG timeline: one row per
host thread (its gpuasync calls) and one for the GPU queue (one span per
submission), on the trace's single clock.

    scripts/trace-svg.py trace.json out.svg [title]
"""
import html
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
title = sys.argv[3] if len(sys.argv) > 3 else src
trace = json.load(open(src))
spans = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
if not spans:
    sys.exit("no spans in the trace")
rows = sorted({(e["pid"], e["tid"]) for e in spans})
names = {}
for e in trace["traceEvents"]:
    if e.get("ph") == "M" and e["name"] == "process_name":
        names[e["pid"]] = e["args"]["name"]
t0 = min(e["ts"] for e in spans)
t1 = max(e["ts"] + e["dur"] for e in spans)
width, left, row_h, top = 1100, 220, 34, 50
scale = (width - left - 20) / max(t1 - t0, 1e-9)
colors = {"submit": "#4e79a7", "submission": "#59a14f", "wait": "#e15759", "wait (timeout)": "#ff9d9a",
          "poll": "#bab0ac", "poll (done)": "#9c755f", "replay": "#f28e2b"}
height = top + row_h * len(rows) + 60
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       f'<rect width="{width}" height="{height}" fill="white"/>',
       f'<text x="10" y="20" font-size="14">{html.escape(title)}</text>',
       f'<text x="10" y="38" fill="#555">GPU clock: {html.escape(trace.get("otherData", {}).get("gpu_clock", "?"))}</text>']
for i, (pid, tid) in enumerate(rows):
    y = top + i * row_h
    label = names.get(pid, f"pid {pid}") if pid == 2 else f"host thread {tid}"
    out.append(f'<text x="10" y="{y + 20}">{html.escape(label[:32])}</text>')
    out.append(f'<line x1="{left}" y1="{y + row_h - 4}" x2="{width - 20}" y2="{y + row_h - 4}" stroke="#eee"/>')
    for e in spans:
        if (e["pid"], e["tid"]) != (pid, tid):
            continue
        x = left + (e["ts"] - t0) * scale
        w = max(e["dur"] * scale, 0.5)
        c = colors.get(e["name"], "#76b7b2")
        out.append(f'<rect x="{x:.2f}" y="{y + 4}" width="{w:.2f}" height="{row_h - 12}" fill="{c}" fill-opacity="0.85">'
                   f'<title>{html.escape(e["name"])} ticket {e["args"].get("ticket")}: {e["dur"]:.1f} us</title></rect>')
axis_y = top + row_h * len(rows) + 10
total_ms = (t1 - t0) / 1e3
for k in range(11):
    x = left + (width - left - 20) * k / 10
    out.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#333"/>')
    out.append(f'<text x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">{total_ms * k / 10:.2f} ms</text>')
legend_x = left
for name, c in colors.items():
    out.append(f'<rect x="{legend_x}" y="{axis_y + 28}" width="12" height="12" fill="{c}"/>')
    out.append(f'<text x="{legend_x + 16}" y="{axis_y + 38}">{html.escape(name)}</text>')
    legend_x += 16 + 8 * len(name) + 14
out.append("</svg>")
open(dst, "w").write("\n".join(out))
