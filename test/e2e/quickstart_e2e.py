#!/usr/bin/env python3
"""test/e2e/quickstart_e2e.py BUILD_DIR SOURCE_DIR - the quickstart end to end.

A shorter version of ./scripts/quickstart, plus what a user relies on:
  1. s2s-data synth writes a small synthetic data set;
  2. s2sc compiles examples/quickstart.s2s into an executable (warning-free);
     compiling it again is incremental;
  3. training prints validation RMSE/ACC per epoch next to persistence, and
     the trained model beats persistence;
  4. killed mid-epoch and resumed, the loss trajectory equals the
     uninterrupted run's; a crash while writing a checkpoint leaves the
     previous one loadable;
  5. bad input (missing data, unknown channel, wrong grid, NaN) ends with one
     clear message naming the file/channel/index and a non-zero exit.
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, failures  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "quickstart")


def run(args, cwd=WORK, env=None, expect=0, timeout=900):
    return harness.run(args, cwd, env, expect, timeout)


def records(run_dir, kind):
    return harness.records(os.path.join(WORK, run_dir, "metrics.jsonl"), kind)


def synth(out, grid="32x64", channels="u,v,t"):
    harness.synth(BIN, WORK, out, grid, channels)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
synth("data/quickstart")

# --- compile --------------------------------------------------------------
exe = os.path.join(WORK, "qs")
p = run([os.path.join(BIN, "s2sc"), os.path.join(SRC, "examples/quickstart.s2s"),
         "-o", exe, "-v"])
check("warning:" not in p.stdout + p.stderr,
      "the generated program compiles without warnings (-Wall -Wextra)")
t0 = time.time()
run([os.path.join(BIN, "s2sc"), os.path.join(SRC, "examples/quickstart.s2s"),
     "-o", exe])
check(time.time() - t0 < 20, "recompiling the unchanged spec is incremental "
      f"({time.time() - t0:.1f} s)")
# The generated program loads neither NetCDF nor libpng other than through
# Debian's LibTorch itself (see runtime/test/link/check-links.cmake).
p = run(["cmake", "-DPROGRAM=" + exe, "-P",
         os.path.join(SRC, "runtime/test/link/check-links.cmake")])
print("  " + (p.stdout + p.stderr).strip().replace("\n", "\n  "))
check("ok:" in p.stdout + p.stderr,
      "the generated program links neither NetCDF nor libpng")

# --- it learns ---------------------------------------------------------------
p = run([exe, "--epochs", "3", "--out", "learn", "--threads", "2"])
check("persistence" in p.stdout and "rmse" in p.stdout,
      "validation RMSE is printed next to persistence")
ep = records("learn", "epoch")
check(len(ep) == 3, "one metrics record per epoch")
last = ep[-1]
better = [c for c in last["rmse"] if last["rmse"][c] < last["rmse_persistence"][c]]
print("  last epoch rmse model", last["rmse"], "persistence", last["rmse_persistence"])
check(len(better) == len(last["rmse"]),
      "the trained model beats persistence on every channel")

# --- resume equals the uninterrupted run ----------------------------------------
ARGS = ["--epochs", "2", "--log-every", "1", "--threads", "2"]
run([exe] + ARGS + ["--out", "whole"])
# 46 steps an epoch: the cut falls in epoch 2, after the epoch-1 checkpoint.
CUT = 60
run([exe] + ARGS + ["--out", "cut"], env={"S2S_CRASH_AT_STEP": str(CUT)}, expect=3)
p = run([exe] + ARGS + ["--out", "cut", "--resume"])
check("resuming from" in p.stdout + p.stderr,
      "--resume continues from the checkpoint written before the kill")
whole = {r["step"]: r["loss"] for r in records("whole", "train")}
cut = {r["step"]: r["loss"] for r in records("cut", "train")}
after = [s for s in whole if s > CUT]
check(len(after) > 0 and all(s in cut for s in after),
      f"the resumed run logged every step after the cut ({len(after)} steps)")
worst = max((abs(cut[s] - whole[s]) / max(abs(whole[s]), 1e-12) for s in after
             if s in cut), default=float("inf"))
check(worst < 1e-5, f"resumed losses equal the uninterrupted ones (max rel. diff {worst:.2e})")
check(abs(records("cut", "epoch")[-1]["rmse"]["t"] -
          records("whole", "epoch")[-1]["rmse"]["t"]) < 1e-5,
      "and so does the final validation RMSE")

# --- a crash while writing a checkpoint keeps the previous one ---------------------
run([exe] + ARGS + ["--out", "ckcrash"], env={"S2S_CRASH_IN_CHECKPOINT": "2"},
    expect=3)
p = run([exe] + ARGS + ["--out", "ckcrash", "--resume"])
check("resum" in (p.stdout + p.stderr).lower(),
      "after a crash in a checkpoint write, --resume loads the previous one")
check(abs(records("ckcrash", "epoch")[-1]["rmse"]["t"] -
          records("whole", "epoch")[-1]["rmse"]["t"]) < 1e-5,
      "and finishes as the uninterrupted run")

# --- bad input ----------------------------------------------------------------------
def bad(args, needles, what):
    p = run([exe] + args + ["--epochs", "1", "--out", "bad"], expect=None)
    msg = p.stderr.strip()
    print("  " + msg.replace("\n", "\n  "))
    check(p.returncode != 0 and all(n in msg for n in needles)
          and "terminate called" not in msg and len(msg.splitlines()) <= 3,
          f"{what}: one clear message naming {needles}, non-zero exit")

bad(["--data", "nowhere/*.h5"], ["nowhere/*.h5"], "missing data")
synth("data/other-channels", channels="u,v,q")
bad(["--data", "data/other-channels/*.h5", "--stats", "data/other-channels/stats.h5"],
    ["'t'", "data/other-channels/2000.h5"], "unknown channel")
synth("data/small-grid", grid="16x32")
bad(["--data", "data/small-grid/*.h5", "--stats", "data/small-grid/stats.h5"],
    ["16x32", "32x64"], "grid that does not match the model")
shutil.copytree(os.path.join(WORK, "data/quickstart"),
                os.path.join(WORK, "data/nan"))
run([os.path.join(BIN, "s2s-test-poke"), "data/nan/2003.h5", "2", "5", "nan"])
bad(["--data", "data/nan/*.h5", "--stats", "data/nan/stats.h5"],
    ["data/nan/2003.h5", "'t'", "5"], "NaN in the data")

shutil.copytree(os.path.join(WORK, "data/quickstart"),
                os.path.join(WORK, "data/hole"))
os.remove(os.path.join(WORK, "data/hole/2003.h5"))
bad(["--data", "data/hole/*.h5", "--stats", "data/hole/stats.h5"],
    ["2003", "missing", "data/hole/*.h5"], "a missing year file")

if failures:
    print(f"\n{len(failures)} check(s) failed:")
    for f in failures:
        print("  - " + f)
    sys.exit(1)
print("\nall end-to-end checks passed")
