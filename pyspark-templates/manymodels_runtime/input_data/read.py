"""read_table: the one way in. Format detection (csv, parquet, sql; delta and jdbc need Spark),
the up-front column checks (MM410–MM413) before any parsing, then the cache or a fresh parse."""
from __future__ import annotations

import os
import time

from ..errors import MISSING_COLUMNS, UNSUPPORTED_INPUT, InputError
from ..events import log
from ..spec import JobSpec, resolve_path
from . import cache, columns, csv_reader, parquet_reader, prepared, sql_reader
from .fingerprint import data_fingerprint
from .table import ReadRequest, Table


def read_table(spec: JobSpec, *, need_target: bool, cache_dir: str | None, workers: int,
               input_entry: str | None = None) -> Table:
    """Reads the spec's input; raises InputError (MM410–MM413) before any group runs.
    `input_entry`: a cache entry the CLI's embedded reader wrote (prepared.py), loaded instead."""
    t0 = time.perf_counter()
    if input_entry:
        c = spec.columns
        table = prepared.load_prepared(input_entry, ReadRequest(
            fmt=spec.data.format, path=spec.data.path or "", options=(), keys=tuple(c.keys), time=c.time,
            target=c.target, target_labels=spec.task == "classification", features=tuple(c.features),
            time_kind=spec.time_kind, time_parts=c.time_parts))
        table.read_seconds = time.perf_counter() - t0
        return table
    fmt = spec.data.format
    if fmt in ("delta", "jdbc"):
        raise InputError(UNSUPPORTED_INPUT,
                         f"data.format {fmt} needs Spark: run with --executor spark (a Databricks or "
                         "Synapse target), or export the data to CSV or Parquet for the local engine")
    if fmt == "sql":
        return _read_sql(spec, need_target=need_target, cache_dir=cache_dir, workers=workers, t0=t0)
    if fmt not in ("csv", "parquet"):
        raise InputError(UNSUPPORTED_INPUT, f"unsupported data.format {fmt!r}")
    path = resolve_path(spec.data.path)
    if not os.path.exists(path):
        raise InputError(UNSUPPORTED_INPUT, f"input not found: {spec.data.path} (relative paths are "
                                            "relative to the project root)")
    if fmt == "parquet":
        parquet_reader.require_pyarrow()
    cols = spec.columns
    header = csv_reader.csv_header(path, spec.data.options) if fmt == "csv" \
        else parquet_reader.parquet_columns(path)
    wanted = cols.data_columns()
    missing = [c for c in wanted if c not in header]
    target_present = cols.target in header
    if need_target and not target_present:
        missing.append(cols.target)
    if missing:
        raise InputError(MISSING_COLUMNS,
                         f"columns named in the pipeline are missing from {spec.data.path}: "
                         f"{', '.join(missing)}. The file has: {', '.join(map(str, header))}")
    req = ReadRequest(
        fmt=fmt, path=path, options=tuple(sorted((str(k), str(v)) for k, v in spec.data.options.items())),
        keys=tuple(cols.keys), time=cols.time,
        # The score stage reads the target too when the file has it, so train and score
        # share one cached copy of the parsed input.
        target=cols.target if target_present else None,
        target_labels=spec.task == "classification", features=tuple(cols.features),
        time_kind=spec.time_kind, time_parts=cols.time_parts)
    fingerprint = data_fingerprint(path)
    return _cached_or_parsed(req, fingerprint, cache_dir, workers, t0)


def _read_sql(spec: JobSpec, *, need_target: bool, cache_dir: str | None, workers: int, t0: float) -> Table:
    """A PostgreSQL source: copied as CSV (sql_reader), then parsed and cached as a CSV export;
    messages name the source, not the temporary copy."""
    from ..sql_source import describe
    cols = spec.columns
    req = ReadRequest(fmt="sql", path="", options=(), keys=tuple(cols.keys), time=cols.time,
                      target=cols.target, target_labels=spec.task == "classification",
                      features=tuple(cols.features), time_kind=spec.time_kind)
    path, fingerprint, target_present = sql_reader.copy_to_csv(spec.data.sql, req, need_target, cache_dir)
    try:
        req = ReadRequest(fmt="sql", path=path, options=(), keys=req.keys, time=req.time,
                          target=cols.target if target_present else None, target_labels=req.target_labels,
                          features=req.features, time_kind=req.time_kind)
        return _cached_or_parsed(req, fingerprint, cache_dir, workers, t0)
    except InputError as e:
        raise InputError(e.code, e.message.replace(path, describe(spec.data.sql))) from None
    finally:
        os.unlink(path)


def _cached_or_parsed(req: ReadRequest, fingerprint: str, cache_dir: str | None, workers: int,
                      t0: float) -> Table:
    fmt = req.fmt
    entry = os.path.join(cache_dir, cache.entry_key(req, fingerprint)) if cache_dir else None
    if entry and os.path.isfile(os.path.join(entry, "meta.json")):
        try:
            table = cache.load_cache(entry, req, fingerprint)
            table.read_seconds = time.perf_counter() - t0
            return table
        except (OSError, ValueError, KeyError) as e:
            log(f"ignoring an unreadable input cache entry ({e}); parsing the input again")
    if fmt in ("csv", "sql"):
        parts = csv_reader.parse_csv(req, workers, cache_dir)
    else:
        parts = [parquet_reader.read_parquet(req)]
    table = columns.finalize(req, parts, fingerprint)
    if entry:
        try:
            cache.save_cache(entry, table)
            cache.prune_cache(cache_dir, keep=entry)
        except OSError as e:
            log(f"could not write the input cache under {cache_dir}: {e}")
    table.read_seconds = time.perf_counter() - t0
    return table
