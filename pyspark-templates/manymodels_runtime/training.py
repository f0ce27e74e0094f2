"""`train_group`: one group's rows in, one run-manifest row out. Its core, `train_columns`,
takes the rows as numpy columns and is what both executors call (the local one slices
columns out of the shared arrays, Spark's group function converts its pandas frame); the
model sees a DataFrame only at its own boundary (GroupData).

Order of checks (each one ends the group with a clear status, never the run):
NaN targets (and, for forecasts, missing times) are dropped and counted → nothing left:
skipped → forecast rows sorted by time → duplicate timestamps: failed (DuplicateTimestamps;
failed, not skipped, so a broken extract that duplicates rows trips the failure budget) →
holdout split → an infinite target or feature: failed (NonFiniteValues) → too few training
rows: skipped → constant target: skipped → fit, holdout prediction and metrics (non-finite
predictions or a metric overflowing to infinity: failed, NonFiniteValues, never an "ok" group
with null metrics) → optional refit on all rows → artifact + sha256. Any exception from the
model is caught: failed with its class and message.
"""
from __future__ import annotations

import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from .frequency import to_offset
from pandas.tseries.offsets import Tick

from .artifacts import dump_artifact, write_artifact
from .paths import local_path
from .errors import HOLDOUT_OUTSIDE_DATA, InputError
from .periods import PERIOD, format_time
from .spec import JobSpec, ModelChoice, Selection, holdout_from_ns

NAT = np.iinfo(np.int64).min
MAX_MESSAGE = 2000
_TRACEBACKS_LOGGED = [0]   # per process: the first few tracebacks go to stderr for debugging
MAX_TRACEBACKS = 3


@dataclass(frozen=True)
class TrainContext:
    """Everything a group needs besides its rows; small and picklable (shipped to Spark)."""
    pipeline: str
    task: str
    time: str | None
    target: str
    features: tuple[str, ...]
    frequency: str | None
    model_type: str
    params: dict
    custom: dict | None
    holdout_periods: int | None
    holdout_fraction: float | None
    min_train_rows: int
    refit: bool
    metrics: tuple[str, ...]
    artifacts_dir: str                 # absolute; must be writable where the group runs
    target_classes: tuple[str, ...] | None = None
    # The report's forecast-vs-actual: keep each group's holdout forecast on its row.
    keep_holdout: bool = False
    # A forecast's run-wide end of data (int64 ns, the latest time over every group): one
    # holdout cutoff for the whole run, so every group is evaluated on the same calendar
    # window. None: each group's own last time (a caller that does not know the whole data).
    data_end_ns: int | None = None
    # "period": the time axis is integer periods on periods.py's synthetic calendar.
    time_kind: str = "date"
    season_length: int | None = None
    # model.holdout.from as internal ns: the holdout is every period at or after it.
    holdout_from_ns: int | None = None
    stale: str = "skip"
    # model.type auto: the candidates (params with the horizon added), select_by, fallback.
    selection: Selection | None = None

    def show_time(self, ns: int) -> str:
        """An internal time as the user wrote it (a period number or a date)."""
        return format_time(ns, self.time_kind)

    @classmethod
    def from_spec(cls, spec: JobSpec, artifacts_dir: str, target_classes=None,
                  data_end_ns: int | None = None) -> "TrainContext":
        params = dict(spec.model.params)
        # Forecasters that predict directly (gbm) need the horizon they will be asked for;
        # the models accept it as a caller param without the user writing it.
        if spec.task == "forecast" and spec.scoring.horizon and "horizon" not in params:
            params["horizon"] = spec.scoring.horizon
        return cls(
            pipeline=spec.pipeline, task=spec.task, time=spec.columns.time, target=spec.columns.target,
            features=tuple(spec.columns.features), frequency=spec.frequency, model_type=spec.model.type,
            params=params, custom=absolute_custom(spec.model.custom),
            holdout_periods=spec.model.holdout_periods, holdout_fraction=spec.model.holdout_fraction,
            min_train_rows=spec.model.min_train_rows, refit=spec.model.refit,
            metrics=tuple(spec.metrics), artifacts_dir=os.path.abspath(artifacts_dir),
            target_classes=tuple(target_classes) if target_classes else None,
            data_end_ns=data_end_ns, time_kind=spec.time_kind, season_length=spec.season_length,
            holdout_from_ns=holdout_from_ns(spec.model.holdout_from, spec.time_kind == PERIOD)
            if spec.model.holdout_from else None,
            stale=spec.model.stale, selection=_with_horizon(spec.model.selection, params.get("horizon"))
            if spec.model.selection else None,
        )


