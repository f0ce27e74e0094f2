"""Column typing: one parsed chunk as plain arrays (categorical codes, numbers), and the merge
of every chunk into the final Table: keys as codes over their sorted distinct strings, times
parsed once per distinct string, integral features in the smallest int type, boolean features
(true/false in any case) as 1/0, text features as int32 codes over their sorted distinct
strings (categories), text class labels as their index."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..timeparse import parse_datetimes
from ..errors import EMPTY_INPUT, WRONG_COLUMN_TYPE, InputError
from .table import KeyColumn, ReadRequest, Table

NAT = np.iinfo(np.int64).min


def parse_frame(frame: pd.DataFrame, req: ReadRequest) -> dict:
    """One parsed chunk as plain arrays: categorical columns as (codes, categories). A feature
    that came out as text (the reader's text_features, or a Parquet string column) is a
    categorical column here; finalize decides whether it is booleans or categories."""
    out = {"n": len(frame), "cat": {}, "num": {}}
    cat_cols = list(req.keys) + ([req.time] if req.time else []) + \
        ([req.target] if req.target and req.target_labels else []) + \
        [f for f in req.features if is_text(frame[f])]
    for c in cat_cols:
        s = frame[c]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("category")
        # Codes stay in pandas' own (smallest) int type; the merge maps them to the final one.
        out["cat"][c] = (s.cat.codes.to_numpy(), [str(v) for v in s.cat.categories])
    out["stats"] = {}
    numeric = [f for f in req.features if f not in out["cat"]]
    for c in numeric + ([req.target] if req.target and not req.target_labels else []):
        col = frame[c]
        # float64 columns come out as views of the parsed block, not copies.
        out["num"][c] = col.to_numpy() if col.dtype == np.float64 else \
            col.to_numpy(dtype=np.float64, na_value=np.nan)
    for c in numeric:
        out["stats"][c] = _int_stats(out["num"][c])
    return out


def is_text(s: pd.Series) -> bool:
    """A column of strings (or a categorical one): not numbers, not booleans."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return True
    return not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype))


BOOLEAN_WORDS = {"true": 1.0, "false": 0.0}


def boolean_values(values) -> np.ndarray | None:
    """1.0/0.0 per distinct string when every one is true or false in any case, else None."""
    low = [str(v).lower() for v in values]
    if not low or any(v not in BOOLEAN_WORDS for v in low):
        return None
    return np.array([BOOLEAN_WORDS[v] for v in low], dtype=np.float64)


def _int_stats(a: np.ndarray) -> dict | None:
    """min/max when every value is a whole number (no NaN), else None: a column that is
    integral everywhere is stored as the smallest int type that holds it, exactly."""
    if a.size == 0:
        return {"min": 0.0, "max": 0.0}
    lo, hi = float(np.min(a)), float(np.max(a))  # NaN propagates: not integral
    if np.isnan(lo) or np.isnan(hi) or not (np.floor(a) == a).all():
        return None
    return {"min": lo, "max": hi}


