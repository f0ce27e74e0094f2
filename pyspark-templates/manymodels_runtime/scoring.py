"""`score_group`: one group's rows and its production-model entry in, prediction arrays and
one score-manifest row out. Its core, `score_columns` (numpy columns in), is what both
executors call.

The artifact's sha256 is checked before it is loaded (ArtifactIntegrityError → this
group failed). Forecasts predict `horizon` periods after the model's last training time;
each future period's features come from the data row for that period when there is one,
else the last known value is carried forward (from later data rows, or the values the
artifact recorded at training time when the data has none).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .artifacts import load_artifact
from .periods import PERIOD, format_times
from .spec import AUTO, JobSpec
from .training import (absolute_custom, fail, fail_from_exception, frame_columns, future_times, is_category,
                       make_frame, resolve_model, skip)

ROW_COLUMN = "__mm_row"    # input row number carried next to the user's columns


@dataclass(frozen=True)
class ScoreContext:
    pipeline: str
    task: str
    time: str | None
    features: tuple[str, ...]
    frequency: str | None
    horizon: int | None
    custom: dict | None
    base_dir: str              # relative artifact URIs resolve against it (the project root)
    time_kind: str = "date"    # "period": times are written as period numbers (periods.py)
    # model.type auto: predictions carry the type that made them and the fallback marker.
    selection: bool = False

    @classmethod
    def from_spec(cls, spec: JobSpec) -> "ScoreContext":
        return cls(pipeline=spec.pipeline, task=spec.task, time=spec.columns.time,
                   features=tuple(spec.columns.features), frequency=spec.frequency,
                   horizon=spec.scoring.horizon, custom=absolute_custom(spec.model.custom),
                   base_dir=os.getcwd(), time_kind=spec.time_kind, selection=spec.model.type == AUTO)


@dataclass
class ScoreResult:
    row: dict                        # manifest row
    times: np.ndarray | None         # int64 ns per prediction (forecasts)
    row_index: np.ndarray | None     # input row per prediction (others)
    predictions: np.ndarray | None   # float64
    # A forecast's origin: the last observed time it starts from (the model's last training
    # time), int64 ns. None outside forecasts: a regression or classification prediction is
    # of its own input row (row_index) and has no horizon.
    origin: int | None = None
    time_kind: str = "date"
    # Classification: each prediction's class as the data wrote it, and the class names the
    # columns of `proba` stand for (every class of the artifact's label map, else the model's
    # own classes). None for other tasks; `proba` is None when the model has no predict_proba.
    labels: list | None = None
    classes: list | None = None
    proba: np.ndarray | None = None
    text_labels: bool = False        # the labels come from the artifact's label map

    def probabilities_json(self) -> list:
        """Per prediction, the JSON text {class: probability} (None without probabilities)."""
        n = 0 if self.predictions is None else len(self.predictions)
        if self.proba is None or self.classes is None:
            return [None] * n
        names = [json.dumps(c) for c in self.classes]
        return ["{" + ",".join(f"{k}:{_json_number(v)}" for k, v in zip(names, r)) + "}"
                for r in self.proba.tolist()]

    def probabilities_dicts(self) -> list:
        n = 0 if self.predictions is None else len(self.predictions)
        if self.proba is None or self.classes is None:
            return [None] * n
        return [dict(zip(self.classes, r)) for r in self.proba.tolist()]

    def prediction_values(self) -> list:
        """The predictions as a list, None where there is no number (a text-label class)."""
        if self.predictions is None:
            return []
        out = self.predictions.tolist()
        if np.isnan(self.predictions).any():
            out = [None if v != v else v for v in out]
        return out


def new_score_row(keys: dict, group_id: str, model_name: str, entry: dict | None) -> dict:
    return {"groupId": group_id, "modelName": model_name, "keys": dict(keys), "status": "ok",
            "reason": None, "errorClass": None, "errorMessage": None, "rowsScored": 0,
            "modelVersion": None if entry is None else _str_or_none(entry.get("version"))}


def _str_or_none(v) -> str | None:
    return None if v is None else str(v)


def _resolve_uri(uri: str, base_dir: str) -> str:
    if "://" in uri or uri.startswith("dbfs:") or os.path.isabs(uri):
        return uri
    return os.path.join(base_dir, uri)


def _ffill(X: np.ndarray) -> np.ndarray:
    """Carry each column's last non-NaN value down the rows."""
    if X.size == 0 or not np.isnan(X).any():
        return X
    n = X.shape[0]
    idx = np.where(np.isnan(X), 0, np.arange(n)[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    return X[idx, np.arange(X.shape[1])[None, :]]


def future_features(cols: dict, ctx: ScoreContext, meta: dict, times: np.ndarray) -> dict:
    """Each feature's values for the future periods, as the module docstring says: float64, or
    a pandas Categorical for a category feature (carried forward the same way, as strings)."""
    feats = list(ctx.features)
    if not feats:
        return {}
    last_values = meta.get("lastFeatures") or [None] * len(feats)
    vocab: dict[str, list[str]] = {}
    base = np.full((1, len(feats)), np.nan)
    for j, c in enumerate(feats):
        v = last_values[j]
        if is_category(cols.get(c)) or isinstance(v, str):
            # Carried forward as codes into one vocabulary: the data's strings, then the
            # artifact's last string if the data does not have it.
            vocab[c] = [str(x) for x in cols[c].categories] if is_category(cols.get(c)) else []
            if isinstance(v, str) and v not in vocab[c]:
                vocab[c].append(v)
            base[0, j] = vocab[c].index(v) if isinstance(v, str) else np.nan
        elif v is not None:
            base[0, j] = float(v)
    last = int(meta["lastTime"])
    T = np.array([last], dtype=np.int64)
    X = base
    t = cols.get(ctx.time)
    if t is not None and len(t):
        t = np.asarray(t, dtype="datetime64[ns]").view(np.int64)
        # Rows before the last training time cannot be "later" values; NaT is int64 min so
        # missing times drop out here too.
        sel = np.flatnonzero(t >= last)
        if sel.size:
            data = np.column_stack([_as_float(cols[c], c in vocab)[sel] for c in feats])
            # The artifact's values come first so a data row at the same time wins.
            T = np.concatenate([T, t[sel]])
            X = np.vstack([base, data])
            order = np.argsort(T, kind="stable")
            T, X = T[order], X[order]
    X = _ffill(X)
    pos = np.searchsorted(T, times, side="right") - 1
    X = X[np.maximum(pos, 0)]
    out = {}
    for j, c in enumerate(feats):
        if c in vocab:
            codes = np.where(np.isnan(X[:, j]), -1, X[:, j]).astype(np.int32)
            out[c] = pd.Categorical.from_codes(codes, categories=pd.Index(vocab[c], dtype=object))
        else:
            out[c] = X[:, j]
    return out


def _as_float(values, category: bool) -> np.ndarray:
    """A feature column as float64: a Categorical's codes with NaN for missing."""
    if category:
        codes = values.codes.astype(np.float64)
        codes[codes < 0] = np.nan
        return codes
    return np.asarray(values, dtype=np.float64)


def score_group(pdf: pd.DataFrame, keys: dict, group_id: str, model_name: str, entry: dict | None,
                ctx: ScoreContext) -> ScoreResult:
    """Scores one group. `pdf` holds the time column (forecasts), the features and, outside
    forecasts, ROW_COLUMN with each row's input row number."""
    try:
        cols = frame_columns(pdf)
    except Exception as exc:
        return ScoreResult(fail_from_exception(new_score_row(keys, group_id, model_name, entry), exc),
                           None, None, None)
    return score_columns(cols, len(pdf), keys, group_id, model_name, entry, ctx)


def score_columns(cols: dict, n_rows: int, keys: dict, group_id: str, model_name: str, entry: dict | None,
                  ctx: ScoreContext) -> ScoreResult:
    """score_group over numpy columns (the local executor's form)."""
    row = new_score_row(keys, group_id, model_name, entry)
    if entry is None:
        return ScoreResult(skip(row, "no production model"), None, None, None)
    if entry.get("modelName"):
        row["modelName"] = str(entry["modelName"])
    try:
        return _score(cols, n_rows, row, entry, ctx)
    except Exception as exc:
        return ScoreResult(fail_from_exception(row, exc), None, None, None)


def _score(cols: dict, n_rows: int, row: dict, entry: dict, ctx: ScoreContext) -> ScoreResult:
    art = load_artifact(_resolve_uri(str(entry.get("artifactUri") or ""), ctx.base_dir),
                        str(entry.get("sha256") or ""))
    return score_artifact(art, cols, n_rows, row, ctx)


def score_artifact(art: dict, cols: dict, n_rows: int, row: dict, ctx: ScoreContext) -> ScoreResult:
    """Scores one group with its loaded (sha256-checked) artifact: batch scoring and the online
    server (serve_worker.py) share it, so both give the same numbers."""
    if art.get("task") != ctx.task:
        return ScoreResult(fail(row, "ArtifactMismatch", f"the artifact was trained for task {art.get('task')!r}, "
                                                         f"this pipeline's task is {ctx.task!r}"), None, None, None)
    model = resolve_model(art["modelType"], ctx.custom)
    meta = art.get("meta") or {}
    if ctx.selection or meta.get("selection"):
        # A model chosen per group (model.type auto): which one, and whether it is the fallback.
        row["modelType"] = str(art["modelType"])
        row["fallback"] = bool((meta.get("selection") or {}).get("fallback"))
    state = art["state"]
    if ctx.task == "forecast":
        if meta.get("lastTime") is None:
            raise ValueError("the artifact does not record its last training time (meta.lastTime)")
        freq = meta.get("frequency") or ctx.frequency
        times = future_times(int(meta["lastTime"]), int(ctx.horizon), freq)
        fcols = {meta.get("time") or ctx.time: times.view("datetime64[ns]")}
        fcols.update(future_features(cols, ctx, meta, times))
        pred = _check(model.predict(state, make_frame(fcols, len(times))), len(times))
        row["rowsScored"] = len(times)
        return ScoreResult(row, times, None, pred, int(meta["lastTime"]), ctx.time_kind)
    if not n_rows:
        return ScoreResult(skip(row, "no rows to score"), None, None, None)
    future = make_frame({c: cols[c] if is_category(cols[c]) else np.asarray(cols[c], dtype=np.float64)
                         for c in ctx.features}, n_rows)
    pred = _check(model.predict(state, future), n_rows)
    row["rowsScored"] = n_rows
    res = ScoreResult(row, None, np.asarray(cols[ROW_COLUMN], dtype=np.int64), pred)
    if ctx.task == "classification":
        _classify(res, model, state, future, meta)
    return res


def label_map(meta: dict) -> list[str] | None:
    """The artifact's label map: class index → the label the data wrote (meta.targetClasses),
    or None when the labels were numbers (and for artifacts written before label maps)."""
    classes = meta.get("targetClasses")
    if classes is None:
        return None
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
        raise ValueError("the artifact's label map (meta.targetClasses) is not a list of strings")
    return list(classes)


def number_label(v: float) -> str:
    """A numeric class as text, in its shortest form: 1.0 → "1", 2.5 → "2.5"."""
    if math.isfinite(v) and v == int(v) and abs(v) < 2**53:
        return str(int(v))
    return repr(float(v))


def _classify(res: ScoreResult, model, state: dict, future, meta: dict) -> None:
    """Fills a classification result's labels and probabilities: with a label map the class
    indexes become the data's labels (and `prediction` NaN: a text label is no number), and
    the probabilities cover every label of the map (0 for a class the group never saw)."""
    from .models.base import classes_of

    names = label_map(meta)
    pred = res.predictions
    if names is not None:
        idx = np.asarray(pred, dtype=np.float64)
        ok = np.isfinite(idx) & (idx >= 0) & (idx < len(names)) & (idx == np.round(idx))
        if not ok.all():
            raise ValueError(f"the model predicted class index {idx[~ok][0]!r}, which the artifact's label "
                             f"map of {len(names)} labels does not hold")
        res.labels = [names[i] for i in idx.astype(np.int64).tolist()]
        res.text_labels = True
        res.predictions = np.full(len(idx), np.nan)
    else:
        res.labels = [None if not math.isfinite(v) else number_label(v) for v in pred.tolist()]
    proba_fn = getattr(model, "predict_proba", None)
    if proba_fn is None or not isinstance(state, dict) or not (state.get("kind") == "constant_class" or "classes" in state):
        return  # a model without predict_proba or class values (a custom one): labels only
    proba = proba_fn(state, future)
    if proba is None:
        return
    proba = np.asarray(proba, dtype=np.float64)
    seen = np.asarray(classes_of(state), dtype=np.float64)
    if proba.ndim != 2 or proba.shape != (len(pred), seen.size):
        raise ValueError(f"predict_proba returned shape {proba.shape} for {len(pred)} rows and {seen.size} classes")
    if names is None:
        res.classes, res.proba = [number_label(v) for v in seen.tolist()], proba
        return
    full = np.zeros((len(pred), len(names)), dtype=np.float64)
    full[:, seen.astype(np.int64)] = proba
    res.classes, res.proba = names, full


def _json_number(v: float) -> str:
    return repr(float(v)) if math.isfinite(v) else "null"


def _check(pred, n: int) -> np.ndarray:
    out = np.asarray(pred, dtype=np.float64).ravel()
    if out.shape[0] != n:
        raise ValueError(f"predict returned {out.shape[0]} values for {n} rows")
    return out


def iso_times_and_origin(res: ScoreResult, n: int) -> tuple[list, list]:
    """A result's prediction times and forecast origins as ISO strings (None where there are
    none), formatted together so an origin reads like the times it precedes."""
    if res.times is None:
        return [None] * n, [None] * n
    fmt = format_times if res.time_kind == PERIOD else iso_times
    if res.origin is None:
        return fmt(res.times).tolist(), [None] * n
    both = fmt(np.concatenate([np.array([res.origin], dtype=np.int64), res.times])).tolist()
    return both[1:], [both[0]] * n


def iso_times(ns: np.ndarray) -> np.ndarray:
    """ISO strings: dates when every time is midnight, else seconds precision."""
    dt = ns.view("datetime64[ns]")
    if ns.size and (ns % (86_400 * 10**9) == 0).all():
        return np.datetime_as_string(dt, unit="D")
    return np.datetime_as_string(dt, unit="s")
