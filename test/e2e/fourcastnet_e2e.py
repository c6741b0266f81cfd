#!/usr/bin/env python3
"""test/e2e/fourcastnet_e2e.py BUILD_DIR SOURCE_DIR - FourCastNet's weights in,
forecasts and scorecards out, against an independent float64 FourCastNet.

Run by a Python with Debian's python3-torch and python3-h5py. On synthetic
data (32x64, 4 channels) and test/e2e/Inputs/fourcastnet_small.s2s:
  1. weights drawn for FourCastNet's published module (its names, PyTorch's
     [out, in] linear layout, the unused `norm`), saved as its trainer
     saves a checkpoint (torch.save, 'model_state', DDP's `module.`);
  2. `EXE forecast --init ... --map fourcastnet`: the file's metadata, and
     its three leads against fourcastnet_ref.py's rollout (float64) to 1e-5;
  3. one SGD step (lr 1) from the same weights, exported as a .pt through
     the map in reverse and read by torch.load: before - after is the
     gradient of the order-3 tableau's MSE, against autograd on the float64
     reference, to 1e-5 of each tensor's scale; the loss too;
  4. mis-shaped, missing and unused tensors are errors naming them; a map
     that forgets the square head's transpose still loads, and the test
     shows the forecast is then wrong;
  5. `EXE evaluate`: the scorecard's RMSE and ACC (model, persistence,
     climatology, per channel and lead) against a plain computation of
     WeatherBench's definitions; the skill PNG exists.
"""
import collections
import json
import os
import shutil
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402
import fourcastnet_ref as ref  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "fourcastnet")
STEP = 6 * 3600


def run(args, expect=0, timeout=900):
    return harness.run(args, WORK, None, expect, timeout)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
run([os.path.join(BIN, "s2s-data"), "synth", "--out", "data", "--channels",
     "u,v,t,q", "--grid", "32x64", "--years", "2000..2002",
     "--steps-per-year", "8", "--seed", "1"])
exe = os.path.join(WORK, "fcn")
run([os.path.join(BIN, "s2sc"),
     os.path.join(SRC, "test/e2e/Inputs/fourcastnet_small.s2s"), "-o", exe])

# Seed 0 puts a spectral value at the soft shrinkage's threshold for this
# data: there fp32 itself (PyTorch's fp32 as much as s2s's) moves the head's
# gradient by 1.5e-5 with one ulp of input rounding. Seed 1 is an ordinary
# draw (PyTorch fp32 within 3e-7 of float64).
sd = ref.make_weights(seed=1)
ref.save_upstream_checkpoint(sd, os.path.join(WORK, "upstream.pt"))
p64 = ref.float64_params(sd)
init = ["--init", "upstream.pt", "--map", "fourcastnet", "--threads", "2"]

# --- 2. forecast ------------------------------------------------------------
p = run([exe, "forecast", *init, "--start", "2002-01-01T06:00", "--steps", "3",
         "--out", "f.h5"])
print(p.stdout)
check("skipped as the map says" in p.stdout,
      "the import skips upstream's unused `norm` as the map says")
x, times, mean, std = ref.read_normalised(os.path.join(WORK, "data"), 2002)
with h5py.File(os.path.join(WORK, "f.h5"), "r") as f:
    fc = np.asarray(f["forecast"], dtype=np.float64)
    t0 = int(f["init_time"][0])
    check(fc.shape == (3, 4, 32, 64), f"forecast is [lead, channel, lat, lon] "
          f"{fc.shape}")
    check(t0 == int(times[1]), "init_time is the start")
    check(list(f["time"]) == [t0 + k * STEP for k in (1, 2, 3)] and
          list(f["lead_hours"]) == [6.0, 12.0, 18.0],
          "valid times and lead hours")
    chans = [c.decode() if isinstance(c, bytes) else c
             for c in f["forecast"].attrs["channels"]]
    check(chans == ["u", "v", "t", "q"], f"channel names {chans}")
    with h5py.File(os.path.join(WORK, "data", "2002.h5"), "r") as d:
        check(np.array_equal(f["lat"], d["lat"]) and
              np.array_equal(f["lon"], d["lon"]), "coordinates of the data")
    wattr = f.attrs["weights"]
    wattr = wattr.decode() if isinstance(wattr, bytes) else str(wattr)
    check(wattr.startswith("--init upstream.pt"),
          "the file says where the weights came from")
with torch.no_grad():
    xs = x[1:2]
    want = []
    for _ in range(3):
        xs = ref.fourcastnet(xs, p64)
        want.append(xs[0].numpy())
got = (fc - mean[None, :, None, None]) / std[None, :, None, None]
for k in range(3):
    d = float(np.abs(got[k] - want[k]).max())
    check(d < 1e-5, f"lead {k + 1} equals the float64 reference "
          f"(normalised units; max |diff| {d:.2e}, values up to "
          f"{np.abs(want[k]).max():.2f})")

