"""Parquet (with pyarrow): the column names, and reading into the chunk arrays columns.finalize
merges; keys of any type are rendered as strings, zoned timestamps become UTC, string
features are categories."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import UNSUPPORTED_INPUT, WRONG_COLUMN_TYPE, InputError
from .columns import parse_frame
from .table import ReadRequest


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError(UNSUPPORTED_INPUT,
                         "reading Parquet needs the pyarrow package, which this Python does not have: "
                         "install it (python3 -m pip install pyarrow) or point data.path at a CSV export "
                         "(data.format: csv)") from None


def parquet_columns(path: str) -> list[str]:
    import pyarrow.dataset as ds
    try:
        return list(ds.dataset(path, format="parquet").schema.names)
    except Exception as e:
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {path} as Parquet: {e}") from None


def read_parquet(req: ReadRequest) -> dict:
    cols = list(req.keys) + ([req.time] if req.time else []) + list(req.features) + \
        ([req.target] if req.target else [])
    try:
        frame = pd.read_parquet(req.path, columns=cols)
    except Exception as e:
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {req.path} as Parquet: {e}") from None
    # Features of any type: a string column is a category (columns.parse_frame), booleans are 1/0.
    numeric = [req.target] if req.target and not req.target_labels else []
    bad = [c for c in numeric if not (pd.api.types.is_numeric_dtype(frame[c].dtype)
                                      or pd.api.types.is_bool_dtype(frame[c].dtype))]
    if bad:
        raise InputError(WRONG_COLUMN_TYPE, f"columns must be numeric but are not: {', '.join(bad)}")
    time_ns = None
    if req.time and pd.api.types.is_datetime64_any_dtype(frame[req.time].dtype):
        t = frame[req.time]
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        time_ns = t.to_numpy(dtype="datetime64[ns]").view(np.int64)
        frame = frame.drop(columns=[req.time])
    text_keys = {}
    for k in req.keys:
        # Keys are identities: a non-string value is rendered once per distinct value; a
        # missing key (code -1) becomes "" in finalize, like an empty CSV field.
        cat = pd.Categorical(frame[k])
        cats = [str(v) for v in cat.categories]
        codes = np.asarray(cat.codes, dtype=np.int32)
        text_keys[k] = (codes, cats)
        frame = frame.drop(columns=[k])
    sub = ReadRequest(req.fmt, req.path, req.options, (), None if time_ns is not None else req.time,
                      req.target, req.target_labels, req.features)
    part = parse_frame(frame, sub)
    part["cat"].update(text_keys)
    if time_ns is not None:
        part["time_ns"] = time_ns
    return part
