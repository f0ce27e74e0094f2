"""A parsed-input cache entry the local backend wrote with its embedded reader (DuckDB, in the
CLI) before starting the runtime: loaded as any cache entry, memory-mapped, never parsed. A
time column read as text arrives as codes over its distinct strings (time_codes.npy and
meta.json's time_text), parsed here once per distinct value by the same function the CSV
reader uses, then kept in the entry as time.npy for the next load."""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile

import numpy as np

from ..errors import BAD_SPEC, InputError
from . import cache
from .columns import NAT, parse_time_values
from .table import ReadRequest, Table


def load_prepared(entry: str, req: ReadRequest) -> Table:
    meta_path = os.path.join(entry, "meta.json")
    try:
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as e:
        raise InputError(BAD_SPEC, f"--input-entry {entry}: no readable meta.json ({e})") from None
    if meta.get("time_text") is not None and not os.path.isfile(os.path.join(entry, "time.npy")):
        codes = np.load(os.path.join(entry, "time_codes.npy"), mmap_mode="r")
        lut = np.append(parse_time_values(np.array(meta["time_text"], dtype=object), req.time,
                                          req.time_kind), np.int64(NAT))
        fd, tmp = tempfile.mkstemp(prefix="time-", suffix=".npy", dir=entry)
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, lut[codes])
        os.replace(tmp, os.path.join(entry, "time.npy"))  # the same array whoever writes it
    req = dataclasses.replace(req, target=req.target if meta.get("target") else None)
    try:
        return cache.load_cache(entry, req, meta.get("fingerprint"))
    except (OSError, ValueError, KeyError) as e:
        raise InputError(BAD_SPEC, f"--input-entry {entry} cannot be loaded: {e}") from None
