#!/usr/bin/env python3
"""test/e2e/convection_e2e.py BUILD_DIR SOURCE_DIR - ConvectionNet.

On the convective synth data (s2s-data synth --levels: t and q columns on
5 pressure levels under a moving surface temperature; surface exchange,
convection over 12 h and condensation keep each column's moist enthalpy):

  1. ConvectionNet (test/e2e/Inputs/convection_synth.s2s) beats
     persistence in validation RMSE, summed over the channels;
  2. its one-step forecasts keep each column's moist enthalpy
     sum_k (c_p T_k + L_v q_k) dp_k / g, recomputed here in float64 from
     the written forecast, to 1e-6 relative, and with a smaller error than
     the same net without the constraint (convection_baseline.s2s);
  3. the data conserve it too (so the constraint is the data's physics).
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
WORK = os.path.join(BUILD, "e2e", "convection")
LEVELS = "1000,850,700,500,300"


def run(args):
    return harness.run(args, WORK)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
run([os.path.join(BIN, "s2s-data"), "synth", "--out", "data/columns",
     "--grid", "16x32", "--levels", LEVELS, "--tau", "12h", "--years",
     "2000..2009", "--steps-per-year", "48", "--step", "6h", "--seed", "0"])

rmse = {}
for name in ("convection_synth", "convection_baseline"):
    exe = os.path.join(WORK, name)
    run([os.path.join(BIN, "s2sc"),
         os.path.join(SRC, "test/e2e/Inputs", name + ".s2s"), "-o", exe])
    run([exe, "--out", "run_" + name, "--threads", "2", "--no-maps"])
    with open(os.path.join(WORK, "run_" + name, "metrics.jsonl")) as f:
        rmse[name] = [json.loads(line) for line in f if '"epoch"' in line][-1]
    # The files hold Jan 1 00:00 + k * 6h, k < 48: Jan 7 06:00 is k = 25.
    run([exe, "forecast", "--checkpoint", "run_" + name, "--data",
         "data/columns/*.h5", "--stats", "data/columns/stats.h5", "--start",
         "2008-01-07T06:00", "--steps", "1", "--out", name + ".h5"])

last = rmse["convection_synth"]
model = sum(last["rmse"].values())
persistence = sum(last["rmse_persistence"].values())
base = sum(rmse["convection_baseline"]["rmse"].values())
print(f"  validation rmse summed over channels: ConvectionNet {model:.4g}, "
      f"persistence {persistence:.4g}, unconstrained {base:.4g}")
check(model < persistence, "ConvectionNet beats persistence")

code = r"""
import h5py, numpy as np, sys
levels = [int(p) for p in sys.argv[1].split(",")]
p = np.array(sorted(levels), dtype=np.float64)          # top down, hPa
edge = np.concatenate([[0.0], (p[1:] + p[:-1]) / 2, [0.0]])
edge[0] = max(0.0, 2 * p[0] - edge[1])
edge[-1] = 2 * p[-1] - edge[-2]
dp = 100 * np.diff(edge)                                 # Pa
cp, lv, g = 1004.64, 2.501e6, 9.80665
f = h5py.File("data/columns/2008.h5")
names = [c.decode() if isinstance(c, bytes) else c
         for c in f["fields"].attrs["channels"]]
def enthalpy(frame):
    h = 0.0
    for k, hpa in enumerate(p):
        t = frame[names.index("t%d" % hpa)].astype(np.float64)
        q = frame[names.index("q%d" % hpa)].astype(np.float64)
        h = h + (cp * t + lv * q) * dp[k] / g
    return h
x0 = f["fields"][25]
truth = f["fields"][26]
h0 = enthalpy(x0)
out = [float(np.max(np.abs(enthalpy(truth) - h0) / h0))]
for name in sys.argv[2:]:
    y = h5py.File(name + ".h5")["forecast"][0]
    out.append(float(np.max(np.abs(enthalpy(y) - h0) / h0)))
print(*out)
"""
p = harness.run(["/usr/bin/python3", "-c", code, LEVELS, "convection_synth",
                 "convection_baseline"], WORK)
data_err, conv_err, base_err = (float(v) for v in p.stdout.split())
print(f"  largest relative change of a column's moist enthalpy in one step: "
      f"data {data_err:.3g}, ConvectionNet {conv_err:.3g}, unconstrained "
      f"{base_err:.3g}")
check(data_err < 1e-6, "the synth data keep each column's moist enthalpy")
check(conv_err < 1e-6, "ConvectionNet keeps it to 1e-6 per column per step")
check(conv_err < base_err,
      "ConvectionNet's conservation error is below the unconstrained net's")
harness.finish()
