"""LocalExecutor: the train and score stages on this machine. The input is read into column
arrays (input_data), grouped (grouping), and the groups are fanned out over every core by a
WorkerPool (worker_pool.py); the driver collects one result per group, writes the predictions
through the sink, and writes the run manifest."""
from __future__ import annotations

import os
import time

import numpy as np

from .errors import BAD_SINK, InputError, SinkWriteError
from .events import EventWriter, log, utc_now_iso
from .executor import StageRun
from .grouping import Groups, group_columns, group_table
from .identity import identity
from .input_data import Table, read_table
from .journal import JOURNAL_NAME, Journal
from .manifest import MANIFEST_NAME, build_manifest, merge_previous, write_json_atomic
from .scoring import ROW_COLUMN, ScoreContext, ScoreResult, iso_times_and_origin, new_score_row, score_columns
from .sinks import Sink, sink_for
from .spec import JobSpec
from .stage_common import EXIT_BUDGET, check_model_type, finish, load_model_manifest
from .training import TrainContext, check_holdout_from, data_end, fail, new_row, train_columns
from .worker_pool import WorkerPool


class LocalExecutor:
    """The Executor of the local engine: `workers` processes (0 = every core) and the
    parsed-input cache under `cache_dir` (None: parse again and cache nothing); `input_entry`,
    a cache entry the CLI's embedded reader wrote, is loaded instead of reading the input."""

    name = "local"

    def __init__(self, workers: int = 0, cache_dir: str | None = None, input_entry: str | None = None):
        self.workers = workers
        self.cache_dir = cache_dir
        self.input_entry = input_entry

    def train(self, run: StageRun) -> int:
        return _train_local(run.spec, run.run_id, run.out, self.workers, self.cache_dir, run.only, run.skip,
                            run.events, self.input_entry)

    def score(self, run: StageRun) -> int:
        return _score_local(run.spec, run.run_id, run.out, self.workers, self.cache_dir, run.only,
                            run.models_path, run.events, self.input_entry)


def _select(groups: Groups, only: set[str] | None, skip: set[str] | None) -> list[int]:
    """The groups to run: every group, or those of --only-groups, less those of --skip-groups."""
    selected = range(groups.n_groups)
    if only is not None:
        unknown = sorted(only - set(groups.ids))
        if unknown:
            log(f"--only-groups: {len(unknown)} groupId(s) are not in the data and are ignored "
                f"(first: {unknown[0]})")
        selected = [g for g in selected if groups.ids[g] in only]
    if skip:
        kept = [g for g in selected if groups.ids[g] not in skip]
        log(f"--skip-groups: {len(selected) - len(kept)} group(s) already done are skipped")
        selected = kept
    return list(selected)


class _Tally:
    """Counts results as they arrive and emits progress and group_failed events."""

    def __init__(self, events: EventWriter, total: int):
        self.events = events
        self.total = total
        self.counts = {"ok": 0, "failed": 0, "skipped": 0}

    def add(self, row: dict) -> None:
        self.counts[row["status"]] += 1
        if row["status"] == "failed":
            self.events.emit("group_failed", groupId=row["groupId"], modelName=row["modelName"],
                             keys=row["keys"], errorClass=row["errorClass"], errorMessage=row["errorMessage"])
        self.events.progress(self.counts, self.total)

    def finish(self) -> None:
        self.events.progress(self.counts, self.total, force=True)


