#!/usr/bin/env python3
"""test/e2e/parallel_plan.py BUILD_DIR SOURCE_DIR - what each rank holds:
the compiler's plan against the running program, and node-shared data.

A small FieldViT (its parameter count not divisible by the ranks, several
gather units) on synthetic data, compiled by s2sc for ddp, zero1, zero2 and
zero3 over 2 processes, zero2 over 4, and ddp on [data: 1, tensor: 2]
(Megatron's layout: a rank holds its slices of the split layers and the
rest whole), each launched as real processes on loopback (RANK,
WORLD_SIZE, MASTER_ADDR, ... as torchrun sets them):

  1. plan = runtime: every rank's parameter, gradient and optimizer-state
     bytes between steps, as the program measures them on its tensors
     ("rank R of N holds between steps: ..."), equal the compiler's
     #s2s.memory_plan for that strategy (s2sc --emit=mlir-opt) exactly;
     zero2's gradient buckets in flight stay below the whole gradient.
  2. plan within 15% of measurement (docs/plan.md): for every run above
     and ddp over 1 process with order 1, ddp and zero3 over 2 with order 3
     and checkpoint_activations, `s2sc --emit=plan`'s step memory (the
     step's peak above the state between steps) and peak, and its bytes
     handed to each collective per step, against what the program
     measures with S2S_STATS=1 (a counting CPU allocator's peak above the
     step's start, over the steps after the first, with --prefetch 0 so
     that the loader's batches assembled ahead stay out; the
     Communicator's bytes by collective); a table, and a failure for any
     figure more than 15% off.
  3. node-shared data (--memory shared) at 2 and 4 ranks: the ranks' shares
     of the shared memory they map (Pss_Shmem, S2S_STATS=1) add up to one
     copy of the data set, and each rank's private memory is smaller by
     about that copy than when every rank loads its own (--memory eager).
"""
import concurrent.futures
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, failures  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "parallel_plan")
GRID, YEARS, PER_YEAR, CHANNELS = (32, 64), 2, 730, 3
KIB = 1024

SPEC = """\
// test/e2e/parallel_plan.py: {strategy} over {ranks} processes.
import "std/models/vit.s2s"

data synth {{
  source    = hdf5("{data}/*.h5")
  channels  = [u, v, t]
  grid      = [{h}, {w}]
  step      = 6h
  split     = {{ train: 2000, valid: 2001 }}
  normalize = zscore("{data}/stats.h5")
  memory    = in_memory()
}}

model net = FieldViT(channels = 3, grid = [{h}, {w}], patch = [8, 8],
                     embed = {embed}, depth = 4, heads = {heads}, mlp_ratio = 2)

rollout {{
  order = {order}
  loss  = mse(weight = latitude)
}}

parallel {{ mesh = [data: {data_axis}, tensor: {tensor}]; strategy = {strategy}; backend = gloo; timeout = 120; checkpoint_activations = {recompute} }}

train {{
  optimizer = adamw(lr = 1e-3)
  epochs    = 1
  batch     = {batch}
  seed      = 0
}}
"""


def run(args, env=None, expect=0, timeout=900):
    return harness.run(args, WORK, env, expect, timeout)


def launch(exe, ranks, out, extra=()):
    """EXE on `ranks` local processes; their outputs (exits on a failure)."""
    shutil.rmtree(os.path.join(WORK, out), ignore_errors=True)
    return harness.launch_ranks(
        [exe, "--out", out, "--steps", "3", "--threads", "1", "--no-maps",
         "--prefetch", "0", *extra], ranks, WORK, {"S2S_STATS": "1"},
        timeout=600)


def plan_of(spec):
    p = run([os.path.join(BIN, "s2sc"), spec, "--emit=mlir-opt"])
    m = re.search(r"#s2s\.memory_plan<([^>]*)>", p.stdout)
    return {k: int(v) for k, v in re.findall(r"(\w+) = (\d+)", m.group(1))}


def plan_figures(spec):
    """`s2sc --emit=plan`'s figures: bytes per rank, handed per collective."""
    p = run([os.path.join(BIN, "s2sc"), spec, "--emit=plan"])
    fig = {}
    for key, label in (("params", "parameters"), ("grads", "gradients"),
                       ("optimizer", "optimizer state"),
                       ("activations", "activations"),
                       ("transient", r"in flight \(gathers, shards\)"),
                       ("step", "step, above the state"),
                       ("peak", "peak")):
        m = re.search(r"^  " + label + r" +([\d,]+) ", p.stdout, re.M)
        fig[key] = int(m.group(1).replace(",", ""))
    for key, label in (("allreduce", r"all-reduce \(data\)"),
                       ("reduce_scatter", r"reduce-scatter \(data\)"),
                       ("all_gather", r"all-gather \(data\)"),
                       ("tensor_allreduce", r"all-reduce \(tensor\)")):
        m = re.search(r"^  " + label + r" +([\d,]+) ", p.stdout, re.M)
        fig[key] = int(m.group(1).replace(",", ""))
    return fig