def _with_horizon(sel: Selection, horizon) -> Selection:
    """The candidates' params as a single model's are: the forecast horizon added where unset."""
    def add(c: ModelChoice | None) -> ModelChoice | None:
        if c is None or horizon is None or "horizon" in c.params:
            return c
        return ModelChoice(c.type, {**c.params, "horizon": horizon})
    return Selection(tuple(add(c) for c in sel.candidates), sel.select_by, add(sel.fallback))


def absolute_custom(custom: dict | None) -> dict | None:
    # Resolved on the driver: a Spark executor's working directory is not the project root.
    if not custom:
        return None
    out = dict(custom)
    # A remote run's custom model file is an uploaded cluster path (/dbfs/…, /Volumes/…).
    out["path"] = os.path.abspath(local_path(out["path"]))
    return out


_MODELS: dict = {}


def resolve_model(model_type: str, custom: dict | None):
    """get_model, cached per process (a custom file is verified and imported once)."""
    key = (model_type, (custom or {}).get("path"), (custom or {}).get("sha256"))
    model = _MODELS.get(key)
    if model is None:
        from .models import get_model
        model = get_model(model_type, custom)
        _MODELS[key] = model
    return model


def new_row(keys: dict, group_id: str, model_name: str) -> dict:
    return {"groupId": group_id, "modelName": model_name, "keys": dict(keys), "status": "ok",
            "reason": None, "errorClass": None, "errorMessage": None, "trainRows": 0, "testRows": 0,
            "droppedRows": 0, "metrics": {}, "artifact": None, "sha256": None, "fitSeconds": None}


def skip(row: dict, reason: str) -> dict:
    row.update(status="skipped", reason=reason)
    return row


def fail(row: dict, error_class: str, message: str) -> dict:
    row.update(status="failed", errorClass=error_class, errorMessage=(message or error_class)[:MAX_MESSAGE])
    return row


