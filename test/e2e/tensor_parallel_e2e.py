#!/usr/bin/env python3
"""test/e2e/tensor_parallel_e2e.py BUILD_DIR SOURCE_DIR - Megatron tensor
parallel in a compiled training program, against one process.

A FieldViT (attention heads and MLP hidden units split over the tensor
axis; patch embedding, norms, position embedding and head replicated) is
compiled by s2sc for mesh [data: 2, tensor: 2] (ddp over the data axis),
[data: 1, tensor: 2] and [data: 1]; each runs 5 optimizer steps of AdamW on
the same global batch of synthetic data, as real processes on loopback:

  1. the IR and the C++ show the collectives: s2s.tp_copy before each
     column layer and attention, s2s.tp_all_reduce after each row layer
     and attention (s2sc --emit=mlir-opt), and the sliced kernels
     (linear_column, linear_row, attention_heads) in --emit=cpp;
  2. every step's training loss of both tensor-parallel runs equals the
     one-process run's, and so does every parameter of the final
     checkpoint (gathered whole by the tensor ranks), to rtol 1.3e-6 and
     atol 1e-5 (the issue's bound);
  3. the tensor-parallel run resumes from its own checkpoint and from the
     one-process run's (checkpoints hold whole tensors);
  4. refused at their spec line: zero2 with a tensor axis (not implemented
     yet), heads that do not split over the tensor axis.
"""
import json
import os
import re
import shutil
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "tensor_parallel")
STEPS = 5

SPEC = """\
// test/e2e/tensor_parallel_e2e.py: mesh {mesh}.
import "std/models/vit.s2s"

data synth {{
  source    = hdf5("{data}/*.h5")
  channels  = [u, v, t]
  grid      = [16, 32]
  step      = 6h
  split     = {{ train: 2000..2001, valid: 2002 }}
  normalize = zscore("{data}/stats.h5")
}}

model net = FieldViT(channels = 3, grid = [16, 32], patch = [4, 4],
                     embed = 32, depth = 2, heads = {heads}, mlp_ratio = 2)

rollout {{
  order = 2
  loss  = mse(weight = latitude)
}}

parallel {{ mesh = {mesh}; strategy = {strategy}; backend = gloo; timeout = 120 }}

train {{
  optimizer = {optimizer}
  grad_clip = 0.5
  epochs    = 1
  batch     = 8
  seed      = 3
}}
"""


def run(args, expect=0):
    return harness.run(args, WORK, None, expect)


SGD = "sgd(lr = 0.05, momentum = 0.9)"
ADAMW = "adamw(lr = 1e-3, weight_decay = 0.01)"


def write_spec(name, mesh, strategy="ddp", heads=4, optimizer=SGD):
    """WORK/name/vit.s2s: every spec compiles to program 'vit', so their
    checkpoints are one program's (a resume checks the program's name)."""
    os.makedirs(os.path.join(WORK, name), exist_ok=True)
    path = os.path.join(WORK, name, "vit.s2s")
    with open(path, "w") as f:
        f.write(SPEC.format(mesh=mesh, strategy=strategy, heads=heads,
                            optimizer=optimizer,
                            data=os.path.join(WORK, "data")))
    return path


def launch(exe, ranks, out, extra=()):
    """EXE on `ranks` local processes; their outputs (exits on a failure)."""
    out = "run-" + out
    shutil.rmtree(os.path.join(WORK, out), ignore_errors=True)
    return harness.launch_ranks(
        [exe, "--out", out, "--threads", "1", "--no-maps", "--log-every", "1",
         *extra], ranks, WORK)


