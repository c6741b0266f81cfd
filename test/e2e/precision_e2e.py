#!/usr/bin/env python3
"""test/e2e/precision_e2e.py BUILD_DIR SOURCE_DIR - bf16 training converges
as fp32 does.

The quickstart (examples/quickstart.s2s) built with `precision = bf16` on
the synthetic quickstart data: trained as the spec says (bf16 autocast) and
with --precision fp32, the same epochs and seed. Both must beat persistence
on every channel; the bf16 run's final validation RMSE must be within 5% of
fp32's (mean over channels, and on each); its losses must not be fp32's
bit for bit (the spec key changes the training, test no-silent-drop's
companion); the banner gives the forward's measured time both ways. fp16
on a CPU is refused at start naming the key and what to do. Prints the
steps/s and the RMSE of both runs.
"""
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "precision")
EPOCHS = "3"

shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
harness.synth(BIN, WORK, "data/quickstart")
spec = open(os.path.join(SRC, "examples/quickstart.s2s")).read()
assert "precision  = fp32" in spec
spec = spec.replace("precision  = fp32", "precision  = bf16")
with open(os.path.join(WORK, "quickstart.s2s"), "w") as f:
    f.write(spec)
exe = os.path.join(WORK, "qs_bf16")
harness.run([os.path.join(BIN, "s2sc"), "quickstart.s2s", "-o", exe], WORK)


def train(out, extra):
    p = harness.run([exe, "--epochs", EPOCHS, "--threads", "2", "--no-maps",
                     "--log-every", "1", "--out", out] + extra, WORK)
    recs = [json.loads(line) for line in
            open(os.path.join(WORK, out, "metrics.jsonl"))]
    return p, recs


pb, rb = train("bf16", [])
pf, rf = train("fp32", ["--precision", "fp32"])
print("  " + "\n  ".join(l for l in pb.stdout.splitlines() if "precision" in l
                         or "CPU" in l or "note:" in l))
check("precision bf16: the forward under autocast" in pb.stdout,
      "the spec's precision = bf16 is what the program runs")
check("precision" not in pf.stdout, "--precision fp32 overrides it")
m = re.search(r"takes ([0-9.e+-]+) ms in bf16 and ([0-9.e+-]+) ms in fp32",
              pb.stdout)
check(m is not None, "the banner gives the forward's time in bf16 and fp32")
if m:
    print(f"  forward at start-up: bf16 {m.group(1)} ms, fp32 {m.group(2)} ms")

loss_b = [r["loss"] for r in rb if r["kind"] == "train"]
loss_f = [r["loss"] for r in rf if r["kind"] == "train"]
check(len(loss_b) == len(loss_f) > 0 and loss_b != loss_f,
      f"bf16's step losses are not fp32's ({sum(a != b for a, b in zip(loss_b, loss_f))} "
      f"of {len(loss_b)} differ)")

eb = [r for r in rb if r["kind"] == "epoch"]
ef = [r for r in rf if r["kind"] == "epoch"]


def speed(epochs):
    steps = epochs[-1]["step"]
    return steps / sum(e["seconds"] for e in epochs)


last_b, last_f = eb[-1], ef[-1]
for name, last in (("bf16", last_b), ("fp32", last_f)):
    print(f"  {name}: {speed(eb if name == 'bf16' else ef):.1f} steps/s, "
          f"valid rmse {last['rmse']}, persistence {last['rmse_persistence']}")
    check(all(last["rmse"][c] < 0.9 * last["rmse_persistence"][c]
              for c in last["rmse"]),
          f"{name} beats persistence by more than 10% on every channel")
mean_b = sum(last_b["rmse"].values()) / len(last_b["rmse"])
mean_f = sum(last_f["rmse"].values()) / len(last_f["rmse"])
check(abs(mean_b - mean_f) <= 0.05 * mean_f,
      f"bf16's validation RMSE {mean_b:.5g} is within 5% of fp32's {mean_f:.5g} "
      f"({100 * abs(mean_b - mean_f) / mean_f:.2f}%)")
check(all(abs(last_b["rmse"][c] - last_f["rmse"][c]) <= 0.05 * last_f["rmse"][c]
          for c in last_f["rmse"]),
      "and so is each channel's")

p = harness.run([exe, "--epochs", "1", "--out", "fp16", "--device", "cpu",
                 "--precision", "fp16"], WORK, expect=1)
check("--precision fp16: fp16 runs on a CUDA device only" in p.stderr and
      "use precision = bf16" in p.stderr,
      "fp16 on a CPU is refused at start, saying what to do")
harness.finish()
