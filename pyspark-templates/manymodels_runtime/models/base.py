"""The model contract every family in the zoo implements, and the helpers they share.

Owns: `GroupData` (one group's training rows as the runtime core hands them over),
the `ModelType` protocol (fit → small picklable state; predict from that state alone),
parameter resolution (defaults merged in, unknown params rejected, values checked against
each model's `param_schema`),
feature extraction, category encoding and imputation, and the regular time grid that forecast models
place their rows on. Nothing here knows about Spark, files or the manifest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from ..frequency import to_offset  # pandas 1.5 and 2.2 aliases alike
from pandas.tseries.offsets import BaseOffset, Tick

TASKS = ("forecast", "regression", "classification")

# Params the runtime core may add to every model's params without the user writing them
# (it passes the pipeline's scoring horizon). Accepting them everywhere keeps the caller
# free of per-model special cases; models that have no use for them ignore them.
CALLER_PARAMS = frozenset({"horizon"})

NS_PER_DAY = 86_400 * 10**9


class UnknownModelError(ValueError):
    """A model type name that is not in the zoo."""


@dataclass
class GroupData:
    """One group's training rows.

    `frame` holds the time column (datetime64[ns]) if any, the feature columns and the
    target (float64); forecast frames are sorted by time, others are in file order; rows
    with a NaN target were already dropped. Features may hold NaN.

    `origin` (forecasts, int64 ns) is where the training window ends on the calendar: the
    holdout cutoff when fitting on the training part, which lies after the last row when
    the periods just before the holdout are missing. Models count forecast steps from it;
    None means the last row.

    `calendar` False: the times are integer periods placed one day apart from 1970-01-01
    (so the grid helpers work unchanged); the dates themselves mean nothing.
    """

    frame: pd.DataFrame
    time: str | None
    target: str
    features: list[str]
    frequency: str | None
    task: str
    origin: int | None = None
    # False when the time axis is integer periods on a synthetic calendar (periods.py): no
    # weekday, hour or yearly terms may be derived from it, and the season is
    # `season_length` (None: no season).
    calendar: bool = True
    season_length: int | None = None


@runtime_checkable
class ModelType(Protocol):
    name: str
    tasks: frozenset
    defaults: dict
    # One JSON Schema (the subset below) per param in `defaults`: the runtime checks values
    # with it and the CLI's catalog copy carries it, so `validate` reports a bad value at its
    # line before any job starts. Subset: type (integer, number, boolean, string, array, null,
    # or a list of them), minimum, maximum, exclusiveMinimum, exclusiveMaximum, enum, items,
    # minItems, anyOf.
    param_schema: dict

    def fit(self, data: GroupData, params: dict) -> dict: ...

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray: ...

    def predict_score(self, state: dict, future: pd.DataFrame) -> np.ndarray | None: ...


# --------------------------------------------------------------------------- params


class ParamChecker:
    """Merges defaults into user params and validates each value with a clear message.

    Errors name the model and the param so that a user reading a failed group in the run
    manifest knows which line of pipelines.yaml to change.
    """

    def __init__(self, model: str, defaults: dict, params: dict | None, schema: dict | None = None):
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ValueError(f"model '{model}': params must be a mapping, got {type(params).__name__}")
        unknown = sorted(set(params) - set(defaults) - CALLER_PARAMS)
        if unknown:
            known = ", ".join(sorted(defaults)) or "(none)"
            raise ValueError(
                f"model '{model}': unknown param(s) {', '.join(unknown)}; known params: {known}"
            )
        self.model = model
        self.values = {**defaults, **params}
        self.schema = schema or {}

    def value(self, key: str) -> Any:
        """The checked value of `key`, by its entry in the model's param_schema."""
        s = self.schema[key]
        types = s.get("type", [])
        types = [types] if isinstance(types, str) else list(types)
        none_ok = "null" in types
        if "enum" in s:
            return self.choice(key, s["enum"])
        if "integer" in types:
            return self.integer(key, lo=s.get("minimum"), hi=s.get("maximum"), none_ok=none_ok)
        if "number" in types:
            return self.number(key, lo=s.get("exclusiveMinimum", s.get("minimum")),
                               hi=s.get("exclusiveMaximum", s.get("maximum")),
                               lo_open="exclusiveMinimum" in s, hi_open="exclusiveMaximum" in s,
                               none_ok=none_ok)
        if types == ["boolean"]:
            return self.flag(key)
        items = s.get("items", {})
        if "array" in types and items.get("type") == "string":
            return self.str_list(key)
        if "array" in types and items.get("type") == "integer":
            return self.int_list(key, lo=items.get("minimum", 0), none_ok=none_ok)
        raise TypeError(f"model '{self.model}': param_schema of '{key}' is outside the supported subset")

    def _fail(self, key: str, what: str) -> None:
        raise ValueError(f"model '{self.model}': param '{key}' must be {what}; got {self.values[key]!r}")

    def integer(self, key: str, lo: int | None = None, hi: int | None = None, none_ok: bool = False) -> int | None:
        v = self.values[key]
        if v is None and none_ok:
            return None
        # YAML `true` is a Python bool, which is an int subclass: refuse it explicitly.
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                self._fail(key, "an integer" + (" or null" if none_ok else ""))
        v = int(v)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self._fail(key, _range_text("an integer", lo, hi))
        return v

    def number(self, key: str, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, none_ok: bool = False, hi_open: bool = False) -> float | None:
        v = self.values[key]
        if v is None and none_ok:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            self._fail(key, "a number" + (" or null" if none_ok else ""))
        v = float(v)
        if not math.isfinite(v):
            self._fail(key, "a finite number")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            self._fail(key, _range_text("a number", lo, hi, lo_open, hi_open))
        if hi is not None and (v > hi or (hi_open and v == hi)):
            self._fail(key, _range_text("a number", lo, hi, lo_open, hi_open))
        return v

    def flag(self, key: str) -> bool:
        v = self.values[key]
        if not isinstance(v, (bool, np.bool_)):
            self._fail(key, "true or false")
        return bool(v)

    def choice(self, key: str, choices: Iterable[Any]) -> Any:
        choices = list(choices)
        v = self.values[key]
        if v not in choices:
            self._fail(key, "one of " + ", ".join("null" if c is None else repr(c) for c in choices))
        return v

    def str_list(self, key: str) -> list[str]:
        v = self.values[key]
        if not isinstance(v, (list, tuple)) or not all(isinstance(s, str) for s in v):
            self._fail(key, "a list of column names")
        return list(v)

    def int_list(self, key: str, lo: int, none_ok: bool = False) -> list[int] | None:
        v = self.values[key]
        if v is None and none_ok:
            return None
        if (not isinstance(v, (list, tuple)) or not v
                or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in v)):
            self._fail(key, "a non-empty list of integers" + (" or null" if none_ok else ""))
        if min(v) < lo:
            self._fail(key, f"a list of integers >= {lo}")
        return sorted({int(i) for i in v})


