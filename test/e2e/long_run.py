#!/usr/bin/env python3
"""test/e2e/long_run.py BUILD_DIR SOURCE_DIR - a month-long run loses nothing.

Issue 17's runtime findings, each on the quickstart program:
  1. a run folder has one writer: a second process on it refuses, naming the
     holder; --resume A --out B leaves A unchanged (md5 of every file), and
     --out B holding another run's checkpoints is refused;
  2. SIGTERM finishes the step, writes a checkpoint and exits 75 with the
     command that resumes; the resumed run equals the uninterrupted one; a
     second signal exits at once;
  3. a save that fails (ulimit -f: EFBIG, not SIGXFSZ) warns and training
     goes on; three in a row end the run; an unwritable run folder is found
     before the first step;
  4. a checkpoint with overwritten bytes or a cut state.json is named and
     the previous intact one is used; metrics.jsonl is kept before a cut;
  5. a spec with its channels permuted refuses to resume, listing the
     differences; --init CKPT takes the weights only;
 10. messages that name the cause: --lr 1e300, --threads 100000, a 3e38 in
     the data, std = 1e-30 in the stats, a NaN weight.
"""
import glob
import hashlib
import os
import re
import resource
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
WORK = os.path.join(BUILD, "e2e", "long_run")
ARGS = ["--log-every", "1", "--threads", "2", "--no-maps"]


def run(args, env=None, expect=0, timeout=900, **kw):
    if kw:
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run(args, cwd=WORK, env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout,
                           **kw)
        print(f"$ {' '.join(args)}   [exit {p.returncode}]")
        if expect is not None and p.returncode != expect:
            print(p.stdout[-3000:], p.stderr[-3000:])
            raise SystemExit(f"FAIL: expected exit {expect}")
        return p
    return harness.run(args, WORK, env, expect, timeout)


def records(run_dir, kind="train"):
    import json
    out = []
    path = os.path.join(WORK, run_dir, "metrics.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("kind") == kind:
                    out.append(r)
    return out


def md5s(folder):
    out = {}
    for root, _, files in os.walk(os.path.join(WORK, folder)):
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, WORK)] = hashlib.md5(fh.read()).hexdigest()
    return out


