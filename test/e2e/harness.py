"""test/e2e/harness.py - what the end-to-end scripts share: a command run
that prints its time and exit status, and checks that print ok/FAIL and
collect the failures."""
import json
import os
import shutil
import socket
import subprocess
import time

failures = []


def run(args, cwd, env=None, expect=0, timeout=900):
    """Runs args in cwd (env added to the environment); exits the script when
    the status is not `expect` (None: any)."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.time()
    p = subprocess.run(args, cwd=cwd, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    took = time.time() - t0
    print(f"$ {' '.join(args)}   [{took:.1f} s, exit {p.returncode}]")
    if expect is not None and p.returncode != expect:
        print(p.stdout[-4000:])
        print(p.stderr[-4000:])
        raise SystemExit(f"FAIL: expected exit {expect}, got {p.returncode}")
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ranks(argv, ranks, cwd, env=None):
    """argv on `ranks` local processes with torchrun's variables (RANK,
    WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT on
    loopback, one OpenMP thread) and `env` added; the running processes,
    their stdout and stderr piped."""
    port = str(free_port())
    procs = []
    for r in range(ranks):
        e = dict(os.environ, RANK=str(r), WORLD_SIZE=str(ranks),
                 LOCAL_RANK=str(r), LOCAL_WORLD_SIZE=str(ranks),
                 MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                 OMP_NUM_THREADS="1")
        e.update(env or {})
        procs.append(subprocess.Popen(argv, cwd=cwd, env=e,
                                      stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def launch_ranks(argv, ranks, cwd, env=None, timeout=900):
    """start_ranks, waited for; each rank's stdout. Exits the script,
    printing the rank's output, when one fails."""
    procs = start_ranks(argv, ranks, cwd, env)
    outs = []
    for r, p in enumerate(procs):
        o, err = p.communicate(timeout=timeout)
        print(f"$ {os.path.basename(argv[0])} {' '.join(argv[1:])} "
              f"rank {r}/{ranks}   [exit {p.returncode}]")
        if p.returncode != 0:
            print(o[-3000:], err[-3000:])
            raise SystemExit(f"FAIL: rank {r} of {argv[0]} exited "
                             f"{p.returncode}")
        outs.append(o)
    return outs


def synth(bin_dir, cwd, out, grid="32x64", channels="u,v,t"):
    """s2s-data synth into cwd/out: 2000..2009, 48 steps of 6 h a year."""
    return run([os.path.join(bin_dir, "s2s-data"), "synth", "--out", out,
                "--grid", grid, "--channels", channels, "--years",
                "2000..2009", "--steps-per-year", "48", "--step", "6h",
                "--seed", "0"], cwd)


def fresh_example(bin_dir, src, work, spec, exe_name):
    """A fresh folder `work` with the synth quickstart data in
    data/quickstart and example `spec` (relative to `src`) compiled into
    work/exe_name, whose path it returns."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    synth(bin_dir, work, "data/quickstart")
    exe = os.path.join(work, exe_name)
    run([os.path.join(bin_dir, "s2sc"), os.path.join(src, spec), "-o", exe],
        work)
    return exe


def compile_input(bin_dir, src, work, name, spec, exe, address):
    """test/e2e/Inputs/NAME.s2s with ADDRESS replaced by `address`, written
    as work/SPEC (its name is the program's) and compiled by s2sc into
    `exe`."""
    with open(os.path.join(src, "test/e2e/Inputs", name + ".s2s")) as f:
        text = f.read().replace("ADDRESS", address)
    with open(os.path.join(work, spec), "w") as f:
        f.write(text)
    run([os.path.join(bin_dir, "s2sc"), spec, "-o", exe], work)


def records(metrics, kind):
    """The records of `kind` in a metrics.jsonl file, in order."""
    out = []
    with open(metrics) as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == kind:
                out.append(r)
    return out


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def finish():
    """Exits 1 listing the failed checks, if any; else prints so."""
    if failures:
        print(f"\n{len(failures)} check(s) failed:")
        for f in failures:
            print("  - " + f)
        raise SystemExit(1)
    print("all checks passed")