def held_of(out):
    """The rank's "holds between steps" figures, in bytes."""
    m = re.search(r"holds between steps: parameters ([\d,]+) bytes, "
                  r"gradients ([\d,]+) bytes, optimizer state ([\d,]+) bytes"
                  r"(?:; at most ([\d,]+) bytes of gradient buckets)?", out)
    if not m:
        return None
    n = [int(g.replace(",", "")) if g else 0 for g in m.groups()]
    return {"params": n[0], "grads": n[1], "optimizer": n[2], "buckets": n[3]}


def stats_of(out):
    """The last s2s-stats line's fields."""
    lines = [l for l in out.splitlines() if l.startswith("s2s-stats ")]
    return {k: float(v) for k, v in (f.split("=") for f in lines[-1].split()[1:])}


def compare(name, plan, helds, stats, table):
    """The plan's step memory, peak and bytes per collective per step
    against every rank's measurement (the largest over the ranks)."""
    step = max(s["step_peak_bytes"] for s in stats)
    held = max(h["params"] + h["grads"] + h["optimizer"] if h else 0
               for h in helds)
    rows = [("step memory", plan["step"], step),
            ("peak (no batch)", plan["peak"] - plan_batch(plan), held + step)]
    for kind in ("allreduce", "reduce_scatter", "all_gather"):
        measured = max(st[kind + "_bytes"] / st["steps"] for st in stats)
        # The Communicator counts the tensor group's all-reduces with the
        # data group's.
        planned = plan[kind] + (plan["tensor_allreduce"]
                                if kind == "allreduce" else 0)
        if planned or measured > 1024:  # the loss's few bytes aside
            rows.append((kind + " / step", planned, measured))
    for figure, planned, measured in rows:
        table.append((name, figure, planned, measured))
        off = abs(planned - measured) / max(measured, 1)
        what = (f"{name}: {figure} planned {planned:,.0f} B, "
                f"measured {measured:,.0f} B ({100 * off:.1f}% off)")
        check(off <= 0.15, what)


def plan_batch(plan):
    return plan["peak"] - plan["params"] - plan["grads"] - \
        plan["optimizer"] - plan["step"]


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
data = os.path.join(WORK, "data")
run([os.path.join(BIN, "s2s-data"), "synth", "--out", data, "--grid",
     f"{GRID[0]}x{GRID[1]}", "--channels", "u,v,t", "--years",
     f"2000..{2000 + YEARS - 1}", "--steps-per-year", str(PER_YEAR), "--step",
     "6h", "--seed", "0"])

exes = {}
table = []  # (config, figure, plan, measured)
# (strategy, processes, order, recomputed, tensor axis). The tensor-parallel
# one is [data: 1, tensor: 2] on a FieldViT of 24 wide and 4 heads (5 heads
# do not split over 2).
CONFIGS = (("ddp", 2, 2, False, 1), ("zero3", 2, 3, True, 1),
           ("zero1", 2, 2, False, 1), ("ddp", 1, 1, False, 1),
           ("zero2", 4, 2, False, 1), ("ddp", 2, 3, True, 1),
           ("zero2", 2, 2, False, 1), ("zero3", 2, 2, False, 1),
           ("ddp", 2, 2, False, 2))


def config_name(strategy, ranks, order, recompute, tensor):
    return f"{strategy}_{ranks}" + ("" if order == 2 else f"_o{order}") + \
        ("_re" if recompute else "") + ("" if tensor == 1 else f"_t{tensor}")


