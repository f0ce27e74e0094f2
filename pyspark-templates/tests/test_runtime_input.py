"""Reading the input for the local executor: keys as written, up-front errors (MM410–MM413),
the parsed-input cache and the parallel CSV parse."""
import os

import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.input_data import csv_reader, parquet_reader
from manymodels_runtime.errors import InputError
from manymodels_runtime.grouping import group_table
from manymodels_runtime.input_data import read_table
from manymodels_runtime.spec import parse_job_spec


def _spec(base_spec, **over):
    return parse_job_spec(base_spec(**over), "train")


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.chdir(project.root)
    return project


def test_keys_are_the_strings_as_written(in_project, base_spec):
    # Given keys that a number parser or NA detection would change
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n"
                                      "007,NA,2024-01-01,1,1,0\n"
                                      "7,,2024-01-01,2,1,0\n"
                                      "007,NA,2024-01-02,NA,1,0\n")
    # When
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    # Then
    stores = [str(t.keys[0].values[c]) for c in t.keys[0].codes]
    items = [str(t.keys[1].values[c]) for c in t.keys[1].codes]
    assert stores == ["007", "7", "007"]
    assert items == ["NA", "", "NA"]
    assert np.isnan(t.target[2])  # "NA" is missing in a numeric column
    assert group_table(t, "p").n_groups == 2


def test_missing_columns_are_listed_together(in_project, base_spec):
    in_project.write_text("data.csv", "store_id,date,sales\n1,2024-01-01,3\n")
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM411"
    for col in ("item_id", "price", "promo"):
        assert col in e.value.message


def test_non_numeric_target_names_the_column_and_value(in_project, base_spec):
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n"
                                      "1,1,2024-01-01,12,1,0\n1,1,2024-01-02,lots,1,0\n")
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM412"
    assert "sales" in e.value.message and "'lots'" in e.value.message


def test_a_number_past_the_float_range_names_the_column(in_project, base_spec):
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n"
                                      "1,1,2024-01-01,12,1,0\n1,1,2024-01-02,3,1e309,0\n"
                                      "1,1,2024-01-03,3,-inf,0\n")
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM412"
    assert "feature column 'price' has 1 value(s) out of the 64-bit float range, e.g. '1e309'" in e.value.message


def test_unparseable_time_is_MM412(in_project, base_spec):
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n1,1,yesterday,12,1,0\n")
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM412" and "yesterday" in e.value.message


def test_header_only_is_MM413(in_project, base_spec):
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n")
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM413"


def test_parquet_without_pyarrow_and_delta_locally_are_MM410(in_project, base_spec):
    in_project.write_text("data.parquet", "not really parquet")
    try:
        import pyarrow  # noqa: F401
        has_pyarrow = True
    except ImportError:
        has_pyarrow = False
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec, data={"format": "parquet", "path": "data.parquet"}), need_target=True,
                   cache_dir=None, workers=1)
    assert e.value.code == "MM410"
    if not has_pyarrow:
        assert "pyarrow" in e.value.message
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec, data={"format": "delta", "path": "x"}), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM410" and "--executor spark" in e.value.message


def test_cache_returns_the_same_table_and_notices_a_changed_file(in_project, base_spec, series):
    frame = pd.concat([series(("1", "a"), 30), series(("2", "b"), 30, seed=1)])
    path = in_project.write_data(frame)
    spec = _spec(base_spec)
    cache = str(in_project.root / "cache")
    first = read_table(spec, need_target=True, cache_dir=cache, workers=1)
    second = read_table(spec, need_target=True, cache_dir=cache, workers=1)
    assert not first.from_cache and second.from_cache
    np.testing.assert_array_equal(first.target, second.target)
    np.testing.assert_array_equal(first.time, second.time)
    assert list(second.keys[1].values) == ["a", "b"]
    # When the file changes (new size and mtime), the cache is not used
    frame.iloc[:5].to_csv(path, index=False)
    os.utime(path, ns=(1, 1))
    third = read_table(spec, need_target=True, cache_dir=cache, workers=1)
    assert not third.from_cache and third.n_rows == 5


