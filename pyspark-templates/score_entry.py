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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from manymodels_runtime.stages import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("score", sys.argv[1:]))
