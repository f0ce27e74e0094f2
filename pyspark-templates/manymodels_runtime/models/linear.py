"""`linear`: ridge regression solved with NumPy, for forecasts and for plain regression.

Forecast: target ~ trend + day-of-week dummies (+ hour-of-day for intraday data) +
yearly Fourier terms + the listed features (optionally log-transformed). Regression:
target ~ features. A category feature is one 0/1 column per category seen in training (a
category never seen, or a missing one, is all zeros: it adds nothing to the intercept). Both are one small normal-equations solve on standardised columns,
which is what keeps a 4,000-row fit near a millisecond (PERFORMANCE-NOTES: ~1.1 ms with
lstsq; sklearn's Ridge adds validation overhead that dominates at this size).

State: raw-space coefficients and intercept, the recipe for the design columns, and the
feature imputation values (medians, last training row). A few hundred bytes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import (
    NS_PER_DAY, ForecastFeatures, GroupData, ParamChecker, category_levels, check_task,
    column_medians, encoded_matrix, encoded_width, fill_with, future_time_column, resolve_offset,
    period_days, target_array, time_ns,
)

DAYS_PER_YEAR = 365.25


def ridge_fit(X: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge with an unpenalised intercept on standardised columns; raw-space (w, b).

    Standardising makes one `alpha` mean the same for a price column and a 0/1 flag. It is
    done on the small Gram matrix of the centred columns rather than by building a scaled
    copy of the (n × p) design, which is most of the cost at n = 4,000. Constant columns (a
    promo flag never set in this group) get a zero coefficient instead of a division by
    zero; a constant target gives w = 0, b = the constant.
    """
    n, p = X.shape
    ym = float(y.mean())
    w = np.zeros(p)
    if p == 0 or n < 2:
        return w, ym
    mean = X.mean(axis=0)
    Xc = X - mean
    gram = Xc.T @ Xc
    scale = np.sqrt(np.maximum(np.diag(gram), 0.0) / n)
    keep = scale > 1e-12 * (np.abs(mean) + 1.0)
    if not keep.any():
        return w, ym
    if alpha <= 0:
        # No penalty: the Gram system may be singular (collinear columns); lstsq on the
        # scaled design gives the minimum-norm solution instead of failing.
        s = scale[keep]
        w[keep] = np.linalg.lstsq(Xc[:, keep] / s, y - ym, rcond=None)[0] / s
        return w, float(ym - mean @ w)
    return _ridge_solve(gram, Xc.T @ (y - ym), mean, scale, keep, ym, alpha)


def _ridge_solve(gram, xy, mean, scale, keep, ym, alpha) -> tuple[np.ndarray, float]:
    """The penalised solve on the centred Gram matrix, shared by the one-fit and pair paths."""
    w = np.zeros(len(mean))
    s = scale[keep]
    A = gram[np.ix_(keep, keep)] / np.outer(s, s)
    A[np.diag_indices_from(A)] += alpha
    w[keep] = np.linalg.solve(A, xy[keep] / s) / s
    return w, float(ym - mean @ w)


def ridge_fit_moments(S: np.ndarray, sx: np.ndarray, sxy: np.ndarray, sy: float, n: int,
                      alpha: float) -> tuple[np.ndarray, float] | None:
    """ridge_fit from raw sums (X'X, X'1, X'y, y'1) instead of the rows, for alpha > 0.

    Sums add up, so the training part of a series is the whole minus its holdout rows: one
    pass over the design serves both fits. Centring from sums loses a few digits against
    centring the rows (the columns here are O(1)–O(10), so ~1e-10 relative); None when the
    shortcut does not apply and the caller should fit from the rows.
    """
    if alpha <= 0 or n < 2 or not len(sx):
        return None
    mean = sx / n
    ym = sy / n
    gram = S - n * np.outer(mean, mean)
    xy = sxy - sx * ym
    scale = np.sqrt(np.maximum(np.diag(gram), 0.0) / n)
    keep = scale > 1e-6 * (np.abs(mean) + 1.0)
    if not keep.any():
        return np.zeros(len(sx)), float(ym)
    return _ridge_solve(gram, xy, mean, scale, keep, ym, alpha)


