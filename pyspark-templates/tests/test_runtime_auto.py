"""model.type auto: per-group selection among candidates, every candidate's metrics recorded,
and the fallback that gives a group a model when its candidates fail (docs/models.md#auto)."""
import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.artifacts import parse_artifact
from manymodels_runtime.errors import InputError
from manymodels_runtime.spec import parse_job_spec
from manymodels_runtime.stage_common import check_model_type
from manymodels_runtime.training import TrainContext, train_group

SN, LIN = {"type": "seasonal_naive", "params": {}}, {"type": "linear", "params": {}}


def auto_spec(base_spec, candidates, select_by="wape", fallback=None, **over):
    model = {"type": "auto", "params": {}, "selection": {"candidates": candidates, "selectBy": select_by,
                                                         "fallback": fallback}}
    model.update(over.pop("model", {}))
    return base_spec(model=model, **over)


@pytest.fixture
def ctx(tmp_path, base_spec):
    def make(candidates, select_by="wape", fallback=None, **over):
        spec = parse_job_spec(auto_spec(base_spec, candidates, select_by, fallback, **over), "train")
        return TrainContext.from_spec(spec, str(tmp_path))
    return make


def frame(y):
    n = len(y)
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq="D").values,
                         "price": np.full(n, 2.0), "promo": np.zeros(n), "sales": np.asarray(y, dtype=float)})


