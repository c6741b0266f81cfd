#!/usr/bin/env python3
"""No spec value is accepted and then dropped.

Walks every key of the data, rollout, parallel and train sections (as s2sc
itself lists them) and every section-value function of the prelude with
each of its parameters (as std/prelude.s2s declares them). For each, a spec
that uses it -- the key set, the function called, the parameter given a
value other than its default -- must either generate C++ different from
the same spec without it, or be refused by s2sc with an error at the line
that says it (for values the runtime cannot carry out yet: "... is not
implemented yet"). A key or prelude function this test does not know fails
it, so a new one cannot slip in unclassified.

usage: no_silent_drop.py BUILD_DIR SOURCE_DIR
"""

import os
import re
import subprocess
import sys
import tempfile

BUILD, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
S2SC = os.path.join(BUILD, "bin", "s2sc")
PRELUDE = os.path.join(SRC, "stdlib", "std", "prelude.s2s")

# The spec every case starts from: two models (so a section can name the
# other), one data set, no parallel section.
DATA = {"source": 'hdf5("d/*.h5")', "channels": "[u, v]"}
ROLLOUT = {"model": "net", "order": "1", "loss": "mse()"}
PARALLEL = None  # absent unless a case adds it
TRAIN = {"model": "net", "optimizer": "adam(lr = 1e-3)", "epochs": "1",
         "batch": "2"}

PREAMBLE = """import "std/models/conv.s2s"
import "std/models/leadtime.s2s"
model net = ResConvNet(channels = 2, width = 8, depth = 1, groups = 4)
model other = ResConvNet(channels = 2, width = 4, depth = 1, groups = 4)
model lt = LeadTimeNet(channels = 2, width = 4, depth = 1, groups = 2, embed = 4)
"""


def spec(data=None, rollout=None, parallel=None, train=None, extra=""):
    """The spec text and the line of every `section.key`."""
    lines = PREAMBLE.splitlines()
    where = {}

    def section(head, name, entries):
        lines.append(head + " {")
        for k, v in entries.items():
            lines.append("  %s = %s" % (k, v))
            where["%s.%s" % (name, k)] = len(lines)
        lines.append("}")

    section("data d", "data", data if data is not None else DATA)
    section("rollout", "rollout", rollout if rollout is not None else ROLLOUT)
    if parallel is not None:
        section("parallel", "parallel", parallel)
    section("train", "train", train if train is not None else TRAIN)
    lines.extend(extra.splitlines())
    return "\n".join(lines) + "\n", where


