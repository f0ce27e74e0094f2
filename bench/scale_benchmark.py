#!/usr/bin/env python3
"""The local engine at full scale: the generator's 40 million rows (10,000 series × 4,000 days).

Measures, as a user runs them (`manymodels train|promote|score`, one fresh CLI process each):
  * linear training end to end (read, fit, artifacts, manifest, registry): cold (parsed-input
    cache cleared first) and warm (cache kept), with the peak memory of the process tree;
  * scoring every production model over a 28-day horizon;
  * gbm training against a single-process pandas `groupby().apply()` of the same per-group
    work (the runtime's own `train_group`: holdout fit, metrics, refit, artifact), side by side.
Medians of --runs runs. Run from the repository root after `bash scripts/bootstrap.sh`:
  python3 bench/scale_benchmark.py [--runs 3] [--series 10000] [--days 4000] [--skip-gbm]
Data and projects go to bench-data/ (git-ignored). Prints a Markdown table at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_DIR = os.path.join(ROOT, "bench-data")
NODE = shutil.which("node") or "node"
PYTHON = os.environ.get("MANYMODELS_PYTHON", sys.executable)

PIPELINE = """version: 1
project: bench
pipelines:
  - name: sales
    data: {{ format: csv, path: ../{data} }}
    keys: [store_id, item_id]
    time: {{ column: date, frequency: D }}
    target: sales
    features: [price, promo]
    task: forecast
    model: {{ type: {model}, holdout: 28 }}
    metrics: [wape, mape, rmse]
    promotion:
      rules: [{{ metric: wape, max: 10 }}]
    failure_budget: {{ max_failed_fraction: 0.05 }}
    scoring: {{ horizon: 28 }}
"""


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def timed(argv: list[str], cwd: str, sample_memory: bool = True) -> dict:
    """Runs argv, under the peak-memory sampler unless told not to; returns {seconds, peak_mb, exit}.

    The gbm comparison is timed without the sampler: it reads /proc of every process in the
    tree, which costs the two-worker side more than the one-process side."""
    if not sample_memory:
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
        return {"seconds": round(time.perf_counter() - start, 2), "peak_mb": None, "exit": 0}
    proc = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "peak_memory.py"), "--", *argv],
                          cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    last = proc.stderr.strip().splitlines()[-1]
    result = json.loads(last)
    if result["exit"] != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
    return result


def manymodels(args: list[str], cwd: str, sample_memory: bool = True) -> dict:
    return timed([NODE, os.path.join(ROOT, "bin", "manymodels.js"), *args], cwd, sample_memory)


def project(name: str, model: str, data: str) -> str:
    folder = os.path.join(DATA_DIR, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(folder, "pipelines.yaml"), "w", encoding="utf-8") as fh:
        fh.write(PIPELINE.format(model=model, data=data))
    return folder


def median(results: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--series", type=int, default=10_000, help="stores × items; must be a square-ish product of 100 × N")
    ap.add_argument("--days", type=int, default=4000)
    ap.add_argument("--skip-gbm", action="store_true")
    ap.add_argument("--gbm-runs", type=int, default=1)
    ap.add_argument("--gbm-series", type=int, default=None,
                    help="series for the gbm comparison (default: all); both sides fit the same groups")
    args = ap.parse_args()

    os.makedirs(DATA_DIR, exist_ok=True)
    stores = 100
    items = max(1, args.series // stores)
    data = f"sales-{stores}x{items}x{args.days}.csv"
    data_path = os.path.join(DATA_DIR, data)
    if not os.path.exists(data_path):
        log(f"generating {stores * items} series × {args.days} days")
        subprocess.run([PYTHON, os.path.join(ROOT, "pyspark-templates", "sample_data_entry.py"), "--out", data_path,
                        "--stores", str(stores), "--items", str(items), "--days", str(args.days), "--seed", "0"], check=True)
    rows: list[tuple[str, str, str]] = []

    lin = project("linear", "linear", data)
    cold, warm = [], []
    for i in range(args.runs):
        shutil.rmtree(os.path.join(lin, ".manymodels", "cache"), ignore_errors=True)
        cold.append(manymodels(["train"], lin))
        log(f"linear train cold #{i + 1}: {cold[-1]}")
    for i in range(args.runs):
        warm.append(manymodels(["train"], lin))
        log(f"linear train warm #{i + 1}: {warm[-1]}")
    rows.append(("`linear` train, cold (CSV parsed)", f"{median(cold, 'seconds'):.1f} s", f"{max(r['peak_mb'] for r in cold)} MB"))
    rows.append(("`linear` train, warm (parsed-input cache)", f"{median(warm, 'seconds'):.1f} s", f"{max(r['peak_mb'] for r in warm)} MB"))

    manymodels(["promote"], lin)
    scores = []
    for i in range(args.runs):
        scores.append(manymodels(["score"], lin))
        log(f"score #{i + 1}: {scores[-1]}")
    rows.append(("score all production models × 28 days", f"{median(scores, 'seconds'):.1f} s", f"{max(r['peak_mb'] for r in scores)} MB"))

    if not args.skip_gbm:
        gbm_data = data
        if args.gbm_series and args.gbm_series < stores * items:
            g_items = max(1, args.gbm_series // stores)
            gbm_data = f"sales-{stores}x{g_items}x{args.days}.csv"
            if not os.path.exists(os.path.join(DATA_DIR, gbm_data)):
                subprocess.run([PYTHON, os.path.join(ROOT, "pyspark-templates", "sample_data_entry.py"), "--out",
                                os.path.join(DATA_DIR, gbm_data), "--stores", str(stores), "--items", str(g_items),
                                "--days", str(args.days), "--seed", "0"], check=True)
        gbm = project("gbm", "gbm", gbm_data)
        ours, base = [], []
        for i in range(args.gbm_runs):
            ours.append(manymodels(["train"], gbm, sample_memory=False))
            log(f"gbm train #{i + 1}: {ours[-1]}")
            spec = os.path.join(gbm, ".manymodels", "baseline-jobspec.json")
            subprocess.run([NODE, os.path.join(ROOT, "bin", "manymodels.js"), "compile", "--stdout"], cwd=gbm, check=True,
                           stdout=open(spec, "w", encoding="utf-8"))
            base.append(timed([PYTHON, os.path.join(ROOT, "bench", "pandas_baseline.py"), spec], gbm, sample_memory=False))
            log(f"pandas groupby().apply() #{i + 1}: {base[-1]}")
        o, b = median(ours, "seconds"), median(base, "seconds")
        rows.append((f"`gbm` train (manymodels, end to end), {gbm_data}", f"{o:.0f} s", "not sampled"))
        rows.append(("`gbm` single-process pandas `groupby().apply()`", f"{b:.0f} s", "not sampled"))
        rows.append(("`gbm` speed-up", f"{b / o:.2f}×", ""))

    print(f"\n{stores * items} series × {args.days} days ({os.path.getsize(data_path) / 1e9:.2f} GB CSV), medians of {args.runs} runs"
          f" ({args.gbm_runs} for gbm), {time.strftime('%Y-%m-%d')}\n")
    print("| measurement | time | peak memory (PSS, process tree) |\n| --- | --- | --- |")
    for name, t, m in rows:
        print(f"| {name} | {t} | {m} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
