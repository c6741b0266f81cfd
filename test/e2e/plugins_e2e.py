#!/usr/bin/env python3
"""test/e2e/plugins_e2e.py BUILD_DIR SOURCE_DIR - one example per rollout plugin.

examples/{align,jacobian,patches,recompute}.s2s on `s2s-data synth` data:
each compiles with s2sc -o, trains three short epochs, writes one metrics
record per epoch with finite losses, and ends with a validation RMSE below
persistence's on every channel.
"""
import json
import math
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, failures  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "plugins")
EXAMPLES = sys.argv[3:] or ["align", "jacobian", "patches", "recompute"]


def run(args, cwd=WORK, expect=0, timeout=900):
    return harness.run(args, cwd, None, expect, timeout)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
run([os.path.join(BIN, "s2s-data"), "synth", "--out", "data/synth", "--grid",
     "32x64", "--channels", "u,v,t", "--years", "2000..2009",
     "--steps-per-year", "48", "--step", "6h", "--seed", "0"])

for name in EXAMPLES:
    exe = os.path.join(WORK, name)
    run([os.path.join(BIN, "s2sc"), os.path.join(SRC, "examples", name + ".s2s"),
         "-o", exe])
    run([exe, "--out", "run-" + name, "--threads", "2"])
    with open(os.path.join(WORK, "run-" + name, "metrics.jsonl")) as f:
        recs = [json.loads(line) for line in f]
    epochs = [r for r in recs if r.get("kind") == "epoch"]
    losses = [r["loss"] for r in recs if r.get("kind") == "train"]
    check(len(epochs) == 3 and losses and all(math.isfinite(l) for l in losses),
          f"{name}: three epochs, finite training losses")
    last = epochs[-1] if epochs else {"rmse": {}, "rmse_persistence": {}}
    print(f"  {name}: rmse {last['rmse']} persistence {last['rmse_persistence']}")
    check(last["rmse"] and all(last["rmse"][c] < last["rmse_persistence"][c]
                               for c in last["rmse"]),
          f"{name}: the trained model beats persistence on every channel")

if failures:
    sys.exit("%d failed: %s" % (len(failures), "; ".join(failures)))
print("plugins: every example trains and beats persistence")
