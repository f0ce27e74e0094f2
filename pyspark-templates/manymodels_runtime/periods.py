"""Integer period indexes (`time: {column: week, kind: period}`) on the forecast models'
calendar: period p is held internally as the synthetic timestamp p days after 1970-01-01
with frequency D, so every model and the gap policy work unchanged, and each output (the
prediction time and forecast_origin, report series, manifest reasons, error messages) maps
it back with `format_time`. Models are told the calendar is synthetic (GroupData.calendar
False): no weekday, hour or yearly terms are derived from it, and the season length is the
pipeline's `time.season_length` (1, no season, when unset).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import WRONG_COLUMN_TYPE, InputError

DATE, PERIOD = "date", "period"
PERIOD_FREQUENCY = "D"
NS_PER_PERIOD = 86_400 * 10**9
# ±100,000 periods stay inside pandas' nanosecond range (1677–2262) on the synthetic calendar.
MAX_PERIOD = 100_000
NAT = np.iinfo(np.int64).min


def parse_periods(values, column: str) -> np.ndarray:
    """Distinct period strings ("40", "41", "40.0") → int64 ns on the synthetic calendar;
    raises MM412 naming values that are not whole numbers within ±MAX_PERIOD."""
    idx = pd.Index(values, dtype=object)
    if not len(idx):
        return np.empty(0, dtype=np.int64)
    num = pd.to_numeric(pd.Series(idx.astype(str).str.strip(), dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(num) | (np.floor(num) != num) | (np.abs(num) > MAX_PERIOD)
    if bad.any():
        examples = ", ".join(repr(v) for v in idx[bad][:3])
        raise InputError(WRONG_COLUMN_TYPE,
                         f"time column '{column}' (kind: period) has {int(bad.sum())} value(s) that are not "
                         f"whole period numbers between {-MAX_PERIOD} and {MAX_PERIOD}, e.g. {examples}")
    return num.astype(np.int64) * NS_PER_PERIOD


def to_period(ns: int) -> int:
    return int(ns) // NS_PER_PERIOD


def period_ns(p: int) -> int:
    return int(p) * NS_PER_PERIOD


def format_time(ns: int, kind: str) -> str:
    """One internal time as the user wrote it: the period number, or the date (time of day
    only when it is not midnight)."""
    if kind == PERIOD:
        return str(to_period(ns))
    return str(pd.Timestamp(int(ns)))[:19].replace(" 00:00:00", "")


def format_times(ns: np.ndarray) -> np.ndarray:
    """Internal times of a period axis as period-number strings."""
    return np.floor_divide(np.asarray(ns, dtype=np.int64), NS_PER_PERIOD).astype(str)
