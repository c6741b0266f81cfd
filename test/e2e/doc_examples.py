#!/usr/bin/env python3
"""Every ```s2s example of docs/language.md checks and lowers through the
pass pipeline (s2sc --emit=mlir-opt), so the reference cannot show a spec
the compiler refuses.

usage: doc_examples.py S2SC DOC
"""

import os
import re
import subprocess
import sys
import tempfile

s2sc, doc = sys.argv[1], sys.argv[2]
blocks = re.findall(r"```s2s\n(.*?)```", open(doc).read(), re.S)
if not blocks:
    sys.exit("no ```s2s examples in " + doc)
failed = 0
for i, block in enumerate(blocks, 1):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "example%d.s2s" % i)
        with open(path, "w") as f:
            f.write(block)
        r = subprocess.run([s2sc, path, "--emit=mlir-opt"], capture_output=True,
                           text=True)
    if r.returncode != 0:
        failed += 1
        print("example %d of %s does not compile:\n%s\n%s" % (i, doc, block, r.stderr))
if failed:
    sys.exit("%d of %d examples fail" % (failed, len(blocks)))
print("%d examples of %s compile" % (len(blocks), doc))