def _merge_categorical(pieces: list[tuple[np.ndarray, list[str]]],
                       missing_as: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Concatenates chunk codes onto one sorted category list (codes -1 stay -1 unless
    `missing_as` names the category they become)."""
    if missing_as is not None:
        fixed = []
        for codes, cats in pieces:
            if codes.size and codes.min() < 0:
                cats = list(cats) + [missing_as]
                codes = np.where(codes < 0, len(cats) - 1, codes).astype(np.int32)
            fixed.append((codes, cats))
        pieces = fixed
    union = np.array(sorted(set().union(*[set(c) for _, c in pieces])), dtype=object)
    # int16 codes halve the memory of a key column when it has < 32,767 distinct values.
    dtype = np.int16 if len(union) < np.iinfo(np.int16).max else np.int32
    out = np.empty(sum(len(c) for c, _ in pieces), dtype=dtype)
    pos = 0
    for codes, cats in pieces:
        lut = np.searchsorted(union, np.array(cats, dtype=object)) if len(cats) else np.empty(0, np.int64)
        # Index -1 (missing) picks the appended -1.
        lut = np.append(lut, -1).astype(dtype)
        np.take(lut, codes, out=out[pos:pos + len(codes)])
        pos += len(codes)
    return out, union


def parse_times(values, column: str) -> np.ndarray:
    """Distinct time strings → int64 ns (UTC, naive); raises MM412 naming bad values."""
    idx = pd.Index(values, dtype=object)
    if not len(idx):
        return np.empty(0, dtype=np.int64)
    try:
        parsed = parse_datetimes(idx)  # the same on pandas 1.5 and 2.x (timeparse.py)
        if parsed.dtype == object:  # mixed UTC offsets
            parsed = parse_datetimes(idx, utc=True)
    except (ValueError, TypeError, OverflowError):
        parsed = parse_datetimes(idx, utc=True)
    if getattr(parsed, "tz", None) is not None:
        parsed = parsed.tz_convert("UTC").tz_localize(None)
    ns = parsed.asi8.copy()
    bad = idx[ns == NAT]
    if len(bad):
        examples = ", ".join(repr(v) for v in bad[:3])
        raise InputError(WRONG_COLUMN_TYPE,
                         f"time column '{column}' has {len(bad)} value(s) that are not dates or times, "
                         f"e.g. {examples}; use ISO 8601 (2024-01-31 or 2024-01-31T08:00:00)")
    return ns


def parse_time_values(values, column: str, kind: str = "date") -> np.ndarray:
    """Distinct time strings → int64 ns: dates (parse_times), or integer periods on the
    synthetic calendar of periods.py when the pipeline says `kind: period`."""
    if kind == "period":
        from ..periods import parse_periods
        return parse_periods(values, column)
    return parse_times(values, column)


def _take_all(parts: list[dict], kind: str, col: str) -> list:
    # Popped, so each part's (memory-mapped) column is released as soon as it is merged.
    return [p[kind].pop(col) for p in parts]


def _numeric(parts: list[dict], col: str) -> np.ndarray:
    """One numeric column from all parts, copied once into its final dtype: the smallest int
    type when every part found it integral (exact), else float64."""
    dtype = np.float64
    stats = [p["stats"][col] for p in parts]
    if all(st is not None for st in stats):
        lo, hi = min(st["min"] for st in stats), max(st["max"] for st in stats)
        for t in (np.int8, np.int16, np.int32):
            if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                dtype = t
                break
    return np.concatenate(_take_all(parts, "num", col), dtype=dtype, casting="unsafe")


def finalize(req: ReadRequest, parts: list[dict], fingerprint: str) -> Table:
    n = sum(p["n"] for p in parts)
    if n == 0:
        raise InputError(EMPTY_INPUT, f"{req.path} has a header but no data rows")
    keys = []
    for k in req.keys:
        # A reader that yields a missing key (none of ours do for CSV) maps it to "", the
        # string an empty field is written as.
        codes, values = _merge_categorical(_take_all(parts, "cat", k), missing_as="")
        keys.append(KeyColumn(k, codes, values))
    times = None
    if req.time and "time_ns" in parts[0]:
        if req.time_kind == "period":
            raise InputError(WRONG_COLUMN_TYPE, f"time column '{req.time}' (kind: period) holds timestamps, "
                                                "not period numbers")
        times = np.concatenate([p["time_ns"] for p in parts])
    elif req.time:
        codes, values = _merge_categorical(_take_all(parts, "cat", req.time))
        lut = np.append(parse_time_values(values, req.time, req.time_kind), np.int64(NAT))
        times = lut[codes]
    target = None
    classes = None
    if req.target:
        if req.target_labels:
            codes, values = _merge_categorical(_take_all(parts, "cat", req.target))
            as_num = pd.to_numeric(pd.Index(values, dtype=object), errors="coerce")
            if len(values) and not np.isnan(np.asarray(as_num, dtype=np.float64)).any():
                lut = np.append(np.asarray(as_num, dtype=np.float64), np.nan)
            else:
                # Text labels: the model sees their index in sorted order; the artifact keeps
                # the list so a class index can be mapped back.
                classes = [str(v) for v in values]
                lut = np.append(np.arange(len(values), dtype=np.float64), np.nan)
            target = lut[codes]
        else:
            target = np.concatenate(_take_all(parts, "num", req.target)).astype(np.float64, copy=False)
    features, feature_values = {}, {}
    for f in req.features:
        if f not in parts[0]["cat"]:
            features[f] = _numeric(parts, f)
            continue
        codes, values = _merge_categorical(_take_all(parts, "cat", f))
        as_bool = boolean_values(values)
        if as_bool is not None:
            # TRUE/FALSE (any case) and missing: a number feature, 1.0/0.0, NaN where missing.
            features[f] = np.append(as_bool, np.nan)[codes]
        else:
            features[f] = codes.astype(np.int32, copy=False)
            feature_values[f] = values
    return Table(n_rows=n, keys=keys, time=times, target=target, target_classes=classes,
                 features=features, fingerprint=fingerprint, feature_values=feature_values)
