"""SparkExecutor: the same per-group functions under `df.groupBy(keys).applyInPandas(fn, schema)`
on Databricks, Synapse, or a local pyspark.

The group functions write artifacts straight into the run directory, so on a cluster RUN_DIR
must be a path every executor can write and the driver can read: `/dbfs/...` on Databricks,
a mounted lake path (e.g. `/synfs/...`) on Synapse. The driver collects one small result
row per group (train) or one status row per group next to the prediction rows (score) and
writes the same run manifest as the local executor. The runtime package is zipped and
shipped with addPyFile, because the group functions are unpickled on executors by reference
to this package.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile

import numpy as np
import pandas as pd

from .errors import (BAD_SINK, EMPTY_INPUT, MISSING_COLUMNS, TIME_PARTS_NOT_INTEGERS, UNSUPPORTED_INPUT, WRONG_COLUMN_TYPE,
                     InputError)
from .events import EventWriter, log, utc_now_iso
from .executor import StageRun
from .identity import identity
from .input_data import data_fingerprint, parse_time_values
from .input_data.columns import BOOLEAN_WORDS
from .input_data.csv_reader import NA_STRINGS
from .manifest import MANIFEST_NAME, build_manifest, merge_previous, write_json_atomic
from .paths import local_path, spark_path
from .scoring import ROW_COLUMN, ScoreContext, ScoreResult, iso_times_and_origin, new_score_row, score_columns
from .sinks import Sink, sink_for
from .spec import JobSpec, resolve_path
from .timeparts import compose
from .stage_common import check_model_type, finish, load_model_manifest
from .training import TrainContext, check_holdout_from, data_end, fail, new_row, train_columns

KIND, STATUS, STUB = "__mm_kind", "__mm_status", "__mm_stub"
TRAIN_FIELDS = (("groupId", "string"), ("modelName", "string"), ("status", "string"), ("reason", "string"),
                ("errorClass", "string"), ("errorMessage", "string"), ("trainRows", "long"),
                ("testRows", "long"), ("droppedRows", "long"), ("metrics", "string"),
                ("artifact", "string"), ("sha256", "string"), ("fitSeconds", "double"),
                # model.type auto: the chosen type and the selection record (JSON); null otherwise.
                ("modelType", "string"), ("selection", "string"))
JSON_FIELDS = ("metrics", "selection")
OPTIONAL_FIELDS = ("modelType", "selection")   # left off a row that has no value
SCORE_FIELDS = (("time", "string"), ("forecast_origin", "string"), ("row_index", "long"), ("prediction", "double"),
                ("label", "string"), ("probabilities", "string"), ("model_version", "string"), ("model_name", "string"), ("pipeline", "string"), ("run_id", "string"),
                ("scored_at", "string"), (KIND, "string"), (STATUS, "string"))
SELECTION_FIELDS = (("model_type", "string"), ("fallback", "boolean"))   # model.type auto (spec.SELECTION_COLUMNS)


def score_fields(selection: bool) -> tuple:
    return SCORE_FIELDS + (SELECTION_FIELDS if selection else ())


def _c(name: str):
    """A column by its exact name: backticks stop Spark reading '.' as struct access."""
    from pyspark.sql import functions as F
    return F.col("`" + name.replace("`", "``") + "`")


def _schema(key_columns, fields):
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType
    from pyspark.sql.types import BooleanType
    types = {"string": StringType, "long": LongType, "double": DoubleType, "boolean": BooleanType}
    return StructType([StructField(k, StringType(), True) for k in key_columns] +
                      [StructField(n, types[t](), True) for n, t in fields])


def _key_str(v) -> str:
    # Spark reads an empty CSV field as null; the contract's identity of an empty field is "".
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


_PINNED = [False]


def _pin_once() -> None:
    if not _PINNED[0]:
        from .worker_pool import pin_native_threads
        pin_native_threads()
        _PINNED[0] = True


def _times(series: pd.Series, column: str, kind: str = "date") -> np.ndarray:
    """A group's time column (strings, dates or timestamps) as int64 ns, NaT as int64 min."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype) and kind != "period":
        s = series
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.to_numpy(dtype="datetime64[ns]").view(np.int64)
    cat = series.astype(object).where(series.notna(), None).astype("category")
    lut = np.append(parse_time_values([str(v) for v in cat.cat.categories], column, kind), np.iinfo(np.int64).min)
    return lut[cat.cat.codes.to_numpy()]


