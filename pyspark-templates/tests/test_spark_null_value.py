"""data.options.nullValue on the Spark executor (the fake pyspark in tests/fake_pyspark, which
reads nullValue as Spark's CSV reader does: every column, keys too): the same strings are
missing as on the local executor — the feature, target and time-part cells that equal it — while
a key equal to it stays the group it names, as the local reader keeps every key as written."""
import pandas as pd


def _strip(manifest):
    return [{k: v for k, v in g.items() if k not in ("fitSeconds", "artifact")} for g in manifest["groups"]]


def _data(series) -> pd.DataFrame:
    frames = [series(("1", "a"), seed=1), series(("-", "b"), seed=2), series(("2", "-"), seed=3)]
    frame = pd.concat(frames, ignore_index=True).astype({"price": object, "sales": object, "promo": object})
    frame.loc[frame.index[5::9], "price"] = "-"
    frame.loc[frame.index[7::13], "sales"] = "-"
    frame.loc[frame.index[3::11], "promo"] = "-"
    return frame


def test_null_value_marks_the_same_cells_missing_on_spark_as_locally(project, base_spec, series):
    project.write_data(_data(series))
    spec = base_spec(data={"options": {"nullValue": "-"}})
    local = project.run("train", spec, "t-local")
    spark = project.run("train", spec, "t-spark", spark=True)
    assert local.code == 0 and spark.code == 0, local.stderr + spark.stderr
    groups = local.manifest["groups"]
    assert [g["keys"] for g in groups] == [{"store_id": "-", "item_id": "b"}, {"store_id": "1", "item_id": "a"},
                                           {"store_id": "2", "item_id": "-"}]
    assert {g["status"] for g in groups} == {"ok"}
    # price and promo stay numbers (their "-" missing), the "-" targets drop out of training
    assert _strip(spark.manifest) == _strip(local.manifest)
    assert [g["sha256"] for g in spark.manifest["groups"]] == [g["sha256"] for g in groups]
    # Spark's reader is not given nullValue (it would null the key "-" too): the executor applies it
    (read,) = [e for e in project.spark_log() if e.get("op") == "read" and e.get("format") == "csv"]
    assert "nullvalue" not in read["options"] and read["options"]["header"] == "true"


def test_null_value_in_time_parts_is_missing_on_spark_as_locally(project, base_spec, series):
    frame = pd.concat([series(("1", "a"), seed=1), series(("2", "b"), seed=2)], ignore_index=True)
    d = pd.to_datetime(frame.pop("date"))
    frame = frame.assign(year=d.dt.year.astype(object), month=d.dt.month, day=d.dt.day)
    frame.loc[frame.index[4], "year"] = "-"
    project.write_data(frame)
    spec = base_spec(data={"options": {"nullValue": "-"}},
                     columns={"time": "time", "timeParts": {"year": "year", "month": "month", "day": "day",
                                                          "hour": None, "minute": None}})
    local = project.run("train", spec, "t-local")
    spark = project.run("train", spec, "t-spark", spark=True)
    assert local.code == 0 and spark.code == 0, local.stderr + spark.stderr
    assert _strip(spark.manifest) == _strip(local.manifest)
    assert sum(g["droppedRows"] for g in local.manifest["groups"]) == 1  # the row without a year
