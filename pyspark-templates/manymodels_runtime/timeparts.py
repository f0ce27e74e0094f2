"""Times built from parts (columns.timeParts): integer year, month, day, hour and minute
columns composed into int64 ns, the same way on every reader and engine. Absent parts are
fixed (month and day 1, hour and minute 0); a row missing a part it has has no time (NaT,
dropped like a missing time). Values that are not whole numbers raise MM465; combinations
that are no date (month 13, 30 February, hour 24) raise MM466, with examples."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import TIME_PARTS_NOT_A_DATE, TIME_PARTS_NOT_INTEGERS, InputError

NAT = np.iinfo(np.int64).min
# What int64 ns since 1970 holds (pandas' Timestamp range), in whole years.
YEAR_MIN, YEAR_MAX = 1678, 2261
RANGES = {"month": (1, 12), "hour": (0, 23), "minute": (0, 59)}
NS_PER_MINUTE = 60 * 10**9
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR


def _fmt(v: float) -> str:
    return str(int(v)) if np.isfinite(v) and v == np.floor(v) else repr(float(v))


def compose(parts: dict[str, np.ndarray], columns: dict[str, str],
            where: Callable[[int], str] | None = None) -> np.ndarray:
    """`parts`: part name → float64 values (NaN where missing); `columns`: part → column name,
    for messages; `where(i)`: what row i is (its group), for examples. Returns int64 ns."""
    n = len(next(iter(parts.values())))
    present = np.ones(n, dtype=bool)
    for a in parts.values():
        present &= ~np.isnan(a)
    for part, a in parts.items():
        v = a[present]
        bad = ~np.isfinite(v) | (v != np.floor(v))
        if bad.any():
            rows = np.flatnonzero(present)[bad]
            examples = ", ".join(_fmt(a[i]) + (f" ({where(int(i))})" if where else "") for i in rows[:3])
            raise InputError(TIME_PARTS_NOT_INTEGERS,
                             f"time part {part} (column '{columns[part]}') has {int(bad.sum())} value(s) that are "
                             f"not whole numbers, e.g. {examples}; time.parts columns hold integers "
                             "(year 2013, month 3, day 1, hour 0)")
    ok = present.copy()
    get = {p: np.where(present, parts[p], 0).astype(np.int64) if p in parts else None for p in RANGES}
    year = np.where(present, parts["year"], 1970).astype(np.int64)
    month = get["month"] if get["month"] is not None else np.ones(n, dtype=np.int64)
    day = np.where(present, parts["day"], 1).astype(np.int64) if "day" in parts else np.ones(n, dtype=np.int64)
    invalid = present & ((year < YEAR_MIN) | (year > YEAR_MAX))
    for p, (lo, hi) in RANGES.items():
        if get[p] is not None:
            invalid |= present & ((get[p] < lo) | (get[p] > hi))
    # Days in the month: the next month's first day minus this month's, on numpy's calendar.
    safe_month = np.where(invalid | ~present, 1, month)
    safe_year = np.where(invalid | ~present, 1970, year)
    first = ((safe_year - 1970) * 12 + (safe_month - 1)).astype("datetime64[M]")
    first_day = first.astype("datetime64[D]").astype(np.int64)
    days_in_month = (first + 1).astype("datetime64[D]").astype(np.int64) - first_day
    invalid |= present & ((day < 1) | (day > days_in_month))
    if invalid.any():
        rows = np.flatnonzero(invalid)
        shown = []
        for i in rows[:3]:
            values = ", ".join(f"{p} {_fmt(parts[p][i])}" for p in parts)
            shown.append(values + (f" ({where(int(i))})" if where else ""))
        raise InputError(TIME_PARTS_NOT_A_DATE,
                         f"time.parts make no valid date in {len(rows)} row(s), e.g. {'; '.join(shown)}. "
                         f"Months run 1–12, days 1 to the month's last (28–31), hours 0–23, minutes 0–59, "
                         f"years {YEAR_MIN}–{YEAR_MAX}")
    ok &= ~invalid
    ns = (first_day + day - 1) * NS_PER_DAY
    if get["hour"] is not None:
        ns = ns + get["hour"] * NS_PER_HOUR
    if get["minute"] is not None:
        ns = ns + get["minute"] * NS_PER_MINUTE
    return np.where(ok, ns, NAT).astype(np.int64)


def keys_where(frame, keys) -> Callable[[int], str]:
    """Row i of a pandas frame as its group, for compose's examples: "station 'Dongsi'"."""
    def where(i: int) -> str:
        return ", ".join(f"{k} {str(frame[k].iloc[i])!r}" for k in keys)
    return where
