#!/usr/bin/env python3
"""bench/parallel/bench_parallel.py - the body of bench/parallel/run.

For each strategy (ddp, zero1, zero2, zero3) and process count (1, 2, 4):
writes a spec (FieldViT, ~20M parameters, on a 32x64 grid of synthetic
data), builds it with `s2sc SPEC -o EXE`, launches the processes on
loopback with plain environment variables (RANK, WORLD_SIZE, MASTER_ADDR,
MASTER_PORT, LOCAL_RANK, LOCAL_WORLD_SIZE) and S2S_STATS=1, and reads each
rank's `s2s-stats` line of the second epoch (the first warms up: Adam's
state, the Reducer's bucket rebuild, Gloo's first use of each pair).

The figures, per rank, over the second epoch's step loop only:

  steps/s     steps / the slowest rank's seconds (the ranks meet every step)
  sent        /proc/self/io wchar per step: the bytes the process passed to
              write/writev, i.e. what Gloo's TCP transport sent (plus a few
              bytes of progress bar) - measured, not modelled
  handed      bytes given to collectives per step (Communicator's CommStats;
              DDP's gradient buckets counted by GradientReducer)
  textbook    k * Psi * 4 B * (n-1)/n per rank for Psi fp32 parameters on n
              ranks: k = 2 for ddp (ring all-reduce), zero1 and zero2
              (reduce-scatter + all-gather), k = 3 for zero3 (two
              all-gathers and a reduce-scatter)
  peak        VmHWM of the rank; "growth" subtracts the resident set just
              before the model was made (runtime, LibTorch, data, Gloo)
  plan        the compiler's per-rank memory plan (s2sc --emit=mlir-opt:
              params + grads + optimizer + the step's peak above them,
              strategy applied)
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

STRATEGIES = ["ddp", "zero1", "zero2", "zero3"]
# k of the textbook volume k * Psi * (n-1)/n (ZeRO paper, section 7).
TEXTBOOK_K = {"ddp": 2, "zero1": 2, "zero2": 2, "zero3": 3}
BATCH_PER_RANK = 2
MIB = 2**20

SPEC = """\
// bench/parallel: FieldViT on a 32x64 grid, {strategy} over {ranks} processes.
import "std/models/vit.s2s"

data synth {{
  source    = hdf5("{data}/*.h5")
  channels  = [u, v, t]
  grid      = [32, 64]
  step      = 6h
  split     = {{ train: 2000..2001 }}
  normalize = zscore("{data}/stats.h5")
  memory    = in_memory()
}}

// 26 blocks of width 256 over 4x8 tokens of 8x8 patches: ~20M parameters
// and little compute per parameter, so communication matters.
model net = FieldViT(channels = 3, grid = [32, 64], patch = [8, 8],
                     embed = 256, depth = 26, heads = 8, mlp_ratio = 4)

rollout {{
  order = 1
  loss  = mse(weight = latitude)
}}

parallel {{ mesh = [data: {ranks}]; strategy = {strategy}; backend = gloo; timeout = 300 }}

train {{
  optimizer = adam(lr = 1e-4)
  epochs    = 2
  batch     = {batch}
  seed      = 0
}}
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_data(bin_dir, data):
    """Two years of u, v, t on 32x64 (s2s-data synth), made once."""
    if os.path.exists(os.path.join(data, "stats.h5")):
        return
    subprocess.run([os.path.join(bin_dir, "s2s-data"), "synth", "--out", data,
                    "--grid", "32x64", "--channels", "u,v,t", "--years",
                    "2000..2001", "--steps-per-year", "64", "--step", "6h",
                    "--seed", "0"], check=True, stdout=subprocess.DEVNULL)


def first_error(text):
    """The first line of a failure worth showing in a table."""
    for line in text.splitlines():
        if "error" in line:
            return line.strip()
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1].strip() if lines else "(no output)"


def memory_plan(s2sc, spec):
    """{params, grads, optimizer, step, total} in bytes, or the error."""
    p = subprocess.run([s2sc, spec, "--emit=mlir-opt"], capture_output=True,
                       text=True)
    m = re.search(r"#s2s\.memory_plan<([^>]*)>", p.stdout)
    if p.returncode != 0 or not m:
        return None, first_error(p.stderr)
    return {k: int(v) for k, v in re.findall(r"(\w+) = (\d+)", m.group(1))}, ""


