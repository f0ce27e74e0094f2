"""The `plan` stage behind `manymodels plan`: `manymodels_entry.py plan --spec - --out DIR`.

It reads the input as a training run would (input_data, the same cache), groups it
(grouping), puts every group through the checks a training run makes before a fit
(training.screen_columns: empty, duplicate timestamps, non-finite, stale, short, constant),
then trains a seeded sample of groups (the pilot) through the same WorkerPool and
train_columns as the local executor, timing each group in its worker. Nothing is
registered: the document (DIR/plan.json), the pilot's artifacts (DIR/artifacts) and its
manifest go to the --out folder, which the CLI times a registration from and then deletes.

The sample is stratified by size: the groups in size order are cut into N equal strata and
one group is drawn from each (numpy's default_rng(seed)), so the pilot spans small to large
groups and the CLI can fit a time-by-size model to it.

Two things a group's wall time in the pilot holds that its time in a training run mostly does
not: a worker's first fit (imports, the OpenMP runtime's start: ~1 s for gbm, paid once per
worker — once in 25 groups in a pilot of 50 on two workers, once in 1,000 in a run of 2,000
groups), and on a shared machine the time the worker waited for a CPU other processes had.
So each worker's first group that reaches a fit is trained twice, the first time apart
(`warmUpSeconds`: what that first run took more than the timed one), and each group's time on
the run queue is read from Linux's schedstat (`waitSeconds`; null elsewhere).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from .errors import BAD_SPEC, InputError
from .events import EventWriter, log
from .grouping import group_columns, group_table
from .input_data import read_table
from .manifest import build_manifest, write_json_atomic
from .periods import format_time
from .process_lifetime import die_with_parent
from .spec import load_job_spec
from .stage_common import EXIT_INPUT, EXIT_INTERRUPTED, check_model_type
from .training import (SCREEN_KINDS, TrainContext, check_holdout_from, data_end, data_start, fail, new_row,
                       screen_columns, train_columns)
from .worker_pool import WorkerPool

LARGEST = 10  # the largest groups named in the profile
MAPPED = 20000  # the largest groups whose keys the partition plan may map to a bucket


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="manymodels_entry.py plan", description="manymodels plan: profile and pilot")
    ap.add_argument("--spec", required=True, help="a train JobSpec ('-' reads it from stdin)")
    ap.add_argument("--out", required=True, help="a folder: plan.json, the pilot's artifacts and manifest")
    ap.add_argument("--pilot", type=int, default=50, help="groups trained by the pilot (0: none)")
    ap.add_argument("--seed", type=int, default=0, help="the pilot sample's seed")
    ap.add_argument("--workers", type=int, default=None, help="0 = every core (default: the JobSpec's)")
    ap.add_argument("--events", default=None, help="'-' for stdout, or a file (default: none)")
    ap.add_argument("--cache-dir", default=os.path.join(".manymodels", "cache"))
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--input-entry", default=None)
    return ap


def pilot_sample(sizes: np.ndarray, n: int, seed: int) -> list[int]:
    """Group indices of the pilot: one drawn from each of min(n, groups) size strata."""
    total = int(sizes.size)
    n = min(max(0, n), total)
    if n == 0:
        return []
    rng = np.random.default_rng(seed)
    by_size = np.argsort(sizes, kind="stable")
    bounds = np.linspace(0, total, n + 1).astype(np.int64)
    return sorted(int(by_size[rng.integers(bounds[i], bounds[i + 1])]) for i in range(n))


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.pilot < 0:
        log(f"error {BAD_SPEC}: --pilot must be 0 or more")
        return EXIT_INPUT
    if os.environ.get("MANYMODELS_DIE_WITH_PARENT") == "1":  # as the train stage: no orphan after a kill -9
        die_with_parent(os.getppid(), EXIT_INTERRUPTED)
    events = EventWriter(args.events) if args.events else None
    try:
        doc = probe(args)
    except InputError as e:
        log(f"error {e.code}: {e.message}")
        if events:
            events.error(e.code, e.message)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        if events:
            events.close()
    write_json_atomic(os.path.join(args.out, "plan.json"), doc)
    return 0


def probe(args) -> dict:
    t0 = time.perf_counter()
    spec = load_job_spec(args.spec, expected_stage="train")
    workers = args.workers if args.workers is not None else spec.workers
    if workers < 0:
        raise InputError(BAD_SPEC, "--workers must be 0 (every core) or more")
    artifacts = os.path.join(os.path.abspath(args.out), "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    ctx = TrainContext.from_spec(spec, artifacts)
    check_model_type(spec, ctx.custom)
    setup_seconds = time.perf_counter() - t0
    table = read_table(spec, need_target=True, cache_dir=None if args.no_cache else os.path.abspath(args.cache_dir),
                       workers=workers, input_entry=os.path.abspath(args.input_entry) if args.input_entry else None)
    read_seconds = time.perf_counter() - t0 - setup_seconds
    ctx = TrainContext.from_spec(spec, artifacts, table.target_classes, data_end(table.time))
    check_holdout_from(ctx, table.time)
    t_group = time.perf_counter()
    groups = group_table(table, spec.pipeline)
    group_seconds = time.perf_counter() - t_group
    key_cols = list(spec.columns.keys)
    sizes = (groups.ends - groups.starts).astype(np.int64)

    # The profile: every group through the checks before a fit.
    t_profile = time.perf_counter()
    kinds = np.empty(groups.n_groups, dtype=object)
    for g in range(groups.n_groups):
        row = new_row({}, groups.ids[g], groups.names[g])
        try:
            cols = group_columns(table, groups.rows(g), spec, with_target=True, with_row=False)
            kinds[g] = screen_columns(cols, row, ctx)[0]
        except Exception:  # the training would fail this group the same way
            kinds[g] = "error"
    profile_seconds = time.perf_counter() - t_profile

    pilot = _pilot(table, groups, spec, ctx, key_cols, pilot_sample(sizes, args.pilot, args.seed),
                   kinds, workers)
    by_size = np.argsort(-sizes, kind="stable")
    largest = by_size[:LARGEST]
    start, end = data_start(table.time), data_end(table.time)
    return {
        "rows": int(table.n_rows),
        "fromCache": bool(table.from_cache),
        "fingerprint": table.fingerprint,
        "seconds": {"setup": setup_seconds, "read": read_seconds, "group": group_seconds,
                    "profile": profile_seconds},
        "bytesPerRow": _bytes_per_row(table, spec),
        "groups": {
            "count": int(groups.n_groups),
            "sizes": sizes.tolist(),
            "kinds": {k: int((kinds == k).sum()) for k in (*SCREEN_KINDS, "error")},
            # 1: the group reaches its fit (ok, or stale trained from the run's origin).
            "fitted": [1 if k in ("ok", "stale") and not _stale_skipped(k, ctx) else 0 for k in kinds],
            # The largest groups' keys (index into sizes, key values): the partition plan's mapping.
            "mapped": [[int(g), list(groups.key_values[g])] for g in by_size[:MAPPED]],
            "largest": [{"keys": dict(zip(key_cols, groups.key_values[g])), "rows": int(sizes[g])}
                        for g in largest],
        },
        "timeRange": None if start is None else {"start": format_time(start, spec.time_kind),
                                                 "end": format_time(end, spec.time_kind)},
        "pilot": pilot,
    }


def _stale_skipped(kind: str, ctx: TrainContext) -> bool:
    """A stale group is fitted only under model.stale: forecast_from_origin (screen_columns
    returns "stale" with rows to fit then, and skips it otherwise)."""
    return kind == "stale" and ctx.stale != "forecast_from_origin"


def _bytes_per_row(table, spec) -> float:
    """What one row weighs in a group's Arrow batch: 8 bytes per number or time column, and
    each key column's mean text length (keys travel as strings)."""
    n = 8.0 * (1 + len(spec.columns.features) + (1 if spec.columns.time else 0))
    for k in table.keys:
        if k.values.size:
            lengths = np.fromiter((len(str(v)) for v in k.values), dtype=np.int64, count=k.values.size)
            counts = np.bincount(k.codes.astype(np.int64), minlength=k.values.size)
            n += float((lengths * counts).sum()) / max(1, table.n_rows) + 4.0  # + the offset
    return round(n, 3)