# --- 3. one SGD step: the gradients ----------------------------------------
p = run([exe, *init, "--out", "run"])
p = run([exe, "--export", "after.pt", "--map", "fourcastnet", "--out", "run"])
after = torch.load(os.path.join(WORK, "after.pt"))
check(set(after) == set(sd) - {"norm.weight", "norm.bias"},
      "the export carries upstream's names (all but the unused norm)")
xtrain, _, _, _ = ref.read_normalised(os.path.join(WORK, "data"), 2000)
windows = torch.stack([xtrain[s:s + 4] for s in range(5)])  # 5 x 4 frames
params = {k: v.clone().requires_grad_(True) for k, v in p64.items()}
loss = ref.tableau_loss(lambda t: ref.fourcastnet(t, params), windows)
loss.backward()
worst = 0.0
for name, before in sd.items():
    if name.startswith("norm."):
        continue
    g = (before.double() - after[name].double())
    gr = params[name].grad
    err = float((g - gr).abs().max()) / max(1.0, float(gr.abs().max()))
    worst = max(worst, err)
    if err >= 1e-5:
        print(f"  {name}: max |diff| / scale {err:.2e}")
check(worst < 1e-5, f"every parameter's gradient equals autograd on the "
      f"float64 reference (worst max |diff| / max(1, max |grad|) {worst:.2e})")
with open(os.path.join(WORK, "run", "metrics.jsonl")) as f:
    epoch = [json.loads(line) for line in f if '"epoch"' in line][0]
rel = abs(epoch["train_loss"] - float(loss)) / float(loss)
check(rel < 1e-5, f"the step's loss {epoch['train_loss']:.7g} equals the "
      f"reference {float(loss):.7g} (relative {rel:.1e})")

p = run([exe, "--help"])
check(all(w in p.stdout for w in ("forecast [options]", "evaluate [options]",
                                  "--init FILE", "--map MAP", "--export FILE",
                                  "--init-partial")),
      "--help shows forecast, evaluate, --init, --map and --export")

# The program's own export (safetensors, its own names) read back by --init
# gives the forecast of the checkpoint, bit for bit.
run([exe, "--export", "own.safetensors", "--out", "run"])
run([exe, "forecast", "--init", "own.safetensors", "--start",
     "2002-01-01T06:00", "--steps", "2", "--out", "own.h5"])
run([exe, "forecast", "--checkpoint", "run", "--start", "2002-01-01T06:00",
     "--steps", "2", "--out", "ckpt.h5"])
with h5py.File(os.path.join(WORK, "own.h5"), "r") as a, \
        h5py.File(os.path.join(WORK, "ckpt.h5"), "r") as b:
    check(np.array_equal(a["forecast"], b["forecast"]),
          "--init of the exported safetensors forecasts as the checkpoint")
p = run([exe, "forecast", "--checkpoint", "run", "--start",
         "2002-01-01T05:00", "--out", "x.h5"], expect=1)
check("2002-01-01T00:00 to 2002-01-02T18:00 every 6h" in p.stderr,
      "a start time between samples is refused with the data's times")

p = run([exe, "forecast", "--start", "2002-01-01T06:00", "--out", "d.h5"],
        expect=1)
check("no checkpoint in 'runs/fourcastnet_small/ckpt'" in p.stderr,
      "without --init or --checkpoint, forecast looks in the default run "
      "folder (not in --out, its output file)")
p = run([exe, "forecast", "--checkpoint", "run", "--start",
         "2002-01-01T06:00", "--out", "/proc/nope/f.h5"], expect=1)
check("cannot write forecast '/proc/nope/f.h5'" in p.stderr,
      "an unwritable --out is named")

# --- 4. what an import refuses ---------------------------------------------
def save(d, name):
    torch.save(collections.OrderedDict(d), os.path.join(WORK, name))


bad = dict(sd)
bad["blocks.1.mlp.fc1.weight"] = sd["blocks.1.mlp.fc1.weight"][:, :32].clone()
bad["extra.weight"] = torch.zeros(3)
del bad["blocks.0.norm2.bias"]
save(bad, "bad.pt")
p = run([exe, "forecast", "--init", "bad.pt", "--map", "fourcastnet",
         "--start", "2002-01-01T06:00", "--out", "bad.h5"], expect=1)
err = p.stderr
print(err)
check("blocks.1.mlp.fc1.weight [256, 32] transposed" in err and
      "AFNOBlock.1.Mlp.0.linear.0.weight [64, 256]" in err,
      "a mis-shaped tensor is named with both shapes")
check("AFNOBlock.0.layer_norm.1.bias <- blocks.0.norm2.bias" in err,
      "a missing tensor is named on both sides")
check("extra.weight [3]" in err, "an unused tensor is named")
check(not os.path.exists(os.path.join(WORK, "bad.h5")), "nothing is written")
p = run([exe, "forecast", "--init", "upstream.pt", "--start",
         "2002-01-01T06:00", "--out", "nomap.h5"], expect=1)
check("pos <- pos" in p.stderr and "pos_embed" in p.stderr,
      "without a map, upstream's names do not pass as s2s's")
