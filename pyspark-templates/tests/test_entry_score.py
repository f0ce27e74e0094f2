"""score_entry.py end to end: predictions in SQLite, sha256 refusal, groups without a model,
models without rows, replace_run, and per-row scoring outside forecasts."""
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

MARKER_MODEL = '''
import numpy as np
def train(pdf, params):
    return float(pdf["sales"].mean())
def predict(model, pdf):
    return np.full(len(pdf), model)
'''


def rows(db, sql, *args):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def trained(project, base_spec, series, keys, **over):
    project.write_data(pd.concat([series(k, seed=i) for i, k in enumerate(keys)]))
    res = project.run("train", base_spec(**over), "train1")
    assert res.code == 0, res.stderr
    return res


def test_forecast_scoring_writes_horizon_rows_per_group(project, base_spec, series):
    keys = [("1", "a"), ("1", "b/c"), ("2", "東京")]
    train = trained(project, base_spec, series, keys)
    models = project.model_manifest(train, version="7")
    res = project.run("score", base_spec(), "s1", "--models", str(models))
    assert res.code == 0, res.stderr
    m = res.manifest
    assert m["stage"] == "score" and m["counts"]["predictionsWritten"] == 15
    assert all(g["status"] == "ok" and g["rowsScored"] == 5 for g in m["groups"])
    got = rows(project.root / "preds.db", "select store_id, item_id, time, row_index, model_version, model_name, "
                                          "run_id from predictions where item_id = ? order by time", "東京")
    assert [r[2] for r in got] == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04", "2024-03-05"]
    assert {(r[0], r[3], r[4], r[6]) for r in got} == {("2", None, "7", "s1")}
    assert got[0][5] == train.by_keys()[("2", "東京")]["modelName"]
    # Each row names its pipeline and the last observed time the forecast starts from.
    assert rows(project.root / "preds.db", "select distinct pipeline, forecast_origin from predictions") == \
        [("demo", "2024-02-29")]
    assert res.events[-1]["counts"]["predictionsWritten"] == 15


def test_tampered_artifact_is_refused_and_only_that_group_fails(project, base_spec, series):
    keys = [("1", "a"), ("2", "b")]
    train = trained(project, base_spec, series, keys)
    victim = train.by_keys()[("2", "b")]
    # Given an artifact whose bytes were replaced by a pickle that would run code when loaded
    marker = project.root / "pwned"
    evil = ("cos\nsystem\n(S'touch " + str(marker) + "'\ntR.").encode()
    (train.out / victim["artifact"]).write_bytes(evil)
    models = project.model_manifest(train)
    res = project.run("score", base_spec(), "s1", "--models", str(models))
    assert res.code == 0, res.stderr
    g = res.by_keys()
    assert g[("2", "b")]["status"] == "failed" and g[("2", "b")]["errorClass"] == "ArtifactIntegrityError"
    assert g[("1", "a")]["status"] == "ok"
    assert not marker.exists(), "a tampered artifact was unpickled"
    assert rows(project.root / "preds.db", "select count(*) from predictions where item_id = 'b'") == [(0,)]


def test_groups_without_a_model_are_skipped_and_models_without_rows_still_score(project, base_spec, series):
    train = trained(project, base_spec, series, [("1", "a"), ("2", "gone")])
    models = project.model_manifest(train)
    # The scoring data lost group (2, gone) and gained (3, new), which has no model
    project.write_data(pd.concat([series(("1", "a")), series(("3", "new"))]))
    res = project.run("score", base_spec(), "s1", "--models", str(models))
    assert res.code == 0, res.stderr
    g = res.by_keys()
    assert g[("3", "new")]["status"] == "skipped" and g[("3", "new")]["reason"] == "no production model"
    assert g[("2", "gone")]["status"] == "ok" and g[("2", "gone")]["rowsScored"] == 5
    assert rows(project.root / "preds.db", "select count(*) from predictions where item_id = 'gone'") == [(5,)]