def safetensors(path):
    """{name: float64 array} of a safetensors file (F32 tensors)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(
            t["shape"]).astype(np.float64)
    return out


def final_model(out):
    ckpts = os.path.join(WORK, "run-" + out, "checkpoints")
    newest = sorted((d for d in os.listdir(ckpts) if d.startswith("ckpt-")),
                    key=lambda d: int(d.split("-")[1]))[-1]
    return newest, safetensors(os.path.join(ckpts, newest,
                                            "model.safetensors"))


def losses(out):
    return [r["loss"] for r in harness.records(
        os.path.join(WORK, "run-" + out, "metrics.jsonl"), "train")]


def close(a, b, rtol=1.3e-6, atol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


# AdamW divides each gradient by its running RMS: a parameter whose exact
# gradient is zero moves by up to lr a step, driven by rounding alone. The
# key third of attention's qkv bias is one (softmax ignores a shift of every
# score by the same amount), so there the two runs' rounding differs
# visibly; every other value is held to the bound.
def key_bias(name, shape):
    return name.endswith("qkv.bias") and len(shape) == 1


def compare_models(name, ref_name, skip_key_bias=False):
    """The final checkpoints of runs `name` and `ref_name`, parameter by
    parameter, to the issue's bound (with skip_key_bias: the key third of
    each qkv bias within AdamW's bound of lr a step per run instead)."""
    ck_ref, p_ref = final_model(ref_name)
    ck, p = final_model(name)
    worst, where, key_worst = 0.0, "", 0.0
    ok = ck == ck_ref and sorted(p) == sorted(p_ref)
    for k in p_ref:
        if k not in p or p[k].shape != p_ref[k].shape:
            ok = False
            continue
        a, b = p[k], p_ref[k]
        if skip_key_bias and key_bias(k, b.shape):
            e = len(b) // 3
            key_worst = max(key_worst, float(np.max(np.abs(a[e:2 * e] -
                                                          b[e:2 * e]))))
            # Each run moves them at most lr (1e-3) a step.
            ok = ok and key_worst <= 2 * STEPS * 1e-3
            a = np.concatenate([a[:e], a[2 * e:]])
            b = np.concatenate([b[:e], b[2 * e:]])
        d = float(np.max(np.abs(a - b)))
        if d > worst:
            worst, where = d, k
        ok = ok and close(a, b)
    extra = (f"; the qkv biases' key thirds differ by {key_worst:.3g} and "
             f"within 2 x {STEPS} x lr" if skip_key_bias else "")
    check(ok, f"{name}: the final checkpoint ({ck}, {len(p)} parameters, "
              f"whole shapes) equals {ref_name}'s; largest difference "
              f"{worst:.3g} in {where}{extra}")


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
harness.run([os.path.join(BIN, "s2s-data"), "synth", "--out", "data",
             "--grid", "16x32", "--channels", "u,v,t", "--years",
             "2000..2002", "--steps-per-year", "24", "--step", "6h",
             "--seed", "0"], WORK)

specs = {"one": write_spec("one", "[data: 1]"),
         "d2t2": write_spec("d2t2", "[data: 2, tensor: 2]"),
         "d1t2": write_spec("d1t2", "[data: 1, tensor: 2]"),
         "one-adamw": write_spec("one-adamw", "[data: 1]", optimizer=ADAMW),
         "d2t2-adamw": write_spec("d2t2-adamw", "[data: 2, tensor: 2]",
                                  optimizer=ADAMW)}
exes = {}
for name, spec in specs.items():
    exes[name] = os.path.join(WORK, "exe-" + name)
    run([os.path.join(BIN, "s2sc"), spec, "-o", exes[name]])

# --- 1. the collectives in the IR and the kernels in the C++ ----------------
ir = run([os.path.join(BIN, "s2sc"), specs["d2t2"], "--emit=mlir-opt"]).stdout
copies, reduces = ir.count("s2s.tp_copy"), ir.count("s2s.tp_all_reduce")
# Per block: f before attention and fc1, g after attention and fc2.
check(copies >= 4 and reduces >= 4 and copies == reduces,
      f"--emit=mlir-opt: {copies} s2s.tp_copy and {reduces} s2s.tp_all_reduce "
      "(f and g around each block's attention and MLP)")
check(re.search(r"s2s\.tp_all_reduce .*bias_of = \"[^\"]*Mlp[^\"]*\"", ir)
      is not None and re.search(
          r"s2s\.tp_all_reduce .*bias_of = \"[^\"]*attention[^\"]*proj\"", ir)
      is not None,
      "the row layers' biases (MLP, attention's projection) are added after "
      "the all-reduce (bias_of)")
cpp = run([os.path.join(BIN, "s2sc"), specs["d2t2"], "--emit=cpp"]).stdout
check(all(k in cpp for k in ("s2s::rt::tp_copy", "s2s::rt::tp_all_reduce",
                             "s2s::rt::linear_column", "s2s::rt::linear_row",
                             "s2s::rt::attention_heads")),
      "--emit=cpp calls tp_copy, tp_all_reduce, linear_column, linear_row, "
      "attention_heads")
