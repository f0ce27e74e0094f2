"""Gappy and negative series through train_group, for every forecast model type: a group
fails only for a reason its data justifies (issue 12: gbm failed whenever the period just
before the holdout was missing, blaming model.params.horizon)."""
import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.spec import parse_job_spec
from manymodels_runtime.training import TrainContext, train_group

FORECASTERS = ["seasonal_naive", "linear", "ets", "gbm"]
REGRESSORS = ["linear", "gbm", "random_forest"]  # random_forest does not forecast


def weekly(weeks=120, seed=0, level=50.0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2022-01-02", periods=weeks, freq="W-SUN")
    i = np.arange(weeks)
    y = level + 10 * np.sin(i * 2 * np.pi / 52) + rng.normal(0, 1, weeks)
    return pd.DataFrame({"week": t.values, "price": rng.uniform(1, 5, weeks), "sales": y})


def context(tmp_path, base_spec, model, holdout=8, horizon=8):
    spec = base_spec(
        columns={"features": ["price"], "keys": ["store_id", "item_id"], "target": "sales", "time": "week"},
        frequency="W-SUN", model={"type": model, "holdout": {"fraction": None, "periods": holdout},
                                  "minTrainRows": 14, "params": {}, "refit": True, "custom": None},
        scoring={"horizon": horizon, "sink": {"path": "p.db", "table": "predictions", "type": "sqlite"},
                 "writeMode": "replace_run"})
    return TrainContext.from_spec(parse_job_spec(spec, "train"), str(tmp_path))


def run(pdf, ctx):
    return train_group(pdf.reset_index(drop=True), {"store_id": "1", "item_id": "a"}, "g1", "demo__g1", ctx)


@pytest.mark.parametrize("model", FORECASTERS)
def test_a_missing_period_just_before_the_holdout_does_not_fail_the_group(tmp_path, base_spec, model):
    pdf = weekly()
    n = len(pdf)
    # Holdout = the last 8 calendar weeks; the two weeks just before it are missing, and so
    # is one week inside it.
    pdf = pdf.drop(index=[n - 10, n - 9, n - 3])
    row = run(pdf, context(tmp_path, base_spec, model))
    assert row["status"] == "ok", row
    assert row["testRows"] == 7  # metrics over the observed holdout points only
    assert row["metrics"]["mae"] is not None and row["metrics"]["mae"] < 15


@pytest.mark.parametrize("model", FORECASTERS)
def test_negative_values_train_every_model(tmp_path, base_spec, model):
    pdf = weekly(level=-3.0)  # crosses zero both ways
    row = run(pdf, context(tmp_path, base_spec, model))
    assert row["status"] == "ok", row


def test_ets_multiplicative_season_on_a_series_with_negatives_falls_back_to_additive(tmp_path, base_spec):
    pdf = weekly(level=-3.0)
    ctx = context(tmp_path, base_spec, "ets")
    ctx = TrainContext(**{**ctx.__dict__, "params": {**ctx.params, "seasonal": "mul"}})
    row = run(pdf, ctx)
    assert row["status"] == "ok", row


@pytest.mark.parametrize("model", REGRESSORS)
def test_negative_targets_and_missing_features_train_every_regressor(tmp_path, base_spec, model):
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, 200)
    pdf = pd.DataFrame({"price": x, "sales": -5 + 3 * x + rng.normal(0, .1, 200)})
    pdf.loc[[0, 50, 199], "price"] = np.nan
    spec = base_spec(task="regression", frequency=None,
                     columns={"features": ["price"], "keys": ["store_id", "item_id"], "target": "sales", "time": None},
                     model={"type": model, "holdout": {"fraction": 0.2, "periods": None}, "minTrainRows": 14,
                            "params": {}, "refit": True, "custom": None},
                     scoring={"horizon": None, "sink": {"path": "p.db", "table": "predictions", "type": "sqlite"},
                              "writeMode": "replace_run"})
    row = run(pdf, TrainContext.from_spec(parse_job_spec(spec, "train"), str(tmp_path)))
    assert row["status"] == "ok", row