def fail_from_exception(row: dict, exc: BaseException) -> dict:
    if _TRACEBACKS_LOGGED[0] < MAX_TRACEBACKS:
        _TRACEBACKS_LOGGED[0] += 1
        print(f"[manymodels] group {row.get('groupId')} failed:\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)), file=sys.stderr, flush=True)
    return fail(row, type(exc).__name__, str(exc) or repr(exc))


@lru_cache(maxsize=64)
def offset_of(frequency: str):
    # to_offset costs ~25 µs; per group that adds up over 10,000 groups.
    return to_offset(frequency)


def shift_time(ns: int, periods: int, offset) -> int:
    """ns moved by `periods` steps of the offset (negative = back in time)."""
    if isinstance(offset, Tick):
        return int(ns + periods * offset.nanos)
    return int((pd.Timestamp(ns) + periods * offset).value)


def future_times(last_ns: int, horizon: int, frequency: str) -> np.ndarray:
    """The `horizon` periods after the last training time, int64 ns."""
    offset = offset_of(frequency)
    if isinstance(offset, Tick):
        return last_ns + offset.nanos * np.arange(1, horizon + 1, dtype=np.int64)
    start = pd.Timestamp(last_ns) + offset  # the next period even when last is off the grid
    return pd.date_range(start, periods=horizon, freq=offset).asi8.copy()


def data_end(times: np.ndarray | None) -> int | None:
    """The latest time (int64 ns) of a whole input, for TrainContext.data_end_ns."""
    if times is None or not times.size:
        return None
    end = int(times.max())  # NaT is int64's minimum: never the maximum unless all are NaT
    return None if end == NAT else end


def data_start(times: np.ndarray | None) -> int | None:
    """The earliest time (int64 ns) of a whole input, NaT left out."""
    if times is None or not times.size:
        return None
    ok = times[times != NAT]
    return int(ok.min()) if ok.size else None


def check_holdout_from(ctx: TrainContext, times: np.ndarray | None) -> None:
    """holdout.from must leave something to train on and something to evaluate: after the
    data's first period and at most its last (MM418, before any group runs)."""
    if ctx.task != "forecast" or ctx.holdout_from_ns is None:
        return
    lo, hi = data_start(times), ctx.data_end_ns if ctx.data_end_ns is not None else data_end(times)
    if lo is None or hi is None:
        return
    if not lo < ctx.holdout_from_ns <= hi:
        raise InputError(HOLDOUT_OUTSIDE_DATA,
                         f"model.holdout.from {ctx.show_time(ctx.holdout_from_ns)} is outside the data, which runs "
                         f"from {ctx.show_time(lo)} to {ctx.show_time(hi)}: the holdout (every period at or after "
                         "from) needs periods to train on before it and at least one period in it")


def holdout_cutoff(ctx: TrainContext, t: np.ndarray | None) -> int | None:
    """A forecast's holdout cutoff (int64 ns): the holdout is the calendar periods after it,
    counted back from the run's end of data (or the group's last time without one), or the
    period just before model.holdout.from."""
    if ctx.task == "forecast" and ctx.holdout_from_ns is not None and t is not None and t.size:
        return shift_time(ctx.holdout_from_ns, -1, offset_of(ctx.frequency))
    if ctx.task == "forecast" and ctx.holdout_periods and t is not None and t.size:
        end = ctx.data_end_ns if ctx.data_end_ns is not None else int(t[-1])
        return shift_time(end, -ctx.holdout_periods, offset_of(ctx.frequency))
    return None


def holdout_size(ctx: TrainContext, t: np.ndarray | None, n: int, cutoff: int | None) -> int:
    """Rows in the holdout: a forecast's observed periods after `cutoff` (holdout_cutoff),
    else the last fraction or count of rows."""
    if cutoff is not None:
        return int(n - np.searchsorted(t, cutoff, side="right"))
    if ctx.holdout_fraction:
        return min(n, max(1, math.ceil(n * ctx.holdout_fraction)))
    if ctx.holdout_periods:  # outside forecasts, "periods" counts the last rows
        return min(n, ctx.holdout_periods)
    return 0


def last_known(values: np.ndarray) -> float | None:
    """The last non-NaN value (None when there is none): carried forward when scoring."""
    ok = np.flatnonzero(~np.isnan(values))
    return float(values[ok[-1]]) if ok.size else None


def clean_metrics(metrics: dict) -> dict:
    # JSON has no NaN: an undefined metric (WAPE over an all-zero holdout) is null.
    out = {}
    for k, v in metrics.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            out[k] = None
            continue
        out[k] = f if math.isfinite(f) else None
    return out


def holdout_record(t: np.ndarray | None, y: np.ndarray, pred: np.ndarray, n_train: int) -> dict:
    """A group's holdout as plain lists: the times (ns, or row positions), actual and forecast."""
    times = [int(v) for v in t[n_train:]] if t is not None else list(range(n_train, y.size))
    return {"time": times, "actual": [float(v) for v in y[n_train:]], "predicted": [float(v) for v in pred]}


def make_frame(cols: dict, n: int) -> pd.DataFrame:
    """A DataFrame over numpy columns. datetime64 columns are wrapped as DatetimeArray and
    the RangeIndex is given: together that is ~40% of pandas' per-frame cost, which is paid
    several times per group (PERFORMANCE-NOTES: per-group overhead adds up over 10,000)."""
    wrapped = {c: (pd.arrays.DatetimeArray(a) if a.dtype.kind == "M" else a) for c, a in cols.items()}
    return pd.DataFrame(wrapped, index=pd.RangeIndex(n), copy=False)


def frame_columns(pdf: pd.DataFrame) -> dict:
    """A group DataFrame as numpy columns: float64 (NaN for missing) except datetimes
    (datetime64[ns]), integer row numbers and text (pandas Categorical: a category feature)."""
    cols = {}
    for c in pdf.columns:
        s = pdf[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            cols[c] = s.to_numpy(dtype="datetime64[ns]")
        elif s.dtype == np.float64 or s.dtype == np.int64:
            cols[c] = s.to_numpy()
        elif isinstance(s.dtype, pd.CategoricalDtype):
            cols[c] = s.array
        else:
            try:
                cols[c] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                # Text that is not numbers: a category feature (the model encodes it).
                cols[c] = pd.Categorical(s.astype(object).where(s.notna(), None))
    return cols


def is_category(values) -> bool:
    return isinstance(values, pd.Categorical)


def last_category(values: pd.Categorical) -> str | None:
    """The last non-missing category (None when there is none): carried forward when scoring."""
    ok = np.flatnonzero(values.codes >= 0)
    return str(values.categories[values.codes[ok[-1]]]) if ok.size else None


def train_group(pdf: pd.DataFrame, keys: dict, group_id: str, model_name: str,
                ctx: TrainContext) -> dict:
    """Trains one group. `pdf` holds the time column (datetime64[ns]) for forecasts, the
    feature columns and the target, in file order."""
    try:
        cols = frame_columns(pdf)
    except Exception as exc:
        return fail_from_exception(new_row(keys, group_id, model_name), exc)
    return train_columns(cols, keys, group_id, model_name, ctx)


def train_columns(cols: dict, keys: dict, group_id: str, model_name: str, ctx: TrainContext) -> dict:
    """train_group over numpy columns (the local executor's form: it never builds the
    group's DataFrame twice)."""
    row = new_row(keys, group_id, model_name)
    try:
        return _train(cols, row, ctx)
    except Exception as exc:  # a model (or a bad value) must cost only this group
        return fail_from_exception(row, exc)


def infinite_in(values: np.ndarray, column: str, role: str) -> str | None:
    """Why a column cannot be trained on: it holds ±inf (NaN is a missing value, handled apart)."""
    bad = int(np.isinf(values).sum())
    return (f"{role} column {column!r} has {bad} infinite value(s); replace them with a number "
            "or leave them empty (missing)") if bad else None


def overflow_problem(pred: np.ndarray, raw_metrics: dict) -> str | None:
    """A model or metric that overflowed: values too large to compute with (|x| near 1e308)."""
    bad_pred = int((~np.isfinite(pred)).sum())
    if bad_pred:
        return (f"the model predicted {bad_pred} non-finite value(s) on the holdout: values in this group are "
                "too large to compute with (|x| near 1e308?); rescale the target or features")
    inf = sorted(k for k, v in raw_metrics.items() if isinstance(v, (int, float)) and math.isinf(v))
    if inf:
        return (f"metric(s) {', '.join(inf)} overflowed to infinity: values in this group are too large "
                "to compute with (|x| near 1e308?); rescale the target or features")
    return None


def holdout_metrics(ctx: TrainContext, yk: np.ndarray, pred: np.ndarray, score, n_train: int) -> tuple[dict, str | None]:
    """The holdout metrics (JSON-clean), or why they cannot be had (a value overflowed)."""
    from .metrics import compute_metrics

    raw = compute_metrics(ctx.task, list(ctx.metrics), yk[n_train:], pred, score) if ctx.metrics else {}
    problem = overflow_problem(pred, raw)
    return ({} if problem else clean_metrics(raw)), problem


def _evaluate(row: dict, ctx: TrainContext, t, yk: np.ndarray, pred: np.ndarray, score, n_train: int) -> bool:
    """The holdout metrics onto `row` (and its forecast, for a report); False when the row
    was failed instead because a value overflowed."""
    metrics, problem = holdout_metrics(ctx, yk, pred, score, n_train)
    if problem:
        fail(row, "NonFiniteValues", problem)
        return False
    row["metrics"] = metrics
    if ctx.keep_holdout:
        row["holdout"] = holdout_record(t, yk, pred, n_train)
    return True


@dataclass
class HoldoutFit:
    """A model fitted on a group's training part: its holdout prediction (and positive-class
    score), its state, and `final` when the same pass also refitted it on every row."""
    pred: np.ndarray
    score: np.ndarray | None
    state: dict | None
    final: dict | None
    seconds: float


@dataclass
class Chosen:
    """What select_model kept: `state` is None when no model could be fitted (the row failed)."""
    model_type: str | None = None
    state: dict | None = None
    fit: HoldoutFit | None = None
    metrics: dict | None = None
    fallback: bool = False
    seconds: float = 0.0


CANDIDATE_MESSAGE = 500   # a candidate's error as recorded on the group's row


def select_model(ctx: TrainContext, row: dict, yk: np.ndarray, n_train: int, n_test: int, holdout_fit,
                 final_fit) -> Chosen:
    """model.type auto (docs/models.md#auto): every candidate fitted on the training part and
    evaluated on the holdout, the best by `select_by` refitted and kept; the fallback when no
    candidate worked (or none can be compared: no holdout), or the chosen one's refit failed.
    Every candidate's metrics (or error) go on `row["selection"]`; a group that gets no model
    at all is failed with every error on it."""
    from .metrics import higher_is_better

    sel = ctx.selection
    out = Chosen()
    tried: dict[str, dict] = {}
    fits: dict[str, HoldoutFit] = {}
    row["selection"] = info = {"selectBy": sel.select_by, "chosen": None, "fallback": False, "reason": None,
                               "candidates": tried}

    def attempt(choice) -> dict:
        rec = {"status": "ok", "metrics": {}, "errorClass": None, "errorMessage": None, "fitSeconds": None}
        t0 = time.perf_counter()
        try:
            fit = holdout_fit(resolve_model(choice.type, None), choice.params)
            metrics, problem = holdout_metrics(ctx, yk, fit.pred, fit.score, n_train)
            if problem:
                rec.update(status="failed", errorClass="NonFiniteValues", errorMessage=problem[:CANDIDATE_MESSAGE])
            else:
                rec["metrics"] = metrics
                fits[choice.type] = fit
        except Exception as exc:  # one candidate must cost only itself
            rec.update(status="failed", errorClass=type(exc).__name__,
                       errorMessage=(str(exc) or repr(exc))[:CANDIDATE_MESSAGE])
        rec["fitSeconds"] = round(time.perf_counter() - t0, 6)
        out.seconds += rec["fitSeconds"]
        return rec

    def keep(choice, fit: HoldoutFit | None, rec: dict | None) -> bool:
        t0 = time.perf_counter()
        try:
            state, _ = final_fit(resolve_model(choice.type, None), choice.params, fit)
        except Exception as exc:
            if rec is not None:
                rec.update(status="failed", errorClass=type(exc).__name__,
                           errorMessage=("refit on every row: " + (str(exc) or repr(exc)))[:CANDIDATE_MESSAGE])
            errors.append(f"{choice.type}: {type(exc).__name__}: {str(exc)[:200]}")
            return False
        finally:
            out.seconds += time.perf_counter() - t0
        out.model_type, out.state, out.fit, out.fallback = choice.type, state, fit, info["fallback"]
        out.metrics = rec["metrics"] if rec is not None else {}
        info["chosen"] = choice.type
        return True

    errors: list[str] = []
    if n_test:
        for choice in sel.candidates:
            tried[choice.type] = attempt(choice)
        ok = [i for i, c in enumerate(sel.candidates) if tried[c.type]["status"] == "ok"]
        errors += [f"{c.type}: {tried[c.type]['errorClass']}: {str(tried[c.type]['errorMessage'])[:200]}"
                   for c in sel.candidates if tried[c.type]["status"] != "ok"]
        if ok:
            sign = -1.0 if higher_is_better(sel.select_by) else 1.0

            def rank(i: int):
                v = tried[sel.candidates[i].type]["metrics"].get(sel.select_by)
                # An undefined value (wape over an all-zero holdout) ranks after every defined
                # one; ties go to the earlier candidate.
                return (1, 0.0, i) if v is None else (0, sign * v, i)

            best = sel.candidates[min(ok, key=rank)]
            if keep(best, fits[best.type], tried[best.type]):
                return out
            info["reason"] = f"the chosen candidate {best.type} failed its refit on every row"
        else:
            info["reason"] = "every candidate failed"
    else:
        # Nothing to compare them on (a stale series trained without a holdout).
        info["reason"] = "no holdout to compare the candidates on"
        if sel.fallback is None:
            first = sel.candidates[0]
            if keep(first, None, None):
                return out
    fb = sel.fallback
    if fb is None:
        fail(row, "AllCandidatesFailed", "no candidate model could be fitted and there is no fallback: "
                                         + "; ".join(errors))
        return out
    info["fallback"] = True
    fit, rec = None, None
    if n_test:
        same = next((c for c in sel.candidates if c.type == fb.type and c.params == fb.params), None)
        if same is not None and same.type in fits:
            fit, rec = fits[same.type], tried[same.type]
        else:
            rec = attempt(fb)
            fit = fits.get(fb.type) if rec["status"] == "ok" else None
            if fit is None:
                errors.append(f"{fb.type}: {rec['errorClass']}: {str(rec['errorMessage'])[:200]}")
        info["fallbackResult"] = rec
    if (fit is not None or not n_test) and keep(fb, fit, rec):
        return out
    fail(row, "FallbackFailed", f"no candidate model could be fitted and neither could the fallback {fb.type}: "
                                + "; ".join(errors))
    return out


@dataclass
class Screened:
    """A group that passed the checks before the fit: its rows in time order and its split."""
    t: np.ndarray | None
    yk: np.ndarray
    idx: np.ndarray | None
    n: int
    n_train: int
    n_test: int
    cutoff: int | None
    origin: int | None


# What screen_columns found: "ok" (to be fitted; "stale" too when model.stale trains it from
# the run's origin), or why the group ends before its fit. `manymodels plan` counts these.
SCREEN_KINDS = ("ok", "stale", "empty", "duplicates", "non_finite", "short", "constant")


def screen_columns(cols: dict, row: dict, ctx: TrainContext) -> tuple[str, Screened | None]:
    """The checks a group passes before its fit, in the order of the module docstring. A group
    that ends here has its `row` skipped or failed and comes back with None; one to fit comes
    back with its Screened rows. Both the training and `manymodels plan`'s profile use it."""
    y = np.asarray(cols[ctx.target], dtype=np.float64)
    keep = ~np.isnan(y)
    t = None
    if ctx.time:
        t = np.asarray(cols[ctx.time], dtype="datetime64[ns]").view(np.int64)
        keep &= t != NAT
    n_keep = int(keep.sum())
    row["droppedRows"] = int(len(y) - n_keep)
    if n_keep == 0:
        what = "a missing target or time" if ctx.time else "a missing target"
        skip(row, f"no rows left after dropping {len(y)} row(s) with {what}" if len(y) else "no rows")
        return "empty", None
    idx = None if n_keep == len(y) else np.flatnonzero(keep)
    if t is not None:
        tk = t if idx is None else t[idx]
        if tk.size > 1 and (tk[1:] < tk[:-1]).any():
            order = np.argsort(tk, kind="stable")
            idx = order if idx is None else idx[order]
            tk = tk[order]
        dup = np.flatnonzero(tk[1:] == tk[:-1])
        if dup.size:
            first = ctx.show_time(int(tk[dup[0]]))
            fail(row, "DuplicateTimestamps",
                 f"{dup.size} duplicate timestamp(s) in this group, first at {first}; a forecast needs "
                 "one row per period: aggregate the rows (or add the distinguishing column to the keys)")
            return "duplicates", None
        t = tk
    yk = y if idx is None else y[idx]
    n = yk.size
    cutoff = holdout_cutoff(ctx, t)
    origin = None  # a stale series forecast from the run's origin: where its forecast starts
    kind = "ok"
    if cutoff is not None and int(t[-1]) <= cutoff:
        # A series that ended before the run's holdout window has nothing to be evaluated on,
        # and its forecast would start in the past.
        end = ctx.data_end_ns if ctx.data_end_ns is not None else int(t[-1])
        why = (f"stale: its last observation ({ctx.show_time(int(t[-1]))}) is before the run's holdout, "
               f"which starts after {ctx.show_time(cutoff)} (the data ends {ctx.show_time(end)})")
        if ctx.stale != "forecast_from_origin" or end <= int(t[-1]):
            skip(row, why)
            return "stale", None
        # model.stale: forecast_from_origin: trained on every row it has, not evaluated, and
        # its forecast starts where every other group's does.
        origin = end
        row["reason"] = why + "; trained on all its rows without a holdout, forecast from " + ctx.show_time(end)
        cutoff = None
        kind = "stale"
    n_test = 0 if origin is not None else holdout_size(ctx, t, n, cutoff)
    n_train = n - n_test
    row["trainRows"], row["testRows"] = n_train, n_test
    problem = infinite_in(yk, ctx.target, "target")
    if problem:
        fail(row, "NonFiniteValues", problem)
        return "non_finite", None
    if n_train < ctx.min_train_rows:
        skip(row, f"too short: {n_train} training row(s), minTrainRows is {ctx.min_train_rows}")
        return "short", None
    if yk.min() == yk.max():
        skip(row, f"constant target: all {yk.size} value(s) are {yk[0]:g}; nothing to learn")
        return "constant", None
    return kind, Screened(t, yk, idx, n, n_train, n_test, cutoff, origin)


def _train(cols: dict, row: dict, ctx: TrainContext) -> dict:
    from .models import GroupData

    _, screened = screen_columns(cols, row, ctx)
    if screened is None:
        return row
    t, yk, idx, n = screened.t, screened.yk, screened.idx, screened.n
    n_train, n_test, cutoff, origin = screened.n_train, screened.n_test, screened.cutoff, screened.origin

    features = list(ctx.features)
    X = {c: cols[c] if is_category(cols[c]) else np.asarray(cols[c], dtype=np.float64) for c in features}
    if idx is not None:
        X = {c: v[idx] for c, v in X.items()}
    for c in features:
        problem = None if is_category(X[c]) else infinite_in(X[c], c, "feature")
        if problem:
            return fail(row, "NonFiniteValues", problem)
    x_cols = ({ctx.time: t.view("datetime64[ns]")} if t is not None else {})
    x_cols.update(X)
    frame = make_frame({**x_cols, ctx.target: yk}, n)

    def group_data(fr: pd.DataFrame, origin: int | None = origin):
        return GroupData(frame=fr, time=ctx.time, target=ctx.target, features=features,
                         frequency=ctx.frequency, task=ctx.task, origin=origin,
                         calendar=ctx.time_kind != PERIOD, season_length=ctx.season_length)

    def holdout_fit(model, params: dict) -> HoldoutFit:
        """A fit on the training part and its holdout prediction."""
        seconds = 0.0
        if ctx.refit and ctx.task != "classification" and hasattr(model, "fit_with_holdout"):
            # A model that can evaluate and refit in one pass (linear: one design, two solves
            # from its sums) saves most of the second fit; it returns None where that would
            # not equal the long way below.
            t0 = time.perf_counter()
            shortcut = model.fit_with_holdout(group_data(frame), n_train, params)
            seconds += time.perf_counter() - t0
            if shortcut is not None:
                pred = np.asarray(shortcut[0], dtype=np.float64).ravel()
                if pred.shape[0] != n_test:
                    raise ValueError(f"fit_with_holdout returned {pred.shape[0]} values for {n_test} holdout rows")
                return HoldoutFit(pred, None, None, shortcut[1], seconds)
        t0 = time.perf_counter()
        # The training part ends at the cutoff on the calendar, even when its last periods
        # are missing: forecast models count the holdout's steps from there.
        state = model.fit(group_data(frame.iloc[:n_train], cutoff), params)
        seconds += time.perf_counter() - t0
        # The future frame never carries the target: a model cannot peek at the holdout.
        future = make_frame({c: v[n_train:] for c, v in x_cols.items()}, n_test)
        pred = np.asarray(model.predict(state, future), dtype=np.float64).ravel()
        if pred.shape[0] != n_test:
            raise ValueError(f"predict returned {pred.shape[0]} values for {n_test} holdout rows")
        score = model.predict_score(state, future) if ctx.task == "classification" else None
        return HoldoutFit(pred, score, state, None, seconds)

    def final_fit(model, params: dict, fit: HoldoutFit | None) -> tuple[dict, float]:
        """The state kept: refitted on every row (or the training part's without refit)."""
        if fit is not None and fit.final is not None:
            return fit.final, 0.0
        if fit is not None and not ctx.refit:
            return fit.state, 0.0
        t0 = time.perf_counter()
        state = model.fit(group_data(frame), params)
        return state, time.perf_counter() - t0

    fit_seconds = 0.0
    model_type = ctx.model_type
    selection = None
    if ctx.selection is None:
        model = resolve_model(ctx.model_type, ctx.custom)
        fit = None
        if n_test:
            fit = holdout_fit(model, ctx.params)
            fit_seconds += fit.seconds
            if not _evaluate(row, ctx, t, yk, fit.pred, fit.score, n_train):
                return row
        state, seconds = final_fit(model, ctx.params, fit)
        fit_seconds += seconds
    else:
        chosen = select_model(ctx, row, yk, n_train, n_test, holdout_fit, final_fit)
        fit_seconds += chosen.seconds
        if chosen.state is None:
            return row
        model_type, state = chosen.model_type, chosen.state
        selection = {"fallback": chosen.fallback, "selectBy": ctx.selection.select_by}
        row["modelType"] = model_type
        if chosen.fit is not None:
            row["metrics"] = chosen.metrics
            if ctx.keep_holdout:
                row["holdout"] = holdout_record(t, yk, chosen.fit.pred, n_train)
    fitted = n if (ctx.refit or not n_test) else n_train
    meta = {
        "groupId": row["groupId"], "modelName": row["modelName"], "keys": row["keys"],
        "time": ctx.time, "target": ctx.target, "features": features, "frequency": ctx.frequency,
        # A stale series forecast from the run's origin starts there, not at its own end.
        "lastTime": (origin if origin is not None else int(t[fitted - 1])) if t is not None else None,
        "timeKind": ctx.time_kind,
        # A category feature's last value is its string.
        "lastFeatures": [last_category(X[c][:fitted]) if is_category(X[c]) else last_known(X[c][:fitted])
                         for c in features],
        "fitRows": int(fitted),
        "targetClasses": list(ctx.target_classes) if ctx.target_classes else None,
    }
    if selection is not None:
        meta["selection"] = selection
    payload = dump_artifact(model_type, ctx.task, state, meta)
    rel = f"artifacts/{row['modelName']}.pkl"
    row["sha256"] = write_artifact(os.path.join(ctx.artifacts_dir, row["modelName"] + ".pkl"), payload)
    row["artifact"] = rel
    row["fitSeconds"] = round(fit_seconds, 6)
    return row
