"""Frequency aliases that mean the same on pandas 1.5 and 2.x.

pandas 2.2 renamed the period-end and sub-daily aliases (M → ME, Q → QE, A/Y → YE, H → h,
T → min, S → s, …) and deprecates the old spellings; pandas < 2.2 knows only the old ones.
A pipeline may use either spelling, and an artifact records the spelling of the pandas that
trained it (a state's `freq` is `offset.freqstr`), so every alias is rewritten to the
installed pandas' own spelling before `to_offset` sees it: a model trained on pandas 2.2
(`ME`) scores on pandas 1.5 (`M`) and the other way round. Start aliases (MS, QS, YS) and
D, W, B keep their names on both (YS is AS before 2.2, which also accepts YS).
"""
from __future__ import annotations

import re
from functools import lru_cache

from pandas.tseries.frequencies import to_offset as _pandas_to_offset

# pandas 2.2 spelling → the spelling before 2.2 (both accepted by their own pandas).
NEW_TO_OLD = {
    "ME": "M", "QE": "Q", "YE": "A", "BME": "BM", "BQE": "BQ", "BYE": "BA", "SME": "SM",
    "CBME": "CBM", "YS": "AS", "BYS": "BAS",
    "h": "H", "bh": "BH", "cbh": "CBH", "min": "T", "s": "S", "ms": "L", "us": "U", "ns": "N",
}
# Spellings before 2.2 (including the aliases pandas < 2.2 accepted) → the pandas 2.2 one.
OLD_TO_NEW = {
    "M": "ME", "Q": "QE", "A": "YE", "Y": "YE", "BM": "BME", "BQ": "BQE", "BA": "BYE", "BY": "BYE",
    "SM": "SME", "CBM": "CBME", "AS": "YS", "BAS": "BYS",
    "H": "h", "BH": "bh", "CBH": "cbh", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns",
}
_ALIAS = re.compile(r"^(?P<n>[+-]?\d*)(?P<base>[A-Za-z]+)(?P<anchor>-[A-Za-z0-9]+)?$")


def _pandas_has_new_aliases() -> bool:
    try:
        _pandas_to_offset("ME")
        return True
    except ValueError:
        return False


NEW_ALIASES = _pandas_has_new_aliases()


def normalize_frequency(freq: str, new_aliases: bool | None = None) -> str:
    """`freq` in the spelling of pandas ≥ 2.2 (new_aliases) or < 2.2; the installed pandas'
    when new_aliases is None. Multiples and anchors are kept ("2ME-…", "QE-DEC", "W-MON");
    anything unknown is returned as is, for to_offset to judge."""
    m = _ALIAS.match(freq.strip())
    if not m:
        return freq
    table = OLD_TO_NEW if (NEW_ALIASES if new_aliases is None else new_aliases) else NEW_TO_OLD
    base = table.get(m.group("base"), m.group("base"))
    return f"{m.group('n')}{base}{m.group('anchor') or ''}"


@lru_cache(maxsize=256)
def to_offset(freq):
    """pandas' to_offset over the normalised alias (strings); other values pass through."""
    return _pandas_to_offset(normalize_frequency(freq) if isinstance(freq, str) else freq)


__all__ = ["normalize_frequency", "to_offset", "NEW_TO_OLD", "OLD_TO_NEW", "NEW_ALIASES"]