def seasonal_with_a_step(days=56):
    """A weekly pattern whose level jumps half-way: the last week repeated is exact, a trend line is not."""
    week = np.array([10, 30, 20, 50, 40, 15, 25], dtype=float)
    y = np.tile(week, days // 7)
    y[days // 2:] += 60
    return y


def straight_trend(days=56):
    """A line: a trend model is exact, repeating last week lags it by a week."""
    return 10 + 2.0 * np.arange(days)


def run(pdf, c, gid="g1"):
    return train_group(pdf, {"store_id": "1", "item_id": gid}, gid, f"demo__1_{gid}__{gid}", c)


def test_each_group_keeps_the_candidate_best_on_its_own_holdout(ctx, tmp_path):
    c = ctx([SN, LIN])
    seasonal = run(frame(seasonal_with_a_step()), c, "a")
    trend = run(frame(straight_trend()), c, "b")
    assert seasonal["status"] == "ok" and trend["status"] == "ok", (seasonal, trend)
    assert seasonal["modelType"] == "seasonal_naive" and trend["modelType"] == "linear"
    for row in (seasonal, trend):
        sel = row["selection"]
        # Every candidate's metrics are on the row; the group's own metrics are the chosen one's.
        assert set(sel["candidates"]) == {"seasonal_naive", "linear"}
        assert all(set(r["metrics"]) == {"mae", "wape"} and r["status"] == "ok" for r in sel["candidates"].values())
        assert row["metrics"] == sel["candidates"][row["modelType"]]["metrics"]
        assert sel["selectBy"] == "wape" and sel["chosen"] == row["modelType"] and sel["fallback"] is False
        others = [r["metrics"]["wape"] for t, r in sel["candidates"].items() if t != row["modelType"]]
        assert row["metrics"]["wape"] < min(others)
    # The artifact is the chosen model's own: scoring and serve load it by its modelType.
    art = parse_artifact((tmp_path / "demo__1_a__a.pkl").read_bytes())
    assert art["modelType"] == "seasonal_naive"
    assert art["meta"]["selection"] == {"fallback": False, "selectBy": "wape"}
    assert parse_artifact((tmp_path / "demo__1_b__b.pkl").read_bytes())["modelType"] == "linear"


def test_a_higher_is_better_metric_selects_the_largest(ctx):
    # accuracy is 1 − wape: the same winners, chosen by the largest value.
    c = ctx([LIN, SN], select_by="accuracy", metrics=["wape", "accuracy"])
    assert run(frame(seasonal_with_a_step()), c, "a")["modelType"] == "seasonal_naive"
    assert run(frame(straight_trend()), c, "b")["modelType"] == "linear"
    # mae is an error: the smallest wins.
    c = ctx([LIN, SN], select_by="mae")
    assert run(frame(seasonal_with_a_step()), c, "a")["modelType"] == "seasonal_naive"


def test_candidate_params_reach_their_model(ctx):
    # The default season (7) repeats the last week exactly; a season of 1 repeats the last value.
    c = ctx([{"type": "seasonal_naive", "params": {"season_length": 1}}, LIN])
    row = run(frame(seasonal_with_a_step()), c, "a")
    assert row["selection"]["candidates"]["seasonal_naive"]["metrics"]["wape"] > 0.05


def test_a_candidate_that_raises_is_recorded_and_the_others_compete(ctx):
    # ets needs two full seasons (14 days) of training data: 10 rows make it raise.
    c = ctx([{"type": "ets", "params": {}}, LIN], model={"minTrainRows": 5})
    row = run(frame(straight_trend(17)), c)
    assert row["status"] == "ok" and row["modelType"] == "linear"
    ets = row["selection"]["candidates"]["ets"]
    assert ets["status"] == "failed" and ets["errorClass"] == "ValueError" and ets["metrics"] == {}
    assert "season" in ets["errorMessage"]
    assert row["selection"]["fallback"] is False


def test_the_fallback_gives_a_group_whose_candidates_all_fail_a_model_marked_as_fallback(ctx, tmp_path):
    c = ctx([{"type": "ets", "params": {}}], fallback=SN, model={"minTrainRows": 5})
    row = run(frame(straight_trend(17)), c)
    assert row["status"] == "ok", row
    assert row["modelType"] == "seasonal_naive"
    sel = row["selection"]
    assert sel["fallback"] is True and sel["reason"] == "every candidate failed" and sel["chosen"] == "seasonal_naive"
    assert sel["candidates"]["ets"]["status"] == "failed"
    # The fallback was evaluated like a candidate: its metrics are the group's.
    assert set(row["metrics"]) == {"mae", "wape"} and row["metrics"] == sel["fallbackResult"]["metrics"]
    art = parse_artifact((tmp_path / "demo__1_g1__g1.pkl").read_bytes())
    assert art["modelType"] == "seasonal_naive" and art["meta"]["selection"]["fallback"] is True


def test_without_a_fallback_a_group_whose_candidates_all_fail_fails_with_every_error(ctx):
    c = ctx([{"type": "ets", "params": {}}], model={"minTrainRows": 5})
    row = run(frame(straight_trend(17)), c)
    assert row["status"] == "failed" and row["errorClass"] == "AllCandidatesFailed"
    assert "ets: ValueError" in row["errorMessage"]
    assert row["selection"]["candidates"]["ets"]["status"] == "failed"


def test_a_stale_series_without_a_holdout_gets_the_fallback(ctx, base_spec):
    # forecast_from_origin trains a stale series on all its rows: nothing to compare on.
    c = ctx([LIN], fallback=SN, model={"stale": "forecast_from_origin"})
    spec = parse_job_spec(auto_spec(base_spec, [LIN], fallback=SN, model={"stale": "forecast_from_origin"}), "train")
    end = pd.Timestamp("2024-03-31").value
    c = TrainContext.from_spec(spec, c.artifacts_dir, data_end_ns=end)
    row = run(frame(straight_trend(40)), c)
    assert row["status"] == "ok" and row["modelType"] == "seasonal_naive"
    assert row["selection"]["fallback"] is True and "no holdout" in row["selection"]["reason"]


def bad(base_spec, **model):
    with pytest.raises(InputError) as e:
        parse_job_spec(base_spec(model=model), "train")
    assert e.value.code == "MM414"
    return e.value.message


def test_the_job_spec_of_an_auto_model_is_checked(base_spec):
    sel = {"candidates": [SN], "selectBy": "wape", "fallback": None}
    assert "model.selection: is required for model type auto" in bad(base_spec, type="auto")
    assert "is only for model type auto" in bad(base_spec, type="linear", selection=sel)
    assert "twice: seasonal_naive" in bad(base_spec, type="auto", selection={**sel, "candidates": [SN, SN]})
    assert "'custom' cannot be selected" in bad(base_spec, type="auto",
                                                 selection={**sel, "candidates": [{"type": "custom"}]})
    assert "'rmse' is not one of the run's metrics" in bad(base_spec, type="auto", selection={**sel, "selectBy": "rmse"})
    assert "model.params: is empty for model type auto" in bad(base_spec, type="auto", selection=sel,
                                                               params={"alpha": 1})
    assert "model.selection.candidates" in bad(base_spec, type="auto", selection={**sel, "candidates": []})


def test_candidates_must_be_built_in_models_that_do_the_task(base_spec):
    def check(candidates, fallback=None):
        spec = parse_job_spec(auto_spec(base_spec, candidates, fallback=fallback), "train")
        with pytest.raises(InputError) as e:
            check_model_type(spec, None)
        return e.value.message
    assert "unknown model type 'prophet'" in check([{"type": "prophet"}])
    assert "'random_forest' does not do forecast" in check([SN], fallback={"type": "random_forest"})
    check_model_type(parse_job_spec(auto_spec(base_spec, [SN, LIN], fallback=SN), "train"), None)  # fine


# ------------------------------------------------------------------ both executors, end to end

ETS, GBM = {"type": "ets", "params": {}}, {"type": "gbm", "params": {}}


def auto_run_spec(base_spec, **over):
    """ets and gbm compete, seasonal_naive is the fallback; a 15-day group is too short for both
    (ets needs two seasons, gbm more than the 20-period horizon)."""
    over.setdefault("scoring", {"horizon": 20, "sink": {"path": "preds.db", "table": "predictions", "type": "sqlite"},
                                "writeMode": "replace_run"})
    return auto_spec(base_spec, [ETS, GBM], fallback=SN,
                     model={"minTrainRows": 5, "holdout": {"periods": 5, "fraction": None}}, **over)


def auto_data(series):
    return pd.concat([series(("1", "a")), series(("2", "b"), seed=4), series(("3", "short"), days=15,
                                                                             start="2024-02-15")])


def test_local_and_spark_executors_select_alike_and_predictions_carry_the_model_and_fallback(project, base_spec,
                                                                                              series):
    import sqlite3
    project.write_data(auto_data(series))
    local = project.run("train", auto_run_spec(base_spec), "local")
    spark = project.run("train", auto_run_spec(base_spec), "spark", spark=True)
    assert local.code == 0 and spark.code == 0, (local.stderr, spark.stderr)
    strip = lambda g: {k: v for k, v in g.items() if k not in ("fitSeconds", "selection")}  # noqa: E731
    assert [strip(g) for g in spark.manifest["groups"]] == [strip(g) for g in local.manifest["groups"]]
    assert [set(g["selection"]["candidates"]) for g in spark.manifest["groups"]] == [{"ets", "gbm"}] * 3
    groups = local.by_keys()
    assert {k: (g["status"], g["modelType"], g["selection"]["fallback"]) for k, g in groups.items()} == {
        ("1", "a"): ("ok", groups[("1", "a")]["modelType"], False),
        ("2", "b"): ("ok", groups[("2", "b")]["modelType"], False),
        ("3", "short"): ("ok", "seasonal_naive", True)}
    assert local.manifest["modelType"] == "auto"

    models = project.model_manifest(local)
    score = project.run("score", auto_run_spec(base_spec), "s1", "--models", str(models))
    assert score.code == 0, score.stderr
    con = sqlite3.connect(project.root / "preds.db")
    rows = con.execute("SELECT item_id, model_type, fallback, COUNT(*) FROM predictions "
                       "GROUP BY item_id, model_type, fallback ORDER BY item_id").fetchall()
    assert rows == [("a", groups[("1", "a")]["modelType"], 0, 20), ("b", groups[("2", "b")]["modelType"], 0, 20),
                    ("short", "seasonal_naive", 1, 20)]
    assert {(g["modelType"], g["fallback"]) for g in score.manifest["groups"]} >= {("seasonal_naive", True)}

    spark_score = project.run("score", auto_run_spec(base_spec, scoring={
        "horizon": 20, "sink": {"type": "delta", "path": "lake/p", "tableName": None, "table": "p"},
        "writeMode": "replace_run"}), "s2", "--models", str(models), spark=True)
    assert spark_score.code == 0, spark_score.stderr
    w = [e for e in project.spark_log() if e["op"] == "write"][-1]
    assert w["columns"][-2:] == ["model_type", "fallback"]
    assert w["options"]["mergeSchema"] == "true"   # an existing Delta table gains the two columns
    assert sorted({(r[1], r[-2], r[-1]) for r in w["rows"]}) == [
        ("a", groups[("1", "a")]["modelType"], False), ("b", groups[("2", "b")]["modelType"], False),
        ("short", "seasonal_naive", True)]


def test_an_existing_predictions_table_gains_the_selection_columns(project, base_spec, series):
    import sqlite3
    project.write_data(auto_data(series))
    plain = {"horizon": 20, "sink": {"path": "preds.db", "table": "predictions", "type": "sqlite"},
             "writeMode": "replace_run"}
    linear = project.run("train", base_spec(scoring=plain, model={"holdout": {"periods": 5, "fraction": None},
                                                                   "minTrainRows": 5}), "lin")
    assert project.run("score", base_spec(scoring=plain), "s0", "--models", str(project.model_manifest(linear))).code == 0
    auto = project.run("train", auto_run_spec(base_spec), "auto")
    score = project.run("score", auto_run_spec(base_spec), "s1", "--models", str(project.model_manifest(auto)))
    assert score.code == 0, score.stderr
    con = sqlite3.connect(project.root / "preds.db")
    assert con.execute("SELECT DISTINCT run_id, fallback IS NULL FROM predictions_all ORDER BY 1").fetchall() == [
        ("s0", 1), ("s1", 0)]