def _group_columns(pdf: pd.DataFrame, time_col, features, target, classes, row_col: bool,
                   time_kind: str = "date", time_parts: tuple = (), categories: tuple = ()) -> dict:
    """A Spark group (time as read, keys as strings) as the numpy columns the shared
    per-group functions take. `time_parts`: the time is composed from those (double) columns
    by the function every reader uses (timeparts.compose), checked on the driver already.
    `categories`: the category features (strings, null where missing), which become pandas
    Categoricals as on the local executor; every other feature is a double."""
    cols = {}
    if time_col and time_parts:
        values = {p: pdf[c].to_numpy(dtype=np.float64, na_value=np.nan) for p, c in time_parts}
        cols[time_col] = compose(values, dict(time_parts)).view("datetime64[ns]")
    elif time_col:
        cols[time_col] = _times(pdf[time_col], time_col, time_kind).view("datetime64[ns]")
    for f in features:
        if f in categories:
            s = pdf[f].astype(object)
            cols[f] = pd.Categorical(s.where(s.notna(), None))
        else:
            cols[f] = pdf[f].to_numpy(dtype=np.float64, na_value=np.nan)
    if target:
        if classes is not None:
            lut = {c: float(i) for i, c in enumerate(classes)}
            cols[target] = np.array([lut.get(v, np.nan) if v is not None else np.nan for v in pdf[target]],
                                    dtype=np.float64)
        else:
            cols[target] = pdf[target].to_numpy(dtype=np.float64, na_value=np.nan)
    if row_col:
        cols[ROW_COLUMN] = pdf[ROW_COLUMN].to_numpy(dtype=np.int64)
    return cols


def _out_frame(rows: list[dict], columns: list[str], ints: tuple, floats: tuple) -> pd.DataFrame:
    """Rows → a frame whose dtypes match the declared schema (object for strings, int64 /
    float64; a nullable long is float64 with NaN, which Arrow turns into null)."""
    data = {}
    for c in columns:
        vals = [r.get(c) for r in rows]
        if c in ints:
            if any(v is None for v in vals):
                data[c] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
            else:
                data[c] = np.array(vals, dtype=np.int64)
        elif c in floats:
            data[c] = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
        else:
            data[c] = pd.Series(vals, dtype=object)
    return pd.DataFrame(data, columns=columns)


SPARK_PROGRESS_INTERVAL_S = 2.0  # a remote CLI polls the events file about this often


class GroupCounter:
    """Counts finished groups by status in Spark accumulators. Executors add; Spark merges each
    task's counts into the driver's as the task ends, so a driver thread can report progress
    while the groups run (the results themselves only arrive with collect()). Without a
    SparkContext (Spark Connect) it counts nothing and no progress is reported mid-run."""

    def __init__(self, spark=None):
        sc = _spark_context(spark) if spark is not None else None
        self.acc = {s: sc.accumulator(0) for s in ("ok", "failed", "skipped")} if sc is not None else None

    def add(self, status: str) -> None:
        if self.acc is not None and status in self.acc:
            self.acc[status].add(1)

    def counts(self) -> dict | None:
        return None if self.acc is None else {s: int(a.value) for s, a in self.acc.items()}


