"""Synthetic sales generator: determinism, CSV format, layout, special series, the CLI."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import model_helpers  # noqa: F401  (puts the runtime on sys.path)
from manymodels_runtime import sample_data as sd

ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sample_data_entry.py")


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"store_id": str, "item_id": str}, parse_dates=["date"])


def test_same_seed_same_bytes_and_chunking_does_not_matter(tmp_path):
    a, b, c, d = (str(tmp_path / f"{x}.csv") for x in "abcd")
    sa = sd.write_csv(a, 3, 5, 120, seed=7)
    sd.write_csv(b, 3, 5, 120, seed=7, chunk_rows=100)  # tiny chunks: one series each
    sd.write_csv(c, 3, 5, 120, seed=8)
    with open(a, "rb") as fa, open(b, "rb") as fb, open(c, "rb") as fc:
        ba, bb, bc = fa.read(), fb.read(), fc.read()
    assert ba == bb
    assert ba != bc
    assert sa["bytes"] == len(ba) and sa["series"] == 15 and sa["rows"] == ba.count(b"\n") - 1
    assert set(sa) == {"rows", "series", "bytes", "seconds"}
    sd.write_csv(d, 3, 5, 120, seed=7)
    with open(d, "rb") as fd:
        assert fd.read() == ba


def test_fast_writer_matches_pandas_to_csv(tmp_path):
    # The byte-table writer must produce exactly what the obvious (slow) pandas path would.
    path = str(tmp_path / "s.csv")
    sd.write_csv(path, 2, 6, 90, seed=3, start="2016-02-20")
    frame = sd.sales_frame(2, 6, 90, seed=3, start="2016-02-20")
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.2f", lineterminator="\n")
    with open(path) as fh:
        assert fh.read() == buf.getvalue()


def test_layout_is_series_major_and_sorted(tmp_path):
    path = str(tmp_path / "s.csv")
    sd.write_csv(path, 4, 5, 60, seed=1, start="2015-01-01")
    df = _read(path)
    assert list(df.columns) == sd.COLUMNS
    keys = list(zip(df.store_id, df.item_id))
    blocks = [k for i, k in enumerate(keys) if i == 0 or k != keys[i - 1]]
    assert blocks == [(str(s), str(i)) for s in range(1, 5) for i in range(1, 6)]  # contiguous, ordered
    for _, g in df.groupby(["store_id", "item_id"], sort=False):
        assert g.date.is_monotonic_increasing and g.date.is_unique
        assert g.date.iloc[-1] == pd.Timestamp("2015-03-01")  # every series reaches the last day
    assert df.date.min() == pd.Timestamp("2015-01-01")
    assert (df.sales >= 0).all() and (df.price > 0).all() and set(df.promo) <= {0, 1}
    # Each series draws its own parameters: no two series repeat each other's sales.
    patterns = {tuple(g.sales) for _, g in df.groupby(["store_id", "item_id"])}
    assert len(patterns) == 20


def test_special_series_are_present_and_deterministic(tmp_path):
    kinds = sd.series_kinds(100, seed=5)
    assert [int((kinds == k).sum()) for k in ("short", "gappy", "constant")] == [1, 1, 1]
    assert list(sd.series_kinds(100, seed=5)) == list(kinds)
    assert list(sd.series_kinds(10_000, seed=5) != "normal").count(True) == 300  # 1 % each
    frame = sd.sales_frame(10, 10, 400, seed=5)
    by = {k: g for k, g in frame.groupby(["store_id", "item_id"])}
    order = [(i // 10 + 1, i % 10 + 1) for i in range(100)]
    short = by[order[int(np.flatnonzero(kinds == "short")[0])]]
    gappy = by[order[int(np.flatnonzero(kinds == "gappy")[0])]]
    const = by[order[int(np.flatnonzero(kinds == "constant")[0])]]
    assert 10 <= len(short) <= 120 and short.date.diff().dropna().eq(pd.Timedelta(days=1)).all()
    assert 200 < len(gappy) < 360 and gappy.date.diff().max() >= pd.Timedelta(days=31)
    assert const.sales.nunique() == 1 and len(const) == 400
    normal = by[order[int(np.flatnonzero(kinds == "normal")[0])]]
    assert len(normal) == 400 and normal.sales.nunique() > 5


def test_generated_sales_have_the_documented_effects():
    frame = sd.sales_frame(4, 10, 730, seed=11)
    kinds = sd.series_kinds(40, seed=11)
    normal_keys = {(i // 10 + 1, i % 10 + 1) for i in np.flatnonzero(kinds == "normal")}
    frame = frame[[k in normal_keys for k in zip(frame.store_id, frame.item_id)]]
    rel = frame.sales / frame.groupby(["store_id", "item_id"]).sales.transform("mean")
    weekend = frame.date.dt.dayofweek >= 5
    assert rel[weekend].mean() > 1.15 * rel[~weekend].mean()   # weekly seasonality
    assert rel[frame.promo == 1].mean() > 1.3 * rel[frame.promo == 0].mean()  # promo lift
    assert 0.02 < frame.promo.mean() < 0.25


def test_entry_script_prints_summary_and_rejects_bad_input(tmp_path):
    out = tmp_path / "sub" / "sales.csv"
    env = {**os.environ, "PYTHONPATH": ""}
    res = subprocess.run([sys.executable, ENTRY, "--out", str(out), "--stores", "2", "--items", "3",
                          "--days", "40", "--seed", "9", "--format", "csv"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert set(summary) == {"rows", "series", "bytes", "seconds"}
    assert summary["series"] == 6 and summary["bytes"] == out.stat().st_size
    assert summary["rows"] == len(_read(out))
    bad = subprocess.run([sys.executable, ENTRY, "--out", str(out), "--start", "not-a-date"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and bad.stdout == "" and "sample_data_entry" in bad.stderr
    bad = subprocess.run([sys.executable, ENTRY, "--out", str(out), "--format", "parquet"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2


def test_sizes_are_validated():
    with pytest.raises(ValueError, match="stores"):
        sd.write_csv("/nonexistent/never-written.csv", 0, 1, 1)