def build(s2sc, runtime, spec, exe):
    """s2sc SPEC -o EXE against `runtime`; "" on success, else the error."""
    p = subprocess.run([s2sc, spec, "-o", exe, "--runtime", runtime],
                       capture_output=True, text=True)
    return "" if p.returncode == 0 else first_error(p.stderr + p.stdout)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(exe, ranks, threads, steps, out):
    """Runs EXE on `ranks` processes; returns (rank outputs, error or "")."""
    shutil.rmtree(out, ignore_errors=True)  # a fresh run, not a resume
    os.makedirs(out)
    port = str(free_port())
    procs = []
    for r in range(ranks):
        env = dict(os.environ, RANK=str(r), WORLD_SIZE=str(ranks),
                   LOCAL_RANK=str(r), LOCAL_WORLD_SIZE=str(ranks),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port, S2S_STATS="1",
                   OMP_NUM_THREADS=str(threads))
        args = [exe, "--out", os.path.join(out, "run"), "--steps", str(steps),
                "--batch", str(BATCH_PER_RANK * ranks), "--threads",
                str(threads), "--no-maps", "--timeout", "300"]
        stdout = open(os.path.join(out, f"rank{r}.out"), "w")
        stderr = open(os.path.join(out, f"rank{r}.err"), "w")
        procs.append(subprocess.Popen(args, env=env, stdout=stdout,
                                      stderr=stderr))
    codes = [p.wait() for p in procs]
    outs = [open(os.path.join(out, f"rank{r}.out")).read()
            for r in range(ranks)]
    if any(codes):
        bad = next(r for r, c in enumerate(codes) if c)
        err = open(os.path.join(out, f"rank{bad}.err")).read()
        return outs, f"rank {bad} exit {codes[bad]}: {first_error(err)}"
    return outs, ""


def stats_of(out, epoch):
    """The `s2s-stats epoch=EPOCH ...` line of one rank's output, as a dict."""
    for line in out.splitlines():
        if line.startswith("s2s-stats ") and f" epoch={epoch} " in line + " ":
            return {k: float(v) for k, v in
                    (f.split("=") for f in line.split()[1:])}
    raise ValueError(f"no s2s-stats line for epoch {epoch}")


def parameter_count(out):
    m = re.search(r"([\d,]+) parameters;", out)
    return int(m.group(1).replace(",", "")) if m else 0


def measure(row, ranks, outs):
    """Fills `row` with the figures of the second epoch's steps."""
    st = [stats_of(o, 2) for o in outs]
    steps = st[0]["steps"]
    row["steps_s"] = steps / max(s["seconds"] for s in st)
    row["sent"] = sum(s["written_bytes"] for s in st) / ranks / steps
    row["handed"] = sum(s["comm_bytes"] for s in st) / ranks / steps
    row["calls"] = st[0]["comm_calls"] / steps
    row["hwm"] = max(s["hwm_kb"] for s in st) * 1024
    row["growth"] = max((s["hwm_kb"] - s["rss_before_model_kb"]) * 1024
                        for s in st)
    row["psi"] = parameter_count(outs[0])