def _train_local(spec: JobSpec, run_id: str, out: str, workers: int, cache_dir: str | None,
                 only: set[str] | None, skip: set[str] | None, events: EventWriter,
                 input_entry: str | None = None) -> int:
    t_start = time.perf_counter()
    started = utc_now_iso()
    artifacts = os.path.join(out, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    ctx = TrainContext.from_spec(spec, artifacts)
    # Before the (long) read, and before the fork, so every worker inherits the verified code.
    check_model_type(spec, ctx.custom)
    table = read_table(spec, need_target=True, cache_dir=cache_dir, workers=workers, input_entry=input_entry)
    log(f"read {table.n_rows} rows in {table.read_seconds:.2f}s"
        f"{' (from the input cache)' if table.from_cache else ''}")
    # One holdout window for the whole run, counted back from the data's last period.
    ctx = TrainContext.from_spec(spec, artifacts, table.target_classes, data_end(table.time))
    check_holdout_from(ctx, table.time)
    groups = group_table(table, spec.pipeline)
    selected = _select(groups, only, skip)
    read_seconds = time.perf_counter() - t_start
    key_cols = list(spec.columns.keys)
    # Every finished group goes to the journal as it arrives: a run stopped any way at all
    # keeps what it fitted, and `train --resume` skips it (journal.py).
    journal = Journal(os.path.join(out, JOURNAL_NAME), {
        "runId": run_id, "stage": "train", "pipeline": spec.pipeline, "modelType": spec.model.type,
        "dataFingerprint": table.fingerprint, "startedAt": started})
    events.emit("start", stage="train", runId=run_id, total=len(selected))
    rows: list = [None] * len(selected)
    tally = _Tally(events, len(selected))

    def work(i: int) -> dict:
        g = selected[i]
        keys = dict(zip(key_cols, groups.key_values[g]))
        try:
            cols = group_columns(table, groups.rows(g), spec, with_target=True, with_row=False)
        except Exception as exc:  # never let one group take its worker down
            return fail(new_row(keys, groups.ids[g], groups.names[g]), type(exc).__name__, str(exc))
        return train_columns(cols, keys, groups.ids[g], groups.names[g], ctx)

    def on_result(i: int, row: dict) -> None:
        rows[i] = row
        journal.add(row)
        tally.add(row)

    def on_died(i: int, why: str) -> dict:
        g = selected[i]
        row = new_row(dict(zip(key_cols, groups.key_values[g])), groups.ids[g], groups.names[g])
        return fail(row, "WorkerDied", f"{why} while training this group")

    t_fit = time.perf_counter()
    pool = WorkerPool(workers)
    try:
        pool.map(len(selected), work, on_result, on_died)
    finally:
        journal.close()  # Ctrl-C or an error: what was journaled is on disk
    tally.finish()
    fit_seconds = time.perf_counter() - t_fit

    # Artifacts are written by the workers (inside fitSeconds); writeSeconds is the manifest.
    t_write = time.perf_counter()
    manifest_path = os.path.join(out, MANIFEST_NAME)
    if only is not None:
        rows = merge_previous(manifest_path, run_id, "train", rows)
    timings = {"readSeconds": read_seconds, "fitSeconds": fit_seconds}
    doc = build_manifest(spec, run_id, started, utc_now_iso(), table.fingerprint, rows,
                         {**timings, "writeSeconds": time.perf_counter() - t_write},
                         executor="local", workers=pool.workers, workersReplaced=pool.replaced)
    write_json_atomic(manifest_path, doc)
    journal.remove()
    return finish(events, doc, t_start, manifest_path)


def make_sink(spec: JobSpec) -> Sink:
    """The JobSpec's sink, if this executor can write it (MM415 otherwise)."""
    sink = sink_for(spec)
    if sink.needs_spark:
        raise InputError(BAD_SINK, f"the {sink.kind} sink needs Spark: run with --executor spark, or use a "
                                   "sqlite, csv or parquet sink with the local engine")
    return sink

def prediction_batches(results: list[ScoreResult], key_cols: list[str], run_id: str, scored_at: str,
                       pipeline: str, selection: bool = False):
    """Row tuples per group, in prediction_columns order, built lazily from the arrays
    (`selection`: with the model type and fallback marker of a model.type auto pipeline)."""
    from itertools import repeat
    for res in results:
        if res is None or res.predictions is None or not len(res.predictions):
            continue
        n = len(res.predictions)
        keys = [repeat(res.row["keys"].get(k), n) for k in key_cols]
        times, origins = iso_times_and_origin(res, n)
        rowidx = res.row_index.tolist() if res.row_index is not None else repeat(None, n)
        labels = res.labels if res.labels is not None else repeat(None, n)
        extra = [repeat(res.row.get("modelType"), n), repeat(res.row.get("fallback"), n)] if selection else []
        yield zip(*keys, times, origins, rowidx, res.prediction_values(), labels, res.probabilities_json(),
                  repeat(res.row["modelVersion"], n),
                  repeat(res.row["modelName"], n), repeat(pipeline, n), repeat(run_id, n), repeat(scored_at, n),
                  *extra)


def _score_local(spec: JobSpec, run_id: str, out: str, workers: int, cache_dir: str | None,
                 only: set[str] | None, models_path: str, events: EventWriter,
                 input_entry: str | None = None) -> int:
    t_start = time.perf_counter()
    started = utc_now_iso()
    entries = load_model_manifest(models_path, spec)
    sink = make_sink(spec)
    sink.prepare()
    ctx = ScoreContext.from_spec(spec)
    if spec.model.custom:
        check_model_type(spec, ctx.custom)
    table = read_table(spec, need_target=False, cache_dir=cache_dir, workers=workers, input_entry=input_entry)
    log(f"read {table.n_rows} rows in {table.read_seconds:.2f}s"
        f"{' (from the input cache)' if table.from_cache else ''}")
    groups = group_table(table, spec.pipeline)
    key_cols = list(spec.columns.keys)
    # Work items: every data group, then every production model without rows in the data
    # (a forecast needs no future rows). ("data", g) or ("model", groupId).
    items: list[tuple[str, object]] = [("data", g) for g in range(groups.n_groups)]
    data_ids = set(groups.ids)
    items += [("model", gid) for gid in sorted(entries, key=lambda k: [str(entries[k]["keys"].get(c, ""))
                                                                      for c in key_cols])
              if gid not in data_ids]
    if only is not None:
        items = [it for it in items if (groups.ids[it[1]] if it[0] == "data" else it[1]) in only]
    read_seconds = time.perf_counter() - t_start
    forecast = spec.task == "forecast"
    events.emit("start", stage="score", runId=run_id, total=len(items))
    results: list = [None] * len(items)
    tally = _Tally(events, len(items))

    def describe(i: int) -> tuple[dict, str, str, dict | None]:
        kind, ref = items[i]
        if kind == "data":
            gid = groups.ids[ref]
            return dict(zip(key_cols, groups.key_values[ref])), gid, groups.names[ref], entries.get(gid)
        entry = entries[ref]
        keys = {k: str(entry["keys"].get(k, "")) for k in key_cols}
        return keys, ref, entry.get("modelName") or identity(spec.pipeline, key_cols, list(keys.values()))[1], entry

    def work(i: int) -> ScoreResult:
        keys, gid, name, entry = describe(i)
        kind, ref = items[i]
        try:
            if kind == "model":
                expected = identity(spec.pipeline, key_cols, [keys[k] for k in key_cols])[0]
                if expected != gid:
                    return ScoreResult(fail(new_score_row(keys, gid, name, entry), "ManifestMismatch",
                                            f"the model manifest's groupId {gid} does not match its keys "
                                            f"(they give {expected})"), None, None, None)
                cols, n_rows = {}, 0
            else:
                rows = groups.rows(ref)
                cols = group_columns(table, rows, spec, with_target=False, with_row=not forecast)
                n_rows = groups.size(ref)
        except Exception as exc:
            return ScoreResult(fail(new_score_row(keys, gid, name, entry), type(exc).__name__, str(exc)),
                               None, None, None)
        return score_columns(cols, n_rows, keys, gid, name, entry, ctx)

    def on_result(i: int, res: ScoreResult) -> None:
        results[i] = res
        tally.add(res.row)

    def on_died(i: int, why: str) -> ScoreResult:
        keys, gid, name, entry = describe(i)
        return ScoreResult(fail(new_score_row(keys, gid, name, entry), "WorkerDied", f"{why} while scoring this group"),
                           None, None, None)

    t_score = time.perf_counter()
    pool = WorkerPool(workers)
    pool.map(len(items), work, on_result, on_died)
    tally.finish()
    score_seconds = time.perf_counter() - t_score

    t_write = time.perf_counter()
    scored_at = utc_now_iso()
    exit_code = None
    sink_error = None
    written = 0
    try:
        written = sink.write(run_id, prediction_batches(results, key_cols, run_id, scored_at, spec.pipeline,
                                                        ctx.selection))
    except SinkWriteError as e:
        sink_error = str(e)
        code = getattr(e, "code", BAD_SINK)
        log(f"error {code}: {e}")
        events.error(code, str(e))
        exit_code = EXIT_BUDGET
    write_seconds = time.perf_counter() - t_write
    rows = [r.row for r in results]
    manifest_path = os.path.join(out, MANIFEST_NAME)
    doc = build_manifest(spec, run_id, started, utc_now_iso(), table.fingerprint, rows,
                         {"readSeconds": read_seconds, "scoreSeconds": score_seconds, "writeSeconds": write_seconds},
                         extra_counts={"predictionsWritten": written}, executor="local",
                         workers=pool.workers, workersReplaced=pool.replaced, sinkError=sink_error)
    write_json_atomic(manifest_path, doc)
    return finish(events, doc, t_start, manifest_path, exit_code)
