"""The csv and parquet sinks: a file that holds every run, written whole under a temporary
name and renamed, so a failure mid-write leaves the old file and nothing beside it."""
import csv
import os

import pytest

from manymodels_runtime.errors import InputError
from manymodels_runtime.sinks import CsvSink, ParquetSink
from manymodels_runtime.sinks.files import target_file

KEYS = ['store "id"', "item, name"]


def row(store, run_id, pred=1.0, label=None, probs=None):
    return (store, "i", "2024-01-01", "2023-12-31", None, pred, label, probs, "1", "m", "p", run_id, "t")


def read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_write_modes_keep_every_run_and_quote_what_needs_it(tmp_path):
    f = tmp_path / "out" / "p.csv"
    sink = CsvSink(str(f), "ignored", KEYS, "replace_run")
    sink.prepare()
    assert sink.write("r1", [[row("a", "r1"), row("b", "r1", float("nan"), "mid, \"x\"", '{"a":1.0}')]]) == 2
    assert sink.write("r2", [[row("a", "r2", 2.0)]]) == 1
    rows = read(f)
    assert rows[0] == KEYS + ["time", "forecast_origin", "row_index", "prediction", "label", "probabilities",
                              "model_version", "model_name", "pipeline", "run_id", "scored_at"]
    assert [(r[0], r[11]) for r in rows[1:]] == [("a", "r1"), ("b", "r1"), ("a", "r2")]
    assert rows[2][5:8] == ["", 'mid, "x"', '{"a":1.0}']  # NaN is NULL: an empty field
    # A rerun of r1 replaces r1's rows only; append keeps all; overwrite keeps none.
    sink.write("r1", [[row("c", "r1")]])
    assert [(r[0], r[11]) for r in read(f)[1:]] == [("a", "r2"), ("c", "r1")]
    CsvSink(str(f), "t", KEYS, "append").write("r2", [[row("d", "r2")]])
    assert len(read(f)) == 4
    CsvSink(str(f), "t", KEYS, "overwrite").write("r9", [[row("z", "r9")]])
    assert [(r[0], r[11]) for r in read(f)[1:]] == [("z", "r9")]
    assert os.listdir(f.parent) == ["p.csv"]


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    f = tmp_path / "p.csv"
    sink = CsvSink(str(f), "t", KEYS, "replace_run")
    sink.write("r1", [[row("a", "r1")]])
    before = f.read_bytes()

    def rows():
        yield row("b", "r2")
        raise RuntimeError("the disk went away")

    with pytest.raises(RuntimeError):
        sink.write("r2", [rows()])
    assert f.read_bytes() == before
    assert os.listdir(tmp_path) == ["p.csv"]


def test_a_folder_path_holds_table_named_files_and_a_folder_is_no_file(tmp_path):
    assert target_file(str(tmp_path / "lake") + "/", "preds", "parquet") == str(tmp_path / "lake" / "preds.parquet")
    assert target_file(str(tmp_path), "preds", "csv") == str(tmp_path / "preds.csv")
    (tmp_path / "preds.csv").mkdir()
    with pytest.raises(InputError) as e:
        CsvSink(str(tmp_path), "preds", KEYS, "replace_run").prepare()
    assert e.value.code == "MM461"


def test_an_existing_csv_with_other_columns_is_refused_up_front(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(InputError) as e:
        CsvSink(str(f), "t", KEYS, "append").prepare()
    assert e.value.code == "MM460" and "a, b" in e.value.message
    assert f.read_text() == "a,b\n1,2\n"


def test_the_parquet_sink_without_the_clis_writer_is_mm462(tmp_path, monkeypatch):
    monkeypatch.delenv("MANYMODELS_NODE", raising=False)
    monkeypatch.delenv("MANYMODELS_PARQUET_WRITER", raising=False)
    with pytest.raises(InputError) as e:
        ParquetSink(str(tmp_path / "p.parquet"), "t", KEYS, "replace_run").prepare()
    assert e.value.code == "MM462" and "csv or sqlite" in e.value.message
