"""SparkExecutor wiring against the fake pyspark in tests/fake_pyspark (real Spark is NOT
exercised by this suite): group functions under applyInPandas with their declared schemas,
results equal to the local executor's, and the sink writers' options."""
import sys

import pandas as pd
import pytest

from conftest import FAKE_PYSPARK


@pytest.fixture
def fake_spark(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE_PYSPARK))
    yield
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.") or m.startswith("com")]:
        del sys.modules[name]


def same(pdf):
    return pdf[["k", "v"]]


def swapped(pdf):
    return pdf[["v", "k"]]


def as_text(pdf):
    return pdf.assign(v=pdf["v"].astype(str))


def test_the_fake_rejects_frames_that_do_not_match_the_schema(fake_spark):
    from pyspark.sql import SparkSession
    from pyspark.sql.dataframe import SchemaMismatch
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType
    spark = SparkSession.builder.getOrCreate()
    df = spark.createDataFrame(pd.DataFrame({"k": ["a", "b"], "v": [1.0, 2.0]}),
                               StructType([StructField("k", StringType()), StructField("v", DoubleType())]))
    schema = StructType([StructField("k", StringType()), StructField("v", DoubleType())])
    ok = df.groupBy("k").applyInPandas(same, schema).collect()
    assert sorted(r["v"] for r in ok) == [1.0, 2.0]
    with pytest.raises(SchemaMismatch):
        df.groupBy("k").applyInPandas(swapped, schema)
    with pytest.raises(SchemaMismatch):
        df.groupBy("k").applyInPandas(as_text, schema)


def data(series):
    dup = series(("2", "dup"), seed=2)
    nan = series(("3", "nan"), seed=3)
    nan.loc[nan.index[:5], "sales"] = None
    return pd.concat([series(("1", "a/b")), series(("007", "東京"), seed=1), pd.concat([dup, dup.iloc[[1]]]),
                      nan, series(("4", "short"), days=3)])


def test_spark_training_matches_the_local_executor(project, base_spec, series):
    project.write_data(data(series))
    local = project.run("train", base_spec(), "local")
    spark = project.run("train", base_spec(execution={"sparkConf": {"spark.sql.shuffle.partitions": "8"}}),
                        "spark", spark=True)
    assert local.code == 0 and spark.code == 0, spark.stderr
    lg, sg = local.manifest["groups"], spark.manifest["groups"]
    strip = ("fitSeconds",)
    assert [{k: v for k, v in g.items() if k not in strip} for g in sg] == \
        [{k: v for k, v in g.items() if k not in strip} for g in lg]
    assert spark.manifest["executor"] == "spark"
    assert {g["status"] for g in sg} == {"ok", "failed", "skipped"}
    log = project.spark_log()
    assert log[0] == {"op": "session", "appName": "manymodels-demo-train",
                      "conf": {"spark.sql.shuffle.partitions": "8"}}
    assert {"op": "addPyFile", "has_package": True, "has_stages": True} in log
    assert {"op": "conf.set", "key": "spark.sql.shuffle.partitions", "value": "5"} not in log  # sparkConf wins
    apply = [e for e in log if e["op"] == "applyInPandas"][0]
    assert apply["keys"] == ["store_id", "item_id"] and apply["groups"] == 5
    assert apply["schema"][:3] == [["store_id", "string"], ["item_id", "string"], ["groupId", "string"]]
    assert [e["event"] for e in spark.events] == ["start", "group_failed", "progress", "summary"]


def score_run(project, base_spec, series, sink, write_mode="replace_run", env=None, extra_rows=None):
    frame = pd.concat([series(("1", "a")), series(("2", "b"), seed=4)])
    project.write_data(frame)
    train = project.run("train", base_spec(), "t1")
    assert train.code == 0, train.stderr
    models = project.model_manifest(train)
    if extra_rows is not None:
        project.write_data(extra_rows)
    spec = base_spec(scoring={"sink": sink, "writeMode": write_mode})
    res = project.run("score", spec, "s1", "--models", str(models), spark=True, env=env)
    writes = [e for e in project.spark_log() if e["op"] == "write"]
    return res, writes