def build(config):
    """Writes the spec of `config`, builds it; (spec, exe)."""
    strategy, ranks, order, recompute, tensor = config
    name = config_name(*config)
    spec = os.path.join(WORK, name + ".s2s")
    with open(spec, "w") as f:
        f.write(SPEC.format(strategy=strategy, ranks=ranks,
                            data_axis=ranks // tensor,
                            tensor=tensor, data=data,
                            embed=25 if tensor == 1 else 24,
                            heads=5 if tensor == 1 else 4,
                            h=GRID[0], w=GRID[1], batch=2 * (ranks // tensor),
                            order=order,
                            recompute="true" if recompute else "false"))
    exe = os.path.join(WORK, name)
    run([os.path.join(BIN, "s2sc"), spec, "-o", exe])
    return spec, exe


# The programs build two at a time (each build is one translation unit),
# each run as soon as it is built.
pool = concurrent.futures.ThreadPoolExecutor(2)
for (strategy, ranks, order, recompute, tensor), (spec, exe) in zip(
        CONFIGS, pool.map(build, CONFIGS)):
    name = config_name(strategy, ranks, order, recompute, tensor)
    plan = plan_of(spec)
    figures = plan_figures(spec)
    exes[name] = exe
    outs = launch(exe, ranks, "run_" + name)
    compare(name, figures, [held_of(o) for o in outs],
            [stats_of(o) for o in outs], table)
    m = re.search(r"([\d,]+) parameters;", outs[0])
    params = int(m.group(1).replace(",", "")) if m else 0
    for r, out in enumerate(outs):
        held = held_of(out)
        if held is None:
            check(False, f"{name} rank {r} reports what it holds")
            continue
        print(f"[figures] {name} rank {r}: held {held}, plan "
              f"{ {k: plan[k] for k in ('params', 'grads', 'optimizer')} }")
        for kind in ("params", "grads", "optimizer"):
            check(held[kind] == plan[kind],
                  f"{name} rank {r}: {kind} held {held[kind]} bytes = "
                  f"the plan's {plan[kind]}")
        if strategy == "zero2":
            check(0 < held["buckets"] < params * 4,
                  f"{name} rank {r}: gradient buckets in flight peaked at "
                  f"{held['buckets']} bytes, below the whole gradient "
                  f"({params * 4})")
    if name in ("zero1_2", "zero2_4"):
        check(params % ranks != 0, f"the model's {params} parameters do not "
              f"divide over {ranks} ranks (the shards are padded)")

print("\nplan vs measured, per rank per step (largest rank):")
print(f"  {'config':<14} {'figure':<22} {'plan B':>14} {'measured B':>14} "
      f"{'off':>7}")
for name, figure, planned, measured in table:
    off = 100 * (planned - measured) / max(measured, 1)
    print(f"  {name:<14} {figure:<22} {planned:>14,.0f} {measured:>14,.0f} "
          f"{off:>+6.1f}%")

# Node-shared data: one copy for all local ranks.
frames = YEARS * PER_YEAR  # train and validation years
data_kib = frames * CHANNELS * GRID[0] * GRID[1] * 4 / KIB
for name, ranks in (("ddp_2", 2), ("zero2_4", 4)):
    shared = [stats_of(o) for o in
              launch(exes[name], ranks, "shared_" + name, ["--memory", "shared"])]
    eager = [stats_of(o) for o in
             launch(exes[name], ranks, "eager_" + name, ["--memory", "eager"])]
    pss = sum(s["pss_shmem_kb"] for s in shared)
    print(f"[figures] {ranks} ranks, data {data_kib / KIB:.1f} MiB: shared "
          f"memory counted once over the ranks {pss / KIB:.1f} MiB; per rank "
          f"RssShmem {[round(s['rss_shmem_kb'] / KIB, 1) for s in shared]} "
          f"MiB; private memory shared "
          f"{[round(s['rss_anon_kb'] / KIB, 1) for s in shared]} vs eager "
          f"{[round(s['rss_anon_kb'] / KIB, 1) for s in eager]} MiB")
    check(abs(pss - data_kib) < 0.1 * data_kib,
          f"{ranks} ranks share one copy of the data: their Pss_Shmem adds up "
          f"to {pss / KIB:.1f} MiB, the data set is {data_kib / KIB:.1f} MiB")
    # RssShmem counts the shared pages a rank has touched: the loader all,
    # the others the samples of their share; none more than the one copy.
    check(max(s["rss_shmem_kb"] for s in shared) < 1.05 * data_kib,
          f"no rank of {ranks} holds more than the one shared copy")
    for r in range(ranks):
        check(eager[r]["rss_anon_kb"] - shared[r]["rss_anon_kb"] >
              0.8 * data_kib,
              f"rank {r} of {ranks}: private memory "
              f"{shared[r]['rss_anon_kb'] / KIB:.1f} MiB shared vs "
              f"{eager[r]['rss_anon_kb'] / KIB:.1f} MiB with its own copy")

if failures:
    raise SystemExit(f"{len(failures)} check(s) failed")
print("all checks passed")