cpp1 = run([os.path.join(BIN, "s2sc"), specs["one"], "--emit=cpp"]).stdout
check("tp_copy" not in cpp1 and "linear_column" not in cpp1,
      "one process: no tensor-parallel kernels")

# --- 2. equal to one process --------------------------------------------------
one_out = launch(exes["one"], 1, "one", ["--steps", str(STEPS)])
out = launch(exes["d2t2"], 4, "d2t2", ["--steps", str(STEPS)])
check("tensor parallel over 2 ranks" in out[0],
      "the banner names the tensor axis: " +
      next((l for l in out[0].splitlines() if "tensor" in l), "?"))
count = [re.search(r"([\d,]+) parameters", o).group(1)
         for o in (one_out[0], out[0])]
check(count[0] == count[1],
      f"the banner counts the whole model on a tensor rank: {count[1]} "
      f"parameters, as one process ({count[0]})")
launch(exes["d1t2"], 2, "d1t2", ["--steps", str(STEPS)])

ref = losses("one")
check(len(ref) == STEPS, f"one process logged {len(ref)} steps")
for name in ("d2t2", "d1t2"):
    got = losses(name)
    diff = max((abs(a - b) for a, b in zip(got, ref)), default=float("nan"))
    check(len(got) == STEPS and close(got, ref),
          f"{name}: {STEPS} step losses equal one process's "
          f"(largest difference {diff:.3g}): {got}")
    compare_models(name, "one")


launch(exes["one-adamw"], 1, "one-adamw", ["--steps", str(STEPS)])
launch(exes["d2t2-adamw"], 4, "d2t2-adamw", ["--steps", str(STEPS)])
got, ref = losses("d2t2-adamw"), losses("one-adamw")
check(len(got) == STEPS and close(got, ref),
      f"adamw, d2t2: {STEPS} step losses equal one process's (largest "
      f"difference {max(abs(a - b) for a, b in zip(got, ref)):.3g})")
compare_models("d2t2-adamw", "one-adamw", skip_key_bias=True)

# --- 3. resume, from its own checkpoint and from one process's ---------------
launch(exes["d2t2"], 4, "d2t2", ["--steps", str(STEPS), "--epochs", "2",
                                 "--resume"])
launch(exes["one"], 1, "one", ["--steps", str(STEPS), "--epochs", "2",
                               "--resume"])
a, b = losses("d2t2"), losses("one")
check(len(a) == 2 * STEPS and close(a, b),
      f"resumed for a second epoch: {len(a)} step losses equal one "
      "process's resumed run")
shutil.copytree(os.path.join(WORK, "run-one", "checkpoints"),
                os.path.join(WORK, "cross-ckpts"), dirs_exist_ok=True)
ck_one = os.path.join("cross-ckpts", final_model("one")[0])
launch(exes["d1t2"], 2, "cross", ["--steps", str(STEPS), "--epochs", "3",
                                  "--resume", ck_one])
launch(exes["one"], 1, "one", ["--steps", str(STEPS), "--epochs", "3",
                               "--resume"])
c, d = losses("cross"), losses("one")
check(len(c) >= STEPS and close(c[-STEPS:], d[-STEPS:]),
      "a tensor-parallel run resumes from a one-process checkpoint: its "
      "third epoch's losses equal the one-process run's")

# --- 4. refused at the spec line ------------------------------------------------
bad = write_spec("zero2", "[data: 2, tensor: 2]", strategy="zero2")
r = run([os.path.join(BIN, "s2sc"), bad, "-o", os.path.join(WORK, "x")],
        expect=1)
check(bad + ":" in r.stderr and "not implemented yet" in r.stderr,
      "zero2 with a tensor axis: " + r.stderr.strip().splitlines()[0])
bad = write_spec("heads", "[data: 1, tensor: 3]", heads=4)
r = run([os.path.join(BIN, "s2sc"), bad, "-o", os.path.join(WORK, "x")],
        expect=1)
check("heads" in r.stderr and "tensor axis of 3" in r.stderr,
      "4 heads over a tensor axis of 3: " + r.stderr.strip().splitlines()[0])

harness.finish()
