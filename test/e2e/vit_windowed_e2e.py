#!/usr/bin/env python3
"""test/e2e/vit_windowed_e2e.py BUILD_DIR SOURCE_DIR - FieldViTWindowed.

  1. examples/vit_windowed.s2s trains on synth data and beats persistence
     on every channel;
  2. its attention is windowed, checked on the trained model's forecasts: a
     change at grid point (0, 0) -- token (0, 0) of the 8x16 tokens of 4x4
     patches -- may reach only the tokens that share a window with it in
     one of the two blocks (rows 0-3; columns 0-3, then the shifted windows
     {14, 15, 0, 1} and {2, ..., 5}). Every other output value must be
     exactly the same: lat rows 16-31, and lon columns 24-55 of rows 0-15.
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "vit_windowed")


def run(args):
    return harness.run(args, WORK)


exe = harness.fresh_example(BIN, SRC, WORK, "examples/vit_windowed.s2s", "vw")

run([exe, "--out", "run", "--threads", "2", "--no-maps"])
with open(os.path.join(WORK, "run/metrics.jsonl")) as f:
    last = [json.loads(line) for line in f if '"epoch"' in line][-1]
print("  rmse model", last["rmse"], "persistence", last["rmse_persistence"])
check(all(last["rmse"][c] < last["rmse_persistence"][c] for c in last["rmse"]),
      "the windowed ViT beats persistence on every channel")

shutil.copytree(os.path.join(WORK, "data/quickstart"),
                os.path.join(WORK, "data/poked"))
# Time index 5 of 2009 (6-hourly from 1 January) is 2009-01-02T06:00.
run([os.path.join(BIN, "s2s-test-poke"), "data/poked/2009.h5", "2", "5", "40"])
for name, data in (("base", "quickstart"), ("poked", "poked")):
    run([exe, "forecast", "--checkpoint", "run", "--data",
         f"data/{data}/*.h5", "--stats", "data/quickstart/stats.h5",
         "--start", "2009-01-02T06:00", "--steps", "1", "--out", name + ".h5"])
code = r"""
import h5py, numpy as np, sys
a = h5py.File(sys.argv[1])["forecast"][0]
b = h5py.File(sys.argv[2])["forecast"][0]
d = np.abs(a - b)
print(float(d[:, 16:, :].max()), float(d[:, :16, 24:56].max()),
      float(d[:, :16, :24].max()), float(d[:, :16, 56:].max()))
"""
p = harness.run(["/usr/bin/python3", "-c", code, "base.h5", "poked.h5"], WORK)
south, far, near, wrap = (float(x) for x in p.stdout.split())
print(f"  |change|: other band {south}, same band beyond the windows {far}, "
      f"within them {near} (east of the date line {wrap})")
check(south == 0.0 and far == 0.0,
      "outside the windows the change can reach, the forecast is bitwise the same")
check(near > 0.0 and wrap > 0.0,
      "inside them it changes, across the date line too (the shifted windows wrap)")
harness.finish()
