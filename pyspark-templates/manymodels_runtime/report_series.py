"""The series behind a report's forecast-vs-actual charts: for a few groups of a training run,
the recent history and the holdout forecast (times in ms since the epoch, or row positions) the run evaluated, recomputed with the run's own
JobSpec and the same per-group training function (so the numbers are the run's numbers for
deterministic models). Writes one JSON document; never touches the registry or the run.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile

import numpy as np

from .errors import BAD_SPEC, InputError
from .grouping import group_columns, group_table
from .input_data import read_table
from .periods import NS_PER_PERIOD, PERIOD
from .spec import load_job_spec
from .training import TrainContext, data_end, train_columns

NAT = np.iinfo(np.int64).min


def _history(cols: dict, time_col: str | None, target: str, last: int, unit: int = 1_000_000) -> dict:
    y = np.asarray(cols[target], dtype=np.float64)
    if time_col:
        t = np.asarray(cols[time_col], dtype="datetime64[ns]").view(np.int64)
        keep = (t != NAT) & ~np.isnan(y)
        t, y = t[keep], y[keep]
        order = np.argsort(t, kind="stable")
        t, y = t[order], y[order]
        times = [int(v) // unit for v in t[-last:]]
    else:
        keep = ~np.isnan(y)
        idx = np.flatnonzero(keep)
        y = y[keep]
        times = [int(v) for v in idx[-last:]]
    return {"time": times, "actual": [float(v) for v in y[-last:]]}


def _ms(holdout: dict | None, timed: bool, unit: int = 1_000_000) -> dict | None:
    """Times in milliseconds since the epoch (JSON numbers stay exact below 2**53), or
    period numbers (unit NS_PER_PERIOD) on a period axis."""
    if holdout is None or not timed:
        return holdout
    return {**holdout, "time": [t // unit for t in holdout["time"]]}


def _unit(spec) -> int:
    return NS_PER_PERIOD if spec.time_kind == PERIOD else 1_000_000


def series(spec, group_ids: list[str], last: int, cache_dir: str | None, input_entry: str | None = None) -> list[dict]:
    table = read_table(spec, need_target=True, cache_dir=cache_dir, workers=1, input_entry=input_entry)
    groups = group_table(table, spec.pipeline)
    wanted = set(group_ids)
    out = []
    with tempfile.TemporaryDirectory(prefix="mm-report-") as tmp:
        ctx = TrainContext.from_spec(spec, tmp, table.target_classes, data_end(table.time))
        ctx = dataclasses.replace(ctx, keep_holdout=True)
        key_cols = list(spec.columns.keys)
        for g in range(groups.n_groups):
            if groups.ids[g] not in wanted:
                continue
            keys = dict(zip(key_cols, groups.key_values[g]))
            cols = group_columns(table, groups.rows(g), spec, with_target=True, with_row=False)
            row = train_columns(cols, keys, groups.ids[g], groups.names[g], ctx)
            out.append({
                "groupId": groups.ids[g],
                "keys": keys,
                "status": row["status"],
                "history": _history(cols, spec.columns.time, spec.columns.target, last, _unit(spec)),
                "holdout": _ms(row.get("holdout"), bool(spec.columns.time), _unit(spec)),
                "metrics": row.get("metrics") or {},
            })
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="report_entry.py", description="series for a manymodels report")
    ap.add_argument("--spec", required=True, help="the training run's jobspec.json")
    ap.add_argument("--groups", required=True, help="JSON file: an array of groupIds")
    ap.add_argument("--history", type=int, default=90, help="how many recent periods of history")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--input-entry", default=None, help="a parsed-input cache entry the CLI's embedded reader wrote")
    ap.add_argument("--out", required=True, help="where to write the JSON result")
    args = ap.parse_args(argv)
    try:
        spec = load_job_spec(args.spec, "train")
        with open(args.groups, encoding="utf-8") as fh:
            ids = json.load(fh)
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise InputError(BAD_SPEC, f"--groups {args.groups} must hold a JSON array of groupId strings")
        unit = ("period" if spec.time_kind == PERIOD else "ms") if spec.columns.time else "row"
        doc = {"time": unit, "groups": series(spec, ids, max(1, args.history), args.cache_dir, args.input_entry)}
    except InputError as e:
        print(json.dumps({"error": {"code": e.code, "message": str(e)}}), file=sys.stderr)
        return 2
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, allow_nan=False, separators=(",", ":"))
    return 0