def _range_text(kind: str, lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    if lo is not None and hi is not None:
        return f"{kind} in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{kind} {'>' if lo_open else '>='} {lo}"
    return f"{kind} {'<' if hi_open else '<='} {hi}"


def check_task(model: str, tasks: frozenset, task: str) -> None:
    if task not in tasks:
        raise ValueError(
            f"model '{model}' does not support task '{task}'; it supports: {', '.join(sorted(tasks))}"
        )


# --------------------------------------------------------------------------- data


def target_array(data: GroupData) -> np.ndarray:
    if data.target not in data.frame.columns:
        raise ValueError(f"target column '{data.target}' is missing from the group's rows")
    y = data.frame[data.target].to_numpy(dtype=np.float64, na_value=np.nan)
    if y.size == 0:
        raise ValueError("the group has no training rows")
    if np.isnan(y).any():
        # The core drops NaN targets before calling fit; getting one means a contract break,
        # and silently fitting on NaN would poison every coefficient.
        raise ValueError(f"target column '{data.target}' contains NaN")
    return y


def feature_matrix(frame: pd.DataFrame, features: list[str], allow_missing: bool = False) -> np.ndarray:
    """Feature columns as a float64 (n, p) matrix; NaN where values are missing.

    `allow_missing` turns an absent column into all-NaN (forecast scoring without future
    rows carries features forward, so the column may not exist at all).
    """
    n = len(frame)
    X = np.empty((n, len(features)), dtype=np.float64)
    for j, col in enumerate(features):
        if col not in frame.columns:
            if allow_missing:
                X[:, j] = np.nan
                continue
            raise ValueError(f"feature column '{col}' is missing from the rows")
        s = frame[col]
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            X[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            try:
                X[:, j] = pd.to_numeric(s, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
            except (ValueError, TypeError):
                raise ValueError(
                    f"feature column '{col}' is not numeric (dtype {s.dtype}); this model does not "
                    "encode categories"
                ) from None
    return X


# --------------------------------------------------------------------------- categories
#
# A category feature reaches a model as a pandas Categorical column (the local executor) or
# a column of strings (Spark's pandas frames). Models keep the categories they saw in
# training as plain lists of strings in their state (`levels`: feature → sorted strings) and
# map the rows they predict for onto those strings, so a model never depends on the codes
# of one input file: a category missing from a row, or one never seen in training, maps to
# NaN (an all-zero row once one-hot encoded).


def is_category_column(s: pd.Series) -> bool:
    """A column of categories: Categorical, or text that is not numbers."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return False
    try:
        pd.to_numeric(s, errors="raise")
        return False
    except (ValueError, TypeError):
        return True


def _categorical(s: pd.Series) -> pd.Categorical:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.array
    return pd.Categorical(s.astype(object).map(str, na_action="ignore"))


def category_levels(frame: pd.DataFrame, features: list[str]) -> dict[str, list[str]]:
    """{feature: sorted distinct strings seen in these rows} for each category feature."""
    out = {}
    for c in features:
        if c in frame.columns and is_category_column(frame[c]):
            cat = _categorical(frame[c])
            used = np.unique(cat.codes[cat.codes >= 0])
            out[c] = sorted(str(cat.categories[i]) for i in used)
    return out


def category_codes(s: pd.Series, levels: list[str]) -> np.ndarray:
    """Each row's index in `levels` (float64); NaN where missing or not among the levels."""
    cat = _categorical(s)
    pos = {v: float(i) for i, v in enumerate(levels)}
    lut = np.array([pos.get(str(v), np.nan) for v in cat.categories] + [np.nan], dtype=np.float64)
    return lut[np.asarray(cat.codes, dtype=np.int64)]  # code -1 (missing) takes the trailing NaN


def encoded_matrix(frame: pd.DataFrame, features: list[str], levels: dict, one_hot: bool,
                   allow_missing: bool = False) -> np.ndarray:
    """feature_matrix with the category features encoded: one column of 0/1 per level
    (one_hot; a missing or unseen category is an all-zero row), or one column of the level's
    index (NaN where missing or unseen). Columns stay in feature order."""
    if not levels:
        return feature_matrix(frame, features, allow_missing)
    n = len(frame)
    blocks = []
    for c in features:
        if c not in levels:
            blocks.append(feature_matrix(frame, [c], allow_missing))
            continue
        if c in frame.columns:
            codes = category_codes(frame[c], levels[c])
        elif allow_missing:
            codes = np.full(n, np.nan)
        else:
            raise ValueError(f"feature column '{c}' is missing from the rows")
        if one_hot:
            block = np.zeros((n, len(levels[c])))
            ok = np.flatnonzero(~np.isnan(codes))
            block[ok, codes[ok].astype(np.int64)] = 1.0
            blocks.append(block)
        else:
            blocks.append(codes[:, None])
    return np.hstack(blocks) if blocks else np.empty((n, 0))


def encoded_width(features: list[str], levels: dict, one_hot: bool) -> list[int]:
    """How many encoded columns each feature takes."""
    return [len(levels[c]) if (c in levels and one_hot) else 1 for c in features]


def column_medians(X: np.ndarray) -> np.ndarray:
    """Per-column median of the observed values; 0.0 for a column with none observed."""
    med = np.zeros(X.shape[1], dtype=np.float64)
    for j in range(X.shape[1]):
        col = X[:, j]
        ok = col[~np.isnan(col)]
        if ok.size:
            med[j] = np.median(ok)
    return med


def fill_with(X: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Replace NaN in each column by that column's value in `values` (new array)."""
    if not X.size:
        return X.copy()
    mask = np.isnan(X)
    if not mask.any():
        return X
    out = X.copy()
    out[mask] = np.broadcast_to(values, X.shape)[mask]
    return out


def ffill_rows(X: np.ndarray) -> np.ndarray:
    """Forward-fill NaN down each column (carry the last observed value forward)."""
    if not X.size:
        return X.copy()
    mask = np.isnan(X)
    if not mask.any():
        return X
    n = X.shape[0]
    idx = np.where(mask, 0, np.arange(n)[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = X[idx, np.arange(X.shape[1])[None, :]]
    # Leading NaNs stay NaN: idx points at row 0, which is itself NaN there.
    return out


class ForecastFeatures:
    """Impute forecast features: carry the last value forward, then the training median.

    Training state keeps `medians` (for leading gaps) and `last` (the last training row
    after imputation), so future rows with no feature values continue from where the
    training data stopped: the contract's "carried forward from the last known value".
    """

    @staticmethod
    def fit(X: np.ndarray, categorical: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """`categorical` flags columns of category indices: those are filled with their most
        frequent value instead of the median (a median of indices is not a category)."""
        med = column_medians(X)
        if categorical is not None:
            for j in np.flatnonzero(categorical):
                ok = X[~np.isnan(X[:, j]), j]
                if ok.size:
                    vals, counts = np.unique(ok, return_counts=True)
                    med[j] = vals[np.argmax(counts)]
        Xf = fill_with(ffill_rows(X), med)
        last = Xf[-1].copy() if len(Xf) else med.copy()
        return Xf, {"medians": med, "last": last}

    @staticmethod
    def transform(X: np.ndarray, st: dict) -> np.ndarray:
        if not X.shape[1]:
            return X
        stacked = np.vstack([st["last"][None, :], X])
        return fill_with(ffill_rows(stacked), st["medians"])[1:]


# --------------------------------------------------------------------------- time


def time_ns(frame: pd.DataFrame, col: str) -> np.ndarray:
    """The time column as int64 nanoseconds since the epoch (no tz)."""
    if col not in frame.columns:
        raise ValueError(f"time column '{col}' is missing from the rows")
    s = frame[col]
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="raise")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = s.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if (ns == np.iinfo(np.int64).min).any():
        raise ValueError(f"time column '{col}' contains missing values")
    return ns


def resolve_offset(frequency: str | None, ns: np.ndarray | None = None) -> BaseOffset:
    """The pandas offset for `frequency`; inferred from the spacing of `ns` when None."""
    if frequency:
        try:
            return to_offset(frequency)
        except ValueError:
            raise ValueError(f"unknown frequency '{frequency}' (use a pandas offset alias such as D, W, MS)") from None
    if ns is None or len(ns) < 2:
        raise ValueError("frequency is not set and cannot be inferred from fewer than two timestamps")
    d = np.diff(ns)
    d = d[d > 0]
    if not d.size:
        raise ValueError("frequency is not set and all timestamps are equal")
    # The most common spacing, not the mean, so gaps do not distort the inferred step.
    vals, counts = np.unique(d, return_counts=True)
    return to_offset(pd.Timedelta(int(vals[np.argmax(counts)])))


def period_days(offset: BaseOffset) -> float:
    """Approximate length of one period in days (B ≈ 1.4, MS ≈ 30.4)."""
    if isinstance(offset, Tick):
        return offset.nanos / NS_PER_DAY
    base = pd.Timestamp("2001-01-01")
    return ((base + 40 * offset) - base) / pd.Timedelta(days=40)


def default_season_length(offset: BaseOffset) -> int:
    """Season length that matches the calendar: 7 for daily data, 24 for hourly, …"""
    days = period_days(offset)
    if isinstance(offset, Tick) and days < 1 and NS_PER_DAY % offset.nanos == 0:
        return NS_PER_DAY // offset.nanos  # intraday steps: one day is the season
    table = ((0.99, 1.01, 7), (1.3, 1.5, 5), (6.9, 7.1, 52), (27.5, 31.5, 12), (88, 93, 4))
    for lo, hi, m in table:
        if lo <= days <= hi:
            return m
    return 1


def data_season_length(data: "GroupData", offset: BaseOffset) -> int:
    """The season a model uses when its own parameter is unset: the pipeline's
    time.season_length on a period axis (1, none, when unset), else the calendar's."""
    if not data.calendar:
        return int(data.season_length or 1)
    return default_season_length(offset)


def grid_positions(ns: np.ndarray, origin_ns: int, offset: BaseOffset) -> np.ndarray:
    """Whole periods from `origin_ns` to each time (negative before it).

    Raises when a time is not on the offset's grid through the origin (e.g. a Monday in
    a W-SUN series) rather than rounding it silently onto a neighbouring period.
    """
    ns = np.asarray(ns, dtype=np.int64)
    if isinstance(offset, Tick):
        step = offset.nanos
        q, r = np.divmod(ns - origin_ns, step)
        if (r != 0).any():
            bad = pd.Timestamp(int(ns[np.nonzero(r)[0][0]]))
            raise ValueError(f"time {bad} is not on the '{offset.freqstr}' grid of this series")
        return q.astype(np.int64)
    lo = min(int(ns.min()) if ns.size else origin_ns, origin_ns)
    hi = max(int(ns.max()) if ns.size else origin_ns, origin_ns)
    grid = pd.date_range(pd.Timestamp(lo), pd.Timestamp(hi), freq=offset).asi8
    both = np.concatenate([[origin_ns], ns])
    pos = np.searchsorted(grid, both)
    ok = (pos < grid.size) & (grid[np.minimum(pos, grid.size - 1)] == both)
    if not ok.all():
        bad = pd.Timestamp(int(both[np.nonzero(~ok)[0][0]]))
        raise ValueError(f"time {bad} is not on the '{offset.freqstr}' grid of this series")
    return (pos[1:] - pos[0]).astype(np.int64)


def grid_times(origin_ns: int, positions: np.ndarray, offset: BaseOffset) -> np.ndarray:
    """Inverse of grid_positions for non-negative positions: int64 ns of each period."""
    positions = np.asarray(positions, dtype=np.int64)
    if isinstance(offset, Tick):
        return origin_ns + positions * offset.nanos
    top = int(positions.max()) if positions.size else 0
    grid = pd.date_range(pd.Timestamp(origin_ns), periods=top + 1, freq=offset).asi8
    return grid[positions]


def future_time_column(state: dict, future: pd.DataFrame) -> str:
    """The time column of forecast rows: the training one, else the single datetime column."""
    col = state.get("time")
    if col and col in future.columns:
        return col
    cols = [c for c in future.columns if pd.api.types.is_datetime64_any_dtype(future[c].dtype)]
    if len(cols) != 1:
        raise ValueError(
            f"forecast rows need the time column '{col}' (or exactly one datetime column); "
            f"got columns {list(future.columns)}"
        )
    return cols[0]


def steps_ahead(state: dict, future: pd.DataFrame, time_col: str) -> np.ndarray:
    """Periods from the last training time to each future row (1 = the next period)."""
    ns = time_ns(future, time_col)
    h = grid_positions(ns, state["last_time"], to_offset(state["freq"]))
    if h.size and h.min() < 1:
        bad = pd.Timestamp(int(ns[np.argmin(h)]))
        raise ValueError(
            f"cannot forecast {bad}: it is not after the last training time {pd.Timestamp(state['last_time'])}"
        )
    return h


def future_times(state: dict, periods: int) -> pd.DatetimeIndex:
    """The `periods` timestamps that follow a forecast model's last training time.

    For scoring without future rows: the forecast continues from the model's own last date.
    """
    pos = np.arange(1, periods + 1)
    return pd.DatetimeIndex(grid_times(state["last_time"], pos, to_offset(state["freq"])))


def regular_series(ns: np.ndarray, y: np.ndarray, offset: BaseOffset) -> tuple[np.ndarray, np.ndarray]:
    """Place observations on the regular grid from the first time; NaN where a period is missing.

    Returns (values on the grid, positions of the observed rows). Duplicate timestamps are
    refused: which of two rows for one day is "the" value is not the model's call.
    """
    pos = grid_positions(ns, int(ns[0]), offset)
    if pos.size > 1 and (np.diff(pos) <= 0).any():
        raise ValueError("time column has duplicate or unsorted timestamps within the group")
    grid = np.full(int(pos[-1]) + 1, np.nan)
    grid[pos] = y
    return grid, pos


def calendar_parts(ns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day of week 0=Mon, day of year 1-366, month 1-12) from int64 ns, without pandas accessors."""
    days = np.floor_divide(ns, NS_PER_DAY)
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]")
    doy = (d - years).astype(np.int64) + 1
    month = (d.astype("datetime64[M]") - years).astype(np.int64) + 1
    return dow, doy, month


# --------------------------------------------------------------------------- threads

_CONTROLLER = None


def one_thread():
    """Context manager: OpenMP and BLAS limited to one thread for the duration.

    The executor runs one group per core; a model that also starts a thread per core
    oversubscribes them, and OpenMP's spin-waiting makes that pathological on a busy
    machine (measured: a HistGradientBoosting fit went from ~150 ms to ~1.9 s). The
    controller is built once (it scans loaded libraries) and reused: ~15 µs per use.
    """
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1)


# --------------------------------------------------------------------------- classification


def constant_class_state(model: str, label: float) -> dict:
    """State for a group whose training rows all carry one class: predict that class."""
    return {"kind": "constant_class", "model": model, "label": float(label)}


def constant_class_predict(state: dict, n: int) -> np.ndarray:
    return np.full(n, state["label"], dtype=np.float64)


def constant_class_proba(state: dict, n: int) -> np.ndarray:
    """Probability 1 for the one class seen (classes_of gives it)."""
    return np.ones((n, 1), dtype=np.float64)


def classes_of(state: dict) -> np.ndarray:
    """The class values a classifier's predict_proba columns stand for, in order."""
    if state.get("kind") == "constant_class":
        return np.array([state["label"]], dtype=np.float64)
    return np.asarray(state["classes"], dtype=np.float64)


def constant_class_score(state: dict, n: int) -> np.ndarray | None:
    # Only one class was seen, so the positive class is known only when labels are 0/1.
    label = state["label"]
    if label in (0.0, 1.0):
        return np.full(n, label, dtype=np.float64)
    return None

