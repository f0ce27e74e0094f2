#!/usr/bin/env python3
"""Artifact size and load time per model type: format 2 (arrays + JSON) against the legacy
format-1 pickle, on the same fitted states. Usage: python3 bench/artifact_formats.py [ROWS] [LOADS]
(defaults 730 rows per group for forecasts / 600 for tabular models, 200 loads each)."""
import os
import pickle
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_HERE, "pyspark-templates"))
sys.path.insert(0, os.path.join(_HERE, "pyspark-templates", "tests"))

from model_helpers import daily_sales, forecast_data, tabular, tabular_data  # noqa: E402
from manymodels_runtime.artifacts import dump_artifact, parse_artifact  # noqa: E402
from manymodels_runtime.models import get_model  # noqa: E402

CASES = [("seasonal_naive", "forecast"), ("linear", "forecast"), ("ets", "forecast"), ("gbm", "forecast"),
         ("linear", "regression"), ("gbm", "regression"), ("random_forest", "regression"),
         ("logistic", "classification"), ("gbm", "classification"), ("random_forest", "classification")]


def _best_ms(fn, loads: int) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(loads):
            fn()
        best = min(best, (time.perf_counter() - t0) / loads)
    return best * 1e3


def main(rows: int, loads: int) -> None:
    meta = {"groupId": "g", "modelName": "m", "keys": {"store": "1"}, "features": ["price", "promo"],
            "lastTime": 0, "lastFeatures": [1.0, 0.0], "frequency": "D", "targetClasses": None}
    print(f"| model | task | pickle bytes | format 2 bytes | pickle load ms | format 2 load ms |")
    print("|---|---|---:|---:|---:|---:|")
    for name, task in CASES:
        if task == "forecast":
            data = forecast_data(daily_sales(n=rows, seed=1))
        else:
            data = tabular_data(tabular(n=rows, seed=1, task=task), task)
        state = get_model(name).fit(data, {})
        old = pickle.dumps({"format": 1, "modelType": name, "task": task, "state": state, "meta": meta}, protocol=5)
        new = dump_artifact(name, task, state, meta)
        print(f"| {name} | {task} | {len(old):,} | {len(new):,} | "
              f"{_best_ms(lambda: pickle.loads(old), loads):.3f} | {_best_ms(lambda: parse_artifact(new), loads):.3f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 730, int(sys.argv[2]) if len(sys.argv) > 2 else 200)
