"""Deterministic synthetic store×item daily sales, for demos, tests and benchmarks.

Owns the data-generating process (documented below) and a fast CSV writer. Columns:
`store_id,item_id,date,sales,price,promo`; one row per series and day, written
series-major (all days of one series contiguous, series ordered by store then item) so
the runtime can slice groups without sorting.

Process per series (each series draws from its own seeded generator, so the output does
not depend on chunking and the same seed always gives the same bytes):
  mean = level · exp(growth·years) · weekday effect · exp(yearly sine)
         · (price / base price)^(−elasticity) · (1 + lift if promo)
  sales = Poisson(mean · Gamma(10, 1/10))   (over-dispersed counts)
Prices step occasionally (±5 %) and drop 10–30 % on promotion days; promotions run 3–7
days, about one start per 40 days. About 1 % each of the series are *short* (only their
last 10–120 days), *gappy* (~20 % of days missing plus a 30-day hole) and *constant*
(sales never change: the runtime must skip or handle them).

Writing 40 M rows through pandas' `to_csv` takes about two minutes (≈2.9 s per million
rows measured on a 2-vCPU machine; this writer ≈0.4 s); here each distinct field value
is rendered once into a small byte table, and each chunk of rows is assembled from those
bytes with a few vectorised NumPy operations (see `_render`).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd

COLUMNS = ["store_id", "item_id", "date", "sales", "price", "promo"]
KIND_NORMAL, KIND_SHORT, KIND_GAPPY, KIND_CONSTANT = "normal", "short", "gappy", "constant"
_WEEKDAY_SHAPE = np.array([-0.10, -0.15, -0.10, 0.0, 0.10, 0.30, 0.25])  # Mon..Sun
_KIND_STREAM = 0x6B696E64  # separate seed stream for the choice of special series


@dataclass
class Series:
    store: int
    item: int
    kind: str
    day: np.ndarray     # int32 day offsets from start, ascending
    sales: np.ndarray   # int64 units
    cents: np.ndarray   # int64 price in cents
    promo: np.ndarray   # int8 0/1


def series_kinds(n_series: int, seed: int) -> np.ndarray:
    """Kind of every series (index = store-major position); ~1 % each of the special kinds."""
    kinds = np.full(n_series, KIND_NORMAL, dtype=object)
    # At least one of each once there are 10+ series, so small test files contain them too.
    count = n_series // 100 if n_series >= 100 else (1 if n_series >= 10 else 0)
    if count:
        perm = np.random.default_rng([seed, _KIND_STREAM]).permutation(n_series)
        kinds[perm[:count]] = KIND_SHORT
        kinds[perm[count:2 * count]] = KIND_GAPPY
        kinds[perm[2 * count:3 * count]] = KIND_CONSTANT
    return kinds


def make_series(index: int, store: int, item: int, kind: str, days: int, start: pd.Timestamp, seed: int) -> Series:
    rng = np.random.default_rng([seed, index])
    t = np.arange(days)
    dow = (start.dayofweek + t) % 7
    years = t / 365.25
    level = np.exp(rng.uniform(1.0, 4.0))
    growth = rng.normal(0.03, 0.08)
    weekly = _WEEKDAY_SHAPE * rng.uniform(0.5, 1.5)
    amp, phase = rng.uniform(0.05, 0.35), rng.uniform(0, 2 * np.pi)
    yearly = amp * np.sin(2 * np.pi * (start.dayofyear + t) / 365.25 + phase)
    base_price = round(rng.uniform(1.0, 20.0), 1) - 0.01
    elasticity = rng.uniform(0.5, 2.5)
    lift = rng.uniform(0.2, 0.8)
    discount = rng.uniform(0.10, 0.30)

    # Regular price: occasional ±5 % steps (about one per 180 days).
    steps = np.where(rng.random(days) < 1 / 180, rng.normal(0.0, 0.05, days), 0.0)
    regular = base_price * np.exp(np.cumsum(steps))
    # Promotions: runs of 3-7 days starting on ~1 day in 40, via a difference array.
    starts = np.flatnonzero(rng.random(days) < 1 / 40)
    diff = np.zeros(days + 8, dtype=np.int64)
    np.add.at(diff, starts, 1)
    np.add.at(diff, starts + rng.integers(3, 8, starts.size), -1)
    promo = (np.cumsum(diff)[:days] > 0).astype(np.int8)
    price = np.where(promo == 1, regular * (1 - discount), regular)
    cents = np.maximum(np.rint(price * 100), 1).astype(np.int64)

    mean = (level * np.exp(growth * years + weekly[dow] + yearly)
            * (cents / (base_price * 100)) ** (-elasticity) * np.where(promo == 1, 1 + lift, 1.0))
    sales = rng.poisson(mean * rng.gamma(10.0, 0.1, days)).astype(np.int64)
    day = t.astype(np.int32)

    if kind == KIND_CONSTANT:
        sales = np.full(days, int(rng.integers(0, 6)), dtype=np.int64)
        promo = np.zeros(days, dtype=np.int8)
        cents = np.full(days, int(round(base_price * 100)), dtype=np.int64)
    elif kind == KIND_SHORT:
        keep = slice(max(days - int(rng.integers(10, 121)), 0), days)
        day, sales, cents, promo = day[keep], sales[keep], cents[keep], promo[keep]
    elif kind == KIND_GAPPY:
        mask = rng.random(days) >= 0.2
        if days > 60:
            hole = int(rng.integers(0, days - 30))
            mask[hole:hole + 30] = False
        mask[-1] = True  # the series still reaches the last day
        day, sales, cents, promo = day[mask], sales[mask], cents[mask], promo[mask]
    return Series(store, item, kind, day, sales, cents, promo)


def iter_series(stores: int, items: int, days: int, start: str = "2015-01-01", seed: int = 0,
                first: int = 0, stop: int | None = None) -> Iterator[Series]:
    """Series number `first` … `stop`-1, in file order (store 1 item 1, store 1 item 2, …)."""
    _check_sizes(stores, items, days)
    n = stores * items
    kinds = series_kinds(n, seed)
    ts = pd.Timestamp(start)
    for i in range(first, n if stop is None else min(stop, n)):
        yield make_series(i, i // items + 1, i % items + 1, kinds[i], days, ts, seed)


def sales_frame(stores: int, items: int, days: int, start: str = "2015-01-01", seed: int = 0) -> pd.DataFrame:
    """The same data as the CSV, as a DataFrame (for small sizes: tests, notebooks)."""
    parts = list(iter_series(stores, items, days, start, seed))
    base = np.datetime64(pd.Timestamp(start).date(), "D")
    frame = pd.DataFrame({
        "store_id": np.concatenate([np.full(s.day.size, s.store) for s in parts]),
        "item_id": np.concatenate([np.full(s.day.size, s.item) for s in parts]),
        "date": (base + np.concatenate([s.day for s in parts]).astype("timedelta64[D]")).astype("datetime64[ns]"),
        "sales": np.concatenate([s.sales for s in parts]),
        "price": np.concatenate([s.cents for s in parts]) / 100.0,
        "promo": np.concatenate([s.promo for s in parts]),
    })
    return frame


# --------------------------------------------------------------------------- fast CSV


def _byte_table(strings: list[str]) -> np.ndarray:
    """Strings as a zero-padded (n, width) uint8 matrix."""
    enc = [s.encode("ascii") for s in strings]
    width = max(len(b) for b in enc)
    return np.frombuffer(b"".join(b.ljust(width, b"\0") for b in enc), dtype=np.uint8).reshape(len(enc), width)


class _NumberTable:
    """Lazily grown byte table for the non-negative integers 0..n (with a suffix)."""

    def __init__(self, fmt, suffix: str):
        self.fmt, self.suffix, self.size = fmt, suffix, 0
        self.table = None

    def get(self, top: int) -> np.ndarray:
        if top >= self.size:
            self.size = max(2 * self.size, top + 1, 1024)
            self.table = _byte_table([self.fmt(v) + self.suffix for v in range(self.size)])
        return self.table


def _render(fields: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Rows made of the fields' table entries, concatenated, as one uint8 buffer.

    Each field's entries are gathered into fixed-width columns of one (rows × width)
    matrix (contiguous row copies, fast), then the zero padding is squeezed out with a
    single boolean mask; no entry contains a zero byte, and row-major order of the mask
    gives exactly the concatenated lines.
    """
    n = fields[0][0].size
    width = sum(table.shape[1] for _, table in fields)
    mat = np.empty((n, width), dtype=np.uint8)
    col = 0
    for codes, table in fields:
        w = table.shape[1]
        mat[:, col:col + w] = table[codes]
        col += w
    return mat[mat != 0]


