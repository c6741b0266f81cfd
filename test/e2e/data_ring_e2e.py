#!/usr/bin/env python3
"""test/e2e/data_ring_e2e.py BUILD_DIR SOURCE_DIR - training from a ring.

A real redis-server run by `s2s-data serve` (its --dir given relative and
unnormalised, "nested/../srv": the address, config and password file name
the absolute WORK/srv), a ring of N = 24 samples filled by
`s2s-data push --ring 24`, and a training program whose spec says
source = server(..., ring = true) (test/e2e/Inputs/data_ring.s2s), run as
2 ranks:
  1. the ring holds the newest 24 of year 2000's 32 samples; the program
     says it trains from the ring: 23 windows of 2 frames, 5 steps of the
     global batch 4 per epoch;
  2. while the ranks train (stopped after their first checkpoint), a
     producer appends year 2001 (32 samples, more than N) to the ring; the
     ring holds exactly N entries and N samples' chunks after it; the next
     epoch logs the 24 new samples in the ring, a later one that it drew
     samples appended during training; both ranks finish every epoch.
(ServerLoaderTest's RingDrawsWindowsOfTheNewestSamples checks the batches
bit for bit against the files' windows.)
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
WORK = os.path.join(BUILD, "e2e", "data-ring")
SRV = os.path.join(WORK, "srv")
ENV = {"S2S_REDIS_PASSWORD_FILE": os.path.join(SRV, "password"),
       "S2S_REDIS_TIMEOUT": "5"}


def run(args, expect=0):
    return harness.run(args, WORK, ENV, expect, 600)


def redis(*args):
    return subprocess.run(
        ["redis-cli", "-s", os.path.join(SRV, "redis.sock"),
         "--no-auth-warning"] + list(args),
        env=dict(os.environ, REDISCLI_AUTH=open(ENV[
            "S2S_REDIS_PASSWORD_FILE"]).read().strip()),
        stdout=subprocess.PIPE, text=True, check=True).stdout.split()


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
run([DATA, "synth", "--out", "d", "--grid", "16x32", "--years", "2000..2001",
     "--steps-per-year", "32", "--step", "6h"])

server = subprocess.Popen([DATA, "serve", "--dir", "nested/../srv"], cwd=WORK,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
first = server.stdout.readline()
print("serve: " + first.strip())
if "serving at" not in first:
    raise SystemExit("FAIL: s2s-data serve did not start: " + first +
                     server.stdout.read())
address = first.split()[3]
check(address == "unix://" + SRV + "/redis.sock",
      f"serve --dir nested/../srv serves at the absolute, normal {address}")
conf = open(os.path.join(SRV, "redis.conf")).read()
check(f"dir {SRV}\n" in conf and f"unixsocket {SRV}/redis.sock" in conf,
      "... and its redis.conf names that folder")

# 1. the ring, filled with 2000; the program on 2 ranks
N = 24
p = run([DATA, "push", "--address", address, "--name", "live", "--ring",
         str(N), "d/2000.h5"])
print(p.stdout)
check(redis("LLEN", "s2s:live:ring") == [str(N)], f"the ring holds {N}")
exe = os.path.join(WORK, "train")
harness.compile_input(BIN, SRC, WORK, "data_ring", "ring.s2s", exe, address)
ranks = harness.start_ranks(
    [exe, "--out", "run", "--threads", "1", "--no-maps", "--log-every", "1"],
    2, WORK, ENV)

# 2. a producer appends 2001 (32 > N samples) once the first epoch is done
ckpt = os.path.join(WORK, "run", "checkpoints")
while ranks[0].poll() is None and not (os.path.isdir(ckpt) and
                                       os.listdir(ckpt)):
    time.sleep(0.002)
running = ranks[0].poll() is None and ranks[1].poll() is None
for t in ranks:  # mid-run (epoch 2 of 40), whatever the machine's speed
    if t.poll() is None:
        os.kill(t.pid, signal.SIGSTOP)
p = run([DATA, "push", "--address", address, "--name", "live", "--ring",
         str(N), "d/2001.h5"])
print(p.stdout)
for t in ranks:
    if t.poll() is None:
        os.kill(t.pid, signal.SIGCONT)
check(running, "the producer appended while both ranks trained (stopped "
      "after their first checkpoint)")
check("pushed 32 samples" in p.stdout and "32 dropped out of the ring" in
      p.stdout, "the producer appended 32 samples, 32 dropped out")
check(redis("LLEN", "s2s:live:ring") == [str(N)],
      f"the ring still holds exactly {N} entries")
check(len(redis("--scan", "--pattern", "s2s:live:c:*")) == N,
      f"... and the chunks of {N} samples, no more")
outs = []
for r, t in enumerate(ranks):
    out, err = t.communicate(timeout=600)
    print(f"rank {r}: exit {t.returncode}\n{out[-2500:]}{err[-2500:]}")
    check(t.returncode == 0, f"rank {r} of 2 trained its 40 epochs")
    outs.append(out)
out = outs[0]
check(f"(the ring of data set 'live' on data server '{address}')" in out
      and "drawn from the ring batch by batch" in out,
      "the program says it trains from the ring")
check("train 23 windows" in out and "40 epochs x 5 steps" in out,
      "23 windows of 2 frames: 5 steps of 4 per epoch")
drew_new = [int(line.split(", ")[1].split(" of them")[0].split()[-1])
            for line in out.splitlines() if "of them appended during" in line]
print(f"  samples appended during training drawn, per epoch: {drew_new}")
check(any("ring of 24 samples: 24 appended since the last epoch" in line
          for line in out.splitlines()),
      "the epoch after the push logs the 24 samples appended (the ring's "
      "whole content is new: 32 appended into a ring of 24)")
check(len(drew_new) == 39 and max(drew_new) > 0,
      "a later epoch drew samples appended during training, and says so")

server.send_signal(signal.SIGTERM)
server.communicate(timeout=30)
check(server.returncode == 0, "serve stops on SIGTERM")
finish()
