"""Loads and checks the JobSpec (docs/contracts.md) into typed, picklable objects.

Every problem is collected and reported at once as one MM414 error, so a user fixing a
hand-edited spec sees the whole list rather than one problem per run.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import BAD_SPEC, InputError

SPEC_VERSION = 1
TASKS = ("forecast", "regression", "classification")
DATA_FORMATS = ("csv", "parquet", "delta", "jdbc")
SINK_TYPES = ("sqlite", "synapse_sql", "delta")
WRITE_MODES = ("replace_run", "append", "overwrite")

# Pipeline names end up in model names, which must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$;
# 150 leaves room for the 80-character slug and the hash.
PIPELINE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,149}$")
# Run ids reach SQL predicates (Delta replaceWhere, Synapse preActions) as literals, so the
# alphabet is restricted instead of trying to quote for every SQL dialect.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Columns the runtime adds next to the user's columns (predictions table, Spark frames).
RESERVED_PREFIX = "__mm"
PREDICTION_COLUMNS = ("time", "row_index", "prediction", "model_version", "model_name",
                      "run_id", "scored_at")


@dataclass(frozen=True)
class Columns:
    keys: tuple[str, ...]
    target: str
    features: tuple[str, ...]
    time: str | None


@dataclass(frozen=True)
class DataSource:
    format: str
    path: str | None
    options: dict
    jdbc: dict | None
    table: str | None


@dataclass(frozen=True)
class ModelSpec:
    type: str
    params: dict
    custom: dict | None
    holdout_periods: int | None
    holdout_fraction: float | None
    min_train_rows: int
    refit: bool


@dataclass(frozen=True)
class Sink:
    type: str
    raw: dict


@dataclass(frozen=True)
class Scoring:
    horizon: int | None
    sink: Sink | None
    write_mode: str


@dataclass(frozen=True)
class JobSpec:
    stage: str
    pipeline: str
    project: str | None
    task: str
    columns: Columns
    data: DataSource
    frequency: str | None
    metrics: tuple[str, ...]
    model: ModelSpec
    max_failed: int | None
    max_failed_fraction: float | None
    scoring: Scoring
    workers: int
    spark_conf: dict
    shuffle_partitions: int | str
    raw: dict = field(repr=False, compare=False)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, msg: str) -> None:
        self.items.append(f"{path}: {msg}")


def _get(obj: Any, key: str, path: str, p: _Problems, kind: type | tuple, required: bool = True,
         nullable: bool = False) -> Any:
    if not isinstance(obj, dict):
        return None
    if key not in obj:
        if required:
            p.add(f"{path}.{key}".lstrip("."), "is required")
        return None
    v = obj[key]
    if v is None:
        if not nullable and required:
            p.add(f"{path}.{key}".lstrip("."), "must not be null")
        return None
    # bool is an int subclass: `true` where a number is expected is a mistake.
    if isinstance(v, bool) and kind in (int, float, (int, float)):
        p.add(f"{path}.{key}".lstrip("."), f"must be {_kind_name(kind)}, got a boolean")
        return None
    if not isinstance(v, kind):
        p.add(f"{path}.{key}".lstrip("."), f"must be {_kind_name(kind)}, got {type(v).__name__}")
        return None
    return v


def _kind_name(kind: type | tuple) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             dict: "an object", list: "an array"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def _str_list(obj: dict, key: str, path: str, p: _Problems, non_empty: bool) -> tuple[str, ...]:
    v = _get(obj, key, path, p, list)
    if v is None:
        return ()
    if not all(isinstance(s, str) and s for s in v):
        p.add(f"{path}.{key}", "must be an array of non-empty strings")
        return ()
    if non_empty and not v:
        p.add(f"{path}.{key}", "must name at least one column")
    if len(set(v)) != len(v):
        p.add(f"{path}.{key}", "names a column twice")
    return tuple(v)


def parse_job_spec(raw: Any, expected_stage: str | None = None) -> JobSpec:
    """Checks a decoded JobSpec; raises InputError(MM414) listing every problem."""
    p = _Problems()
    if not isinstance(raw, dict):
        raise InputError(BAD_SPEC, "the JobSpec must be a JSON object")
    version = raw.get("specVersion")
    if version != SPEC_VERSION:
        # A different version means different semantics: stop before reading anything else.
        raise InputError(
            BAD_SPEC,
            f"unsupported specVersion {version!r}: this runtime reads specVersion {SPEC_VERSION}; "
            "recompile the pipeline with the matching manymodels CLI (manymodels compile)",
        )
    stage = _get(raw, "stage", "", p, str)
    if stage is not None and stage not in ("train", "score"):
        p.add("stage", f"must be 'train' or 'score', got {stage!r}")
    if expected_stage and stage and stage != expected_stage:
        p.add("stage", f"is {stage!r} but this entry script runs the {expected_stage!r} stage")
    pipeline = _get(raw, "pipeline", "", p, str)
    if pipeline is not None and not PIPELINE_RE.match(pipeline):
        p.add("pipeline", "must start with a letter or digit and hold only letters, digits, '_' "
                          "and '-' (at most 150 characters)")
    project = _get(raw, "project", "", p, str, required=False, nullable=True)
    task = _get(raw, "task", "", p, str)
    if task is not None and task not in TASKS:
        p.add("task", f"must be one of {', '.join(TASKS)}, got {task!r}")

    cols_raw = _get(raw, "columns", "", p, dict)
    keys = _str_list(cols_raw, "keys", "columns", p, non_empty=True) if cols_raw else ()
    features = _str_list(cols_raw, "features", "columns", p, non_empty=False) if cols_raw else ()
    target = _get(cols_raw, "target", "columns", p, str) if cols_raw else None
    time_col = _get(cols_raw, "time", "columns", p, str, required=False, nullable=True) if cols_raw else None
    frequency = _get(raw, "frequency", "", p, str, required=False, nullable=True)
    if task == "forecast":
        if not time_col:
            p.add("columns.time", "is required for a forecast")
        if not frequency:
            p.add("frequency", "is required for a forecast (a pandas offset alias such as D, W, MS)")
        elif not _valid_frequency(frequency):
            p.add("frequency", f"{frequency!r} is not a pandas offset alias (D, H, W, MS, …)")
    named = list(keys) + list(features) + ([target] if target else []) + ([time_col] if time_col else [])
    dupes = sorted({c for c in named if named.count(c) > 1})
    if dupes:
        p.add("columns", f"each column may have one role only; used twice: {', '.join(dupes)}")
    for c in named:
        if c.startswith(RESERVED_PREFIX):
            p.add("columns", f"column names starting with '{RESERVED_PREFIX}' are reserved: {c!r}")
    clash = sorted(set(keys) & set(PREDICTION_COLUMNS))
    if clash:
        p.add("columns.keys", f"key column names clash with prediction columns: {', '.join(clash)}; "
                              "rename them in the data")

    data_raw = _get(raw, "data", "", p, dict)
    data = DataSource("csv", None, {}, None, None)
    if data_raw is not None:
        fmt = _get(data_raw, "format", "data", p, str)
        if fmt is not None and fmt not in DATA_FORMATS:
            p.add("data.format", f"must be one of {', '.join(DATA_FORMATS)}, got {fmt!r}")
        path = _get(data_raw, "path", "data", p, str, required=False, nullable=True)
        options = _get(data_raw, "options", "data", p, dict, required=False, nullable=True) or {}
        jdbc = _get(data_raw, "jdbc", "data", p, dict, required=False, nullable=True)
        table = _get(data_raw, "table", "data", p, str, required=False, nullable=True)
        if fmt == "jdbc":
            if jdbc is None:
                p.add("data.jdbc", "is required for format jdbc ({url, table, userEnv, passwordEnv})")
            else:
                for k in ("url", "table"):
                    _get(jdbc, k, "data.jdbc", p, str)
                for k in ("userEnv", "passwordEnv"):
                    _get(jdbc, k, "data.jdbc", p, str, required=False, nullable=True)
        elif fmt in ("csv", "parquet") and not path:
            p.add("data.path", f"is required for format {fmt}")
        elif fmt == "delta" and not path and not table:
            p.add("data.path", "a delta input needs data.path or data.table")
        data = DataSource(fmt or "csv", path, dict(options), jdbc, table)

    metrics = _str_list(raw, "metrics", "", p, non_empty=False) if "metrics" in raw else ()

    model_raw = _get(raw, "model", "", p, dict)
    model = ModelSpec("", {}, None, None, None, 1, False)
    if model_raw is not None:
        mtype = _get(model_raw, "type", "model", p, str)
        params = _get(model_raw, "params", "model", p, dict, required=False, nullable=True) or {}
        custom = _get(model_raw, "custom", "model", p, dict, required=False, nullable=True)
        if custom is not None:
            _get(custom, "path", "model.custom", p, str)
            _get(custom, "sha256", "model.custom", p, str)
        hold = _get(model_raw, "holdout", "model", p, dict, required=False, nullable=True) or {}
        periods = _get(hold, "periods", "model.holdout", p, int, required=False, nullable=True)
        fraction = _get(hold, "fraction", "model.holdout", p, (int, float), required=False, nullable=True)
        if periods is not None and periods < 1:
            p.add("model.holdout.periods", "must be at least 1")
        if fraction is not None and not (0 < float(fraction) < 1):
            p.add("model.holdout.fraction", "must be between 0 and 1 (exclusive)")
        mtr = _get(model_raw, "minTrainRows", "model", p, int, required=False, nullable=True)
        if mtr is not None and mtr < 1:
            p.add("model.minTrainRows", "must be at least 1")
        refit = _get(model_raw, "refit", "model", p, bool, required=False, nullable=True)
        model = ModelSpec(mtype or "", dict(params), dict(custom) if custom else None, periods,
                          float(fraction) if fraction is not None else None,
                          int(mtr) if mtr is not None else 1, bool(refit))

    budget = _get(raw, "failureBudget", "", p, dict, required=False, nullable=True) or {}
    max_failed = _get(budget, "maxFailed", "failureBudget", p, int, required=False, nullable=True)
    max_frac = _get(budget, "maxFailedFraction", "failureBudget", p, (int, float), required=False,
                    nullable=True)
    if max_failed is not None and max_failed < 0:
        p.add("failureBudget.maxFailed", "must be 0 or more")
    if max_frac is not None and not (0 <= float(max_frac) <= 1):
        p.add("failureBudget.maxFailedFraction", "must be between 0 and 1")

    scoring_raw = _get(raw, "scoring", "", p, dict, required=(stage == "score"), nullable=True)
    scoring = Scoring(None, None, "replace_run")
    if scoring_raw is not None:
        horizon = _get(scoring_raw, "horizon", "scoring", p, int, required=False, nullable=True)
        if horizon is not None and horizon < 1:
            p.add("scoring.horizon", "must be at least 1")
        if stage == "score" and task == "forecast" and horizon is None:
            p.add("scoring.horizon", "is required to score a forecast")
        mode = _get(scoring_raw, "writeMode", "scoring", p, str, required=False, nullable=True) or "replace_run"
        if mode not in WRITE_MODES:
            p.add("scoring.writeMode", f"must be one of {', '.join(WRITE_MODES)}, got {mode!r}")
        sink_raw = _get(scoring_raw, "sink", "scoring", p, dict, required=(stage == "score"), nullable=True)
        sink = None
        if sink_raw is not None:
            stype = _get(sink_raw, "type", "scoring.sink", p, str)
            if stype is not None and stype not in SINK_TYPES:
                p.add("scoring.sink.type", f"must be one of {', '.join(SINK_TYPES)}, got {stype!r}")
            _check_sink(stype, sink_raw, mode, p)
            sink = Sink(stype or "", dict(sink_raw))
        scoring = Scoring(horizon, sink, mode)

    execution = _get(raw, "execution", "", p, dict, required=False, nullable=True) or {}
    workers = _get(execution, "workers", "execution", p, int, required=False, nullable=True) or 0
    if workers < 0:
        p.add("execution.workers", "must be 0 (all cores) or more")
    spark_conf = _get(execution, "sparkConf", "execution", p, dict, required=False, nullable=True) or {}
    shuffle = execution.get("shufflePartitions", "auto") if isinstance(execution, dict) else "auto"
    if shuffle is None:
        shuffle = "auto"
    if shuffle != "auto" and (isinstance(shuffle, bool) or not isinstance(shuffle, int) or shuffle < 1):
        p.add("execution.shufflePartitions", f"must be 'auto' or a positive integer, got {shuffle!r}")

    if p.items:
        raise InputError(BAD_SPEC, "the JobSpec is not valid:\n  " + "\n  ".join(p.items))
    return JobSpec(
        stage=stage, pipeline=pipeline, project=project, task=task,
        columns=Columns(keys, target, features, time_col if task == "forecast" else None),
        data=data, frequency=frequency if task == "forecast" else None, metrics=metrics,
        model=model, max_failed=max_failed,
        max_failed_fraction=float(max_frac) if max_frac is not None else None,
        scoring=scoring, workers=workers, spark_conf=dict(spark_conf), shuffle_partitions=shuffle, raw=raw,
    )


SQL_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SQL_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")
SQL_DATABASE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


def _check_sink(stype: str | None, s: dict, mode: str, p: _Problems) -> None:
    if stype == "sqlite":
        _get(s, "path", "scoring.sink", p, str)
        _get(s, "table", "scoring.sink", p, str)
    elif stype == "delta":
        path = _get(s, "path", "scoring.sink", p, str, required=False, nullable=True)
        table = _get(s, "tableName", "scoring.sink", p, str, required=False, nullable=True)
        if bool(path) == bool(table):
            p.add("scoring.sink", "a delta sink needs exactly one of path or tableName")
        if table and not SQL_TABLE_RE.match(table):
            p.add("scoring.sink.tableName", "must be [catalog.][schema.]table of letters, digits and '_'")
    elif stype == "synapse_sql":
        flavor = _get(s, "flavor", "scoring.sink", p, str)
        if flavor is not None and flavor not in ("databricks", "synapse"):
            p.add("scoring.sink.flavor", f"must be 'databricks' or 'synapse', got {flavor!r}")
        # Table and schema reach SQL text (preActions), so they are checked, never quoted.
        table = _get(s, "table", "scoring.sink", p, str)
        if table and not SQL_NAME_RE.match(table):
            p.add("scoring.sink.table", "must be a table name of letters, digits and '_'")
        schema = _get(s, "schema", "scoring.sink", p, str, required=False, nullable=True)
        if schema and not SQL_NAME_RE.match(schema):
            p.add("scoring.sink.schema", "must be a schema name of letters, digits and '_'")
        for k in ("userEnv", "passwordEnv", "server", "tempDir"):
            _get(s, k, "scoring.sink", p, str, required=False, nullable=True)
        if flavor == "databricks":
            url = _get(s, "url", "scoring.sink", p, str)
            if not s.get("tempDir"):
                p.add("scoring.sink.tempDir", "is required on Databricks (an abfss:// staging folder)")
            auth = _get(s, "auth", "scoring.sink", p, str, required=False, nullable=True)
            if auth is not None and auth not in ("managed_identity", "forward_storage_credentials"):
                p.add("scoring.sink.auth", "must be 'managed_identity' or 'forward_storage_credentials', "
                                           f"got {auth!r}")
            if isinstance(url, str) and re.search(r"(?i)password\s*=", url):
                p.add("scoring.sink.url", "must not carry a password; name an environment variable "
                                          "in scoring.sink.passwordEnv instead")
        if flavor == "synapse":
            database = _get(s, "database", "scoring.sink", p, str)
            if database and not SQL_DATABASE_RE.match(database):
                p.add("scoring.sink.database", "must be a database name of letters, digits, '_' and '-'")
            if mode == "replace_run":
                p.add("scoring.writeMode", "replace_run is not available with Synapse's synapsesql connector "
                                           "(it runs no delete); use append or overwrite")


def synapse_table(sink: dict) -> str:
    """The connector's table name: schema.table on Databricks, database.schema.table on Synapse."""
    schema = sink.get("schema") or "dbo"
    if sink.get("flavor") == "synapse":
        return f"{sink['database']}.{schema}.{sink['table']}"
    return f"{schema}.{sink['table']}"


def _valid_frequency(freq: str) -> bool:
    from pandas.tseries.frequencies import to_offset
    try:
        to_offset(freq)
        return True
    except ValueError:
        return False


def load_job_spec(path: str, expected_stage: str | None = None) -> JobSpec:
    try:
        with open(path, "r", encoding="utf-8") as fh:
            raw = json.load(fh)
    except FileNotFoundError:
        raise InputError(BAD_SPEC, f"JobSpec file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(BAD_SPEC, f"cannot read the JobSpec {path}: {e}") from None
    except json.JSONDecodeError as e:
        raise InputError(BAD_SPEC, f"the JobSpec {path} is not valid JSON: {e}") from None
    return parse_job_spec(raw, expected_stage)


def check_run_id(run_id: str) -> None:
    if not RUN_ID_RE.match(run_id or ""):
        raise InputError(BAD_SPEC, f"--run-id {run_id!r} must start with a letter or digit and hold only "
                                   "letters, digits, '.', '_', ':' and '-' (at most 128 characters)")


def resolve_path(path: str) -> str:
    """Relative paths in the JobSpec are relative to the project root (the working directory)."""
    return path if os.path.isabs(path) else os.path.abspath(path)