def _run_queue_seconds() -> float | None:
    """Seconds this thread has waited on the run queue for a CPU (Linux's schedstat), None
    where that is not available."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask), else the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _pilot(table, groups, spec, ctx, key_cols, sample: list[int], kinds, workers: int) -> dict:
    """Trains the sampled groups over the WorkerPool; each group's seconds are measured in
    its worker around what the local executor's work does (slice + train_columns), with the
    part of them it waited for a CPU. A worker's first group that reaches a fit runs once
    before, apart: its one-off (imports, a library's start) is what a full run pays once per
    worker, not once per pilot group."""
    results: list = [None] * len(sample)
    warmed = {"pid": None}  # forked: each worker has its own copy

    def timed(g: int, keys: dict):
        wait0 = _run_queue_seconds()
        t = time.perf_counter()
        try:
            cols = group_columns(table, groups.rows(g), spec, with_target=True, with_row=False)
            row = train_columns(cols, keys, groups.ids[g], groups.names[g], ctx)
        except Exception as exc:
            row = fail(new_row(keys, groups.ids[g], groups.names[g]), type(exc).__name__, str(exc))
        seconds = time.perf_counter() - t
        wait1 = _run_queue_seconds()
        wait = None if wait0 is None or wait1 is None else min(seconds, max(0.0, wait1 - wait0))
        return row, seconds, wait

    def work(i: int):
        g = sample[i]
        keys = dict(zip(key_cols, groups.key_values[g]))
        warm = None
        if warmed["pid"] != os.getpid() and kinds[g] in ("ok", "stale") and not _stale_skipped(kinds[g], ctx):
            warmed["pid"] = os.getpid()
            _, warm_seconds, warm_wait = timed(g, keys)
            warm = (warm_seconds, warm_wait or 0.0)
        row, seconds, wait = timed(g, keys)
        size = None
        if row.get("artifact"):
            try:
                size = os.path.getsize(os.path.join(ctx.artifacts_dir, row["modelName"] + ".pkl"))
            except OSError:
                size = None
        warm_up = None if warm is None else max(0.0, (warm[0] - warm[1]) - (seconds - (wait or 0.0)))
        return row, seconds, size, wait, warm_up, (warm[0] if warm else 0.0) + seconds, os.getpid()

    def on_result(i: int, res) -> None:
        results[i] = res

    def on_died(i: int, why: str):
        g = sample[i]
        return fail(new_row({}, groups.ids[g], groups.names[g]), "WorkerDied", why), 0.0, None, None, None, 0.0, None

    pool = WorkerPool(workers)
    t = time.perf_counter()
    pool.map(len(sample), work, on_result, on_died)
    wall = time.perf_counter() - t
    rows = [r[0] for r in results if r is not None]
    # The pool's own time: its wall less its busiest worker's (forking, dispatch, joining).
    busy: dict = {}
    for r in results:
        if r is not None:
            busy[r[6]] = busy.get(r[6], 0.0) + r[5]
    # What writing a manifest of these rows costs: the real run writes one of every group.
    t = time.perf_counter()
    if rows:
        doc = build_manifest(spec, "plan", "", "", table.fingerprint, rows, {}, executor="local",
                             workers=pool.workers, workersReplaced=0)
        write_json_atomic(os.path.join(os.path.dirname(ctx.artifacts_dir), "run-manifest.json"), doc)
    manifest_seconds = time.perf_counter() - t
    return {
        "workers": pool.workers,
        "cores": cpu_count(),
        "wallSeconds": wall,
        "poolSeconds": max(0.0, wall - max(busy.values(), default=0.0)),
        "manifestSeconds": manifest_seconds,
        "groups": [{"groupId": groups.ids[sample[i]], "modelName": r[0]["modelName"], "keys": r[0]["keys"],
                    "rows": groups.size(sample[i]), "kind": str(kinds[sample[i]]), "status": r[0]["status"],
                    "seconds": r[1], "waitSeconds": r[3], "warmUpSeconds": r[4],
                    "artifactBytes": r[2], "artifact": r[0].get("artifact"),
                    "sha256": r[0].get("sha256"), "metrics": r[0].get("metrics") or {},
                    "fitSeconds": r[0].get("fitSeconds")}
                   for i, r in enumerate(results) if r is not None],
    }


__all__ = ["cpu_count", "main", "pilot_sample", "probe"]
