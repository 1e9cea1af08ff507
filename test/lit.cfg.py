# -*- Python -*-
# The Proteus lit suite: FileCheck tests of the dialect, passes and lowerings,
# and integration tests that execute compiled kernels.

import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "Proteus"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "Unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.proteus_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tools = [
    "proteus-opt",
    "proteus-compile",
    "proteus-run",
    "proteus-tune",
    "proteus-tune-measure",
]
llvm_config.add_tool_substitutions(
    tools, [os.path.join(config.proteus_obj_root, "bin"), config.llvm_tools_dir]
)

# The golden cases of the reference implementation (../shared/golden by default).
golden = os.environ.get(
    "PROTEUS_GOLDEN_DIR",
    os.path.normpath(os.path.join(config.proteus_src_root, "..", "shared", "golden")),
)
config.substitutions.append(("%golden", golden))
if os.path.isdir(golden):
    config.available_features.add("golden")

# proteus-compile reads a default tuning database; tests name theirs.
config.environment["PROTEUS_TUNING_DB"] = "none"
# ptxas takes ~4 s a module here: SASS only where a test asks (--sass).
config.environment["PROTEUS_SASS"] = "none"

# The runtime's fake CUDA driver (kernels emulated on the host), for the
# autotuner's measuring side without a GPU.
fake_cuda = os.path.join(
    config.proteus_obj_root, "runtime", "test", "libproteus_fake_cuda_testdouble.so"
)
if os.path.exists(fake_cuda):
    config.available_features.add("fakecuda")
    config.substitutions.append(("%fakecuda", fake_cuda))

ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# mlir-runner (mlir-22-tools) and its runtime libraries, for tests that run a
# lowered function on the host.
runner = os.path.join(config.llvm_tools_dir, "mlir-runner")
runner_libs = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
if os.path.exists(runner) and os.path.exists(
    os.path.join(runner_libs, "libmlir_c_runner_utils.so")
):
    config.available_features.add("mlir-runner")
    config.substitutions.append(
        (
            "%mlir_runner",
            runner
            + " -e main -entry-point-result=void -shared-libs="
            + os.path.join(runner_libs, "libmlir_runner_utils.so")
            + ","
            + os.path.join(runner_libs, "libmlir_c_runner_utils.so"),
        )
    )