def test_delta_sink_replaces_this_runs_rows_and_models_without_rows_still_score(project, base_spec, series):
    # Given scoring data that lost group (2, b): its model must still forecast
    res, writes = score_run(project, base_spec, series, {"type": "delta", "path": "lake/predictions",
                                                         "tableName": None, "table": "predictions"},
                            extra_rows=series(("1", "a")))
    assert res.code == 0, res.stderr
    assert len(writes) == 1
    w = writes[0]
    # 'auto' shuffle partitions: never more tasks than groups, model-only groups counted
    assert {"op": "conf.set", "key": "spark.sql.shuffle.partitions", "value": "2"} in project.spark_log()
    assert w["method"] == "save" and w["format"] == "delta" and w["mode"] == "overwrite"
    assert w["options"] == {"replaceWhere": "run_id = 's1'", "mergeSchema": "true"}
    assert w["target"].endswith("lake/predictions")
    assert w["columns"] == ["store_id", "item_id", "time", "forecast_origin", "row_index", "prediction",
                            "label", "probabilities", "model_version", "model_name", "pipeline", "run_id", "scored_at"]
    assert len(w["rows"]) == 10 and {r[1] for r in w["rows"]} == {"a", "b"}
    assert {(r[3], r[4], r[6], r[7], r[10]) for r in w["rows"]} == {("2024-02-29", None, None, None, "demo")}
    assert res.manifest["counts"] == {"total": 2, "ok": 2, "failed": 0, "skipped": 0, "predictionsWritten": 10}


def test_synapse_sql_on_databricks_uses_the_sqldw_connector(project, base_spec, series):
    # Given the sink as `manymodels compile` writes it, plus SQL credentials named by variable
    sink = {"type": "synapse_sql", "flavor": "databricks", "url": "jdbc:sqlserver://dw.example:1433;database=dw",
            "database": None, "schema": "mm", "table": "predictions",
            "tempDir": "abfss://tmp@acct.dfs.core.windows.net/mm", "auth": "managed_identity",
            "userEnv": "MM_TEST_SQL_USER", "passwordEnv": "MM_TEST_SQL_PASSWORD"}
    res, writes = score_run(project, base_spec, series, sink,
                            env={"MM_TEST_SQL_USER": "loader", "MM_TEST_SQL_PASSWORD": "s3cret-value"})
    assert res.code == 0, res.stderr
    (w,) = writes
    assert w["format"] == "com.databricks.spark.sqldw" and w["method"] == "save" and w["mode"] == "append"
    o = w["options"]
    assert o["url"] == sink["url"] and o["tempDir"] == sink["tempDir"] and o["dbTable"] == "mm.predictions"
    assert (o["useAzureMSI"], o["forwardSparkAzureStorageCredentials"]) == ("true", "false")
    assert o["user"] == "loader" and o["password"] == "s3cret-value"
    assert o["preActions"].split(";")[-1] == ("IF OBJECT_ID('mm.predictions') IS NOT NULL DELETE FROM mm.predictions "
                                              "WHERE run_id = 's1'")
    # the secret went to the connector only: never to a file the run wrote
    assert "s3cret-value" not in (res.out / "run-manifest.json").read_text() + res.stdout + res.stderr


def test_synapse_sql_on_databricks_adds_the_columns_an_older_table_lacks(project, base_spec, series):
    # A table an older manymodels created has no model_type / fallback (nor label, probabilities):
    # before loading, the connector adds each prediction column the table lacks, then deletes
    # this run's rows (replace_run); append adds them too, overwrite recreates the table.
    sink = {"type": "synapse_sql", "flavor": "databricks", "url": "jdbc:sqlserver://dw", "schema": "mm",
            "table": "predictions", "tempDir": "abfss://t", "auth": "managed_identity"}
    for mode, n in (("replace_run", 1), ("append", 0), ("overwrite", None)):
        res, writes = score_run(project, base_spec, series, sink, write_mode=mode)
        assert res.code == 0, res.stderr
        o, cols = writes[-1]["options"], writes[-1]["columns"]
        if n is None:
            assert "preActions" not in o
            continue
        actions = o["preActions"].split(";")
        adds = actions[:len(actions) - n]
        added = [c for c in cols if c not in ("store_id", "item_id")]
        assert adds == [f"IF OBJECT_ID('mm.predictions') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sys.columns "
                        f"WHERE object_id = OBJECT_ID('mm.predictions') AND name = '{c}') "
                        f"ALTER TABLE mm.predictions ADD [{c}] {t} NULL"
                        for c, t in zip(added, [_sql_type(c) for c in added])]
        assert "ADD [prediction] FLOAT NULL" in o["preActions"] and "ADD [label] NVARCHAR(4000) NULL" in o["preActions"]
        if n:
            assert actions[-1] == "IF OBJECT_ID('mm.predictions') IS NOT NULL DELETE FROM mm.predictions WHERE run_id = 's1'"


def _sql_type(column: str) -> str:
    return {"prediction": "FLOAT", "row_index": "BIGINT", "fallback": "BIT"}.get(column, "NVARCHAR(4000)")


