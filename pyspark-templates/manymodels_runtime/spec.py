"""Loads and checks the JobSpec (docs/contracts.md) into typed, picklable objects.

The shape of a JobSpec (fields, types, ranges, names, what each sink type needs) is checked
against jobspec.schema.json, generated from src/contracts/job-spec-schema.ts (`npm run
generate`), the one definition the CLI's own tests check their JobSpecs against; the checks
across fields that need words of their own (a forecast needs a time column and a frequency,
one role per column, what a sink cannot do) are written out below. Fields a JobSpec leaves out
get the schema's `default`. Every problem is collected and reported at once as one MM414
error, so a user fixing a hand-edited spec sees the whole list rather than one problem per run.
"""
from __future__ import annotations

import json
import os
import pkgutil
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from . import schema_check
from .errors import BAD_SPEC, InputError

SPEC_VERSION = 1
TASKS = ("forecast", "regression", "classification")
# The parts a time may be built from (columns.timeParts), coarsest first.
TIME_PARTS = ("year", "month", "day", "hour", "minute")
DATA_FORMATS = ("csv", "parquet", "delta", "jdbc", "sql")
SINK_TYPES = ("sqlite", "csv", "parquet", "synapse_sql", "delta")
WRITE_MODES = ("replace_run", "append", "overwrite")

# get_data reads it from the package folder or from the runtime zip a remote run imports.
JOB_SPEC_SCHEMA: dict = json.loads(pkgutil.get_data(__package__, "jobspec.schema.json"))
_PROPS = JOB_SPEC_SCHEMA["properties"]
_MODEL_DEFAULTS = schema_check.defaults(_PROPS["model"])
_SCORING_DEFAULTS = schema_check.defaults(_PROPS["scoring"])
_EXECUTION_DEFAULTS = schema_check.defaults(_PROPS["execution"])

# Pipeline names end up in model names (the schema's pattern for `pipeline`).
PIPELINE_RE = re.compile(_PROPS["pipeline"]["pattern"])
# Run ids reach SQL predicates (Delta replaceWhere, Synapse preActions) as literals, so the
# alphabet is restricted instead of trying to quote for every SQL dialect.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Columns the runtime adds next to the user's columns (predictions table, Spark frames).
RESERVED_PREFIX = "__mm"
# A prediction is identified by (pipeline, keys, time, forecast_origin); see sinks/sqlite.py
# for how the current table keeps one per (pipeline, keys, time).
# `label` and `probabilities` are classification's (NULL otherwise): the predicted class as the
# data wrote it, and a JSON object {class: probability} (docs/contracts.md#predictions).
PREDICTION_COLUMNS = ("time", "forecast_origin", "row_index", "prediction", "label", "probabilities",
                      "model_version", "model_name", "pipeline", "run_id", "scored_at")
# After those, the predictions of a model.type auto pipeline: the type that predicted and
# whether it is the group's fallback (docs/contracts.md#predictions).
SELECTION_COLUMNS = ("model_type", "fallback")


@dataclass(frozen=True)
class Columns:
    keys: tuple[str, ...]
    target: str
    features: tuple[str, ...]
    time: str | None
    # The time composed from integer columns: ((part, column), …) in TIME_PARTS order, the
    # parts given only; () when the data has a time column.
    time_parts: tuple[tuple[str, str], ...] = ()

    def data_columns(self) -> list[str]:
        """The keys, the time's column(s) and the features: what the input must have."""
        time = [c for _, c in self.time_parts] if self.time_parts else ([self.time] if self.time else [])
        return list(self.keys) + time + list(self.features)


@dataclass(frozen=True)
class DataSource:
    format: str
    path: str | None
    options: dict
    jdbc: dict | None
    table: str | None
    sql: dict | None = None      # format sql: {url, table, query, partition, userEnv, passwordEnv, secretScope, userKey, passwordKey}


AUTO = "auto"   # model.type of a per-group selection among model.selection's candidates


@dataclass(frozen=True)
class ModelChoice:
    """A built-in model type and its params: a candidate or the fallback of a selection."""
    type: str
    params: dict


@dataclass(frozen=True)
class Selection:
    """model.type auto: each candidate is fitted and evaluated on the group's holdout, the best
    by `select_by` kept; `fallback` is fitted when none of them can be (docs/models.md#auto)."""
    candidates: tuple[ModelChoice, ...]
    select_by: str
    fallback: ModelChoice | None