def run_one(args, work, data, strategy, ranks):
    """Builds and runs one strategy at one process count: the table's row."""
    name = f"{strategy}_{ranks}"
    spec = os.path.join(work, name + ".s2s")
    with open(spec, "w") as f:
        f.write(SPEC.format(strategy=strategy, ranks=ranks, data=data,
                            batch=BATCH_PER_RANK * ranks))
    runtime = os.path.abspath(
        os.path.join(args.build, "lib", "cmake", "s2s_runtime"))
    row = {"strategy": strategy, "ranks": ranks,
           "threads": max(1, (os.cpu_count() or 1) // ranks)}
    row["plan"], _ = memory_plan(args.s2sc, spec)
    log(f"[{name}] s2sc -o")
    row["error"] = build(args.s2sc, runtime, spec, os.path.join(work, name))
    if row["error"]:
        row["error"] = "build: " + row["error"]
        return row
    log(f"[{name}] running {ranks} process(es), {row['threads']} thread(s) each")
    t0 = time.time()
    outs, row["error"] = launch(os.path.join(work, name), ranks,
                                row["threads"], args.steps,
                                os.path.join(work, "runs", name))
    log(f"[{name}] {time.time() - t0:.0f} s")
    if not row["error"]:
        measure(row, ranks, outs)
    return row


def textbook(row, psi):
    n = row["ranks"]
    return TEXTBOOK_K[row["strategy"]] * psi * 4 * (n - 1) / n


def mib(x):
    return "-" if x is None else f"{x / MIB:.1f}"


def psi_of(rows):
    """Psi: the programs' banner, else the 1-rank plan's params / 4 B."""
    ran = [r["psi"] for r in rows if r.get("psi")]
    if ran:
        return ran[0]
    plans = [r["plan"]["params"] // 4 for r in rows
             if r["plan"] and r["ranks"] == 1]
    return plans[0] if plans else 0


HEADER = (f"{'':18} {'':>8} {'':>9} | {'sent MiB / step / rank':^32} | "
          f"{'peak MiB / rank':^31}\n"
          f"{'strategy ranks thr':18} {'steps/s':>8} {'samples/s':>9} | "
          f"{'measured':>8} {'textbook':>8} {'ratio':>5} {'handed':>8} | "
          f"{'VmHWM':>7} {'growth':>7} {'plan':>7} {'g/plan':>6}")


def print_row(r, psi):
    lead = f"{r['strategy']:<8} {r['ranks']:>5} {r['threads']:>3}"
    plan = r["plan"]["total"] if r["plan"] else None
    tb = textbook(r, psi)
    if r["error"]:
        print(f"{lead} FAILED: {r['error']}")
        print(f"{'':18} {'':>8} {'':>9} | {'':>8} {mib(tb):>8} {'':>5} "
              f"{'':>8} | {'':>7} {'':>7} {mib(plan):>7}")
        return
    ratio = f"{r['sent'] / tb:.2f}" if tb else "-"
    samples = r["steps_s"] * BATCH_PER_RANK * r["ranks"]
    print(f"{lead} {r['steps_s']:8.2f} {samples:9.2f} | {mib(r['sent']):>8} "
          f"{mib(tb):>8} {ratio:>5} {mib(r['handed']):>8} | "
          f"{mib(r['hwm']):>7} {mib(r['growth']):>7} {mib(plan):>7} "
          f"{r['growth'] / plan if plan else 0:6.2f}")


def print_plans(rows):
    print("memory plan per rank (s2sc --emit=mlir-opt), MiB:")
    print(f"{'strategy ranks':14} {'params':>7} {'grads':>7} {'optim':>7} "
          f"{'step':>7} {'total':>7}")
    for r in rows:
        p = r["plan"]
        if p:
            print(f"{r['strategy']:<8} {r['ranks']:>5} " + " ".join(
                f"{mib(p[k]):>7}" for k in
                ("params", "grads", "optimizer", "step", "total")))


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def print_table(rows, load_before):
    psi = psi_of(rows)
    cores = os.cpu_count() or 1
    print(f"FieldViT, Psi = {psi:,} parameters, fp32 (Psi * 4 B = "
          f"{mib(psi * 4)} MiB); batch {BATCH_PER_RANK} per rank; {cores} "
          f"cores; figures of the second epoch's steps")
    print()
    print(f"load average (1, 5, 15 min) before: {load_before}; after: "
          f"{load_average()} - other work on the cores skews steps/s")
    print()
    print(HEADER)
    for r in rows:
        print_row(r, psi)
    over = sorted({r["ranks"] for r in rows if r["ranks"] > cores})
    if over:
        print(f"\nranks {', '.join(map(str, over))}: more processes than "
              f"the {cores} cores - oversubscribed (1 thread each, plus "
              f"Gloo's), so their steps/s measure time-sharing, not scaling")
    print()
    print_plans(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--s2sc", help="the compiler (default: BUILD/bin/s2sc)")
    ap.add_argument("--steps", type=int, default=6,
                    help="steps per epoch (two epochs; the second is timed)")
    ap.add_argument("--ranks", default="1,2,4")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    args = ap.parse_args()
    args.s2sc = args.s2sc or os.path.join(args.build, "bin", "s2sc")
    work = os.path.abspath(os.path.join(args.build, "bench", "parallel"))
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    make_data(os.path.join(args.build, "bin"), data)
    load_before = load_average()
    rows = [run_one(args, work, data, s, int(n))
            for s in args.strategies.split(",")
            for n in args.ranks.split(",")]
    print_table(rows, load_before)


if __name__ == "__main__":
    main()
