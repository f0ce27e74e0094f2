"""The one entry of the runtime: `manymodels_entry.py train|score ARGS` (train_entry.py and
score_entry.py are that with the stage filled in), and `manymodels_entry.py plan ARGS`, the
profile and pilot behind `manymodels plan` (plan_probe.py). Each script only finds the package, then
calls main(); everything else about starting a stage happens here."""
from __future__ import annotations

import os
import sys

STAGES = ("train", "score", "plan")
# One BLAS/OpenMP thread per process, set before numpy is first imported: the local executor
# runs one worker per core, and a process that never started an OpenMP pool forks safely.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                "NUMEXPR_NUM_THREADS")


def main(argv: list[str]) -> int:
    """argv: the stage, then that stage's arguments (`--help` lists them)."""
    if not argv or argv[0] not in STAGES:
        got = f"got {argv[0]!r}" if argv else "got nothing"
        print(f"usage: manymodels_entry.py {{{'|'.join(STAGES)}}} --spec JOBSPEC --run-id ID --out RUN_DIR ...\n"
              f"manymodels_entry.py: error: the first argument must be the stage ({', '.join(STAGES[:-1])} or {STAGES[-1]}), {got}",
              file=sys.stderr)
        return 2
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    if argv[0] == "plan":
        from .plan_probe import main as run_plan
        return run_plan(argv[1:])
    from .stages import main as run_stage
    return run_stage(argv[0], argv[1:])
