"""Category and boolean features on the Spark executor (the fake pyspark in tests/fake_pyspark):
training writes the same artifacts as the local executor (the categories each group saw are in
them), and scoring — with a category the training never saw, and missing ones — predicts
exactly what the local executor predicts."""
import sqlite3

import numpy as np
import pandas as pd
import pytest

WINDS = ["N", "NE", "SW", "calm"]


def _with_categories(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = len(frame)
    wd = rng.choice(WINDS, n).astype(object)
    wd[rng.random(n) < 0.08] = ""        # an empty field: missing
    wd[rng.random(n) < 0.05] = "NA"      # a missing-value string: missing too
    rain = rng.choice(["TRUE", "false", "True", ""], n)
    effect = {"N": 0.0, "NE": 3.0, "SW": -2.0, "calm": 5.0, "": 0.0, "NA": 0.0}
    sales = frame["sales"].to_numpy() + np.array([effect[w] for w in wd]) + \
        np.where(pd.Series(rain).str.lower() == "true", 1.5, 0.0)
    return frame.assign(wd=wd, rain=rain, sales=np.round(sales, 2))


def _data(series, seed=0):
    return pd.concat([_with_categories(series(("1", "a"), seed=seed), seed),
                      _with_categories(series(("2", "b"), seed=seed + 5), seed + 1)], ignore_index=True)


def _local_predictions(res, db="preds.db") -> list:
    con = sqlite3.connect(res.out.parent.parent / db)
    rows = con.execute("select store_id, item_id, time, row_index, prediction, label from predictions "
                       "where run_id = ? order by store_id, item_id, time, row_index", (res.out.name,)).fetchall()
    con.close()
    return rows


def _spark_predictions(project) -> list:
    (w,) = [e for e in project.spark_log() if e["op"] == "write"]
    cols = w["columns"]
    pick = [cols.index(c) for c in ("store_id", "item_id", "time", "row_index", "prediction", "label")]
    return sorted((tuple(r[i] for i in pick) for r in w["rows"]),
                  key=lambda t: (t[0], t[1], t[2] or "", -1 if t[3] is None else t[3]))


def _strip(manifest):
    return [{k: v for k, v in g.items() if k != "fitSeconds"} for g in manifest["groups"]]


CASES = [("linear", "forecast", {}), ("gbm", "forecast", {"horizon": 7, "lags": [7, 14]}),
         ("linear", "regression", {}), ("logistic", "classification", {}),
         ("gbm", "classification", {})]


@pytest.mark.parametrize("model_type,task,params", CASES)
def test_spark_trains_and_scores_categories_as_the_local_executor(project, base_spec, series, model_type, task,
                                                                   params):
    features = ["price", "wd", "rain"]
    over = {"columns": {"features": features}, "model": {"type": model_type, "params": params}}
    if task != "forecast":
        over.update(task=task, frequency=None, columns={"features": features, "time": None},
                    model={"type": model_type, "params": params, "holdout": {"periods": None, "fraction": 0.2},
                           "minTrainRows": 5},
                    scoring={"horizon": None, "sink": {"path": "preds.db", "table": "predictions",
                                                       "type": "sqlite"}})
    if task == "classification":
        over["metrics"] = ["accuracy"]
    train_data = _data(series)
    if task == "classification":
        train_data["sales"] = np.where(train_data["sales"] > train_data["sales"].median(), "high", "low")
    project.write_data(train_data)
    local = project.run("train", base_spec(**over), "t-local")
    spark = project.run("train", base_spec(**over), "t-spark", spark=True)
    assert local.code == 0 and spark.code == 0, spark.stderr + local.stderr
    assert {g["status"] for g in local.manifest["groups"]} == {"ok"}
    # Same metrics, same artifacts byte for byte (sha256): the categories each group saw included
    assert [{**g, "artifact": None} for g in _strip(spark.manifest)] == \
        [{**g, "artifact": None} for g in _strip(local.manifest)]

    # Scoring data: a category no group saw in training ("W") and missing ones
    score_data = _data(series, seed=9)
    score_data.loc[score_data.index[::4], "wd"] = "W"
    if task == "forecast":
        # Future rows past the training data carry the features the forecast uses
        future = _data(lambda keys, seed: series(keys, days=5, start="2024-03-01", seed=seed), seed=3)
        future.loc[future.index[::2], "wd"] = "W"
        score_data = pd.concat([train_data, future], ignore_index=True)
    project.write_data(score_data)
    models = project.model_manifest(local)
    sink_local = base_spec(**over)["scoring"]
    loc = project.run("score", base_spec(**over), "s-local", "--models", str(models))
    assert loc.code == 0, loc.stderr
    spark_spec = base_spec(**over)
    spark_spec["scoring"] = {**sink_local, "sink": {"type": "delta", "path": "lake/p", "tableName": None,
                                                    "table": "predictions"}}
    sp = project.run("score", spark_spec, "s-spark", "--models", str(models), spark=True)
    assert sp.code == 0, sp.stderr
    got, want = _spark_predictions(project), _local_predictions(loc)
    assert len(want) == (10 if task == "forecast" else len(score_data))
    assert [g[:2] + g[2:4] for g in got] == [w[:2] + w[2:4] for w in want]
    if task == "classification":
        assert [g[5] for g in got] == [w[5] for w in want] and {w[5] for w in want} <= {"high", "low"}
    else:
        np.testing.assert_allclose([g[4] for g in got], [w[4] for w in want], rtol=0, atol=1e-9)
    assert sp.manifest["counts"]["ok"] == loc.manifest["counts"]["ok"] == 2


def test_category_kinds_on_spark_follow_the_local_reader(project, base_spec, series):
    # A feature that is numbers except for one text value is a category; NA strings are missing
    frame = _data(series)
    frame["price"] = frame["price"].astype(str)
    frame.loc[frame.index[3], "price"] = "NA"
    frame["mixed"] = frame["promo"].astype(str)
    frame.loc[frame.index[-1], "mixed"] = "many"
    project.write_data(frame)
    over = {"columns": {"features": ["price", "mixed", "wd", "rain"]}}
    local = project.run("train", base_spec(**over), "t-local")
    spark = project.run("train", base_spec(**over), "t-spark", spark=True)
    assert local.code == 0 and spark.code == 0, spark.stderr
    assert [{**g, "artifact": None} for g in _strip(spark.manifest)] == \
        [{**g, "artifact": None} for g in _strip(local.manifest)]