def start(args):
    """A training run in the background; returns the Popen."""
    print("$ " + " ".join(args) + " &")
    return subprocess.Popen(args, cwd=WORK, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_step(run_dir, step, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = records(run_dir)
        if r and r[-1]["step"] >= step:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return False


def losses(run_dir):
    return {r["step"]: r["loss"] for r in records(run_dir)}


def same_after(a, b, step):
    """Whether run b logged every step of run a after `step`, equal."""
    la, lb = losses(a), losses(b)
    after = [s for s in la if s > step]
    if not after or any(s not in lb for s in after):
        return False, float("inf")
    worst = max(abs(la[s] - lb[s]) / max(abs(la[s]), 1e-12) for s in after)
    return worst < 1e-5, worst


exe = harness.fresh_example(BIN, SRC, WORK, "examples/quickstart.s2s", "qs")

# The uninterrupted reference: 3 epochs of 46 steps, checkpoints at 46, 92
# and 138 (keep 2).
run([exe, "--epochs", "3", "--out", "whole"] + ARGS)

# --- 2. SIGTERM: a checkpoint at the signal's step, then an exact resume ----
p = start([exe, "--epochs", "3", "--out", "sig"] + ARGS)
ok = wait_for_step("sig", 52, p)
p.send_signal(signal.SIGTERM)
out, err = p.communicate(timeout=300)
print("  " + err.strip().replace("\n", "\n  "))
m = re.search(r"stopped by SIGTERM after global step (\d+)", err)
check(ok and p.returncode == 75 and m is not None,
      f"SIGTERM mid-epoch: the run stops after its step with exit 75 (got {p.returncode})")
stop = int(m.group(1)) if m else -1
check(os.path.isdir(os.path.join(WORK, "sig/checkpoints/ckpt-%d" % stop))
      and stop % 46 != 0,
      f"a checkpoint of the signal's step (ckpt-{stop}, mid-epoch) is written")
check(records("sig") and records("sig")[-1]["step"] == stop,
      "metrics.jsonl holds every step up to the stop")
cmd = re.search(r"resume with: (.*)", err)
check(cmd is not None and "--resume" in cmd.group(1),
      "the message gives the command that resumes")
if cmd:
    r = run(shlex.split(cmd.group(1)))
    check(f"resuming from {os.path.join('sig', 'checkpoints', 'ckpt-%d' % stop)}"
          in r.stdout, "that command resumes from the signal's checkpoint")
    good, worst = same_after("whole", "sig", stop)
    check(good, f"the resumed run equals the uninterrupted one after step {stop} "
          f"(max rel. diff {worst:.2e})")

# A second signal: exit at once.
p = start([exe, "--epochs", "3", "--out", "sig2"] + ARGS)
ok = wait_for_step("sig2", 5, p)
p.send_signal(signal.SIGINT)
p.send_signal(signal.SIGTERM)
out, err = p.communicate(timeout=300)
print("  " + err.strip().replace("\n", "\n  "))
check(ok and p.returncode in (128 + signal.SIGTERM, 128 + signal.SIGINT)
      and "again: exiting at once" in err,
      f"a second signal exits at once with 128 + its number (got {p.returncode})")

# --- 1. one writer per run folder --------------------------------------------
p = start([exe, "--epochs", "30", "--out", "busy"] + ARGS)
ok = wait_for_step("busy", 1, p)
r = run([exe, "--epochs", "1", "--out", "busy"] + ARGS, expect=None)
print("  " + r.stderr.strip())
check(ok and r.returncode == 1 and f"in use by process {p.pid}" in r.stderr
      and "--out" in r.stderr,
      "a second process on a run folder in use refuses, naming the holder's PID")
p.kill()
p.wait()
r = run([exe, "--epochs", "1", "--out", "busy", "--resume"] + ARGS, expect=None)
check(r.returncode == 0,
      "the lock dies with its holder (SIGKILL): the folder is usable again")

before = md5s("whole")
r = run([exe, "--epochs", "4", "--out", "elsewhere", "--resume", "whole"] + ARGS)
check(md5s("whole") == before and len(before) > 5,
      f"--resume whole --out elsewhere leaves every file of 'whole' unchanged "
      f"({len(before)} files, md5)")
check(os.path.isdir(os.path.join(WORK, "elsewhere/checkpoints/ckpt-184")),
      "and the continued run writes into --out")
r = run([exe, "--epochs", "4", "--out", "elsewhere", "--resume", "sig"] + ARGS,
        expect=1)
check("already holds checkpoints" in r.stderr and "mix" in r.stderr,
      "--out holding another run's checkpoints is refused")
shutil.copytree(os.path.join(WORK, "whole"), os.path.join(WORK, "inplace"))
run([exe, "--epochs", "4", "--resume", "inplace/checkpoints/ckpt-138"] + ARGS)
check(os.path.isdir(os.path.join(WORK, "inplace/checkpoints/ckpt-184"))
      and not os.path.exists(os.path.join(WORK, "runs")),
      "--resume A without --out writes into A's run folder, not runs/<program>")

# --- 4. metrics.jsonl is kept before a cut; damaged checkpoints ------------------
run([exe, "--epochs", "2", "--out", "cut"] + ARGS,
    env={"S2S_CRASH_AT_STEP": "60"}, expect=3)
r = run([exe, "--epochs", "2", "--out", "cut", "--resume"] + ARGS)
kept = glob.glob(os.path.join(WORK, "cut/metrics.jsonl.before-resume-46*"))
check("kept as" in r.stdout and len(kept) == 1 and
      any('"step":60' in line for line in open(kept[0])),
      "a resume that cuts metrics.jsonl back says so and keeps the file as it was")

shutil.copytree(os.path.join(WORK, "whole"), os.path.join(WORK, "damaged"))
model = os.path.join(WORK, "damaged/checkpoints/ckpt-138/model.safetensors")
with open(model, "r+b") as f:
    f.seek(os.path.getsize(model) // 2)
    f.write(b"\x7f" * 16)
r = run([exe, "--epochs", "4", "--out", "damaged2", "--resume",
         "damaged/checkpoints/ckpt-138"] + ARGS, expect=None)
check(r.returncode == 1 and "model.safetensors' is damaged" in r.stderr,
      "--resume naming the damaged checkpoint itself is refused, naming the file")
r = run([exe, "--epochs", "4", "--out", "damaged", "--resume"] + ARGS)
check("ckpt-138/model.safetensors' is damaged" in r.stdout
      and "resuming from damaged/checkpoints/ckpt-92" in r.stdout,
      "16 overwritten bytes in model.safetensors: named, and the previous "
      "intact checkpoint is used")
shutil.copytree(os.path.join(WORK, "whole"), os.path.join(WORK, "cutstate"))
state = os.path.join(WORK, "cutstate/checkpoints/ckpt-138/state.json")
os.truncate(state, os.path.getsize(state) // 2)
r = run([exe, "--epochs", "4", "--out", "cutstate", "--resume"] + ARGS)
check("ckpt-138/state.json" in r.stdout
      and "resuming from cutstate/checkpoints/ckpt-92" in r.stdout,
      "a cut state.json: named, and the previous intact checkpoint is used")

# --- 5. a checkpoint of another spec -------------------------------------------
os.makedirs(os.path.join(WORK, "perm"))
with open(os.path.join(SRC, "examples/quickstart.s2s")) as f:
    spec = f.read().replace("channels = [u, v, t]", "channels = [v, u, t]")
with open(os.path.join(WORK, "perm/quickstart.s2s"), "w") as f:
    f.write(spec)
perm = os.path.join(WORK, "qs-perm")
run([os.path.join(BIN, "s2sc"), os.path.join(WORK, "perm/quickstart.s2s"),
     "-o", perm])
r = run([perm, "--epochs", "4", "--resume", "whole", "--out", "permuted"] + ARGS,
        expect=1)
print("  " + r.stderr.strip().replace("\n", "\n  "))
check("differs from this one" in r.stderr and
      "channels: the checkpoint's 'u,v,t', this run's 'v,u,t'" in r.stderr,
      "a spec with its channels permuted refuses to resume, listing the difference")
r = run([perm, "--epochs", "1", "--init", "whole", "--out", "permuted"] + ARGS)
check("weights of checkpoint whole/checkpoints/ckpt-138" in r.stdout,
      "--init CKPT starts a new run from its weights only")

# --- 3. failed saves -------------------------------------------------------------
def small_files():
    resource.setrlimit(resource.RLIMIT_FSIZE, (20 * 1024, 20 * 1024))

r = run([exe, "--epochs", "4", "--steps", "3", "--out", "full"] + ARGS,
        expect=None, preexec_fn=small_files)
print("  " + r.stderr.strip().replace("\n", "\n  "))
check(r.returncode == 1 and r.stderr.count("warning: the checkpoint of global step") == 2
      and "File too large" in r.stderr and ".safetensors" in r.stderr
      and "3 checkpoints in a row failed" in r.stderr
      and len(records("full", "epoch")) == 3,
      "saves past ulimit -f fail with EFBIG naming the file; training goes on "
      "after two, the third in a row ends the run (exit 1)")
with open(os.path.join(WORK, "not-a-folder"), "w") as f:
    f.write("x")
r = run([exe, "--epochs", "1", "--out", "not-a-folder/run"] + ARGS, expect=1)
check("not-a-folder/run" in r.stderr and "epoch 1/1" not in r.stdout,
      "an unwritable run folder is reported before the first step")

# --- 10. messages that name the cause --------------------------------------------
def bad(args, needles, what, prog=exe):
    r = run([prog] + args + ["--epochs", "1", "--out", "bad"] + ARGS, expect=None)
    msg = r.stderr.strip()
    print("  " + msg.replace("\n", "\n  "))
    check(r.returncode != 0 and all(n in msg for n in needles)
          and "lower --lr" not in msg and "c10::" not in msg,
          f"{what}: a message naming {needles}")

bad(["--lr", "1e300"], ["--lr", "3.4e38", "1e300"], "--lr 1e300")
bad(["--threads", "100000"], ["--threads 100000", "CPU core"], "--threads 100000")
shutil.copytree(os.path.join(WORK, "data/quickstart"), os.path.join(WORK, "data/huge"))
run([os.path.join(BIN, "s2s-test-poke"), "data/huge/2003.h5", "2", "5", "3e38"])
bad(["--data", "data/huge/*.h5", "--stats", "data/huge/stats.h5"],
    ["data/huge/2003.h5", "'t'", "3e+38", "fill value"], "a 3e38 in the data")

stats = os.path.join(WORK, "data/tiny-std/stats.h5")
os.makedirs(os.path.dirname(stats))
p = run(["/usr/bin/python3", "-c", "import h5py"], expect=None)
if p.returncode == 0:
    shutil.copy(os.path.join(WORK, "data/quickstart/stats.h5"), stats)
    run(["/usr/bin/python3", "-c",
         "import h5py,sys\n"
         "f=h5py.File(sys.argv[1],'r+')\n"
         "k=[k for k in f.keys() if 'std' in k][0]\n"
         "d=f[k][...]; d[2]=1e-30; f[k][...]=d\n", stats])
    bad(["--stats", stats], ["stats.h5", "'t'", "1e-30", "too small"],
        "std = 1e-30 in the stats")

# A NaN weight in an imported file.
run([exe, "--export", "nan.safetensors", "--resume", "whole"])
path = os.path.join(WORK, "nan.safetensors")
with open(path, "r+b") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    f.seek(8 + n)
    f.write(struct.pack("<f", float("nan")))
bad(["--init", "nan.safetensors"], ["holds NaN", "the --init file"],
    "a NaN weight")

harness.finish()
