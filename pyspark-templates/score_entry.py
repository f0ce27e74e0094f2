#!/usr/bin/env python3
"""Entry point of the manymodels score stage: reads one JobSpec, runs every group, writes the
run manifest (docs/contracts.md). Usage: python3 score_entry.py --help
"""
import os
import sys

# Before numpy is imported anywhere: one BLAS/OpenMP thread per process. The local executor
# runs one worker per core, and a process that never started an OpenMP pool forks safely.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
             "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"


def _runtime_zip(argv):
    """--runtime-zip PATH: a remote run ships the runtime package as a zip beside this script's
    upload; it must be importable before anything below imports the package."""
    for i, arg in enumerate(argv):
        if arg == "--runtime-zip" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--runtime-zip="):
            return arg.split("=", 1)[1]
    return None


_ZIP = _runtime_zip(sys.argv[1:])
if _ZIP is not None and not os.path.isfile(_ZIP):
    print(f"[manymodels] error MM414: --runtime-zip {_ZIP} does not exist", file=sys.stderr)
    sys.exit(2)
sys.path.insert(0, _ZIP if _ZIP is not None else os.path.dirname(os.path.abspath(__file__)))

from manymodels_runtime.stages import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("score", sys.argv[1:]))