class _ProgressReporter:
    """While the groups run: a progress event every few seconds from the GroupCounter (a retried
    task may count a group twice, so done is capped at total; the exact counts follow from
    the results)."""

    def __init__(self, events: EventWriter, counter: GroupCounter, total: int,
                 interval: float = SPARK_PROGRESS_INTERVAL_S):
        import threading
        self.events, self.counter, self.total, self.interval = events, counter, total, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="manymodels-progress", daemon=True)
        self._last = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            counts = self.counter.counts()
            if counts is None or counts == self._last:
                continue
            self._last = counts
            done = counts["ok"] + counts["failed"] + counts["skipped"]
            if done < self.total:
                self.events.progress(counts, self.total, force=True)

    def __enter__(self):
        if self.counter.acc is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        # Stopped before the driver writes events again: the writer is not shared across threads.
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class SparkTrainFn:
    """applyInPandas function for training; a plain picklable object (no closure)."""

    def __init__(self, ctx: TrainContext, key_columns: list[str], only: set[str] | None,
                 counter: GroupCounter | None = None, skip: set[str] | None = None, time_parts: tuple = (),
                 categories: tuple = ()):
        self.ctx = ctx
        self.categories = tuple(categories)
        self.key_columns = list(key_columns)
        self.only = set(only) if only is not None else None
        self.skip = set(skip) if skip else set()
        self.columns = self.key_columns + [n for n, _ in TRAIN_FIELDS]
        self.counter = counter or GroupCounter()
        self.time_parts = tuple(time_parts)

    def __call__(self, pdf: pd.DataFrame) -> pd.DataFrame:
        _pin_once()
        keys = {k: _key_str(pdf[k].iloc[0]) for k in self.key_columns}
        gid, name = identity(self.ctx.pipeline, self.key_columns, list(keys.values()))
        if (self.only is not None and gid not in self.only) or gid in self.skip:
            return _out_frame([], self.columns, (), ())
        try:
            cols = _group_columns(pdf, self.ctx.time, self.ctx.features, self.ctx.target,
                                  self.ctx.target_classes, False, self.ctx.time_kind, self.time_parts,
                                  self.categories)
            row = train_columns(cols, keys, gid, name, self.ctx)
        except Exception as exc:  # e.g. an unparseable time string in this group
            row = fail(new_row(keys, gid, name), type(exc).__name__, str(exc))
        self.counter.add(row["status"])
        flat = dict(row)
        flat.update(keys)
        flat["metrics"] = json.dumps(row["metrics"], allow_nan=False)
        if row.get("selection") is not None:
            flat["selection"] = json.dumps(row["selection"], allow_nan=False)
        return _out_frame([flat], self.columns, ("trainRows", "testRows", "droppedRows"), ("fitSeconds",))


class SparkScoreFn:
    def __init__(self, ctx: ScoreContext, key_columns: list[str], entries, run_id: str, scored_at: str,
                 only: set[str] | None, counter: GroupCounter | None = None, time_parts: tuple = (),
                 categories: tuple = ()):
        self.counter = counter or GroupCounter()
        self.categories = tuple(categories)
        self.time_parts = tuple(time_parts)
        self.ctx = ctx
        self.key_columns = list(key_columns)
        self.entries = entries            # a Spark broadcast of {groupId: entry}
        self.run_id = run_id
        self.scored_at = scored_at
        self.only = set(only) if only is not None else None
        self.columns = self.key_columns + [n for n, _ in score_fields(ctx.selection)]

    def __call__(self, pdf: pd.DataFrame) -> pd.DataFrame:
        _pin_once()
        keys = {k: _key_str(pdf[k].iloc[0]) for k in self.key_columns}
        gid, name = identity(self.ctx.pipeline, self.key_columns, list(keys.values()))
        if self.only is not None and gid not in self.only:
            return _out_frame([], self.columns, ("row_index",), ("prediction",))
        entry = self.entries.value.get(gid)
        data = pdf[~pdf[STUB].fillna(False).astype(bool)] if STUB in pdf.columns else pdf
        if entry is None and not len(data):
            return _out_frame([], self.columns, ("row_index",), ("prediction",))
        try:
            cols = _group_columns(data, self.ctx.time, self.ctx.features, None, None,
                                  self.ctx.task != "forecast", self.ctx.time_kind, self.time_parts,
                                  self.categories)
            res = score_columns(cols, len(data), keys, gid, name, entry, self.ctx)
        except Exception as exc:
            res = ScoreResult(fail(new_score_row(keys, gid, name, entry), type(exc).__name__, str(exc)),
                              None, None, None)
        rows = []
        if res.predictions is not None:
            n = len(res.predictions)
            times, origins = iso_times_and_origin(res, n)
            rowidx = res.row_index.tolist() if res.row_index is not None else [None] * n
            labels = res.labels if res.labels is not None else [None] * n
            for t, o, r, p, lab, pr in zip(times, origins, rowidx, res.prediction_values(), labels,
                                           res.probabilities_json()):
                rows.append({**keys, "time": t, "forecast_origin": o, "row_index": r, "prediction": p,
                             "label": lab, "probabilities": pr,
                             "model_version": res.row["modelVersion"], "model_name": res.row["modelName"],
                             "pipeline": self.ctx.pipeline, "run_id": self.run_id, "scored_at": self.scored_at,
                             "model_type": res.row.get("modelType"), "fallback": res.row.get("fallback"),
                             KIND: "prediction"})
        rows.append({**keys, KIND: "status", STATUS: json.dumps(res.row, allow_nan=False)})
        self.counter.add(res.row["status"])
        return _out_frame(rows, self.columns, ("row_index",), ("prediction",))