with open(os.path.join(WORK, "no_head_transpose.map"), "w") as f:
    f.write("AFNOBlock.{i}.Mlp.0.linear.0.weight blocks.{i}.mlp.fc1.weight "
            "transpose\n"
            "AFNOBlock.{i}.Mlp.0.linear.1.weight blocks.{i}.mlp.fc2.weight "
            "transpose\n"
            "AFNOBlock.{i}.Mlp.0.linear.0.bias blocks.{i}.mlp.fc1.bias\n"
            "AFNOBlock.{i}.Mlp.0.linear.1.bias blocks.{i}.mlp.fc2.bias\n"
            "pos pos_embed\npatch_embed.0.* patch_embed.proj.*\n"
            "AFNOBlock.{i}.layer_norm.0.{p} blocks.{i}.norm1.{p}\n"
            "AFNOBlock.{i}.afno2d.0.{p} blocks.{i}.filter.{p}\n"
            "AFNOBlock.{i}.layer_norm.1.{p} blocks.{i}.norm2.{p}\n"
            "- norm.*\n"
            "linear.0.weight head.weight   # the transpose forgotten\n")
run([exe, "forecast", "--init", "upstream.pt", "--map",
     "no_head_transpose.map", "--start", "2002-01-01T06:00", "--steps", "1",
     "--out", "wrong.h5"])
with h5py.File(os.path.join(WORK, "wrong.h5"), "r") as f:
    wrong = (np.asarray(f["forecast"][0], dtype=np.float64) -
             mean[:, None, None]) / std[:, None, None]
d = float(np.abs(wrong - want[0]).max())
check(d > 1e-2, f"the square head passes the shape check untransposed, and "
      f"the forecast is then wrong (max |diff| {d:.2f}): the built-in map's "
      f"transpose is what makes it right")
p = run([exe, "forecast", "--init", "bad.pt", "--map", "fourcastnet",
         "--init-partial", "--start", "2002-01-01T06:00", "--out", "p.h5"],
        expect=1)
check("blocks.1.mlp.fc1.weight" in p.stderr,
      "--init-partial still refuses a mis-shaped tensor")
part = dict(sd)
del part["blocks.0.norm2.bias"]
part["extra.weight"] = torch.zeros(3)
save(part, "part.pt")
p = run([exe, "forecast", "--init", "part.pt", "--map", "fourcastnet",
         "--init-partial", "--start", "2002-01-01T06:00", "--out", "p.h5"])
check("1 parameters not in the file keep their initial values" in p.stdout
      and "1 file tensors unused" in p.stdout,
      "--init-partial imports the rest and says what it left")

# --- 5. evaluate -------------------------------------------------------------
p = run([exe, "evaluate", "--checkpoint", "run", "--split", "test", "--steps",
         "2", "--out", "score.json", "--threads", "2"])
print(p.stdout)
card = json.load(open(os.path.join(WORK, "score.json")))
check(card["lead_hours"] == [6, 12] and card["windows"] == 6 and
      card["channels"] == ["u", "v", "t", "q"], "scorecard layout")
trained = {k: v.double() for k, v in after.items()}
with torch.no_grad():
    starts = torch.stack([x[s] for s in range(6)])
    lead1 = ref.fourcastnet(starts, trained)
    preds = [lead1, ref.fourcastnet(lead1, trained)]
with h5py.File(os.path.join(WORK, "data", "2002.h5"), "r") as d:
    lat = np.asarray(d["lat"], dtype=np.float64)
L = np.cos(np.deg2rad(lat))
L = (L / L.mean())[None, :, None]


def physical(z):
    return z * std[:, None, None] + mean[:, None, None]


def rmse(f, t):  # [n, H, W]: per-sample weighted RMSE, averaged
    return float(np.mean(np.sqrt((L * (f - t) ** 2).mean(axis=(1, 2)))))


def acc(f, t, clim):
    fa, ta = f - clim, t - clim
    fa, ta = fa - fa.mean(), ta - ta.mean()
    return float((L * fa * ta).sum() /
                 np.sqrt((L * fa ** 2).sum() * (L * ta ** 2).sum()))


worst = 0.0
for k in (1, 2):
    for c, name in enumerate(card["channels"]):
        f = physical(preds[k - 1].numpy())[:, c]
        t = physical(x[k:k + 6].numpy())[:, c]
        pers = physical(x[0:6].numpy())[:, c]
        want_vals = {
            ("rmse", "model"): rmse(f, t),
            ("rmse", "persistence"): rmse(pers, t),
            ("rmse", "climatology"): rmse(np.full_like(t, mean[c]), t),
            ("acc", "model"): acc(f, t, mean[c]),
            ("acc", "persistence"): acc(pers, t, mean[c])}
        for (score, who), v in want_vals.items():
            got_v = card[score][who][name][k - 1]
            worst = max(worst, abs(got_v - v) / max(abs(v), 1e-3))
check(worst < 1e-4, f"every scorecard number equals the plain computation "
      f"(worst relative difference {worst:.1e})")
png = open(os.path.join(WORK, "score.png"), "rb").read()
check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000,
      "the skill chart is a PNG beside the scorecard")

harness.finish()
