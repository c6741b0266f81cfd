#!/usr/bin/env python3
"""test/e2e/s2s_data_cli.py BUILD_DIR - s2s-data plot and import from the shell.

The library functions have their own GoogleTests (PlotTest, ImportTest);
this checks the command-line wiring: a PNG map of a synthetic field, the
messages and exit codes of bad invocations.
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, failures  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
TOOL = os.path.join(BUILD, "bin", "s2s-data")
WORK = os.path.join(BUILD, "e2e", "s2s-data-cli")


def run(args, expect):
    p = subprocess.run([TOOL] + args, cwd=WORK, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    print(f"$ s2s-data {' '.join(args)}   [exit {p.returncode}]")
    out = (p.stdout + p.stderr).strip()
    if out:
        print("  " + out.replace("\n", "\n  "))
    if p.returncode != expect:
        failures.append(f"{args}: exit {p.returncode}, expected {expect}")
    return out


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
run(["synth", "--out", "d", "--grid", "16x32", "--years", "2000..2002",
     "--steps-per-year", "8"], 0)
run(["plot", "d/2001.h5", "--channel", "t", "--time", "3", "--out", "t.png"], 0)
with open(os.path.join(WORK, "t.png"), "rb") as f:
    check(f.read(8) == b"\x89PNG\r\n\x1a\n", "plot writes a PNG")
out = run(["plot", "d/2001.h5", "--channel", "q"], 1)
check("channel 'q' is not in file 'd/2001.h5' (its channels: u, v, t)" in out,
      "an unknown channel is named with the file's channels")
out = run(["plot", "d/2001.h5", "--channel", "t", "--time", "99"], 1)
check("time index 99 is outside file 'd/2001.h5' (0..7)" in out,
      "a time index outside the file is named")
out = run(["plot", "d/2001.h5"], 2)
check("missing --channel NAME" in out, "plot without --channel is a usage error")
out = run(["import", "--out", "era5"], 2)
check("no input files" in out, "import without inputs is a usage error")
out = run(["import", "--out", "era5", "missing.nc"], 1)
check("missing.nc" in out, "a missing NetCDF input is named")
out = run(["import", "--help"], 0)
check("Copernicus" in out, "import --help describes the command")
if failures:
    print(f"\n{len(failures)} check(s) failed")
    sys.exit(1)
print("\nall s2s-data command-line checks passed")
