# lit.cfg.py - the s2s lit suite: specs and IR checked with FileCheck.
import os
import sys
import lit.formats

config.name = "s2s"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".s2s", ".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "fuzz"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.s2s_obj_root, "test")

# Tools: ours first, then FileCheck/not/count from LLVM.
config.environment["PATH"] = os.pathsep.join(
    [config.s2s_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%stdlib", os.path.join(config.s2s_src_root, "stdlib")))
config.substitutions.append(("%examples", os.path.join(config.s2s_src_root, "examples")))
# Keep the user's environment from changing where the stdlib is found.
config.environment.pop("S2S_STDLIB", None)