# --------------------------------------------------------------------------- driver side


def _session(spec: JobSpec, stage: str):
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(UNSUPPORTED_INPUT, "--executor spark needs pyspark, which this Python does not have; "
                                            "run on a Databricks or Synapse target, or use the local executor") from None
    builder = SparkSession.builder.appName(f"manymodels-{spec.pipeline}-{stage}")
    for k, v in sorted(spec.spark_conf.items()):
        builder = builder.config(str(k), str(v))
    return builder.getOrCreate()


def _spark_context(spark):
    """The SparkContext, or None under Spark Connect (Databricks serverless), which has none."""
    try:
        return spark.sparkContext
    except Exception:  # pyspark raises its own not-supported error for Spark Connect
        return None


class _LocalBroadcast:
    """Stands in for a broadcast where there is no SparkContext: the value travels inside the
    pickled group function instead."""

    def __init__(self, value):
        self.value = value


def _broadcast(spark, value):
    sc = _spark_context(spark)
    return sc.broadcast(value) if sc is not None else _LocalBroadcast(value)


def _default_parallelism(spark) -> int:
    sc = _spark_context(spark)
    if sc is not None:
        return int(sc.defaultParallelism)
    return int(spark.conf.get("spark.sql.shuffle.partitions", "200"))


def _loaded_from_zip() -> str | None:
    """The zip this package was imported from (a remote run's --runtime-zip), if it was."""
    loader = globals().get("__loader__")
    archive = getattr(loader, "archive", None)
    return archive if archive and os.path.isfile(archive) else None


def _add_py_file(spark, path: str) -> None:
    sc = _spark_context(spark)
    if sc is not None:
        sc.addPyFile(path)
    else:
        spark.addArtifacts(path, pyfile=True)