def compile_cpp(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.s2s")
        with open(path, "w") as f:
            f.write(text)
        # A relative path: the spec's name is in the C++, and must be the
        # same in every case.
        r = subprocess.run([S2SC, "case.s2s", "--emit=cpp"],
                           capture_output=True, text=True, cwd=tmp)
        return r.returncode, r.stdout, r.stderr


BASE_TEXT, _ = spec()
rc, BASE_CPP, err = compile_cpp(BASE_TEXT)
if rc != 0:
    sys.exit("the base spec does not compile:\n" + err)

failures = []
checked = 0


def check(label, kwargs, key, expect, base_cpp=None, base_text=None):
    """`expect`: "differs", or a substring of the error s2sc must report at
    the line of `key` ("section.key")."""
    global checked
    checked += 1
    text, where = spec(**kwargs)
    rc, cpp, err = compile_cpp(text)
    base = BASE_CPP if base_cpp is None else base_cpp
    if base_cpp is None and expect == "differs":
        base = without(kwargs, key)
    if expect == "differs":
        if rc != 0:
            failures.append("%s: s2sc failed:\n%s\n%s" % (label, text, err))
        elif cpp == base:
            failures.append("%s: the generated C++ is the same as without "
                            "it (accepted and dropped):\n%s" % (label, text))
        return
    line = where[key]
    want = re.compile(r"case\.s2s:%d:\d+: error: .*%s" % (line, re.escape(expect)))
    if rc == 0:
        failures.append("%s: accepted, but must be refused with '%s':\n%s"
                        % (label, expect, text))
    elif not want.search(err):
        failures.append("%s: expected an error at line %d containing '%s', "
                        "got:\n%s\n%s" % (label, line, expect, err, text))


def without(kwargs, key):
    """The C++ of the same spec with `key` at the base spec's value, or
    left out where the base spec does not set it (the default)."""
    section, k = key.split(".")
    defaults = {"data": DATA, "rollout": ROLLOUT, "train": TRAIN,
                "parallel": {"mesh": "[data: 1]"}}[section]
    reduced = dict(kwargs)
    entries = dict(reduced.get(section, defaults))
    if k in defaults:
        entries[k] = defaults[k]
    else:
        entries.pop(k, None)
    reduced[section] = entries
    rc, cpp, _ = compile_cpp(spec(**reduced)[0])
    return cpp if rc == 0 else BASE_CPP


NOT_YET = "is not implemented yet"

# ---------------------------------------------------------------- section keys
# key -> (kwargs of spec(), expectation)
def with_(section, **entries):
    base = {"data": DATA, "rollout": ROLLOUT, "train": TRAIN,
            "parallel": {"mesh": "[data: 1]"}}[section]
    merged = dict(base)
    merged.update({k.replace("__", "."): v for k, v in entries.items()})
    return {section: merged}


# The sections of lead-time training, but for `leads` itself.
LEADS = {"data": dict(DATA, step="6h"), "rollout": dict(ROLLOUT, model="lt"),
         "train": dict(TRAIN, model="lt")}

# A second data set for the sections to name.
DATA2 = 'data d2 {\n  source = hdf5("e/*.h5")\n  channels = [u, v]\n}'
KEYS = {
    "data.source": (with_("data", source='hdf5("e/*.h5")'), "differs"),
    "data.channels": (with_("data", channels="[u, w]"), "differs"),
    "data.step": (with_("data", step="1h"), "differs"),
    "data.split": (with_("data", split="{ train: 2000..2001, valid: 2002 }"), "differs"),
    "data.normalize": (with_("data", normalize='zscore("s.h5")'), "differs"),
    "data.memory": (with_("data", memory="in_memory(lazy = true)"), "differs"),
    "data.grid": (with_("data", grid="[8, 16]"), "differs"),
    "data.history": (with_("data", history="2"), NOT_YET),
    "rollout.model": ({"rollout": dict(ROLLOUT, model="other"),
                       "train": dict(TRAIN, model="other")}, "differs"),
    "rollout.data": ({"rollout": dict(ROLLOUT, data="d2"),
                      "train": dict(TRAIN, data="d2"), "extra": DATA2},
                     "differs"),
    "rollout.order": (with_("rollout", order="2"), "differs"),
    "rollout.loss": (with_("rollout", loss="mae()"), "differs"),
    "rollout.align": (with_("rollout", order="2", align="mlse()"), "differs"),
    "rollout.jacobian": (with_("rollout", jacobian="exact()"), "differs"),
    "rollout.patches": ({"data": dict(DATA, grid="[8, 16]"),
                         "rollout": dict(ROLLOUT, patches="overlap(size = [4, 8], stride = [2, 4])")},
                        "differs"),
    "rollout.weights": (with_("rollout", weights="[2.0]"), "differs"),
    # Lead-time training needs a model with a lead input and the data step.
    "rollout.leads": (dict(LEADS, rollout=dict(LEADS["rollout"], leads="[1, 2]")),
                      "differs"),
    "parallel.mesh": (with_("parallel", mesh="[data: 2]"), "differs"),
    "parallel.timeout": (with_("parallel", timeout="30"), "differs"),
    "parallel.strategy": (with_("parallel", strategy="zero1"), "differs"),
    "parallel.backend": (with_("parallel", backend="gloo"), "differs"),
    "parallel.checkpoint_activations": (with_("parallel", checkpoint_activations="true"), "differs"),
    "train.model": (with_("train", model="other"), "name the same model in both"),
    "train.data": ({"rollout": dict(ROLLOUT, data="d"),
                    "train": dict(TRAIN, data="d2"), "extra": DATA2},
                   "name the same data set in both"),
    "train.optimizer": (with_("train", optimizer="sgd(lr = 0.1)"), "differs"),
    "train.schedule": (with_("train", schedule="cosine()"), "differs"),
    "train.epochs": (with_("train", epochs="2"), "differs"),
    "train.batch": (with_("train", batch="4"), "differs"),
    "train.accumulate": (with_("train", accumulate="2"), "differs"),
    # The C++ differs here; test/e2e/precision_e2e.py trains the quickstart
    # built with precision = bf16 and shows its losses are not fp32's.
    "train.precision": (with_("train", precision="bf16"), "differs"),
    "train.checkpoint": (with_("train", checkpoint="every(epochs = 2)"), "differs"),
    "train.seed": (with_("train", seed="3"), "differs"),
    "train.grad_clip": (with_("train", grad_clip="1.0"), "differs"),
    "train.metrics": (with_("train", metrics="[rmse()]"), "differs"),
}
# Precision has three values; both that are not the default.
EXTRA_KEY_CASES = [
    # fp16 on a CPU is refused when the program starts (a device matter).
    ("train.precision = fp16", with_("train", precision="fp16"), "train.precision", "differs"),
    # Megatron tensor parallel over a model it cannot split (ResConvNet) is
    # refused; test/e2e/tensor_parallel_e2e.py trains a ViT on a tensor axis,
    # refuses zero2 with one, and compares with one process.
    ("parallel.mesh with a tensor axis", with_("parallel", mesh="[data: 1, tensor: 2]"), "parallel.mesh",
     "has no layer a tensor axis splits"),
    ("parallel.strategy = zero3", with_("parallel", mesh="[data: 2]", strategy="zero3"), "parallel.strategy", "differs"),
    ("parallel.strategy = fsdp", with_("parallel", mesh="[data: 2]", strategy="fsdp"), "parallel.strategy", "differs"),
    # Parameters freed between uses cannot serve the penalty's first backward.
    ("rollout.jacobian under zero3",
     {"rollout": dict(ROLLOUT, jacobian="exact()"),
      "parallel": {"mesh": "[data: 2]", "strategy": "zero3"}},
     "rollout.jacobian", NOT_YET),
    ("parallel.strategy = zero2", with_("parallel", mesh="[data: 2]", strategy="zero2"), "parallel.strategy", "differs"),
    ("data.memory = stream(...)", with_("data", memory="stream(buffer = 8)"), "data.memory", "differs"),
    # Composing lead-time calls is refused at the key, never ignored.
    ("rollout.leads with order = 2",
     dict(LEADS, rollout=dict(LEADS["rollout"], order="2", leads="[1, 2]")),
     "rollout.leads", NOT_YET),
    ("rollout.leads on a model without a lead input",
     {"data": dict(DATA, step="6h"), "rollout": dict(ROLLOUT, leads="[1, 2]")},
     "rollout.leads", "needs a model of two inputs"),
    ("rollout.leads = [0, 1]",
     dict(LEADS, rollout=dict(LEADS["rollout"], leads="[0, 1]")),
     "rollout.leads", "at least 1"),
]


def section_keys():
    """The keys s2sc knows, from its own message for an unknown key."""
    probe = """data d { source = hdf5("x"); channels = [u]; zzzzzzzz = 1 }
rollout { order = 1; loss = mse(); zzzzzzzz = 1 }
parallel { mesh = [data: 1]; zzzzzzzz = 1 }
train { optimizer = adam(lr = 1e-3); epochs = 1; batch = 1; zzzzzzzz = 1 }
"""
    _, _, err = compile_cpp(probe)
    keys = []
    for m in re.finditer(r"unknown key 'zzzzzzzz' in (data|rollout|parallel|train)"
                         r"[^;]*; known keys are ([a-z_, ]+)", err):
        keys += ["%s.%s" % (m.group(1), k.strip()) for k in m.group(2).split(",")]
    if len(keys) < 20:
        sys.exit("could not read the section keys from s2sc:\n" + err)
    return keys


for key in section_keys():
    if key not in KEYS:
        failures.append("section key '%s' is not classified by this test: "
                        "add a case (and make s2sc carry it out or refuse "
                        "it)" % key)
        continue
    kwargs, expect = KEYS[key]
    check(key, kwargs, key, expect)
for label, kwargs, key, expect in EXTRA_KEY_CASES:
    check(label, kwargs, key, expect)
# Another set of leads is another program (not only: leads or none).
_leads12 = dict(LEADS, rollout=dict(LEADS["rollout"], leads="[1, 2]"))
check("rollout.leads = [1, 3] against [1, 2]",
      dict(LEADS, rollout=dict(LEADS["rollout"], leads="[1, 3]")),
      "rollout.leads", "differs",
      base_cpp=compile_cpp(spec(**_leads12)[0])[1])

# ----------------------------------------------------- section-value functions
# Where each kind of section value goes.
KIND_KEY = {"source": "data.source", "normalizer": "data.normalize",
            "memory": "data.memory", "loss": "rollout.loss",
            "align": "rollout.align", "regularizer": "rollout.jacobian",
            "patching": "rollout.patches", "optimizer": "train.optimizer",
            "schedule": "train.schedule", "checkpoint": "train.checkpoint",
            "metric": "train.metrics"}
# Kinds the runtime does not carry out yet: every use must be refused.
NOT_YET_FUNCTIONS = set()
# Values for required parameters (no default) and for parameters whose
# generic changed value would be out of range: (base, changed).
VALUES = {
    ("hdf5", "pattern"): ('"d/*.h5"', '"e/*.h5"'),
    ("server", "address"): ('"redis://h:6379"', '"redis://g:6379"'),
    ("server", "name"): ('"era5"', '"era6"'),
    ("zscore", "stats"): ('"s.h5"', '"t.h5"'),
    ("minmax", "stats"): ('"s.h5"', '"t.h5"'),
    ("stream", "buffer"): ("8", "9"),
    ("overlap", "size"): ("[4, 8]", "[4, 6]"),
    ("overlap", "stride"): ("[2, 4]", "[2, 2]"),
    ("overlap", "halo"): ("[0, 0]", "[1, 1]"),
    ("sgd", "lr"): ("0.1", "0.2"),
    ("adam", "lr"): ("1e-3", "2e-3"),
    ("adamw", "lr"): ("1e-3", "2e-3"),
    ("step", "every"): ("5", "6"),
    ("step", "gamma"): ("0.1", "0.5"),
    # min_lr may not exceed the optimizer's lr (1e-3 in TRAIN)
    ("cosine", "min_lr"): ("0.0", "1e-4"),
    ("mlse", "order"): ("2", "3"),
    ("mase", "order"): ("2", "3"),
}
# Parameters that only take effect together with another argument.
CONTEXT = {("sgd", "nesterov"): "momentum = 0.5",
           # a lag of 2 pairs orders only from order 3 on
           ("mlse", "lag"): "order = 3", ("mase", "lag"): "order = 3"}
# Where a function must sit in a spec that compiles (the rollout's order
# must reach an alignment's order).
SPEC_FOR = {"mlse": {"rollout": dict(ROLLOUT, order="3")},
            "mase": {"rollout": dict(ROLLOUT, order="3")},
            "overlap": {"data": dict(DATA, grid="[8, 16]")},
            # at = all differs from at = first from order 2 on
            "exact": {"rollout": dict(ROLLOUT, order="2")},
            "hutchinson": {"rollout": dict(ROLLOUT, order="2")}}


def prelude_functions():
    kinds = "|".join(KIND_KEY)
    out = []
    for line in open(PRELUDE):
        m = re.match(r"\s*extern\s+(%s)\s+(\w+)\((.*)\)\s*$" % kinds, line)
        if not m:
            m2 = re.match(r"\s*extern\s+(\w+)\s+(\w+)\(", line)
            if m2 and m2.group(1) not in ("layer", "init"):
                failures.append("prelude kind '%s' (%s) is not classified by "
                                "this test" % (m2.group(1), m2.group(2)))
            continue
        params = []
        depth, cur = 0, ""
        for ch in m.group(3):
            depth += ch == "[" or ch == "("
            depth -= ch == "]" or ch == ")"
            if ch == "," and depth == 0:
                params.append(cur)
                cur = ""
            else:
                cur += ch
        if cur.strip():
            params.append(cur)
        parsed = []
        for p in params:
            pm = re.match(r"\s*(\w+)\s*:\s*([\w\[\]<>0-9]+)\s*(?:=\s*(.+?))?\s*$", p)
            parsed.append((pm.group(1), pm.group(2), pm.group(3)))
        out.append((m.group(1), m.group(2), parsed))
    return out


ENUMS = {}
for line in open(PRELUDE):
    m = re.match(r"\s*enum\s+(\w+)\s*\{(.*)\}", line)
    if m:
        ENUMS[m.group(1)] = [x.strip() for x in m.group(2).split(",")]


def changed(fn, name, typ, default):
    if (fn, name) in VALUES:
        return VALUES[(fn, name)][1]
    if typ == "bool":
        return "false" if default == "true" else "true"
    if typ == "int":
        return str(int(default.replace("_", "")) + 1)
    if typ == "float":
        v = float(default)
        return repr(v * 2 if v != 0 else 0.5) if v < 0.5 else repr(v / 2)
    if typ == "string":
        return '"x%s"' % default.strip('"')
    if typ in ENUMS:
        return next(e for e in ENUMS[typ] if e != default)
    if typ == "float[2]":
        vals = [float(x) for x in default.strip("[]").split(",")]
        return "[%s]" % ", ".join(repr(v * 0.99) for v in vals)
    sys.exit("no changed value for %s(%s: %s = %s)" % (fn, name, typ, default))


def call(fn, params, override=None):
    """fn(...) with the required parameters given; `override` a (name,
    value) to give too."""
    args = []
    for name, typ, default in params:
        if default is None:
            args.append("%s = %s" % (name, VALUES[(fn, name)][0]))
    if override:
        args = [a for a in args if not a.startswith(override[0] + " =")]
        args.append("%s = %s" % override)
        if (fn, override[0]) in CONTEXT:
            args.append(CONTEXT[(fn, override[0])])
    return "%s(%s)" % (fn, ", ".join(args))


def place(kind, fn, value):
    """spec() arguments with `value` at the key of `kind`."""
    section, key = KIND_KEY[kind].split(".")
    kwargs = dict(SPEC_FOR.get(fn, {}))
    base = dict(kwargs.get(section, {"data": DATA, "rollout": ROLLOUT,
                                     "train": TRAIN}[section]))
    base[key] = "[%s]" % value if kind == "metric" else value
    kwargs[section] = base
    return kwargs


functions = prelude_functions()
by_kind = {}
for kind, fn, params in functions:
    by_kind.setdefault(kind, []).append((fn, params))

for kind, fn, params in functions:
    key = KIND_KEY[kind]
    plain = call(fn, params)
    if fn in NOT_YET_FUNCTIONS:
        check("%s = %s" % (key, plain), place(kind, fn, plain), key, NOT_YET)
        for name, typ, default in params:
            v = changed(fn, name, typ, default) if default else VALUES[(fn, name)][1]
            text = call(fn, params, (name, v))
            check("%s = %s" % (key, text), place(kind, fn, text), key, NOT_YET)
        continue
    # The function itself: different C++ from each other function of its
    # kind that the runtime carries out.
    text0, _ = spec(**place(kind, fn, plain))
    rc, cpp0, err = compile_cpp(text0)
    checked += 1
    if rc != 0:
        failures.append("%s = %s: s2sc failed:\n%s\n%s" % (key, plain, text0, err))
        continue
    for other, oparams in by_kind[kind]:
        if other == fn or other in NOT_YET_FUNCTIONS:
            continue
        t1, _ = spec(**place(kind, other, call(other, oparams)))
        rc1, cpp1, _ = compile_cpp(t1)
        checked += 1
        if rc1 == 0 and cpp1 == cpp0:
            failures.append("%s = %s and %s(...) generate the same C++"
                            % (key, plain, other))
    # Each parameter: a value other than its default changes the C++.
    for name, typ, default in params:
        v = changed(fn, name, typ, default)
        text = call(fn, params, (name, v))
        check("%s = %s" % (key, text), place(kind, fn, text), key, "differs",
              base_cpp=cpp0)

if failures:
    print("\n\n".join(failures))
    print("\n%d of %d cases failed" % (len(failures), checked))
    sys.exit(1)
print("no silent drop: %d cases, every section key and every parameter of "
      "every section-value function changes the program or is refused at "
      "its line" % checked)
