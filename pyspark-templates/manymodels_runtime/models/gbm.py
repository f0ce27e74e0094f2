"""`gbm`: scikit-learn HistGradientBoosting for forecasts, regression and classification.

Forecast is *direct*: every lag feature is at least `horizon` periods old, so all periods
up to the horizon are predicted from known history in one pass, with no recursion (and no
compounding of the model's own errors). Features per period: lags ≥ horizon, rolling means
of windows that end `horizon` periods back, calendar (day of week, month, day of year,
hour for intraday data) and the listed features.

The fitted ensemble is stored in compact array form (see `_trees.py`: same predictions,
~1/4 of the bytes, ~20× faster to unpickle), with, for forecasts, the tail of the series
the lags need. Category features use the booster's native categorical splits (the
category's index among those seen in training; an unseen one is missing), which `_trees.py`
evaluates from the same bitsets. Regression/classification leave NaN features to the
booster's native missing-value handling (it learns which side of each split missing values go);
forecasts carry features forward as every forecast model does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

from . import _trees
from .base import (
    ForecastFeatures, GroupData, ParamChecker, calendar_parts, check_task,
    category_levels, constant_class_predict, constant_class_proba, constant_class_score,
    constant_class_state, data_season_length, encoded_matrix, future_time_column, grid_positions, one_thread, period_days, regular_series, resolve_offset, steps_ahead,
    target_array, time_ns,
)


class Gbm:
    name = "gbm"
    tasks = frozenset({"forecast", "regression", "classification"})
    defaults = {
        "horizon": 28, "max_iter": 100, "max_leaf_nodes": 15, "learning_rate": 0.1,
        "min_samples_leaf": 20, "l2_regularization": 0.0, "max_bins": 255,
        "lags": None, "windows": None, "random_state": 0,
    }
    param_schema = {
        "horizon": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "max_iter": {"type": "integer", "minimum": 1, "maximum": 10_000},
        "max_leaf_nodes": {"type": "integer", "minimum": 2, "maximum": 4_096},
        "learning_rate": {"type": "number", "exclusiveMinimum": 0.0, "maximum": 10.0},
        "min_samples_leaf": {"type": "integer", "minimum": 1},
        "l2_regularization": {"type": "number", "minimum": 0.0},
        "max_bins": {"type": "integer", "minimum": 2, "maximum": 255},
        "random_state": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
        # Lags and rolling-window lengths in periods; null = chosen from the frequency.
        "windows": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 1}, "minItems": 1},
        "lags": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 1}, "minItems": 1},
    }
    doc = ("Histogram gradient boosting (sklearn); forecasts directly from lags >= horizon "
           "plus calendar and features, no recursion.")

    def _params(self, params: dict) -> dict:
        p = ParamChecker(self.name, self.defaults, params, self.param_schema)
        out = {key: p.value(key) for key in self.param_schema}
        if out["lags"] and min(out["lags"]) < out["horizon"]:
            raise ValueError(
                f"model 'gbm': every lag must be >= horizon ({out['horizon']}) so forecasts need no "
                f"recursion; got lags {out['lags']}"
            )
        return out

    def _estimator(self, p: dict, classifier: bool, categorical: np.ndarray | None = None):
        # Imported here so the sklearn/OpenMP libraries are loaded before one_thread() first
        # scans for them.
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
        return cls(
            max_iter=p["max_iter"], max_leaf_nodes=p["max_leaf_nodes"], learning_rate=p["learning_rate"],
            min_samples_leaf=p["min_samples_leaf"], l2_regularization=p["l2_regularization"],
            max_bins=p["max_bins"], random_state=p["random_state"],
            categorical_features=categorical if categorical is not None and categorical.any() else None,
            # Off explicitly: "auto" turns it on above 10k rows, which would make a group's
            # model depend on its size class and hold out rows silently.
            early_stopping=False,
        )

    # ------------------------------------------------------------------ fit

    def fit(self, data: GroupData, params: dict) -> dict:
        check_task(self.name, self.tasks, data.task)
        p = self._params(params)
        y = target_array(data)
        if data.task == "forecast":
            return self._fit_forecast(data, y, p)
        levels = category_levels(data.frame, data.features)
        X = encoded_matrix(data.frame, data.features, levels, one_hot=False)
        categorical = _native(data.features, levels, p["max_bins"])
        base = {"kind": "gbm", "task": data.task, "features": list(data.features), "levels": levels}
        if data.task == "classification":
            classes = np.unique(y)
            if classes.size == 1:
                return {**base, **constant_class_state(self.name, classes[0])}
            est = self._estimator(p, classifier=True, categorical=categorical)
            with one_thread():
                est.fit(X, y)
            return {**base, "trees": _trees.from_hist_gradient_boosting(est),
                    "classes": np.asarray(est.classes_, dtype=np.float64)}
        est = self._estimator(p, classifier=False, categorical=categorical)
        with one_thread():
            est.fit(X, y)
        return {**base, "trees": _trees.from_hist_gradient_boosting(est)}

    def _fit_forecast(self, data: GroupData, y: np.ndarray, p: dict) -> dict:
        if not data.time:
            raise ValueError("gbm forecast needs a time column")
        ns = time_ns(data.frame, data.time)
        offset = resolve_offset(data.frequency, ns)
        grid, pos = regular_series(ns, y, offset)
        last_time = int(ns[-1])
        if data.origin is not None and data.origin > last_time:
            # The periods between the last row and the cutoff are missing: they stay NaN on
            # the grid (the booster's missing-value branch), so the holdout's lags and steps
            # are counted on the calendar, not from the last row.
            extra = int(grid_positions(np.asarray([data.origin]), int(ns[0]), offset)[0]) + 1 - grid.size
            grid = np.concatenate([grid, np.full(extra, np.nan)])
            last_time = int(data.origin)
        h = p["horizon"]
        m = data_season_length(data, offset)
        m = m if m >= 2 else 4
        # Default lags: the horizon itself plus the next four same-phase periods (28, 35, 42,
        # 49 for daily data and h = 28). Adding every lag h..h+6 cost ~25 % more fit time for
        # no better holdout WAPE on the sample data; the windows carry the recent level.
        first = -(-h // m) * m
        lags = p["lags"] or sorted({h, *range(first, first + 4 * m, m)})
        windows = p["windows"] or [m, 4 * m]
        train = pos[pos >= h]  # rows whose shortest lag lies inside the series
        if train.size < 2:
            raise ValueError(
                f"model 'gbm': needs more than horizon={h} periods of history to learn from lags; "
                f"the series covers {grid.size} periods"
            )
        step_days = period_days(offset)
        # A period axis (synthetic calendar) has no weekday, hour or time of year.
        cal = {"weekday": data.calendar and step_days < 7, "hour": data.calendar and step_days < 1,
               "year": data.calendar and step_days < 365}
        levels = category_levels(data.frame, data.features)
        categorical = _native(data.features, levels, p["max_bins"])
        Xf_all, imp = ForecastFeatures.fit(encoded_matrix(data.frame, data.features, levels, one_hot=False),
                                           categorical=np.array([c in levels for c in data.features], dtype=bool))
        row_of = np.full(grid.size, -1)
        row_of[pos] = np.arange(pos.size)
        lag_cols = _lag_design(grid, train, h, lags, windows)
        cal_cols = _calendar(ns[row_of[train]], cal)
        design = np.hstack([lag_cols, cal_cols, Xf_all[row_of[train]]])
        est = self._estimator(p, classifier=False, categorical=np.concatenate(
            [np.zeros(lag_cols.shape[1] + cal_cols.shape[1], dtype=bool), categorical]))
        with one_thread():
            est.fit(design, grid[train])
        need = max(max(lags), h + max(windows) - 1)
        tail = grid[-need:]
        if tail.size < need:  # short series: pad the front so positions line up at predict time
            tail = np.concatenate([np.full(need - tail.size, np.nan), tail])
        return {
            "kind": "gbm", "task": "forecast", "features": list(data.features), "horizon": h,
            "lags": np.asarray(lags, dtype=np.int32), "windows": np.asarray(windows, dtype=np.int32),
            "calendar": cal, "tail": tail, "impute": imp, "trees": _trees.from_hist_gradient_boosting(est),
            "last_time": last_time, "freq": offset.freqstr, "time": data.time, "levels": levels,
        }

    # ------------------------------------------------------------------ predict

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        if state.get("kind") == "constant_class":
            return constant_class_predict(state, len(future))
        if state["task"] == "forecast":
            return self._predict_forecast(state, future)
        raw = _trees.raw_predict(state["trees"], self._X(state, future))
        if state["task"] == "regression":
            return raw[:, 0]
        classes = state["classes"]
        if raw.shape[1] == 1:
            p1 = expit(raw[:, 0])
            # Same decision as sklearn's argmax over [1 - p, p] (ties go to the first class).
            return classes[(p1 > 1.0 - p1).astype(np.int64)]
        return classes[np.argmax(raw, axis=1)]

    def predict_score(self, state: dict, future: pd.DataFrame) -> np.ndarray | None:
        if state.get("kind") == "constant_class":
            return constant_class_score(state, len(future))
        if state["task"] != "classification" or state["classes"].size != 2:
            return None
        raw = _trees.raw_predict(state["trees"], self._X(state, future))
        return expit(raw[:, 0])

    def predict_proba(self, state: dict, future: pd.DataFrame) -> np.ndarray | None:
        """(rows, classes) probabilities as scikit-learn's predict_proba: a sigmoid of the raw
        score for two classes, a softmax over the per-class scores for more."""
        if state.get("kind") == "constant_class":
            return constant_class_proba(state, len(future))
        if state["task"] != "classification":
            return None
        raw = _trees.raw_predict(state["trees"], self._X(state, future))
        if raw.shape[1] == 1:
            p1 = expit(raw[:, 0])
            return np.column_stack([1.0 - p1, p1])
        return softmax(raw, axis=1)

    @staticmethod
    def _X(state: dict, future: pd.DataFrame, allow_missing: bool = False) -> np.ndarray:
        return encoded_matrix(future, state["features"], state.get("levels") or {}, one_hot=False,
                              allow_missing=allow_missing)

    def _predict_forecast(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        if len(future) == 0:
            return np.zeros(0)
        ns = time_ns(future, future_time_column(state, future))
        k = steps_ahead(state, future, future_time_column(state, future))
        h = state["horizon"]
        if k.max() > h:
            raise ValueError(
                f"model 'gbm' was trained for horizon {h} and cannot predict {int(k.max())} periods "
                "ahead without recursion; set model.params.horizon (or the pipeline's scoring horizon)"
            )
        tail = state["tail"]
        ext = np.concatenate([tail, np.full(h, np.nan)])  # future values are unknown: never read
        positions = tail.size - 1 + k
        X = self._X(state, future, allow_missing=True)
        design = np.hstack([
            _lag_design(ext, positions, h, state["lags"], state["windows"]),
            _calendar(ns, state["calendar"]),
            ForecastFeatures.transform(X, state["impute"]),
        ])
        return _trees.raw_predict(state["trees"], design)[:, 0]


def _native(features: list[str], levels: dict, max_bins: int) -> np.ndarray:
    """Which features the booster splits on as categories (HistGradientBoosting's native
    categorical splits): the category features with at most max_bins categories; one with
    more is split on its category's index in sorted order, as a number."""
    return np.array([c in levels and len(levels[c]) <= max_bins for c in features], dtype=bool)


