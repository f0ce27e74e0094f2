"""Times built from parts (columns.timeParts: year, month, day, hour columns, PRSA-style air
quality data) through the real entry scripts: the runtime's CSV reader and the Spark executor
(fake pyspark) compose the same times, predictions carry them, and values that are not whole
numbers (MM465) or make no date (MM466) are coded errors naming the rows' groups."""
import sqlite3

import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.errors import InputError
from manymodels_runtime.timeparts import compose

STATIONS = ("Aotizhongxin", "Dongsi", "Tiantan")
HOURS = 24 * 12


def prsa(stations=STATIONS, hours=HOURS, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    t = pd.date_range("2013-02-25", periods=hours, freq="h")
    for s in stations:
        temp = np.round(5 + 6 * np.sin(np.arange(hours) * 2 * np.pi / 24) + rng.normal(0, 1, hours), 1)
        pm = np.round(80 + 30 * np.sin(np.arange(hours) * 2 * np.pi / 24 + 1) - 2 * temp + rng.normal(0, 4, hours), 1)
        frames.append(pd.DataFrame({"station": s, "year": t.year, "month": t.month, "day": t.day,
                                    "hour": t.hour, "PM2.5": pm, "TEMP": temp}))
    return pd.concat(frames, ignore_index=True)


def parts_spec(base_spec, **over):
    return base_spec(
        columns={"keys": ["station"], "target": "PM2.5", "features": ["TEMP"], "time": "time",
                 "timeParts": {"year": "year", "month": "month", "day": "day", "hour": "hour", "minute": None}},
        frequency="h",
        model={"custom": None, "holdout": {"fraction": None, "periods": 24}, "minTrainRows": 48,
               "params": {}, "refit": True, "type": "linear"},
        scoring={"horizon": 6, "sink": {"path": "preds.db", "table": "predictions", "type": "sqlite"},
                 "writeMode": "replace_run"}, **over)


def test_compose_calendar_rules():
    ns = compose({"year": np.array([2024.0, 2013, np.nan]), "month": np.array([2.0, 3, 1]),
                  "day": np.array([29.0, 1, 1])}, {"year": "y", "month": "m", "day": "d"})
    assert list(ns[:2].view("datetime64[ns]").astype(str)) == ["2024-02-29T00:00:00.000000000",
                                                              "2013-03-01T00:00:00.000000000"]
    assert ns[2] == np.iinfo(np.int64).min  # a missing part: no time
    with pytest.raises(InputError, match=r"MM466.*1 row\(s\).*year 2013, month 2, day 29.*station 'Dongsi'"):
        compose({"year": np.array([2013.0]), "month": np.array([2.0]), "day": np.array([29.0])},
                {"year": "y", "month": "m", "day": "d"}, lambda i: "station 'Dongsi'")
    with pytest.raises(InputError, match=r"MM465.*time part hour \(column 'h'\).*2.5"):
        compose({"year": np.array([2013.0]), "hour": np.array([2.5])}, {"year": "y", "hour": "h"})


@pytest.mark.parametrize("spark", [False, True], ids=["local", "spark"])
def test_trains_and_scores_on_composed_hourly_times(project, base_spec, spark):
    project.write_data(prsa())
    spec = parts_spec(base_spec)
    train = project.run("train", spec, "t1", spark=spark)
    assert train.code == 0, train.stderr
    groups = train.by_keys()
    assert sorted(groups) == [(s,) for s in STATIONS]
    assert all(g["status"] == "ok" and g["testRows"] == 24 for g in groups.values()), groups
    score = project.run("score", spec, "s1", "--models", str(project.model_manifest(train)), spark=spark)
    assert score.code == 0, score.stderr
    with sqlite3.connect(project.root / "preds.db") as db:
        rows = db.execute("SELECT station, time, forecast_origin FROM predictions ORDER BY station, time").fetchall()
    first = [r for r in rows if r[0] == "Dongsi"]
    # 12 days of hours from 2013-02-25 00:00: the data ends 2013-03-08 23:00.
    assert [r[1][:16] for r in first] == [f"2013-03-09T0{h}:00" for h in range(6)]
    assert first[0][2][:16] == "2013-03-08T23:00"


@pytest.mark.parametrize("spark", [False, True], ids=["local", "spark"])
def test_a_part_combination_that_is_no_date_is_mm466(project, base_spec, spark):
    data = prsa()
    data.loc[(data.station == "Tiantan") & (data.month == 3) & (data.day == 1), "day"] = 30  # 30 March is fine
    data.loc[(data.station == "Dongsi") & (data.month == 2) & (data.day == 27) & (data.hour == 5), "day"] = 30
    project.write_data(data)
    res = project.run("train", parts_spec(base_spec), "t1", spark=spark)
    assert res.code != 0
    assert "Traceback" not in res.stderr
    failed = [e for e in res.events if e["event"] == "error"] or [{"message": res.stderr}]
    text = " ".join(str(e) for e in failed) + res.stderr
    assert "MM466" in text and "month 2, day 30, hour 5" in text, text
    if not spark:
        assert "station 'Dongsi'" in text


@pytest.mark.parametrize("spark", [False, True], ids=["local", "spark"])
def test_part_values_that_are_not_integers_are_mm465(project, base_spec, spark):
    data = prsa().astype({"hour": object})
    data.loc[7, "hour"] = "7h"
    project.write_data(data)
    res = project.run("train", parts_spec(base_spec), "t1", spark=spark)
    assert res.code != 0
    assert "Traceback" not in res.stderr
    text = " ".join(str(e) for e in res.events) + res.stderr
    assert "MM465" in text and "column 'hour'" in text and "'7h'" in text, text


def test_parallel_csv_parse_composes_the_same_times_and_finds_a_bad_date_in_any_range(
        project, base_spec, monkeypatch):
    from manymodels_runtime.input_data import csv_reader, read_table
    from manymodels_runtime.spec import parse_job_spec

    monkeypatch.chdir(project.root)
    data = prsa()
    project.write_data(data)
    spec = parse_job_spec(parts_spec(base_spec), "train")
    single = read_table(spec, need_target=True, cache_dir=None, workers=1)
    monkeypatch.setattr(csv_reader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(csv_reader, "RANGE_BYTES", 4000)  # several ranges per process
    calls = []
    real = csv_reader._parse_csv_parallel
    monkeypatch.setattr(csv_reader, "_parse_csv_parallel", lambda *a: calls.append(1) or real(*a))
    multi = read_table(spec, need_target=True, cache_dir=None, workers=3)
    assert calls, "the parallel parser was not used"
    np.testing.assert_array_equal(single.time, multi.time)
    assert single.time[0] == np.datetime64("2013-02-25T00:00", "ns").astype(np.int64)
    data.loc[len(data) - 3, "month"] = 13  # in the last range
    project.write_data(data)
    with pytest.raises(InputError, match=r"MM466.*month 13.*station 'Tiantan'"):
        read_table(spec, need_target=True, cache_dir=None, workers=3)
