"""The types the readers share: the column arrays of a read input (Table, KeyColumn) and what
a read asks for (ReadRequest)."""
from __future__ import annotations

from dataclasses import dataclass, field

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
    # A number feature: float64, or the smallest int type when all values are whole (a
    # boolean column holds 1/0). A category feature: int32 codes into feature_values[name],
    # -1 where the value is missing.
    features: dict[str, np.ndarray]
    fingerprint: str
    from_cache: bool = False
    read_seconds: float = 0.0
    feature_values: dict[str, np.ndarray] = field(default_factory=dict)  # category feature → sorted distinct str
    _dtypes: dict = field(default_factory=dict, repr=False)

    def feature_kind(self, name: str) -> str:
        return "category" if name in self.feature_values else "number"

    def category_dtype(self, name: str):
        """The pandas CategoricalDtype of a category feature, built once per read."""
        dt = self._dtypes.get(name)
        if dt is None:
            import pandas as pd
            dt = self._dtypes[name] = pd.CategoricalDtype(pd.Index(self.feature_values[name], dtype=object))
        return dt


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
    # Features the CSV reader parses as text (categories, booleans in any case): found from
    # the data, not asked for, so not part of the cache entry's name.
    text_features: tuple[str, ...] = ()
