#!/usr/bin/env python3
"""A compiler and a runtime that disagree fail when the generated program
compiles.

Generates the quickstart's C++ with s2sc, then compiles it (syntax only)
against the runtime's public headers as they are -- which must succeed --
and against copies with one field removed from a config struct, with an
enum's case renamed and with the manifest's declare() taking another
signature -- each of which must fail, naming what is missing.

usage: abi_mismatch.py S2SC SOURCE_DIR CXX "INCLUDE_DIRS" "DEFINITIONS"
  (INCLUDE_DIRS and DEFINITIONS ;-separated, as CMake lists them)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

s2sc, src, cxx, includes, defs = sys.argv[1:6]
# The compiler's own system folders stay its own (-isystem /usr/include
# would break #include_next).
include_dirs = [d for d in includes.split(";") if d and d.rstrip("/") != "/usr/include"]
definitions = [d for d in defs.split(";") if d]
public = os.path.join(src, "runtime", "include")

cpp = subprocess.run([s2sc, os.path.join(src, "examples", "quickstart.s2s"),
                      "--emit=cpp"], capture_output=True, text=True, check=True).stdout


def compile_against(include_root, tmp):
    path = os.path.join(tmp, "quickstart.cpp")
    with open(path, "w") as f:
        f.write(cpp)
    cmd = [cxx, "-std=c++17", "-fsyntax-only", "-I", include_root]
    cmd += ["-isystem" + d for d in include_dirs]
    cmd += ["-D" + d for d in definitions]
    return subprocess.run(cmd + [path], capture_output=True, text=True)


MUTATIONS = [
    # (header, pattern to change, replacement, what the error must name)
    # A config field the compiler assigns, removed.
    ("Config.h", r"\n\s*int64_t everySteps = 0;[^\n]*", "\n", "everySteps"),
    # An enum case the compiler spells, renamed.
    ("Config.h", r"enum class Normalizer \{ None, Zscore, Minmax \};",
     "enum class Normalizer { None, ZScore, Minmax };", "Zscore"),
    # The manifest's declare() with another signature.
    ("Model.h", r"const std::vector<int64_t> &shape, Init init, Sharding sharding\);",
     "const std::vector<int64_t> &shape, Init init);", "declare"),
]

failures = []
with tempfile.TemporaryDirectory() as tmp:
    r = compile_against(public, tmp)
    if r.returncode != 0:
        sys.exit("the generated quickstart does not compile against the "
                 "runtime's headers as they are:\n" + r.stderr[-4000:])
    for header, pattern, repl, names in MUTATIONS:
        root = os.path.join(tmp, "include")
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(public, root)
        path = os.path.join(root, "s2s", "runtime", header)
        text = open(path).read()
        changed, n = re.subn(pattern, repl, text, count=1)
        if n != 1:
            failures.append("%s: pattern %r not found (the test is out of "
                            "date with the header)" % (header, pattern))
            continue
        open(path, "w").write(changed)
        r = compile_against(root, tmp)
        if r.returncode == 0:
            failures.append("%s with %r changed: the generated program still "
                            "compiles" % (header, pattern))
        elif names not in r.stderr:
            failures.append("%s with %r changed: the compile error does not "
                            "name '%s':\n%s" % (header, pattern, names,
                                                r.stderr[-2000:]))
        else:
            first = next(l for l in r.stderr.splitlines() if "error" in l)
            print("ok: %s without %s -> %s" % (header, names, first.strip()))

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("every mismatch fails the generated program's compilation")