def _lag_design(grid: np.ndarray, at: np.ndarray, h: int, lags, windows) -> np.ndarray:
    """Lag values and trailing-window means (windows ending h periods back) at positions `at`.

    Missing periods are NaN in `grid`; lags that fall before the series are NaN; window
    means average the observed values only (NaN if none), so gaps degrade gracefully.
    """
    at = np.asarray(at, dtype=np.int64)
    cols = []
    for lag in lags:
        src = at - int(lag)
        ok = src >= 0
        cols.append(np.where(ok, grid[np.maximum(src, 0)], np.nan))
    observed = ~np.isnan(grid)
    csum = np.concatenate([[0.0], np.cumsum(np.where(observed, grid, 0.0))])
    ccnt = np.concatenate([[0], np.cumsum(observed)])
    for w in windows:
        hi = np.clip(at - h + 1, 0, grid.size)  # exclusive end: window covers (at-h-w, at-h]
        lo = np.clip(at - h - int(w) + 1, 0, grid.size)
        cnt = ccnt[hi] - ccnt[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            cols.append(np.where(cnt > 0, (csum[hi] - csum[lo]) / cnt, np.nan))
    return np.column_stack(cols) if cols else np.empty((at.size, 0))


def _calendar(ns: np.ndarray, cal: dict) -> np.ndarray:
    dow, doy, month = calendar_parts(ns)
    cols = []
    if cal["weekday"]:
        cols.append(dow)
    if cal["hour"]:
        cols.append(np.floor_divide(ns, 3_600 * 10**9) % 24)
    if cal["year"]:
        cols += [month, doy]
    if not cols:
        return np.empty((len(ns), 0))
    return np.column_stack(cols).astype(np.float64)


__all__ = ["Gbm"]