@dataclass(frozen=True)
class ModelSpec:
    type: str
    params: dict
    custom: dict | None
    holdout_periods: int | None
    holdout_fraction: float | None
    min_train_rows: int
    refit: bool
    # A forecast's holdout as every period at or after this time (a date, or a period
    # number when timeKind is period), as written; None: `holdout_periods` back from the end.
    holdout_from: str | None = None
    # What a series that ended before the holdout gets: "skip" or "forecast_from_origin".
    stale: str = "skip"
    selection: Selection | None = None


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
    frequency: str | None          # "D" on the synthetic calendar when time_kind is "period"
    time_kind: str                 # "date" or "period" (integer period numbers, periods.py)
    season_length: int | None      # time.season_length of a period axis
    metrics: tuple[str, ...]
    model: ModelSpec
    max_failed: int | None
    max_failed_fraction: float | None
    scoring: Scoring
    workers: int
    spark_conf: dict
    shuffle_partitions: int | str
    raw: dict = field(repr=False, compare=False)
    # execution.partition: manymodels plan's bucket plan for a Spark training job (partition_plan.py).
    partition: dict | None = None


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: str, msg: str) -> None:
        self.items.append(f"{path}: {msg}")


def _obj(d: Any, key: str) -> dict:
    """d[key] when it is an object, else {} (the schema reported anything else)."""
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, dict) else {}


