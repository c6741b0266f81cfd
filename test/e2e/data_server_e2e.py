#!/usr/bin/env python3
"""test/e2e/data_server_e2e.py BUILD_DIR SOURCE_DIR - the data server end to end.

A real redis-server run by `s2s-data serve`, filled by `s2s-data push`, read
by a training program whose spec says source = server(...)
(test/e2e/Inputs/data_server.s2s):
  1. serve prints its address; push loads the synth files and prints GB/s;
     a wrong password is refused, naming the address;
  2. training from the server gives the same losses, bit for bit (the
     numbers' JSON text), as the same program reading the pushed HDF5
     files (--data), eager and lazy with 2 reader threads;
  3. the server killed mid-run: the program stops within the time limit
     (S2S_REDIS_TIMEOUT) with an error naming the address, its checkpoint
     kept; once the server is back (serve again, push again) --resume
     finishes the run with the losses of the uninterrupted one;
  4. a sample whose bytes changed on the server stops training with the
     sample named (CRC-32C);
  5. a producer (s2s-data push --follow DIR) pushes while the program
     trains (lazy): 2001 replaced and 16 samples added; no torn sample, a
     later epoch picks up the 16 and says so;
  6. serve stops its redis-server on SIGTERM and prints what it moved.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, finish  # noqa: E402

BUILD, SRC = (os.path.abspath(p) for p in sys.argv[1:3])
BIN = os.path.join(BUILD, "bin")
DATA = os.path.join(BIN, "s2s-data")
WORK = os.path.join(BUILD, "e2e", "data-server")
PWFILE = os.path.join(WORK, "srv", "password")
ENV = {"S2S_REDIS_PASSWORD_FILE": PWFILE, "S2S_REDIS_TIMEOUT": "2"}


def run(args, expect=0, env=None, timeout=600):
    e = dict(ENV)
    e.update(env or {})
    return harness.run(args, WORK, e, expect, timeout)


def serve():
    """s2s-data serve in WORK/srv; returns (process, address, redis pid)."""
    p = subprocess.Popen([DATA, "serve", "--dir", "srv", "--maxmemory", "256M"],
                         cwd=WORK, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    first = p.stdout.readline()
    print("serve: " + first.strip())
    words = first.split()
    if "serving" not in first:
        raise SystemExit("FAIL: s2s-data serve did not start: " + first +
                         p.stdout.read())
    for _ in range(5):
        print("serve: " + p.stdout.readline().rstrip())
    return p, words[3], int(first.split("pid ")[1].split(",")[0])


def push():
    return run([DATA, "push", "--address", address, "--name", "syn"] +
               [f"d/{y}.h5" for y in range(2000, 2004)])


def records(run_dir, kind):
    return harness.records(os.path.join(WORK, run_dir, "metrics.jsonl"), kind)


def train_until_checkpoint(out_dir, args):
    """Starts the program in the background; returns it once its first
    checkpoint is written (or it ended)."""
    t = subprocess.Popen([exe, "--out", out_dir] + args + common, cwd=WORK,
                         env=dict(os.environ, **ENV), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ckpt = os.path.join(WORK, out_dir, "checkpoints")
    while t.poll() is None and not (os.path.isdir(ckpt) and os.listdir(ckpt)):
        time.sleep(0.002)
    return t


def raw_losses(run_dir):
    """The train-loss numbers as written (text, so bit for bit)."""
    out = []
    with open(os.path.join(WORK, run_dir, "metrics.jsonl")) as f:
        for line in f:
            if '"kind":"train"' in line or '"kind":"epoch"' in line:
                for key in ('"loss":', '"train_loss":', '"valid_loss":'):
                    if key in line:
                        out.append(line.split(key)[1].split(",")[0])
    return out


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
run([DATA, "synth", "--out", "d", "--grid", "16x32", "--years", "2000..2003",
     "--steps-per-year", "32", "--step", "6h"])

# 1. serve, push, a wrong password
server, address, redis_pid = serve()
p = push()
print(p.stdout)
check("pushed 128 samples" in p.stdout and "GB/s" in p.stdout,
      "push loads every sample of the four files and prints its rate")
p = run([DATA, "push", "--address", address, "--name", "syn", "d/2000.h5"],
        expect=1, env={"S2S_REDIS_PASSWORD": "wrong"})
check(f"data server '{address}' refused the password" in p.stderr,
      "a wrong password is a clear error naming the address")

exe = os.path.join(WORK, "train")
harness.compile_input(BIN, SRC, WORK, "data_server", "server.s2s", exe,
                      address)

# 2. the same losses from the server as from the files
common = ["--threads", "1", "--log-every", "1"]
run([exe, "--out", "files"] + common + ["--data", "d/*.h5"])
p = run([exe, "--out", "server"] + common)
check(f"(data set 'syn' on data server '{address}')" in p.stdout,
      "the program says it trains from the server")
files, served = raw_losses("files"), raw_losses("server")
print(f"  {len(files)} losses; first {files[:3]}, last {files[-2:]}")
check(len(files) > 10 and files == served,
      "training from the server gives the files' losses, bit for bit (eager)")
run([exe, "--out", "server-lazy", "--memory", "lazy", "--loader-threads", "2"]
    + common)
check(raw_losses("server-lazy") == files,
      "lazy loading from the server with 2 reader threads: the same losses")

p = run([exe, "--out", "nopw"] + common, expect=None,
        env={"S2S_REDIS_PASSWORD_FILE": "", "S2S_REDIS_PASSWORD": "bad"})
check(p.returncode != 0 and "refused the password" in p.stderr and
      address in p.stderr, "training with a wrong password stops, saying so")

# 3. the server killed mid-run, then resumed once it is back
t = train_until_checkpoint("killed", ["--memory", "lazy", "--prefetch", "0"])
ckpt = os.path.join(WORK, "killed", "checkpoints")
os.kill(t.pid, signal.SIGSTOP)  # mid-epoch 2, whatever the machine's speed
os.kill(redis_pid, signal.SIGKILL)
killed_at = time.time()
os.kill(t.pid, signal.SIGCONT)
out, err = t.communicate(timeout=120)
took = time.time() - killed_at
print(err[-1500:])
check(t.returncode not in (0, None) and f"'{address}'" in err,
      f"the server killed mid-run: the program stops (exit {t.returncode}) "
      "with an error naming the address")
check(took < 2 + 10, f"... within the time limit of 2 s plus start-up "
      f"({took:.1f} s)")
check(os.path.isdir(ckpt) and len(os.listdir(ckpt)) >= 1,
      "... and its checkpoint is kept")
server.wait(timeout=30)
check(server.returncode != 0, "serve reports its server's death (non-zero)")

server, address2, redis_pid = serve()
check(address2 == address, "serve again in the same folder: the same address")
push()
run([exe, "--resume", "killed", "--memory", "lazy"] + common)
ep_killed = [r["train_loss"] for r in records("killed", "epoch")]
ep_server = [r["train_loss"] for r in records("server", "epoch")]
print(f"  epochs: uninterrupted {ep_server}, killed+resumed {ep_killed}")
check(ep_killed[-1] == ep_server[-1] and len(ep_server) == 3,
      "resumed once the server is back, the run ends with the "
      "uninterrupted run's loss")

# 4. a sample changed on the server behind the store's back
key = subprocess.run(
    ["redis-cli", "-s", address[len("unix://"):], "--no-auth-warning",
     "--scan", "--pattern", "s2s:syn:c:946684800:*"],
    env=dict(os.environ, REDISCLI_AUTH=open(PWFILE).read().strip()),
    stdout=subprocess.PIPE, text=True).stdout.split()
check(len(key) == 1, f"the first sample's chunk is on the server ({key})")
subprocess.run(["redis-cli", "-s", address[len("unix://"):], "SETRANGE",
                key[0], "64", "garbage"],
               env=dict(os.environ, REDISCLI_AUTH=open(PWFILE).read().strip()),
               stdout=subprocess.PIPE, check=True)
p = run([exe, "--out", "corrupt"] + common, expect=None)
check(p.returncode != 0 and "2000-01-01T00:00" in p.stderr and
      "CRC-32C" in p.stderr,
      "a sample whose bytes changed stops training, naming the sample")

# 5. a producer pushing while training reads (lazy mode): s2s-data push
# --follow watches a folder; once the first epoch is done, 2001 again with
# 48 samples instead of 32 (32 replaced, 16 new) is moved into it; a later
# epoch picks the new ones up and says so, and no read sees a torn sample
# (every read checks the CRC-32C: a torn one would stop the run).
run([DATA, "push", "--address", address, "--name", "syn", "--clear"] +
    [f"d/{y}.h5" for y in range(2000, 2004)])
run([DATA, "synth", "--out", "d48", "--grid", "16x32", "--years", "2001",
     "--steps-per-year", "48", "--step", "6h", "--seed", "1"])
os.makedirs(os.path.join(WORK, "incoming"))
producer = subprocess.Popen(
    [DATA, "push", "--address", address, "--name", "syn", "--follow",
     "incoming"], cwd=WORK, env=dict(os.environ, **ENV),
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
print("producer: " + producer.stdout.readline().rstrip())
# Training runs for many epochs (an epoch takes ~0.1 s; push --follow looks
# once a second), its output in a file, which it flushes at each epoch's
# end; once that file says the new samples arrived, SIGTERM stops the run
# (exit 75, a checkpoint written). No timing guess decides the outcome.
grow_out = os.path.join(WORK, "growing.out")
grow_err = os.path.join(WORK, "growing.err")
with open(grow_out, "w") as fo, open(grow_err, "w") as fe:
    t = subprocess.Popen([exe, "--out", "growing", "--memory", "lazy",
                          "--loader-threads", "2", "--epochs", "100000"] +
                         common, cwd=WORK, env=dict(os.environ, **ENV),
                         stdout=fo, stderr=fe, text=True)
ckpt = os.path.join(WORK, "growing", "checkpoints")
while t.poll() is None and not (os.path.isdir(ckpt) and os.listdir(ckpt)):
    time.sleep(0.002)
shutil.copy2(os.path.join(WORK, "d48", "2001.h5"),  # mtime kept: settled
               os.path.join(WORK, "d48", "2001.h5.part"))
os.rename(os.path.join(WORK, "d48", "2001.h5.part"),
          os.path.join(WORK, "incoming", "2001.h5"))
pushed = producer.stdout.readline()
print("producer: " + pushed.rstrip())
check(t.poll() is None, "the push ran while the program was training")
check("pushed 48 samples" in pushed and "32 replaced" in pushed,
      "push --follow pushed the new file: 2001's 32 samples replaced, 16 "
      "added")
producer.send_signal(signal.SIGINT)
producer.wait(timeout=30)
check(producer.returncode == 0, "push --follow stops on Ctrl-C")
NEW = "data: 16 new samples on the data server"
deadline = time.time() + 300
while t.poll() is None and time.time() < deadline:
    with open(grow_out) as f:
        if NEW in f.read():
            break
    time.sleep(0.05)
if t.poll() is None:
    t.send_signal(signal.SIGTERM)
try:
    t.wait(timeout=120)
except subprocess.TimeoutExpired:
    t.kill()
    t.wait()
out, err = open(grow_out).read(), open(grow_err).read()
at = out.find(NEW)
print(out[max(0, at - 600):at + 900] if at >= 0 else out[-1500:])
print(err[-800:])
check(t.returncode == 75 and "CRC-32C" not in err,
      "training read through the push without a torn sample (every read "
      "checks its CRC-32C), then stopped on SIGTERM with a checkpoint "
      f"(exit {t.returncode}, 75 expected)")
check(NEW in out,
      "a later epoch picks up the 16 new samples and says so")

# 6. serve stops on SIGTERM
server.send_signal(signal.SIGTERM)
rest = server.communicate(timeout=30)[0]
print(rest)
check(server.returncode == 0 and "stopped the server" in rest and
      "GB/s" in rest, "serve stops its server on SIGTERM, printing its traffic")
check(not os.path.exists(address[len("unix://"):]),
      "... and the socket is gone")
finish()
