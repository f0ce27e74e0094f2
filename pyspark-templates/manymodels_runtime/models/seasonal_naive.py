"""`seasonal_naive` forecast: each future period repeats the value of the same period one
season earlier. The baseline every other forecaster must beat; fitting is a tail lookup.

State: the last observed value for each phase of the season, the last training time and
the frequency (a few hundred bytes).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import (
    GroupData, ParamChecker, check_task, data_season_length, grid_positions,
    future_time_column, resolve_offset, steps_ahead, target_array, time_ns,
)


class SeasonalNaive:
    name = "seasonal_naive"
    tasks = frozenset({"forecast"})
    defaults = {"season_length": None}
    param_schema = {"season_length": {"type": ["integer", "null"], "minimum": 1, "maximum": 100_000}}
    doc = ("Repeats the last observed season (season_length null = from the frequency: 7 daily, 24 hourly, "
           "12 monthly; on a period axis time.season_length, else 1: the last value).")

    def _params(self, params: dict) -> dict:
        p = ParamChecker(self.name, self.defaults, params, self.param_schema)
        return {"season_length": p.value("season_length")}

    def fit(self, data: GroupData, params: dict) -> dict:
        check_task(self.name, self.tasks, data.task)
        p = self._params(params)
        if not data.time:
            raise ValueError("seasonal_naive needs a time column")
        y = target_array(data)
        ns = time_ns(data.frame, data.time)
        offset = resolve_offset(data.frequency, ns)
        m = p["season_length"] or data_season_length(data, offset)
        last = int(ns[-1])
        pos = grid_positions(ns, last, offset)  # <= 0; 0 is the last row
        if (np.diff(pos) <= 0).any():
            raise ValueError("time column has duplicate or unsorted timestamps within the group")
        phase = np.mod(pos, m)
        # Most recent row of each phase. With gaps, "the last m rows" are not the last
        # season, so look up each phase by calendar position instead.
        latest = np.full(m, -1, dtype=np.int64)
        np.maximum.at(latest, phase, np.arange(len(y)))
        season = np.where(latest >= 0, y[np.maximum(latest, 0)], np.nan)
        if np.isnan(season).any():
            # A phase never observed (series shorter than a season, or always missing on
            # that weekday): use the mean of the phases we did see.
            season[np.isnan(season)] = np.nanmean(season)
        return {"kind": "seasonal_naive", "season": season, "m": int(m),
                "last_time": last, "freq": offset.freqstr, "time": data.time}

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        h = steps_ahead(state, future, future_time_column(state, future))
        return state["season"][np.mod(h, state["m"])].astype(np.float64)

    def predict_score(self, state: dict, future: pd.DataFrame) -> None:
        return None


__all__ = ["SeasonalNaive"]