def test_future_rows_in_the_data_supply_the_features(project, base_spec, series):
    # A model whose prediction is the promo flag, so the features it saw are visible
    custom = project.custom_model("echo.py", "import numpy as np\n"
                                             "def train(pdf, params):\n    return 0\n"
                                             "def predict(model, pdf):\n    return pdf['promo'].to_numpy()\n")
    spec = base_spec(model={"type": "custom", "custom": custom})
    hist = series(("1", "a"))
    project.write_data(hist)
    train = project.run("train", spec, "t1")
    assert train.code == 0, train.stderr
    models = project.model_manifest(train)
    last_promo = float(hist["promo"].iloc[-1])
    future = pd.DataFrame({"store_id": "1", "item_id": "a", "date": ["2024-03-02", "2024-03-04"],
                           "sales": [None, None], "price": [2.0, 2.0], "promo": [7, 9]})
    project.write_data(pd.concat([hist, future]))
    res = project.run("score", spec, "s1", "--models", str(models))
    assert res.code == 0, res.stderr
    got = rows(project.root / "preds.db", "select time, prediction from predictions order by time")
    # day 1 carries the training value forward; days 2-3 the row of 03-02; days 4-5 the row of 03-04
    assert got == [("2024-03-01", last_promo), ("2024-03-02", 7.0), ("2024-03-03", 7.0),
                   ("2024-03-04", 9.0), ("2024-03-05", 9.0)]


def test_replace_run_replaces_only_this_runs_rows(project, base_spec, series):
    train = trained(project, base_spec, series, [("1", "a"), ("2", "b")])
    models = project.model_manifest(train)
    db = project.root / "preds.db"
    for run_id in ("s1", "s2"):
        res = project.run("score", base_spec(), run_id, "--models", str(models))
        assert res.code == 0, res.stderr
    # One current forecast per (pipeline, keys, time): s2's; s1's is in the history.
    assert rows(db, "select run_id, count(*) from predictions group by run_id") == [("s2", 10)]
    assert rows(db, "select run_id, superseded_by, count(*) from predictions_history group by run_id") == \
        [("s1", "s2", 10)]
    assert rows(db, "select count(*) from predictions_all where run_id = 's1'") == [(10,)]
    # A rerun of s1 replaces s1's rows wherever they are; the last write is current.
    res = project.run("score", base_spec(), "s1", "--models", str(models))
    assert res.code == 0, res.stderr
    assert rows(db, "select run_id, count(*) from predictions group by run_id") == [("s1", 10)]
    assert rows(db, "select run_id, count(*) from predictions_history group by run_id") == [("s2", 10)]
    res = project.run("score", base_spec(scoring={"writeMode": "append"}), "s2", "--models", str(models))
    assert rows(db, "select count(*) from predictions_all where run_id = 's2'") == [(20,)]
    assert rows(db, "select run_id, count(*) from predictions group by run_id") == [("s2", 10)]
    res = project.run("score", base_spec(scoring={"writeMode": "overwrite"}), "s3", "--models", str(models))
    assert res.code == 0
    assert rows(db, "select run_id, count(*) from predictions_all group by run_id") == [("s3", 10)]


