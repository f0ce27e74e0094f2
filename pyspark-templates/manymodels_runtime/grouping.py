"""Splits a Table into groups without pandas groupby: one integer code per group, then
either zero-copy ranges (input already grouped) or one stable argsort.

Group order is the sorted order of the key strings (key by key), so manifests and
predictions come out in the same order whatever the row order of the input. Within a
group, rows keep file order (the sort is stable).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .identity import identity
from .input_data import Table
from .spec import JobSpec

DENSE_LIMIT = 1 << 26  # key-combination space up to which a lookup table beats np.unique


@dataclass
class Groups:
    n_groups: int
    starts: np.ndarray           # int64 per group
    ends: np.ndarray             # int64 per group
    order: np.ndarray | None     # row permutation; None when rows of a group are contiguous
    key_values: list[tuple[str, ...]]
    ids: list[str]
    names: list[str]

    def rows(self, g: int):
        """Row selector of group g: a slice (view) when contiguous, else an index array in file order."""
        a, b = int(self.starts[g]), int(self.ends[g])
        if self.order is None:
            return slice(a, b)
        return self.order[a:b]

    def size(self, g: int) -> int:
        return int(self.ends[g] - self.starts[g])


def group_codes(table: Table) -> tuple[np.ndarray, int]:
    """Dense int32 code per row, numbered in sorted key order, and the number of groups."""
    sizes = [max(1, len(k.values)) for k in table.keys]
    space = 1
    for n_k in sizes:
        space *= n_k
    if space <= DENSE_LIMIT:
        # The mixed-radix product fits int32: built in place in one int32 array (half the
        # memory traffic of int64 over tens of millions of rows), and when every combination
        # occurs (the usual store × item grid) it is already dense.
        codes = np.array(table.keys[0].codes, dtype=np.int32)
        for k, n_k in zip(table.keys[1:], sizes[1:]):
            codes *= n_k
            codes += k.codes
        present = np.zeros(space, dtype=bool)
        present[codes] = True
        if present.all():
            return codes, space
        dense = (np.cumsum(present, dtype=np.int64) - 1).astype(np.int32)
        return dense[codes], int(dense[-1]) + 1
    codes = None
    space = 1
    for k, n_k in zip(table.keys, sizes):
        c = k.codes.astype(np.int64)
        if codes is None:
            codes = c
        else:
            if space * n_k >= (1 << 62):
                # Compress before the mixed-radix product could overflow int64.
                _, codes = np.unique(codes, return_inverse=True)
                space = int(codes.max()) + 1 if codes.size else 1
            codes = codes * n_k + c
        space *= n_k
    _, out = np.unique(codes, return_inverse=True)
    n_groups = int(out.max()) + 1 if out.size else 0
    return out.astype(np.int32), n_groups


def group_table(table: Table, pipeline: str) -> Groups:
    codes, n_groups = group_codes(table)
    n = table.n_rows
    changes = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    if len(changes) + 1 == n_groups:
        # Every group is one contiguous run: no sort, no copy, slices are views.
        run_starts = np.concatenate([[0], changes]).astype(np.int64)
        run_ends = np.concatenate([changes, [n]]).astype(np.int64)
        by_code = np.argsort(codes[run_starts], kind="stable")
        starts, ends, order = run_starts[by_code], run_ends[by_code], None
        first_rows = starts
    else:
        # uint16 codes take numpy's O(n) radix sort; wider codes fall back to timsort.
        if n_groups <= np.iinfo(np.uint16).max:
            order = np.argsort(codes.astype(np.uint16), kind="stable")
        else:
            order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes, minlength=n_groups).astype(np.int64)
        ends = np.cumsum(counts)
        starts = ends - counts
        first_rows = order[starts]
    key_values = []
    for row in first_rows:
        key_values.append(tuple(str(k.values[k.codes[row]]) for k in table.keys))
    key_cols = [k.name for k in table.keys]
    ids, names = [], []
    for vals in key_values:
        gid, name = identity(pipeline, key_cols, vals)
        ids.append(gid)
        names.append(name)
    return Groups(n_groups, starts, ends, order, key_values, ids, names)


def group_columns(table: Table, rows, spec: JobSpec, with_target: bool, with_row: bool) -> dict:
    """One group's rows as the numpy columns train_columns/score_columns take (copies: the
    cached arrays are read-only memory maps, and a model may write into its frame)."""
    cols = {}
    if table.time is not None and spec.columns.time:
        cols[spec.columns.time] = np.array(table.time[rows]).view("datetime64[ns]")
    for f in spec.columns.features:
        if f in table.feature_values:
            # A category feature reaches the model as a pandas Categorical: its codes and the
            # strings they stand for (the model keeps the strings, never the codes).
            cols[f] = pd.Categorical.from_codes(np.array(table.features[f][rows], dtype=np.int32),
                                                dtype=table.category_dtype(f))
        else:
            cols[f] = np.array(table.features[f][rows], dtype=np.float64)
    if with_target:
        cols[spec.columns.target] = np.array(table.target[rows], dtype=np.float64)
    if with_row:
        from .scoring import ROW_COLUMN  # the score stage's row-number column
        cols[ROW_COLUMN] = np.arange(table.n_rows)[rows] if isinstance(rows, slice) else np.array(rows)
    return cols
