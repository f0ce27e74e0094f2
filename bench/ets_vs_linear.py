#!/usr/bin/env python3
"""`ets` against `linear` on the same generated data, and the fast `ets` engine against the
statsmodels reference (`engine: statsmodels`), side by side.

Each measurement is a whole `manymodels train` as a user runs it (one fresh CLI process: read,
holdout fit, metrics, refit, artifacts, manifest, registry). One untimed run of linear and of
the fast engine fills their projects' parsed-input caches (and numba's compiled-code cache);
the slow reference is timed cold, which adds the parse of a small CSV (~0.3 s). Accuracy is the median holdout wape over the groups each
run trained, read back from the run's manifest (`manymodels runs show RUN --groups --json`).
Run from the repository root after `bash scripts/bootstrap.sh`:
  python3 bench/ets_vs_linear.py [--runs 3] [--reference-runs 1] [--stores 3] [--items 100] [--days 730]
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
CLI = os.path.join(ROOT, "bin", "manymodels.js")

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
    model: {{ type: {model}, holdout: 28{params} }}
    metrics: [wape, mape, rmse]
    failure_budget: {{ max_failed_fraction: 0.05 }}
    scoring: {{ horizon: 28 }}
"""

SIDES = [  # label, project folder, model type, params
    ("linear", "ets-bench-linear", "linear", ""),
    ("ets (fast engine)", "ets-bench-fast", "ets", ""),
    ("ets (statsmodels engine)", "ets-bench-statsmodels", "ets", ", params: { engine: statsmodels }"),
]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def cli(args: list[str], cwd: str) -> str:
    proc = subprocess.run([NODE, CLI, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"manymodels {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def project(folder: str, model: str, params: str, data: str) -> str:
    path = os.path.join(DATA_DIR, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    with open(os.path.join(path, "pipelines.yaml"), "w", encoding="utf-8") as fh:
        fh.write(PIPELINE.format(model=model, params=params, data=data))
    return path


def newest_run(path: str) -> str:
    runs = os.path.join(path, ".manymodels", "runs")
    return max(os.listdir(runs), key=lambda r: os.path.getmtime(os.path.join(runs, r)))


def train(path: str) -> tuple[float, float, int, float]:
    """Seconds of one `manymodels train`, the median wape of its groups, how many had one, and
    the groups' fit seconds summed (the fits alone, both workers together)."""
    start = time.perf_counter()
    cli(["train"], path)
    seconds = time.perf_counter() - start
    shown = json.loads(cli(["runs", "show", newest_run(path), "--groups", "--json"], path))
    wapes = [g["metrics"]["wape"] for g in shown["groups"] if (g.get("metrics") or {}).get("wape") is not None]
    fits = sum(g.get("fitSeconds") or 0.0 for g in shown["groups"])
    return seconds, statistics.median(wapes), len(wapes), fits


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="timed runs of linear and of the fast ets engine")
    ap.add_argument("--reference-runs", type=int, default=1, help="timed runs of the statsmodels engine (slow)")
    ap.add_argument("--stores", type=int, default=3)
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--days", type=int, default=730)
    args = ap.parse_args()

    os.makedirs(DATA_DIR, exist_ok=True)
    data = f"sales-{args.stores}x{args.items}x{args.days}.csv"
    data_path = os.path.join(DATA_DIR, data)
    if not os.path.exists(data_path):
        log(f"generating {args.stores * args.items} series × {args.days} days")
        subprocess.run([PYTHON, os.path.join(ROOT, "pyspark-templates", "sample_data_entry.py"), "--out", data_path,
                        "--stores", str(args.stores), "--items", str(args.items), "--days", str(args.days),
                        "--seed", "0"], check=True)
    paths = {label: project(folder, model, params, data) for label, folder, model, params in SIDES}
    for label, path in paths.items():
        if "statsmodels" not in label:
            cli(["train"], path)  # untimed: fills the project's parsed-input cache (and numba's)
    results: dict[str, list[tuple[float, float, int, float]]] = {label: [] for label in paths}
    # Interleaved, so that a noisy moment of the shared machine falls on every side alike.
    for i in range(max(args.runs, args.reference_runs)):
        for label, path in paths.items():
            limit = args.reference_runs if "statsmodels" in label else args.runs
            if i < limit:
                results[label].append(train(path))
                log(f"{label} #{i + 1}: {results[label][-1][0]:.2f} s, median wape {results[label][-1][1]:.4f}")

    def med(label: str) -> float:
        return statistics.median(r[0] for r in results[label])

    lin, fast, ref = med("linear"), med("ets (fast engine)"), med("ets (statsmodels engine)")
    w_fast, w_ref = results["ets (fast engine)"][0][1], results["ets (statsmodels engine)"][0][1]
    print(f"\n{args.stores * args.items} series × {args.days} days, holdout 28, {time.strftime('%Y-%m-%d %H:%M')}; "
          f"medians of {args.runs} runs ({args.reference_runs} for the statsmodels engine)\n")
    print("| model | runs | median time | fits summed (median) | median wape (groups) |\n| --- | --- | --- | --- | --- |")
    for label, rs in results.items():
        runs = " / ".join(f"{r[0]:.1f}" for r in rs)
        fits = statistics.median(r[3] for r in rs)
        print(f"| {label} | {runs} s | **{med(label):.1f} s** | {fits:.2f} s | {rs[0][1]:.4f} ({rs[0][2]}) |")
    print(f"\nets fast / linear: **{fast / lin:.2f}×** (target ≤ 5×); statsmodels / linear: {ref / lin:.1f}×; "
          f"fast vs statsmodels: {ref / fast:.1f}× faster")
    print(f"median wape, fast vs statsmodels: {w_fast:.4f} vs {w_ref:.4f} "
          f"({100 * (w_fast / w_ref - 1):+.2f} %, target within ±2 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