def test_regression_scores_every_input_row_with_its_row_index(project, base_spec, series):
    spec = base_spec(task="regression", frequency=None, columns={"time": None, "features": ["price", "promo"]},
                     model={"type": "linear", "holdout": {"periods": None, "fraction": 0.2}, "minTrainRows": 5},
                     scoring={"horizon": None})
    a, b = series(("1", "a"), 20), series(("2", "b"), 20, seed=5)
    # interleaved rows, so a group's rows are not contiguous in the file
    data = pd.concat([a, b]).iloc[[i // 2 + (i % 2) * 20 for i in range(40)]].reset_index(drop=True)
    project.write_data(data)
    train = project.run("train", spec, "t1")
    assert train.code == 0, train.stderr
    models = project.model_manifest(train)
    res = project.run("score", spec, "s1", "--models", str(models))
    assert res.code == 0, res.stderr
    got = rows(project.root / "preds.db", "select item_id, row_index, time, forecast_origin from predictions "
                                          "order by row_index")
    assert [r[1] for r in got] == list(range(40))
    assert [r[0] for r in got] == list(data["item_id"])
    assert {(r[2], r[3]) for r in got} == {(None, None)}


def test_a_table_with_other_columns_is_refused_up_front(project, base_spec, series):
    train = trained(project, base_spec, series, [("1", "a")])
    models = project.model_manifest(train)
    con = sqlite3.connect(project.root / "preds.db")
    con.execute("create table predictions (something text)")
    con.commit()
    con.close()
    res = project.run("score", base_spec(), "s1", "--models", str(models))
    assert res.code == 2 and res.events[0]["code"] == "MM415" and "store_id" in res.events[0]["message"]


def test_bad_model_manifest_is_exit_2(project, base_spec, series):
    project.write_data(series(("1", "a")))
    bad = project.write_text("models.json", json.dumps({"specVersion": 1, "pipeline": "other", "models": [{}]}))
    res = project.run("score", base_spec(), "s1", "--models", str(bad))
    assert res.code == 2 and res.events[0]["code"] == "MM414"
    assert "other" in res.events[0]["message"] and "models[0]" in res.events[0]["message"]


def test_artifacts_can_be_fetched_over_http(project, base_spec, series):
    import functools
    import http.server
    import threading
    train = trained(project, base_spec, series, [("1", "a")])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(train.out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        g = train.manifest["groups"][0]
        models = project.write_text("models.json", json.dumps({"specVersion": 1, "pipeline": "demo", "models": [{
            "groupId": g["groupId"], "modelName": g["modelName"], "version": "1", "keys": g["keys"],
            "modelType": "linear", "sha256": g["sha256"],
            "artifactUri": f"http://127.0.0.1:{server.server_address[1]}/{g['artifact']}"}]}))
        res = project.run("score", base_spec(), "s1", "--models", str(models))
    finally:
        server.shutdown()
    assert res.code == 0, res.stderr
    assert res.manifest["groups"][0]["status"] == "ok"
    assert rows(project.root / "preds.db", "select count(*) from predictions") == [(5,)]


def _labelled(rng, store: str, n: int) -> pd.DataFrame:
    """Rows whose text label follows x: "low" below -0.5, "high" above 0.5, else "mid"."""
    x = rng.normal(size=n)
    cut = np.digitize(x + rng.normal(scale=0.2, size=n), [-0.5, 0.5])
    return pd.DataFrame({"store_id": store, "item_id": "a", "x": x,
                         "level": np.array(["low", "mid", "high"])[cut]})


def _classification_spec(base_spec, model="logistic"):
    return base_spec(task="classification", frequency=None,
                     columns={"time": None, "features": ["x"], "target": "level"},
                     metrics=["accuracy", "f1"], scoring={"horizon": None},
                     model={"type": model, "holdout": {"periods": None, "fraction": 0.25}, "minTrainRows": 10})


@pytest.mark.parametrize("model", ["logistic", "random_forest", "gbm"])
@pytest.mark.parametrize("spark", [False, True])
def test_text_labels_come_back_as_labels_with_probabilities(project, base_spec, model, spark):
    rng = np.random.default_rng(3)
    # Store 2 never sees "high": its probabilities still name every label, "high" at 0.
    two = _labelled(rng, "2", 90)
    two = two[two["level"] != "high"]
    project.write_data(pd.concat([_labelled(rng, "1", 120), two]))
    spec = _classification_spec(base_spec, model)
    train = project.run("train", spec, "t1")
    assert train.code == 0, train.stderr
    for g in train.manifest["groups"]:
        assert g["status"] == "ok", g
        assert g["metrics"]["accuracy"] > 0.5, g
    models = project.model_manifest(train)
    res = project.run("score", spec, "s1", "--models", str(models), spark=spark)
    assert res.code == 0, res.stderr
    got = rows(project.root / "preds.db", "select store_id, row_index, prediction, label, probabilities "
                                          "from predictions order by row_index")
    assert len(got) == 120 + len(two)
    assert {r[3] for r in got} <= {"low", "mid", "high"} and len({r[3] for r in got}) >= 2
    assert {r[2] for r in got} == {None}  # a text label is no number
    for store, _, _, label, probs in got:
        p = json.loads(probs)
        assert list(p) == ["high", "low", "mid"]
        assert abs(sum(p.values()) - 1.0) < 1e-9
        assert max(p, key=p.get) == label or model == "random_forest"
        if store == "2":
            assert p["high"] == 0.0


def test_numeric_classes_keep_their_numbers_and_gain_labels_and_probabilities(project, base_spec):
    rng = np.random.default_rng(5)
    frame = _labelled(rng, "1", 100)
    frame["level"] = frame["level"].map({"low": 0, "mid": 1, "high": 2})
    project.write_data(frame)
    spec = _classification_spec(base_spec)
    train = project.run("train", spec, "t1")
    assert train.code == 0, train.stderr
    res = project.run("score", spec, "s1", "--models", str(project.model_manifest(train)))
    assert res.code == 0, res.stderr
    got = rows(project.root / "preds.db", "select prediction, label, probabilities from predictions")
    assert {r[0] for r in got} <= {0.0, 1.0, 2.0}
    assert all(r[1] == str(int(r[0])) for r in got)
    assert all(list(json.loads(r[2])) == ["0", "1", "2"] for r in got)