def _ship_package(spark) -> str:
    """Adds this package to the executors' Python path: the zip it came from, or a fresh zip
    of its folder."""
    tmp = tempfile.mkdtemp(prefix="manymodels-pkg-")
    archive = _loaded_from_zip()
    if archive:
        _add_py_file(spark, archive)
        return tmp
    pkg = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(tmp, "manymodels_runtime.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(pkg):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for f in files:
                if f.endswith(".py"):
                    full = os.path.join(root, f)
                    zf.write(full, os.path.join("manymodels_runtime", os.path.relpath(full, pkg)))
    _add_py_file(spark, path)
    return tmp



def glob_base_path(path: str) -> str | None:
    """The folder before a glob's first wildcard segment, or None for a path without one. Spark
    discovers Hive partition folders (store_id=3/) below a folder it is given by itself, but of
    a glob (data/lake/*/*.parquet) only with this folder as the `basePath` option."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return "." if i == 0 else "/".join(parts[:i]) or "/"
    return None


def read_spark_input(spark, spec: JobSpec):
    d = spec.data
    base = glob_base_path(d.path) if d.format in ("csv", "parquet") and d.path else None
    if d.format == "csv":
        reader = spark.read.format("csv").option("header", "true").option("inferSchema", "false")
        if base is not None:
            reader = reader.option("basePath", spark_path(base))
        for k, v in sorted(d.options.items()):
            # nullValue is applied by prepare_spark_input, to every column but the keys, as the
            # local reader applies it: Spark's reader would null a key equal to it too.
            if str(k).lower() != "nullvalue":
                reader = reader.option(str(k), str(v))
        return reader.load(spark_path(d.path))
    if d.format == "parquet":
        reader = spark.read.format("parquet")
        if base is not None:
            reader = reader.option("basePath", spark_path(base))
        return reader.load(spark_path(d.path))
    if d.format == "delta":
        return spark.read.table(d.table) if d.table else spark.read.format("delta").load(spark_path(d.path))
    if d.format == "jdbc":
        j = d.jdbc
        reader = spark.read.format("jdbc").option("url", j["url"]).option("dbtable", j["table"])
        for opt, env in (("user", j.get("userEnv")), ("password", j.get("passwordEnv"))):
            if env:
                if env not in os.environ:
                    raise InputError(UNSUPPORTED_INPUT, f"data.jdbc.{opt}Env names the environment variable {env}, "
                                                        "which is not set")
                reader = reader.option(opt, os.environ[env])
        return reader.load()
    if d.format == "sql":
        from .sql_source import read_spark
        return read_spark(spark, d.sql)
    raise InputError(UNSUPPORTED_INPUT, f"unsupported data.format {d.format!r}")


def missing_strings(spec: JobSpec) -> tuple:
    """What the local reader reads as missing in every column but the keys: csv_reader.NA_STRINGS
    and, for a CSV source, data.options.nullValue (any case of the option's name)."""
    extra = [str(v) for k, v in spec.data.options.items() if str(k).lower() == "nullvalue"] \
        if spec.data.format == "csv" else []
    return tuple(dict.fromkeys([*NA_STRINGS, *extra]))


def _text(c, na=tuple(NA_STRINGS)):
    """The column as Spark strings, null where it holds one of the missing-value strings the
    local reader reads as missing (missing_strings)."""
    from pyspark.sql import functions as F
    s = _c(c).cast("string")
    return F.when(s.isin(*na), F.lit(None)).otherwise(s)


def _not_double(c, na=tuple(NA_STRINGS)):
    """A value that is present (not null, not a missing-value string) but no number."""
    s = _c(c).cast("string")
    return s.isNotNull() & ~s.isin(*na) & _c(c).cast("double").isNull()


def feature_kinds(df, features, na=tuple(NA_STRINGS)) -> dict:
    """{feature: "number" | "boolean" | "category"} over the whole input, as the local reader
    decides (input_data.columns.finalize): a number when every present value is one; a boolean
    when every present value is true or false in any case; else a category (text)."""
    kinds = {}
    for f in features:
        if not df.filter(_not_double(f, na)).limit(1).collect():
            kinds[f] = "number"
            continue
        values = [r[0] for r in df.select(_text(f, na).alias(f)).distinct().collect() if r[0] is not None]
        kinds[f] = "boolean" if all(str(v).lower() in BOOLEAN_WORDS for v in values) else "category"
    return kinds


def _boolean(c, na=tuple(NA_STRINGS)):
    """true/false in any case → 1.0/0.0 (a double), null otherwise (missing)."""
    from pyspark.sql import functions as F
    low = F.lower(_text(c, na))
    return F.when(low == "true", F.lit(1.0)).when(low == "false", F.lit(0.0))


def prepare_spark_input(df, spec: JobSpec, need_target: bool):
    """Checks columns (MM411), the target's numeric type (MM412) and emptiness (MM413); returns
    the projected frame (keys as strings, number and boolean features as doubles, category
    features as strings with null for missing, target as double or label string, time as
    read), the classification labels when the target is not numeric, and the category
    features (feature_kinds)."""
    cols = spec.columns
    have = list(df.columns)
    wanted = cols.data_columns()
    missing = [c for c in wanted if c not in have]
    target = cols.target if cols.target in have else None
    if need_target and target is None:
        missing.append(cols.target)
    if missing:
        raise InputError(MISSING_COLUMNS, f"columns named in the pipeline are missing from the input: "
                                          f"{', '.join(missing)}. The input has: {', '.join(have)}")
    labels = spec.task == "classification"
    na = missing_strings(spec)
    if target and not labels:
        sample = df.filter(_not_double(target, na)).select(_c(target)).limit(5).collect()
        if sample:
            vals = [r[0] for r in sample]
            raise InputError(WRONG_COLUMN_TYPE, f"target column '{target}' has non-numeric values, e.g. "
                                                f"{', '.join(repr(v) for v in vals[:3])}. The target must be "
                                                "numbers (text labels are for task: classification); a feature "
                                                "may be numbers, true/false, or text (a category)")
    kinds = feature_kinds(df, cols.features, na)
    if cols.time_parts:
        _part_times(df, spec, na)  # MM465 / MM466 before any group runs
    classes = None
    if target and labels:
        values = [r[0] for r in df.select(_text(target, na).alias(target)).distinct().collect() if r[0] is not None]
        if any(_not_number(v) for v in values):
            classes = sorted(str(v) for v in values)
    sel = [_c(k).cast("string").alias(k) for k in cols.keys]
    extra = [v for v in na if v not in NA_STRINGS]  # nullValue: turned into null here, not by Spark's reader
    if cols.time_parts:
        sel += [_c(c).cast("double").alias(c) for _, c in cols.time_parts]
    elif cols.time:
        sel.append(_text(cols.time, extra).alias(cols.time) if extra else _c(cols.time))
    for f in cols.features:
        kind = kinds[f]
        sel.append((_c(f).cast("double") if kind == "number" else _boolean(f, na) if kind == "boolean"
                    else _text(f, na)).alias(f))
    if target:
        sel.append((_text(target, na) if classes is not None else _c(target).cast("double")).alias(target))
    out = df.select(*sel)
    if not out.limit(1).collect():
        raise InputError(EMPTY_INPUT, "the input has no rows")
    return out, classes, tuple(f for f in cols.features if kinds[f] == "category")


def _part_times(df, spec: JobSpec, na=tuple(NA_STRINGS)) -> np.ndarray:
    """The distinct times time.parts make, composed on the driver from the distinct part
    tuples (few next to the rows) by timeparts.compose: MM465 for a part value that is not a
    whole number, MM466 for a tuple that is no date."""
    parts = spec.columns.time_parts
    rows = df.select(*[_c(c).cast("string").alias(c) for _, c in parts]).distinct().collect()
    values = {}
    for i, (part, c) in enumerate(parts):
        texts = [r[i] for r in rows]
        texts = [None if v in na else v for v in texts]
        text = [v for v in texts if v is not None and _not_number(v)]
        if text:
            raise InputError(TIME_PARTS_NOT_INTEGERS,
                             f"time part {part} (column '{c}') has values that are not whole numbers, e.g. "
                             f"{', '.join(repr(v) for v in sorted(set(text))[:3])}; time.parts columns hold "
                             "integers (year 2013, month 3, day 1, hour 0)")
        values[part] = np.array([np.nan if v is None else float(v) for v in texts], dtype=np.float64)
    if not rows:
        return np.empty(0, dtype=np.int64)
    return compose(values, dict(parts))


def _not_number(v) -> bool:
    try:
        float(v)
        return False
    except (TypeError, ValueError):
        return True


def _fingerprint(spec: JobSpec) -> str | None:
    path = spec.data.path
    if not path:
        return None
    if "://" in path:
        return None  # the driver cannot stat abfss:// and friends without the JVM; see contracts
    # dbfs:/ and the FUSE views are read through their mounts (paths.py).
    path = resolve_path(local_path(path))
    return data_fingerprint(path) if os.path.exists(path) else None


class SparkExecutor:
    """The Executor of the Spark engines (Databricks, Synapse, spark-local): the session comes
    from SparkSession.builder with the JobSpec's sparkConf."""

    name = "spark"

    def train(self, run: StageRun) -> int:
        return run_spark_stage("train", run)

    def score(self, run: StageRun) -> int:
        return run_spark_stage("score", run)


def _data_end(df, spec: JobSpec) -> int | None:
    """A forecast's end of data over every group (training.TrainContext.data_end_ns): from the
    distinct times, which are few next to the rows, parsed the way each group parses them."""
    column = spec.columns.time
    if spec.task != "forecast" or not column:
        return None
    if spec.columns.time_parts:
        ns = _part_times(df, spec, missing_strings(spec))
        ns = ns[ns != np.iinfo(np.int64).min]
        return data_end(ns) if ns.size else None
    values = [str(r[0]) for r in df.select(_c(column)).distinct().collect() if r[0] is not None]
    return data_end(parse_time_values(values, column, spec.time_kind)) if values else None


def run_spark_stage(stage: str, run: StageRun) -> int:
    spec, out, only, events = run.spec, run.out, run.only, run.events
    t_start = time.perf_counter()
    started = utc_now_iso()
    entries = load_model_manifest(run.models_path, spec) if stage == "score" else None
    sink = _check_sink(spec) if stage == "score" else None
    spark = _session(spec, stage)
    tmp = _ship_package(spark)
    try:
        df, classes, categories = prepare_spark_input(read_spark_input(spark, spec), spec,
                                                      need_target=(stage == "train"))
        keys = list(spec.columns.keys)
        total = df.select(*[_c(k) for k in keys]).distinct().count()
        fingerprint = _fingerprint(spec)
        read_seconds = time.perf_counter() - t_start
        if stage == "train":
            artifacts = os.path.join(out, "artifacts")
            os.makedirs(artifacts, exist_ok=True)
            ctx = TrainContext.from_spec(spec, artifacts, classes, _data_end(df, spec))
            check_holdout_from(ctx, None)
            check_model_type(spec, ctx.custom)
            group_by = keys
            if spec.partition:
                # manymodels plan's buckets: the groups placed by estimated cost (partition_plan.py).
                from .partition_plan import bucketed
                _set_planned_partitions(spark, spec)
                df, group_by = bucketed(df, keys, spec.partition)
            else:
                _set_shuffle_partitions(spark, spec, total)
            if only is not None:
                total = len(only)
            if run.skip:
                total = max(total - len(run.skip), 0)  # for progress: the skipped groups are in the data
            events.emit("start", stage="train", runId=run.run_id, total=total)
            t_fit = time.perf_counter()
            counter = GroupCounter(spark)
            with _ProgressReporter(events, counter, total):
                result = df.groupBy(*[_c(k) for k in group_by]).applyInPandas(
                    SparkTrainFn(ctx, keys, only, counter, run.skip, spec.columns.time_parts, categories), schema=_schema(keys, TRAIN_FIELDS))
                rows = [_train_row(r.asDict(), keys) for r in result.collect()]
            rows.sort(key=lambda r: [r["keys"][k] for k in keys])
            fit_seconds = time.perf_counter() - t_fit
            _report(events, rows, len(rows))
            manifest_path = os.path.join(out, MANIFEST_NAME)
            if only is not None:
                rows = merge_previous(manifest_path, run.run_id, "train", rows)
            doc = build_manifest(spec, run.run_id, started, utc_now_iso(), fingerprint, rows,
                                 {"readSeconds": read_seconds, "fitSeconds": fit_seconds, "writeSeconds": 0.0},
                                 executor="spark")
            write_json_atomic(manifest_path, doc)
            return finish(events, doc, t_start, manifest_path)
        return _score(spark, spec, run, out, only, events, df, entries, sink, keys, total,
                      fingerprint, started, t_start, read_seconds, categories)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _set_planned_partitions(spark, spec: JobSpec) -> None:
    """With a partition plan: one shuffle partition per bucket, and AQE not coalescing them (it
    would merge the buckets the plan balanced). sparkConf, when it sets either itself, wins."""
    n = str(int(spec.partition["buckets"]))
    if "spark.sql.shuffle.partitions" not in spec.spark_conf:
        spark.conf.set("spark.sql.shuffle.partitions", n)
    if "spark.sql.adaptive.coalescePartitions.enabled" not in spec.spark_conf:
        spark.conf.set("spark.sql.adaptive.coalescePartitions.enabled", "false")


def _set_shuffle_partitions(spark, spec: JobSpec, n_groups: int) -> None:
    """groupBy spreads the groups over spark.sql.shuffle.partitions tasks. 'auto' gives about
    four tasks per core (so a slow group does not hold a whole core's share) and never more
    tasks than groups; sparkConf, when it sets the value itself, wins."""
    if "spark.sql.shuffle.partitions" in spec.spark_conf:
        return
    if spec.shuffle_partitions == "auto":
        n = max(1, min(n_groups, 4 * _default_parallelism(spark)))
    else:
        n = int(spec.shuffle_partitions)
    spark.conf.set("spark.sql.shuffle.partitions", str(n))


def _train_row(d: dict, keys: list[str]) -> dict:
    row = {"groupId": d["groupId"], "modelName": d["modelName"], "keys": {k: d[k] for k in keys}}
    for n, t in TRAIN_FIELDS[2:]:
        v = d[n]
        if n in OPTIONAL_FIELDS and v is None:
            continue
        if n in JSON_FIELDS:
            v = json.loads(v) if v else {}
        elif t == "long":
            v = 0 if v is None else int(v)
        elif t == "double" and v is not None:
            v = None if np.isnan(v) else float(v)
        row[n] = v
    return row


def _report(events: EventWriter, rows: list[dict], total: int) -> None:
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    for r in rows:
        counts[r["status"]] += 1
        if r["status"] == "failed":
            events.emit("group_failed", groupId=r["groupId"], modelName=r["modelName"], keys=r["keys"],
                        errorClass=r["errorClass"], errorMessage=r["errorMessage"])
    events.progress(counts, total, force=True)


def _check_sink(spec: JobSpec) -> Sink:
    """Up-front sink checks (MM415) that need no cluster: credentials named, sqlite table usable."""
    sink = sink_for(spec)
    sink.prepare()
    return sink


def _score(spark, spec, run: StageRun, out, only, events, df, entries, sink: Sink, keys, total, fingerprint,
           started, t_start, read_seconds, categories: tuple = ()) -> int:
    from pyspark.sql import functions as F

    ctx = ScoreContext.from_spec(spec)
    if spec.task != "forecast":
        # Spark has no file row number: monotonically_increasing_id is unique and follows file
        # order within a partition, but is not contiguous (documented in contracts.md).
        df = df.withColumn(ROW_COLUMN, F.monotonically_increasing_id())
    df = df.withColumn(STUB, F.lit(False))
    data_keys = None
    if entries:
        # One placeholder row per production model, so a model whose group has no rows in the
        # data still reaches the group function (a forecast needs no future rows).
        stub = pd.DataFrame({k: [str(m["keys"].get(k, "")) for m in entries.values()] for k in keys})
        stub[STUB] = True
        from pyspark.sql.types import BooleanType, StringType, StructField, StructType
        stub_schema = StructType([StructField(k, StringType(), True) for k in keys] +
                                 [StructField(STUB, BooleanType(), True)])
        df = df.unionByName(spark.createDataFrame(stub, schema=stub_schema), allowMissingColumns=True)
        data_keys = total
        total = df.select(*[_c(k) for k in keys]).distinct().count()
    _set_shuffle_partitions(spark, spec, total)
    if only is not None:
        total = len(only)
    events.emit("start", stage="score", runId=run.run_id, total=total)
    scored_at = utc_now_iso()
    t_score = time.perf_counter()
    counter = GroupCounter(spark)
    fn = SparkScoreFn(ctx, keys, _broadcast(spark, entries or {}), run.run_id, scored_at, only, counter,
                      spec.columns.time_parts, categories)
    with _ProgressReporter(events, counter, total):
        result = df.groupBy(*[_c(k) for k in keys]).applyInPandas(fn, schema=_schema(keys, score_fields(ctx.selection))).cache()
        statuses = [json.loads(r[0]) for r in result.filter(_c(KIND) == "status").select(_c(STATUS)).collect()]
    statuses.sort(key=lambda r: [r["keys"][k] for k in keys])
    score_seconds = time.perf_counter() - t_score
    _report(events, statuses, total)
    predictions = result.filter(_c(KIND) == "prediction").drop(KIND, STATUS)
    written = sum(r["rowsScored"] for r in statuses if r["status"] == "ok")
    t_write = time.perf_counter()
    exit_code = None
    sink_error = None
    try:
        sink.write_spark(predictions, run.run_id)
    except Exception as e:  # the connector's error, after the groups ran
        sink_error = f"writing predictions to the {spec.scoring.sink.type} sink failed: {e}"
        log(f"error {BAD_SINK}: {sink_error}")
        events.error(BAD_SINK, sink_error)
        written = 0
        exit_code = 1
    manifest_path = os.path.join(out, MANIFEST_NAME)
    doc = build_manifest(spec, run.run_id, started, utc_now_iso(), fingerprint, statuses,
                         {"readSeconds": read_seconds, "scoreSeconds": score_seconds,
                          "writeSeconds": time.perf_counter() - t_write},
                         extra_counts={"predictionsWritten": written}, executor="spark", sinkError=sink_error,
                         dataGroups=data_keys)
    write_json_atomic(manifest_path, doc)
    result.unpersist()
    return finish(events, doc, t_start, manifest_path, exit_code)