def write_csv(path: str, stores: int, items: int, days: int, start: str = "2015-01-01", seed: int = 0,
              chunk_rows: int = 1_000_000) -> dict:
    """Write the sample data as CSV; returns {rows, series, bytes, seconds}."""
    _check_sizes(stores, items, days)
    t0 = time.perf_counter()
    ts = pd.Timestamp(start)
    date_table = _byte_table([d.strftime("%Y-%m-%d,") for d in pd.date_range(ts, periods=days, freq="D")])
    sales_t = _NumberTable(str, ",")
    price_t = _NumberTable(lambda c: f"{c // 100}.{c % 100:02d}", ",")
    promo_table = _byte_table(["0\n", "1\n"])
    per_chunk = max(1, chunk_rows // days)
    n_series = stores * items
    rows = 0
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        fh.write((",".join(COLUMNS) + "\n").encode())
        for first in range(0, n_series, per_chunk):
            batch = list(iter_series(stores, items, days, start, seed, first, first + per_chunk))
            sizes = np.array([s.day.size for s in batch])
            key_table = _byte_table([f"{s.store},{s.item}," for s in batch])
            sales = np.concatenate([s.sales for s in batch])
            cents = np.concatenate([s.cents for s in batch])
            buf = _render([
                (np.repeat(np.arange(len(batch)), sizes), key_table),
                (np.concatenate([s.day for s in batch]), date_table),
                (sales, sales_t.get(int(sales.max()))),
                (cents, price_t.get(int(cents.max()))),
                (np.concatenate([s.promo for s in batch]), promo_table),
            ])
            fh.write(buf.tobytes())
            rows += int(sizes.sum())
    os.replace(tmp, path)  # readers never see a half-written file
    return {"rows": rows, "series": n_series, "bytes": os.path.getsize(path),
            "seconds": round(time.perf_counter() - t0, 3)}


def _check_sizes(stores: int, items: int, days: int) -> None:
    for name, v in (("stores", stores), ("items", items), ("days", days)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def summary_line(summary: dict) -> str:
    return json.dumps(summary, separators=(",", ":"))


__all__ = ["COLUMNS", "Series", "series_kinds", "make_series", "iter_series", "sales_frame",
           "write_csv", "summary_line"]
