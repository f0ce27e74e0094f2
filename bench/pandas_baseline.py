#!/usr/bin/env python3
"""The baseline the local engine is measured against: a plain, single-process pandas
`read_csv` + `groupby(keys).apply(...)` running the runtime's own per-group function
(`train_group`: holdout split, fit, metrics, refit, artifact written), so both sides do the
same work per group.  Usage: python3 bench/pandas_baseline.py JOBSPEC.json  (cwd = project)
"""
import os
import sys
import tempfile
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyspark-templates"))

import pandas as pd  # noqa: E402

from manymodels_runtime.identity import identity  # noqa: E402
from manymodels_runtime.spec import load_job_spec  # noqa: E402
from manymodels_runtime.training import TrainContext, train_group  # noqa: E402


def main(spec_path: str) -> int:
    spec = load_job_spec(spec_path)
    keys = list(spec.columns.keys)
    t0 = time.perf_counter()
    df = pd.read_csv(spec.data.path, dtype={k: str for k in keys}, parse_dates=[spec.columns.time])
    t1 = time.perf_counter()
    out = tempfile.mkdtemp(prefix="mm-baseline-")
    ctx = TrainContext.from_spec(spec, out)

    def fit(group: pd.DataFrame) -> pd.Series:
        values = tuple(str(v) for v in group.name) if isinstance(group.name, tuple) else (str(group.name),)
        gid, name = identity(spec.pipeline, keys, values)
        row = train_group(group.drop(columns=keys), dict(zip(keys, values)), gid, name, ctx)
        return pd.Series({"status": row["status"]})

    result = df.groupby(keys, sort=False).apply(fit)
    t2 = time.perf_counter()
    ok = int((result["status"] == "ok").sum())
    print(f"read {t1 - t0:.1f} s, groupby().apply() {t2 - t1:.1f} s, {ok}/{len(result)} ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