def test_parallel_parse_equals_single_process_parse(in_project, base_spec, series, monkeypatch):
    frame = pd.concat([series((str(s), f"item {i}"), 40, seed=s * 10 + i) for s in range(3) for i in range(4)])
    frame = frame.sample(frac=1.0, random_state=3)  # shuffled rows
    in_project.write_data(frame)
    spec = _spec(base_spec)
    single = read_table(spec, need_target=True, cache_dir=None, workers=1)
    monkeypatch.setattr(csv_reader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(csv_reader, "RANGE_BYTES", 4000)  # several ranges per process
    calls = []
    real = csv_reader._parse_csv_parallel
    monkeypatch.setattr(csv_reader, "_parse_csv_parallel", lambda *a: calls.append(1) or real(*a))
    multi = read_table(spec, need_target=True, cache_dir=None, workers=3)
    assert calls, "the parallel parser was not used"
    assert multi.n_rows == single.n_rows == len(frame)
    for a, b in zip(single.keys, multi.keys):
        assert list(a.values) == list(b.values)
        np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(single.time, multi.time)
    np.testing.assert_array_equal(single.features["price"], multi.features["price"])


def test_quoted_csv_is_parsed_in_one_process(in_project, base_spec, series, monkeypatch):
    # A quoted field may hold a newline, so splitting the file at newlines is unsafe: the
    # parallel parse finds the quote character, stops, and this process parses the whole file
    odd = "b\nwith a newline, and a comma"
    in_project.write_data(pd.concat([series(("1", "a"), 300), series(("1", odd), 300, seed=2)]))
    monkeypatch.setattr(csv_reader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(csv_reader, "RANGE_BYTES", 2000)  # many ranges: most hold no quote
    whole_file = []
    real = csv_reader._parse_csv_source
    monkeypatch.setattr(csv_reader, "_parse_csv_source",
                        lambda src, req, names: whole_file.append(names is None) or real(src, req, names))
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=2)
    assert whole_file == [True]
    assert list(t.keys[1].values) == ["a", odd]
    g = group_table(t, "p")
    assert [g.size(i) for i in range(g.n_groups)] == [300, 300]


def test_parallel_parse_gives_every_process_as_many_ranges():
    r = csv_reader.RANGE_BYTES
    assert csv_reader.range_count(11 * r - 5, 2) == 12   # 11 ranges' worth: 6 per process
    assert csv_reader.range_count(11 * r - 5, 3) == 12
    assert csv_reader.range_count(4 * r, 2) == 4
    assert csv_reader.range_count(r // 2, 2) == 2         # small: one range per process


def test_grouping_of_shuffled_rows_keeps_file_order_within_groups(in_project, base_spec, series):
    frame = pd.concat([series(("1", "a"), 10), series(("1", "b"), 10, seed=2)])
    frame = frame.iloc[np.random.default_rng(0).permutation(len(frame))]
    in_project.write_data(frame)
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    g = group_table(t, "p")
    assert g.order is not None and g.n_groups == 2
    rows = g.rows(1)
    assert list(rows) == sorted(rows)  # file order
    assert g.key_values == [("1", "a"), ("1", "b")]
    expected = frame[frame.item_id == "b"].sales.to_numpy()
    np.testing.assert_array_equal(t.target[rows], expected)


def test_grouped_input_uses_zero_copy_slices(in_project, base_spec, series):
    in_project.write_data(pd.concat([series(("2", "b"), 10), series(("1", "a"), 10, seed=2)]))
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    g = group_table(t, "p")
    assert g.order is None
    assert g.key_values == [("1", "a"), ("2", "b")]  # sorted key order whatever the file order
    assert g.rows(0) == slice(10, 20)


def test_parquet_columns_become_the_same_table_as_csv(in_project, base_spec, monkeypatch):
    # pyarrow is not installed here: stand in for the reader only, so the conversion of
    # Parquet-typed columns (int keys, null keys, timestamps with a zone) is what is tested
    frame = pd.DataFrame({"store_id": pd.array([7, 7, None], dtype="Int64"), "item_id": ["a", "a", "b"],
                          "date": pd.to_datetime(["2024-01-01T01:00:00+01:00", "2024-01-02T01:00:00+01:00",
                                                  "2024-01-01T01:00:00+01:00"]),
                          "sales": [1.0, 2.0, 3.0], "price": [1.5, 2.5, 3.5], "promo": [0, 1, 0]})
    in_project.write_text("data.parquet", "stand-in")
    monkeypatch.setattr(parquet_reader, "require_pyarrow", lambda: None)
    monkeypatch.setattr(parquet_reader, "parquet_columns", lambda path: list(frame.columns))
    monkeypatch.setattr(parquet_reader.pd, "read_parquet", lambda path, columns: frame[columns])
    t = read_table(_spec(base_spec, data={"format": "parquet", "path": "data.parquet"}), need_target=True,
                   cache_dir=None, workers=1)
    assert [str(t.keys[0].values[c]) for c in t.keys[0].codes] == ["7", "7", ""]
    assert list(pd.to_datetime(t.time).strftime("%Y-%m-%d %H:%M")) == ["2024-01-01 00:00", "2024-01-02 00:00",
                                                                       "2024-01-01 00:00"]
    assert t.features["promo"].dtype == np.int8 and t.features["price"].dtype == np.float64


def test_times_with_utc_offsets_are_read_as_utc(in_project, base_spec):
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n"
                                      "1,1,2024-01-01T01:00:00+01:00,1,1,0\n"
                                      "1,1,2024-01-02T03:00:00+03:00,2,1,0\n")
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert list(pd.to_datetime(t.time).strftime("%Y-%m-%d %H:%M")) == ["2024-01-01 00:00", "2024-01-02 00:00"]
    # one offset throughout takes pandas' other path (a fixed-offset zone, not mixed objects)
    in_project.write_text("data.csv", "store_id,item_id,date,sales,price,promo\n"
                                      "1,1,2024-01-01T01:00:00+01:00,1,1,0\n")
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert list(pd.to_datetime(t.time).strftime("%Y-%m-%d %H:%M")) == ["2024-01-01 00:00"]