def test_synapse_sql_on_synapse_uses_synapsesql(project, base_spec, series):
    sink = {"type": "synapse_sql", "flavor": "synapse", "url": None, "database": "dw", "schema": "dbo",
            "table": "predictions", "tempDir": "abfss://tmp@acct.dfs.core.windows.net/mm", "auth": "managed_identity",
            "server": "ws.sql.azuresynapse.net"}
    res, writes = score_run(project, base_spec, series, sink, write_mode="overwrite")
    assert res.code == 0, res.stderr
    (w,) = writes
    assert w["method"] == "synapsesql" and w["target"] == "dw.dbo.predictions" and w["mode"] == "overwrite"
    assert w["options"] == {"fake.synapse.server": "ws.sql.azuresynapse.net",
                            "fake.synapse.tempFolder": "abfss://tmp@acct.dfs.core.windows.net/mm"}


def test_forward_credentials_and_synapse_replace_run_rules(project, base_spec, series):
    sink = {"type": "synapse_sql", "flavor": "databricks", "url": "jdbc:sqlserver://dw", "tempDir": "abfss://t",
            "table": "predictions", "auth": "forward_storage_credentials"}  # schema defaults to dbo
    res, writes = score_run(project, base_spec, series, sink, write_mode="overwrite")
    assert res.code == 0, res.stderr
    o = writes[0]["options"]
    assert (o["useAzureMSI"], o["forwardSparkAzureStorageCredentials"]) == ("false", "true")
    assert "preActions" not in o and writes[0]["mode"] == "overwrite" and o["dbTable"] == "dbo.predictions"
    # replace_run cannot work through the synapsesql connector: refused before anything runs
    bad = {"type": "synapse_sql", "flavor": "synapse", "database": "dw", "table": "p"}
    res = project.run("score", base_spec(scoring={"sink": bad, "writeMode": "replace_run"}), "s2",
                      "--models", str(project.root / "models.json"), spark=True)
    assert res.code == 2 and res.events[0]["code"] == "MM414" and "replace_run" in res.events[0]["message"]


def test_spark_input_errors_are_exit_2(project, base_spec, series):
    project.write_data(series(("1", "a")).drop(columns=["promo"]))
    res = project.run("train", base_spec(), "t", spark=True)
    assert res.code == 2 and res.events[0]["code"] == "MM411" and "promo" in res.events[0]["message"]
    bad = series(("1", "a"))
    bad["sales"] = bad["sales"].astype(str)
    bad.loc[bad.index[0], "sales"] = "lots"
    project.write_data(bad)
    res = project.run("train", base_spec(), "t", spark=True)
    assert res.code == 2 and res.events[0]["code"] == "MM412" and "'lots'" in res.events[0]["message"]


def test_regression_scoring_on_spark_keeps_one_row_per_input_row(project, base_spec, series):
    spec = base_spec(task="regression", frequency=None, columns={"time": None},
                     model={"holdout": {"periods": None, "fraction": 0.2}, "minTrainRows": 5},
                     scoring={"horizon": None, "sink": {"type": "delta", "path": None, "tableName": "main.mm.predictions",
                                                        "table": "predictions"},
                              "writeMode": "append"})
    project.write_data(pd.concat([series(("1", "a"), 20), series(("2", "b"), 20, seed=3)]))
    train = project.run("train", spec, "t1")
    assert train.code == 0, train.stderr
    res = project.run("score", spec, "s1", "--models", str(project.model_manifest(train)), spark=True)
    assert res.code == 0, res.stderr
    (w,) = [e for e in project.spark_log() if e["op"] == "write"]
    assert w["method"] == "saveAsTable" and w["target"] == "main.mm.predictions" and w["mode"] == "append"
    assert sorted(r[4] for r in w["rows"]) == list(range(40))
    assert {(r[2], r[3]) for r in w["rows"]} == {(None, None)}


def test_the_selection_columns_are_added_as_nvarchar_and_bit(monkeypatch):
    # model.type auto writes model_type (text) and fallback (a boolean): what an older table lacks
    monkeypatch.syspath_prepend(str(FAKE_PYSPARK))
    from pyspark.sql.types import BooleanType, StringType, StructField, StructType

    from manymodels_runtime.sinks.synapse_sql import add_missing_columns

    class Frame:
        schema = StructType([StructField("store_id", StringType(), True), StructField("Odd Key", StringType(), True),
                             StructField("model_type", StringType(), True), StructField("fallback", BooleanType(), True)])

    got = add_missing_columns(Frame(), "dbo.p", ("store_id", "Odd Key"))
    assert [a.split(" ALTER TABLE ")[1] for a in got] == ["dbo.p ADD [model_type] NVARCHAR(4000) NULL",
                                                         "dbo.p ADD [fallback] BIT NULL"]
