"""The types the readers share: the column arrays of a read input (Table, KeyColumn) and what
a read asks for (ReadRequest)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class KeyColumn:
    name: str
    codes: np.ndarray            # int16 (int32 past 32,766 values), one per row, index into `values`
    values: np.ndarray           # object array of str, sorted


@dataclass
class Table:
    n_rows: int
    keys: list[KeyColumn]
    time: np.ndarray | None      # int64 ns since epoch, NAT where missing
    target: np.ndarray | None    # float64, NaN where missing
    target_classes: list[str] | None   # classification labels that were not numbers: target holds their index
    features: dict[str, np.ndarray]    # float64, or the smallest int type when all values are whole
    fingerprint: str
    from_cache: bool = False
    read_seconds: float = 0.0


@dataclass(frozen=True)
class ReadRequest:
    fmt: str
    path: str
    options: tuple
    keys: tuple[str, ...]
    time: str | None
    target: str | None
    target_labels: bool          # classification: read the target as labels, not numbers
    features: tuple[str, ...]
    time_kind: str = "date"      # "period": the time column holds integer period numbers