def _str(d: dict, key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _strs(d: dict, key: str) -> list[str]:
    v = d.get(key)
    return [c for c in v if isinstance(c, str)] if isinstance(v, list) else []


def _or_default(d: dict, key: str, defaults: dict) -> Any:
    v = d.get(key)
    return defaults[key] if v is None else v


def parse_job_spec(raw: Any, expected_stage: str | None = None) -> JobSpec:
    """Checks a decoded JobSpec; raises InputError(MM414) listing every problem."""
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
    p = _Problems()
    for path, msg in schema_check.errors(raw, JOB_SPEC_SCHEMA):
        p.add(path, msg)
    _check_across_fields(raw, expected_stage, p)
    if p.items:
        raise InputError(BAD_SPEC, "the JobSpec is not valid:\n  " + "\n  ".join(p.items))
    return _build(raw)


def _check_across_fields(raw: dict, expected_stage: str | None, p: _Problems) -> None:
    """The rules that relate fields to each other; written defensively, as they also run on
    specs the schema refused."""
    stage = _str(raw, "stage")
    if expected_stage and stage and stage != expected_stage:
        p.add("stage", f"is {stage!r} but this entry script runs the {expected_stage!r} stage")
    task = _str(raw, "task")
    cols = _obj(raw, "columns")
    keys, features = _strs(cols, "keys"), _strs(cols, "features")
    target, time_col = _str(cols, "target"), _str(cols, "time")
    frequency = _str(raw, "frequency")
    period = raw.get("timeKind") == "period"
    if period and frequency:
        p.add("frequency", "must be null when timeKind is period (one period is one step)")
    if raw.get("seasonLength") is not None and not period:
        p.add("seasonLength", "is for timeKind period only; a date axis takes its season from the frequency")
    if task == "forecast":
        if not time_col:
            p.add("columns.time", "is required for a forecast")
        if period:
            pass
        elif not frequency:
            p.add("frequency", "is required for a forecast (a pandas offset alias such as D, W, MS)")
        elif not _valid_frequency(frequency):
            p.add("frequency", f"{frequency!r} is not a pandas offset alias (D, H, W, MS, …)")
    _check_selection(_obj(raw, "model"), raw.get("metrics"), p)
    hold_from = _obj(_obj(raw, "model"), "holdout").get("from")
    if task == "forecast" and hold_from is not None:
        problem = holdout_from_problem(str(hold_from), period)
        if problem:
            p.add("model.holdout.from", problem)
    parts = cols.get("timeParts")
    part_cols = [v for v in (_obj(cols, "timeParts").values()) if isinstance(v, str)] if parts else []
    if parts and period:
        p.add("columns.timeParts", "builds dates: it cannot be used with timeKind period")
    named = list(dict.fromkeys(keys)) + list(dict.fromkeys(features)) + ([target] if target else []) \
        + ([time_col] if time_col else []) + part_cols
    dupes = sorted({c for c in named if named.count(c) > 1})
    if dupes:
        p.add("columns", f"each column may have one role only; used twice: {', '.join(dupes)}")
    for c in named:
        if c.startswith(RESERVED_PREFIX):
            p.add("columns", f"column names starting with '{RESERVED_PREFIX}' are reserved: {c!r}")
    clash = sorted(set(keys) & (set(PREDICTION_COLUMNS) | (set(SELECTION_COLUMNS) if
                                                           _obj(raw, "model").get("type") == AUTO else set())))
    if clash:
        p.add("columns.keys", f"key column names clash with prediction columns: {', '.join(clash)}; "
                              "rename them in the data")

    data = _obj(raw, "data")
    fmt = _str(data, "format")
    if fmt == "jdbc" and data.get("jdbc") is None:
        p.add("data.jdbc", "is required for format jdbc ({url, table, userEnv, passwordEnv})")
    elif fmt == "sql" and (not isinstance(data.get("sql"), dict)
                           or (data["sql"].get("table") is None) == (data["sql"].get("query") is None)):
        p.add("data.sql", "is required for format sql, with exactly one of table and query")
    elif fmt in ("csv", "parquet") and not data.get("path"):
        p.add("data.path", f"is required for format {fmt}")
    elif fmt == "delta" and not data.get("path") and not data.get("table"):
        p.add("data.path", "a delta input needs data.path or data.table")

    scoring = _obj(raw, "scoring")
    if stage == "score" and task == "forecast" and isinstance(raw.get("scoring"), dict) \
            and scoring.get("horizon") is None:
        p.add("scoring.horizon", "is required to score a forecast")
    _check_sink(_obj(scoring, "sink"), _or_default(scoring, "writeMode", _SCORING_DEFAULTS), p)


def _check_selection(m: dict, metrics: Any, p: _Problems) -> None:
    """model.type auto goes with model.selection and nothing else does; what each candidate's
    type may be is checked with the model zoo at the start of a run (stage_common)."""
    sel = m.get("selection")
    auto = m.get("type") == AUTO
    if auto and not isinstance(sel, dict):
        p.add("model.selection", "is required for model type auto (candidates, selectBy)")
        return
    if not auto:
        if sel is not None:
            p.add("model.selection", "is only for model type auto")
        return
    types = [c.get("type") for c in sel.get("candidates") or [] if isinstance(c, dict)]
    dupes = sorted({t for t in types if isinstance(t, str) and types.count(t) > 1})
    if dupes:
        p.add("model.selection.candidates", f"each model type may be a candidate once; twice: {', '.join(dupes)}")
    for i, t in enumerate(types + [(sel.get("fallback") or {}).get("type")]):
        if t in (AUTO, "custom"):
            where = "fallback" if i == len(types) else f"candidates[{i}]"
            p.add(f"model.selection.{where}.type", f"{t!r} cannot be selected per group; use a built-in model type")
    if m.get("params"):
        p.add("model.params", "is empty for model type auto: each candidate carries its own params")
    by = sel.get("selectBy")
    if isinstance(by, str) and isinstance(metrics, list) and by not in metrics:
        p.add("model.selection.selectBy", f"{by!r} is not one of the run's metrics ({', '.join(map(str, metrics))})")


def _choice(raw: dict | None) -> ModelChoice | None:
    return ModelChoice(str(raw["type"]), dict(raw.get("params") or {})) if raw else None


def _build(raw: dict) -> JobSpec:
    """The typed JobSpec of a spec that passed every check."""
    task = raw["task"]
    forecast = task == "forecast"
    cols = raw["columns"]
    data = raw["data"]
    m = raw["model"]
    hold = m.get("holdout") or {}
    fraction = hold.get("fraction")
    period = raw.get("timeKind") == "period"
    model = ModelSpec(
        m["type"], dict(m.get("params") or {}), dict(m["custom"]) if m.get("custom") else None,
        hold.get("periods"), float(fraction) if fraction is not None else None,
        int(_or_default(m, "minTrainRows", _MODEL_DEFAULTS)), bool(_or_default(m, "refit", _MODEL_DEFAULTS)),
        holdout_from=str(hold["from"]) if forecast and hold.get("from") is not None else None,
        stale=_or_default(m, "stale", _MODEL_DEFAULTS),
        selection=Selection(tuple(_choice(c) for c in m["selection"]["candidates"]), m["selection"]["selectBy"],
                            _choice(m["selection"].get("fallback")))
        if m["type"] == AUTO else None,
    )
    budget = raw.get("failureBudget") or {}
    max_frac = budget.get("maxFailedFraction")
    scoring_raw = raw.get("scoring") or {}
    sink_raw = scoring_raw.get("sink")
    scoring = Scoring(scoring_raw.get("horizon"), Sink(sink_raw["type"], dict(sink_raw)) if sink_raw else None,
                      _or_default(scoring_raw, "writeMode", _SCORING_DEFAULTS))
    execution = raw.get("execution") or {}
    return JobSpec(
        stage=raw["stage"], pipeline=raw["pipeline"], project=raw.get("project"), task=task,
        columns=Columns(tuple(cols["keys"]), cols["target"], tuple(cols.get("features") or ()),
                        cols.get("time") if forecast else None,
                        tuple((part, cols["timeParts"][part]) for part in TIME_PARTS
                              if cols["timeParts"].get(part)) if forecast and cols.get("timeParts") else ()),
        data=DataSource(data["format"], data.get("path"), dict(data.get("options") or {}), data.get("jdbc"),
                        data.get("table"), data.get("sql")),
        frequency=("D" if period else _frequency(raw)) if forecast else None,
        time_kind="period" if period else "date", season_length=raw.get("seasonLength") if period else None,
        metrics=tuple(raw.get("metrics") or ()),
        model=model, max_failed=budget.get("maxFailed"),
        max_failed_fraction=float(max_frac) if max_frac is not None else None,
        scoring=scoring, workers=_or_default(execution, "workers", _EXECUTION_DEFAULTS),
        spark_conf=dict(execution.get("sparkConf") or {}),
        shuffle_partitions=_or_default(execution, "shufflePartitions", _EXECUTION_DEFAULTS), raw=raw,
        partition=execution.get("partition") or None,
    )


def _check_sink(s: dict, mode: Any, p: _Problems) -> None:
    """What the schema cannot say about a sink (its fields' types and names it checks)."""
    stype = s.get("type")
    if stype == "delta" and bool(s.get("path")) == bool(s.get("tableName")):
        p.add("scoring.sink", "a delta sink needs exactly one of path or tableName")
    if stype != "synapse_sql":
        return
    flavor = s.get("flavor")
    if flavor == "databricks":
        if not s.get("tempDir"):
            p.add("scoring.sink.tempDir", "is required on Databricks (an abfss:// staging folder)")
        url = s.get("url")
        if isinstance(url, str) and re.search(r"(?i)password\s*=", url):
            p.add("scoring.sink.url", "must not carry a password; name an environment variable "
                                      "in scoring.sink.passwordEnv instead")
    if flavor == "synapse" and mode == "replace_run":
        p.add("scoring.writeMode", "replace_run is not available with Synapse's synapsesql connector "
                                   "(it runs no delete); use append or overwrite")


# Names that reach SQL text (preActions, replaceWhere) are checked, never quoted: the
# schema's patterns for them.
_SINK = _PROPS["scoring"]["properties"]["sink"]
SQL_NAME_RE = re.compile(_SINK["properties"]["schema"]["pattern"])
SQL_TABLE_RE = re.compile(_SINK["properties"]["tableName"]["pattern"])
SQL_DATABASE_RE = re.compile(next(b["then"]["properties"]["database"]["pattern"] for b in _SINK["allOf"]
                                  if "database" in b["then"].get("properties", {})))


def synapse_table(sink: dict) -> str:
    """The connector's table name: schema.table on Databricks, database.schema.table on Synapse."""
    schema = sink.get("schema") or "dbo"
    if sink.get("flavor") == "synapse":
        return f"{sink['database']}.{schema}.{sink['table']}"
    return f"{schema}.{sink['table']}"


def _frequency(raw: dict) -> str | None:
    """The spec's frequency in the installed pandas' spelling (ME on 2.2 is M on 1.5; frequency.py)."""
    from .frequency import normalize_frequency
    return normalize_frequency(raw["frequency"]) if raw.get("frequency") else None


def holdout_from_ns(value: str, period: bool) -> int:
    """model.holdout.from as internal int64 ns (periods.py for a period axis); ValueError
    when it does not parse."""
    from .input_data.columns import parse_time_values
    try:
        return int(parse_time_values([value.strip()], "model.holdout.from", "period" if period else "date")[0])
    except InputError as e:
        raise ValueError(e.message) from None


def holdout_from_problem(value: str, period: bool) -> str | None:
    try:
        holdout_from_ns(value, period)
        return None
    except ValueError:
        return (f"{value!r} is not a whole period number" if period
                else f"{value!r} is not a date (write it as ISO 8601: 2024-01-31)")


def _valid_frequency(freq: str) -> bool:
    from .frequency import to_offset
    try:
        to_offset(freq)
        return True
    except ValueError:
        return False


def load_job_spec(path: str, expected_stage: str | None = None) -> JobSpec:
    """`path` "-" reads the spec from stdin: the local engine sends it so, secrets and all,
    while the copy it keeps in the run folder is redacted (docs/reliability.md, Secrets)."""
    try:
        if path == "-":
            raw = json.loads(sys.stdin.buffer.read().decode("utf-8"))
        else:
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

