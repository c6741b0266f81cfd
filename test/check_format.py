#!/usr/bin/env python3
"""The C++ sources follow the tree's .clang-format (LLVM style): the
folders that hold them, each file checked with clang-format --dry-run.

usage: check_format.py CLANG_FORMAT SOURCE_DIR
"""

import os
import subprocess
import sys

clang_format, src = sys.argv[1], sys.argv[2]
folders = ["compiler", "dsl", "runtime", "bench", "test"]
files = []
for folder in folders:
    for root, _, names in os.walk(os.path.join(src, folder)):
        files += [os.path.join(root, n) for n in names
                  if n.endswith((".cpp", ".h"))]
if not files:
    sys.exit("no C++ sources found under " + src)
bad = []
for f in sorted(files):
    r = subprocess.run([clang_format, "--dry-run", "--Werror", f],
                       capture_output=True, text=True)
    if r.returncode != 0:
        bad.append(os.path.relpath(f, src))
if bad:
    print("not formatted (run clang-format -i on them):\n  " + "\n  ".join(bad))
    sys.exit(1)
print("%d C++ files follow .clang-format" % len(files))
