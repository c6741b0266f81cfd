#!/usr/bin/env python3
"""test/e2e/leadtime_e2e.py BUILD_DIR SOURCE_DIR - lead-time training end to end.

examples/leadtime_synth.s2s (LeadTimeNet, leads = [1, 2, 4] steps of 6 h) on
data from s2s-data synth:
  1. s2sc compiles it into an executable (warning-free);
  2. the program trains each sample at a drawn lead and validates at each
     lead: a table per lead, a `leads` list in metrics.jsonl;
  3. after training the model beats persistence (RMSE, every channel) at
     two leads or more, and its error grows with the lead as persistence's
     does (the model does not answer every lead alike).
"""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, failures  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "leadtime")


def run(args, cwd=WORK, expect=0, timeout=900):
    return harness.run(args, cwd, None, expect, timeout)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
harness.synth(BIN, WORK, "data/leadtime_synth", grid="16x32")

exe = os.path.join(WORK, "leadtime")
p = run([os.path.join(BIN, "s2sc"),
         os.path.join(SRC, "examples/leadtime_synth.s2s"), "-o", exe, "-v"])
check("warning:" not in p.stdout + p.stderr,
      "the generated program compiles without warnings (-Wall -Wextra)")

p = run([exe, "--out", "run", "--threads", "2"])
print(p.stdout[-3000:])
for h in ("+6h", "+12h", "+1d"):
    check(f"valid {h}" in p.stdout,
          f"validation prints a table at lead {h} next to persistence")

epochs = []
with open(os.path.join(WORK, "run", "metrics.jsonl")) as f:
    for line in f:
        r = json.loads(line)
        if r.get("kind") == "epoch":
            epochs.append(r)
check(len(epochs) == 4, "one metrics record per epoch")
last = epochs[-1]
leads = last.get("leads", [])
check([l["lead_steps"] for l in leads] == [1, 2, 4] and
      [l["lead_hours"] for l in leads] == [6, 12, 24],
      "metrics.jsonl holds the scores at each spec'd lead")
beaten = []
for l in leads:
    m, pers = l["rmse"], l["rmse_persistence"]
    print(f"  lead {l['lead_hours']:>4} h: rmse model {m}  persistence {pers}")
    if all(m[c] < pers[c] for c in m):
        beaten.append(l["lead_hours"])
check(len(beaten) >= 2,
      f"the trained model beats persistence on every channel at two leads "
      f"or more (at {beaten} h)")
pers_t = [l["rmse_persistence"]["t"] for l in leads]
model_t = [l["rmse"]["t"] for l in leads]
check(pers_t == sorted(pers_t) and model_t[0] < model_t[-1],
      "persistence's error and the model's grow with the lead "
      f"(persistence t {pers_t}, model t {model_t})")

if failures:
    print(f"\n{len(failures)} check(s) failed:")
    for f in failures:
        print("  - " + f)
    sys.exit(1)
print("\nall lead-time end-to-end checks passed")
