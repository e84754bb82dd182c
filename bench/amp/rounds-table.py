#!/usr/bin/env python3
"""Markdown table of a keras-vs-ours-rounds.sh folder: per round Keras float32 / mixed_bfloat16
(mean / median s/step, CPU s/step), ours float32 / --use_amp (and AMP without the side stream when
run with --side compare), and the ratios the issue's bars ask for.
  python3 bench/amp/rounds-table.py bench/amp/results/keras-vs-ours-amx"""
import json
import statistics
import sys
from pathlib import Path

d = Path(sys.argv[1])
loads = {}
for line in (d / "rounds.log").read_text().splitlines():
    p = line.split()
    if p[0] == "round":
        loads[int(p[1])] = p[3]
rows, amp_vs_keras, f32_vs_amp, side = [], [], [], []
print("| round | load | Keras f32 mean / median (CPU) | Keras mixed_bfloat16 mean / median (CPU) | ours f32 (CPU) "
      "| ours --use_amp (CPU) | ours AMP, no side stream | ours f32/AMP per pair | AMP / Keras bf16 | no side / side |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in sorted(loads):
    kf = json.loads((d / f"kf32_{r}.json").read_text())
    kb = json.loads((d / f"kbf16_{r}.json").read_text())
    o = json.loads((d / f"ours_{r}.json").read_text())
    s, c = o["s_per_step"], o["cpu_s_per_step"]
    k = lambda j: f"{j['graph_s_per_step']:.3f} / {j['graph_median_s']:.3f} ({j['graph_cpu_s_per_step']:.2f})"
    ratio = s["amp"] / kb["graph_median_s"]
    amp_vs_keras.append(ratio)
    f32_vs_amp.append(o["median_pair_ratio"])
    ns = o.get("median_noside_over_side")
    if ns is not None:
        side.append(ns)
    print(f"| {r} | {loads[r]} | {k(kf)} | {k(kb)} | {s['f32']:.3f} ({c['f32']:.2f}) | {s['amp']:.3f} ({c['amp']:.2f}) "
          f"| {s.get('amp_noside', float('nan')):.3f} | {o['median_pair_ratio']:.2f} | {ratio:.3f} | {ns if ns is not None else ''} |")
print()
print(f"medians over {len(loads)} rounds: ours AMP / Keras mixed_bfloat16 {statistics.median(amp_vs_keras):.3f} "
      f"(range {min(amp_vs_keras):.3f}-{max(amp_vs_keras):.3f}); ours f32/AMP {statistics.median(f32_vs_amp):.2f} "
      f"(range {min(f32_vs_amp):.2f}-{max(f32_vs_amp):.2f})"
      + (f"; AMP without / with the side stream {statistics.median(side):.2f} (range {min(side):.2f}-{max(side):.2f})" if side else ""))
