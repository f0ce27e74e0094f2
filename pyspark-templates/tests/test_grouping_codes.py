"""group_codes: one dense code per row, numbered in sorted key order, however the key codes
are stored (int16, int32, memory-mapped read-only) and whether every key combination occurs,
some do not, or their product is past the dense lookup's range."""
import numpy as np
import pytest

from manymodels_runtime import grouping
from manymodels_runtime.grouping import group_codes
from manymodels_runtime.input_data.table import KeyColumn, Table


def _table(*codes_and_sizes) -> Table:
    keys = [KeyColumn(f"k{i}", codes, np.array([f"v{j:06d}" for j in range(size)], dtype=object))
            for i, (codes, size) in enumerate(codes_and_sizes)]
    return Table(n_rows=len(codes_and_sizes[0][0]), keys=keys, time=None, target=None, target_classes=None,
                 features={}, fingerprint="sha256:x")


def _expected(*codes):
    # The reference: rank of each row's key tuple among the distinct tuples, in sorted order.
    stacked = np.stack([c.astype(np.int64) for c in codes], axis=1)
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int32), int(inverse.max()) + 1 if inverse.size else 0


@pytest.mark.parametrize("case", ["full grid", "sparse grid", "wide codes", "past the dense range"])
def test_group_codes_match_the_sorted_distinct_key_tuples(case, monkeypatch):
    rng = np.random.default_rng(7)
    n = 5000
    if case == "full grid":
        a, b = np.repeat(np.arange(10), 30), np.tile(np.arange(30), 10)
        sizes = (10, 30)
    elif case == "sparse grid":
        a, b = rng.integers(0, 40, n), rng.integers(0, 50, n)
        a[a == 3] = 4                      # key value 3 of k0 never occurs
        sizes = (40, 50)
    elif case == "wide codes":
        a, b = rng.integers(0, 40000, n), rng.integers(0, 3, n)
        sizes = (40000, 3)
    else:
        monkeypatch.setattr(grouping, "DENSE_LIMIT", 100)
        a, b = rng.integers(0, 40, n), rng.integers(0, 50, n)
        sizes = (40, 50)
    dtype = np.int32 if max(sizes) > 32766 else np.int16
    a, b = a.astype(dtype), b.astype(dtype)
    a.flags.writeable = False              # as the memory-mapped cache hands them over
    b.flags.writeable = False
    codes, n_groups = group_codes(_table((a, sizes[0]), (b, sizes[1])))
    want, want_n = _expected(a, b)
    assert codes.dtype == np.int32
    assert n_groups == want_n
    np.testing.assert_array_equal(codes, want)


def test_no_rows_make_no_groups():
    empty = np.zeros(0, dtype=np.int16)
    codes, n_groups = group_codes(_table((empty, 2), (empty, 3)))
    assert n_groups == 0 and codes.size == 0
