"""Date strings parsed the same way on pandas 1.5 and 2.x.

Left to itself, pandas 2 infers one format from the first value and turns values in another
format into NaT, while pandas 1.5 parses each value on its own (dateutil), so "01/02/2024"
next to "13/01/2024" gave two different calendars on the two versions. Here:

* ISO 8601 values (2024-01-31, 2024-01-31T08:00:00.5+01:00, 2024-01) are parsed as ISO on
  both (pandas 2: format="ISO8601"; pandas 1.5's default parser takes ISO strings as ISO);
* otherwise one explicit format is used for every value: pandas' guess for the first value,
  or — when that leaves values unparsed — the guess for the first such value if it parses
  them all (so 01/02/2024 with 13/01/2024 is day-first throughout). Values the format does
  not fit become NaT, which the caller reports (MM412);
* values no format can be guessed for are parsed one by one on both (pandas 2: "mixed").
"""
from __future__ import annotations

import re

import pandas as pd

try:  # the same function in pandas 1.5 and 2.x
    from pandas._libs.tslibs.parsing import guess_datetime_format
except ImportError:  # pragma: no cover - public from pandas 2.2
    from pandas.tseries.api import guess_datetime_format

_PANDAS2 = int(pd.__version__.split(".")[0]) >= 2
_ISO = re.compile(r"^\d{4}-\d{2}(-\d{2}([T ]\d{2}(:\d{2}(:\d{2}([.,]\d+)?)?)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?$")


def parse_datetimes(idx: pd.Index, utc: bool = False) -> pd.DatetimeIndex:
    """`idx` (distinct strings, object dtype) as datetimes, NaT where a value does not parse."""
    values = [str(v).strip() for v in idx]
    present = [v for v in values if v]
    if present and all(_ISO.match(v) for v in present):
        if _PANDAS2:
            return pd.to_datetime(idx, errors="coerce", utc=utc, format="ISO8601")
        return pd.to_datetime(idx, errors="coerce", utc=utc)
    first = guess_datetime_format(present[0]) if present else None
    if first is None:
        if _PANDAS2:
            return pd.to_datetime(idx, errors="coerce", utc=utc, format="mixed")
        return pd.to_datetime(idx, errors="coerce", utc=utc)
    parsed = pd.to_datetime(idx, errors="coerce", utc=utc, format=first)
    missed = [v for v, bad in zip(values, parsed.isna()) if bad and v]
    if missed:
        other = guess_datetime_format(missed[0])
        if other and other != first:
            again = pd.to_datetime(idx, errors="coerce", utc=utc, format=other)
            if not any(bad and v for v, bad in zip(values, again.isna())):
                return again
    return parsed


__all__ = ["parse_datetimes"]