def _log_columns(X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Natural log of the flagged columns; non-positive values become missing (imputed later)."""
    if not mask.any():
        return X
    X = X.copy()
    sub = X[:, mask]
    with np.errstate(divide="ignore", invalid="ignore"):
        X[:, mask] = np.where(sub > 0, np.log(np.where(sub > 0, sub, 1.0)), np.nan)
    return X


_CALENDAR_CACHE: dict[tuple, np.ndarray] = {}
_CALENDAR_CACHE_SIZE = 16


def _calendar_design(ns: np.ndarray, spec: dict, n_extra: int = 0) -> np.ndarray:
    """Trend, day-of-week/hour dummies and yearly Fourier columns, in a fixed order.

    Filled into one preallocated matrix with `n_extra` trailing columns left for the
    features (saves the copies an hstack of many pieces makes on every fit). Thousands of
    series usually share one regular time axis, so the calendar block of a regular axis is
    computed once per process and copied (a copy costs a fraction of the sin/cos).
    """
    n = len(ns)
    if n > 2 and ns[-1] - ns[0] == (n - 1) * (ns[1] - ns[0]):
        key = (int(ns[0]), int(ns[1] - ns[0]), n, spec["t0"], spec["trend"], spec["weekday"], spec["hour"], spec["fourier"])
        block = _CALENDAR_CACHE.get(key)
        if block is None:
            block = _calendar_block(ns, spec)
            if len(_CALENDAR_CACHE) >= _CALENDAR_CACHE_SIZE:
                _CALENDAR_CACHE.pop(next(iter(_CALENDAR_CACHE)))
            _CALENDAR_CACHE[key] = block
        out = np.empty((n, block.shape[1] + n_extra))
        out[:, :block.shape[1]] = block
        return out
    return _calendar_block(ns, spec, n_extra)


def _calendar_block(ns: np.ndarray, spec: dict, n_extra: int = 0) -> np.ndarray:
    k = spec["fourier"]
    width = int(spec["trend"]) + 6 * spec["weekday"] + 23 * spec["hour"] + 2 * k
    out = np.zeros((len(ns), width + n_extra))
    c = 0
    if spec["trend"]:
        out[:, 0] = (ns - spec["t0"]) / (NS_PER_DAY * DAYS_PER_YEAR)
        c = 1
    days = np.floor_divide(ns, NS_PER_DAY)
    if spec["weekday"]:
        dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday (0) is the base level
        rows = np.flatnonzero(dow > 0)
        out[rows, c + dow[rows] - 1] = 1.0
        c += 6
    if spec["hour"]:
        hour = np.floor_divide(ns, 3_600 * 10**9) % 24
        rows = np.flatnonzero(hour > 0)
        out[rows, c + hour[rows] - 1] = 1.0
        c += 23
    if k:
        # Phase from the epoch rather than day-of-year: continuous across leap years.
        arg = ((2 * np.pi / DAYS_PER_YEAR) * (ns / NS_PER_DAY))[:, None] * np.arange(1, k + 1)[None, :]
        out[:, c:c + k] = np.sin(arg)
        out[:, c + k:c + 2 * k] = np.cos(arg)
    return out


class Linear:
    name = "linear"
    tasks = frozenset({"forecast", "regression"})
    defaults = {"alpha": 1.0, "trend": True, "weekday": True, "fourier_order": 3, "log_features": []}
    param_schema = {
        "alpha": {"type": "number", "minimum": 0.0},
        "trend": {"type": "boolean"},
        "weekday": {"type": "boolean"},
        "fourier_order": {"type": "integer", "minimum": 0, "maximum": 20},
        "log_features": {"type": "array", "items": {"type": "string"}},
    }
    doc = ("Ridge regression (NumPy): forecast on trend, weekday dummies, yearly Fourier terms and "
           "features; regression on features.")

    def _params(self, params: dict) -> dict:
        p = ParamChecker(self.name, self.defaults, params, self.param_schema)
        return {key: p.value(key) for key in self.param_schema}

    def _prepare(self, data: GroupData, p: dict) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """The state without coefficients, the design matrix and the target of one fit, and
        the raw feature matrix and time axis it was built from."""
        check_task(self.name, self.tasks, data.task)
        unknown = [c for c in p["log_features"] if c not in data.features]
        if unknown:
            raise ValueError(f"model 'linear': log_features {unknown} are not among the features {data.features}")
        y = target_array(data)
        levels = category_levels(data.frame, data.features)
        bad = [c for c in p["log_features"] if c in levels]
        if bad:
            raise ValueError(f"model 'linear': log_features {bad} are category columns; a log needs numbers")
        # One 0/1 column per category seen in training (an unseen one is an all-zero row).
        widths = encoded_width(data.features, levels, one_hot=True)
        log_mask = np.repeat(np.array([c in p["log_features"] for c in data.features], dtype=bool), widths)
        X = _log_columns(encoded_matrix(data.frame, data.features, levels, one_hot=True), log_mask)
        state = {"kind": "linear", "task": data.task, "features": list(data.features), "log_mask": log_mask,
                 "levels": levels}
        ns = None
        if data.task == "forecast":
            if not data.time:
                raise ValueError("linear forecast needs a time column")
            ns = time_ns(data.frame, data.time)
            spec = self._seasonal_spec(ns, data.frequency, p, data.calendar)
            Xf, imp = ForecastFeatures.fit(X)
            design = _calendar_design(ns, spec, n_extra=Xf.shape[1])
            design[:, design.shape[1] - Xf.shape[1]:] = Xf
            state.update(spec=spec, impute=imp, time=data.time, last_time=int(ns[-1]),
                         freq=resolve_offset(data.frequency, ns).freqstr)
        else:
            med = column_medians(X)
            design = fill_with(X, med)
            state.update(medians=med)
        return state, design, y, X, ns

    @staticmethod
    def _seasonal_spec(ns: np.ndarray, frequency: str | None, p: dict, calendar: bool = True) -> dict:
        # Seasonal terms are only added when the data can identify them: weekday dummies
        # for sub-weekly data, yearly terms once a full year is covered (a half-year series
        # would extrapolate an invented yearly curve), at most the order the sampling rate
        # can resolve.
        step_days = period_days(resolve_offset(frequency, ns))
        span_days = (ns[-1] - ns[0]) / NS_PER_DAY
        max_k = int((DAYS_PER_YEAR / step_days - 1) // 2)
        return {
            "t0": int(ns[0]),
            "trend": p["trend"],
            # A period axis (synthetic calendar, periods.py) has trend and features only.
            "weekday": calendar and p["weekday"] and step_days < 7 and span_days >= 7,
            "hour": calendar and step_days < 1 and span_days >= 1,
            "fourier": min(p["fourier_order"], max_k) if calendar and span_days >= DAYS_PER_YEAR else 0,
        }

    def fit(self, data: GroupData, params: dict) -> dict:
        p = self._params(params)
        state, design, y, _, _ = self._prepare(data, p)
        w, b = ridge_fit(design, y, p["alpha"])
        state.update(coef=w, intercept=b)
        return state

    def fit_with_holdout(self, data: GroupData, n_train: int, params: dict):
        """Evaluate-then-refit in one pass: (holdout predictions, state fitted on all rows).

        Equal (to ~1e-10) to fit(first n_train rows) + predict(the rest) + fit(all rows) —
        which the runtime does otherwise — but builds the design once and solves both fits
        from its sums (the training sums are the whole minus the holdout rows). None when
        that would not be equal — missing feature values (their imputation depends on the
        rows seen), a different seasonal recipe for the shorter span, no penalty — and the
        runtime takes the long way.
        """
        if data.task != "forecast" or not data.time or not 2 <= n_train < len(data.frame):
            return None
        p = self._params(params)
        if p["alpha"] <= 0:
            return None
        state, design, y, X, ns = self._prepare(data, p)
        if X.shape[1] and np.isnan(X).any():
            return None
        spec = dict(self._seasonal_spec(ns[:n_train], data.frequency, p, data.calendar), t0=state["spec"]["t0"])
        if spec != state["spec"]:
            return None
        head, tail = design[:n_train], design[n_train:]
        S_tail = tail.T @ tail
        S = design.T @ design
        sx_tail, sxy_tail = tail.sum(axis=0), tail.T @ y[n_train:]
        sx, sxy, sy = design.sum(axis=0), design.T @ y, float(y.sum())
        trained = ridge_fit_moments(S - S_tail, sx - sx_tail, sxy - sxy_tail, sy - float(y[n_train:].sum()), n_train, p["alpha"])
        full = ridge_fit_moments(S, sx, sxy, sy, len(y), p["alpha"])
        if trained is None or full is None:
            return None
        w, b = trained
        state.update(coef=full[0], intercept=full[1])
        return tail @ w + b, state

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        X = _log_columns(
            encoded_matrix(future, state["features"], state.get("levels") or {}, one_hot=True,
                           allow_missing=state["task"] == "forecast"),
            state["log_mask"],
        )
        if state["task"] == "forecast":
            ns = time_ns(future, future_time_column(state, future))
            Xf = ForecastFeatures.transform(X, state["impute"])
            design = _calendar_design(ns, state["spec"], n_extra=Xf.shape[1])
            design[:, design.shape[1] - Xf.shape[1]:] = Xf
        else:
            design = fill_with(X, state["medians"])
        return design @ state["coef"] + state["intercept"]

    def predict_score(self, state: dict, future: pd.DataFrame) -> None:
        return None


__all__ = ["Linear", "ridge_fit", "ridge_fit_moments"]
