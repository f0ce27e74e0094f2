"""`ets`: Holt-Winters exponential smoothing, forecast from its final state.

The default engine (`fast`, module `_ets_fast`) fits the smoothing parameters with a batched
search over one recursion, compiled by numba when importable and vectorised with numpy
otherwise; `engine: statsmodels` is the reference fit by statsmodels' ExponentialSmoothing.

statsmodels' results object carries the whole training series and `.forecast()` re-runs the
smoothing over all of it (PERFORMANCE-NOTES: 224 KB per artifact, 116 s to score 10k series).
We keep only the final level, trend, damping factor and one season of seasonal terms
(~0.3 KB) and evaluate the forecast equations here; tests check the numbers equal
statsmodels' own `.forecast()`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .base import (
    GroupData, ParamChecker, check_task, data_season_length, future_time_column,
    regular_series, resolve_offset, steps_ahead, target_array, time_ns,
)


class Ets:
    name = "ets"
    tasks = frozenset({"forecast"})
    defaults = {"trend": "add", "damped_trend": False, "seasonal": "add", "seasonal_periods": None,
                "engine": "fast"}
    param_schema = {
        "trend": {"enum": ["add", None]},
        "damped_trend": {"type": "boolean"},
        "seasonal": {"enum": ["add", "mul", None]},
        "seasonal_periods": {"type": ["integer", "null"], "minimum": 2, "maximum": 10_000},
        "engine": {"enum": ["fast", "statsmodels"]},
    }
    doc = "Holt-Winters exponential smoothing (fast batched fit, or statsmodels; only the final state is kept)."

    def _params(self, params: dict) -> dict:
        p = ParamChecker(self.name, self.defaults, params, self.param_schema)
        out = {key: p.value(key) for key in self.param_schema}
        if out["damped_trend"] and out["trend"] is None:
            raise ValueError("model 'ets': damped_trend needs trend: add")
        return out

    def fit(self, data: GroupData, params: dict) -> dict:
        check_task(self.name, self.tasks, data.task)
        p = self._params(params)
        if not data.time:
            raise ValueError("ets needs a time column")
        y = target_array(data)
        ns = time_ns(data.frame, data.time)
        offset = resolve_offset(data.frequency, ns)
        grid, _ = regular_series(ns, y, offset)
        if np.isnan(grid).any():
            # Smoothing needs one value per period: fill missing periods by linear
            # interpolation between their observed neighbours.
            idx = np.arange(grid.size)
            ok = ~np.isnan(grid)
            grid = np.interp(idx, idx[ok], grid[ok])
        seasonal = p["seasonal"]
        m = (p["seasonal_periods"] or data_season_length(data, offset)) if seasonal else 0
        if seasonal and m < 2 and not data.calendar:
            # A period axis without time.season_length has no season: fit trend and level.
            seasonal, m = None, 0
        if seasonal and m < 2:
            raise ValueError(
                f"model 'ets': frequency '{offset.freqstr}' has no natural season; "
                "set seasonal_periods or seasonal: null"
            )
        if seasonal and grid.size < 2 * m:
            raise ValueError(
                f"model 'ets': seasonal_periods={m} needs at least {2 * m} periods of history, got {grid.size}"
            )
        if seasonal == "mul" and (grid <= 0).any():
            # Multiplicative seasons are undefined for values <= 0 (statsmodels refuses
            # them): such a series gets additive seasons instead of failing; the state
            # records the season kind that was fitted.
            seasonal = "add"
        base = {"kind": "ets", "m": int(m), "seasonal": seasonal, "trend": p["trend"],
                "last_time": int(ns[-1]), "freq": offset.freqstr, "time": data.time}
        if np.ptp(grid) == 0:
            # A constant series: the optimiser has nothing to fit and statsmodels warns or
            # fails; the exact answer is the constant with no trend and neutral seasons.
            neutral = 1.0 if seasonal == "mul" else 0.0
            return {**base, "level": float(grid[0]), "slope": 0.0, "phi": 1.0,
                    "season": np.full(m, neutral), "damped": False}
        if p["engine"] == "fast":
            from ._ets_fast import fit_holt_winters

            fit = fit_holt_winters(grid, trend=p["trend"] == "add", damped=bool(p["damped_trend"]),
                                   seasonal=seasonal, m=int(m))
            return {**base, "level": fit["level"], "slope": fit["slope"], "phi": fit["phi"],
                    "season": fit["season"], "damped": bool(p["damped_trend"]),
                    "alpha": fit["alpha"], "beta": fit["beta"], "gamma": fit["gamma"]}
        from statsmodels.tsa.holtwinters import ExponentialSmoothing  # heavy import, only when used

        with warnings.catch_warnings():
            # Convergence chatter per group would flood stderr across 10,000 fits.
            warnings.simplefilter("ignore")
            res = ExponentialSmoothing(
                grid, trend=p["trend"], damped_trend=p["damped_trend"],
                seasonal=seasonal, seasonal_periods=m if seasonal else None,
            ).fit()
        level = float(res.level[-1])
        slope = float(res.trend[-1]) if p["trend"] else 0.0
        phi = float(res.params["damping_trend"]) if p["damped_trend"] else 1.0
        if seasonal:
            s = np.asarray(res.season, dtype=np.float64)
            # statsmodels' forecast uses, for steps 1..m, the seasonal terms of the last m-1
            # periods and then (for step m) the term from one season before the last period,
            # not the one just updated with the last observation. Mirror that exactly so our
            # forecasts equal statsmodels' own.
            season = np.concatenate([s[-m:-1], s[-m - 1:-m]]) if s.size > m else s[-m:].copy()
        else:
            season = np.zeros(0)
        if not np.isfinite([level, slope, phi]).all() or not np.isfinite(season).all():
            raise ValueError("model 'ets': smoothing diverged (non-finite state)")
        return {**base, "level": level, "slope": slope, "phi": phi, "season": season,
                "damped": bool(p["damped_trend"])}

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        h = steps_ahead(state, future, future_time_column(state, future))
        return forecast_from_state(state, h)

    def predict_score(self, state: dict, future: pd.DataFrame) -> None:
        return None


def forecast_from_state(state: dict, h: np.ndarray) -> np.ndarray:
    """Holt-Winters forecast for steps `h` (1 = next period) from the final state."""
    h = np.asarray(h, dtype=np.int64)
    if state["damped"]:
        # trend contribution phi + phi^2 + ... + phi^h, as statsmodels computes it
        top = int(h.max()) if h.size else 0
        damp = np.cumsum(state["phi"] ** np.arange(1, top + 1))
        trend = state["slope"] * damp[h - 1] if h.size else np.zeros(0)
    else:
        trend = state["slope"] * h
    base = state["level"] + trend
    if not state["seasonal"]:
        return base.astype(np.float64)
    s = state["season"][(h - 1) % state["m"]]
    return base * s if state["seasonal"] == "mul" else base + s


__all__ = ["Ets", "forecast_from_state"]
