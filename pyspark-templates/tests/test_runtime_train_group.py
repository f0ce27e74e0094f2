"""train_group: the pure per-group training function (bad data, holdout, artifact)."""
import hashlib

import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.artifacts import MAGIC, parse_artifact
from manymodels_runtime.spec import parse_job_spec
from manymodels_runtime.training import TrainContext, train_group


@pytest.fixture
def ctx(tmp_path, base_spec):
    def make(**over):
        spec = parse_job_spec(base_spec(**over), "train")
        return TrainContext.from_spec(spec, str(tmp_path))
    return make


def frame(days=40, start="2024-01-01", seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame({"date": t.values, "price": rng.uniform(1, 5, days), "promo": (rng.random(days) < .3) * 1.0,
                         "sales": 10 + np.arange(days) * 0.1 + rng.normal(0, 1, days)})


def run(pdf, c):
    return train_group(pdf, {"store_id": "1", "item_id": "a"}, "g1", "demo__1_a__g1", c)


def test_ok_group_writes_a_verified_artifact_with_metrics(ctx, tmp_path):
    row = run(frame(), ctx())
    assert row["status"] == "ok", row
    assert (row["trainRows"], row["testRows"]) == (33, 7)
    assert set(row["metrics"]) == {"mae", "wape"}
    path = tmp_path / "demo__1_a__g1.pkl"
    data = path.read_bytes()
    assert row["artifact"] == "artifacts/demo__1_a__g1.pkl"
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    art = parse_artifact(data)
    assert art["format"] == 2 and art["modelType"] == "linear" and art["task"] == "forecast"
    assert art["meta"]["lastTime"] == pd.Timestamp("2024-02-09").value  # refit on all 40 rows
    assert data[:len(MAGIC)] == MAGIC  # arrays + JSON, not a pickle


def test_nan_targets_are_dropped_and_counted(ctx):
    pdf = frame()
    pdf.loc[[3, 10, 20], "sales"] = np.nan
    row = run(pdf, ctx())
    assert row["status"] == "ok" and row["droppedRows"] == 3
    assert row["trainRows"] + row["testRows"] == 37


def test_nan_features_reach_the_model_and_train(ctx):
    pdf = frame()
    pdf.loc[[0, 5, 39], "price"] = np.nan
    row = run(pdf, ctx())
    assert row["status"] == "ok", row


def test_all_nan_target_and_empty_groups_are_skipped(ctx):
    pdf = frame(10)
    pdf["sales"] = np.nan
    row = run(pdf, ctx())
    assert row["status"] == "skipped" and "no rows left" in row["reason"] and row["droppedRows"] == 10
    row = run(frame(10).iloc[:0], ctx())
    assert row["status"] == "skipped" and row["reason"] == "no rows"


def test_single_row_group_is_skipped_as_too_short(ctx):
    row = run(frame(1), ctx(model={"holdout": {"periods": None, "fraction": None}, "minTrainRows": 14}))
    assert row["status"] == "skipped" and row["reason"].startswith("too short: 1 training row")
    assert (row["trainRows"], row["testRows"]) == (1, 0)
    row = run(frame(2), ctx(model={"holdout": {"periods": 1, "fraction": None}}))
    assert row["status"] == "skipped" and row["reason"].startswith("too short: 1 training row")


def test_duplicate_timestamps_fail_the_group_with_a_clear_reason(ctx):
    pdf = pd.concat([frame(20), frame(20).iloc[[5]]], ignore_index=True)
    row = run(pdf, ctx())
    assert row["status"] == "failed" and row["errorClass"] == "DuplicateTimestamps"
    assert "2024-01-06" in row["errorMessage"] and "1 duplicate" in row["errorMessage"]


def test_unsorted_rows_give_the_same_model_as_sorted_rows(ctx, tmp_path):
    pdf = frame()
    a = run(pdf, ctx())
    shuffled = pdf.sample(frac=1.0, random_state=1).reset_index(drop=True)
    b = run(shuffled, ctx())
    assert a["status"] == b["status"] == "ok"
    assert a["sha256"] == b["sha256"] and a["metrics"] == b["metrics"]


def test_constant_target_is_skipped(ctx):
    pdf = frame()
    pdf["sales"] = 4.0
    row = run(pdf, ctx())
    assert row["status"] == "skipped" and row["reason"].startswith("constant target")


def test_forecast_holdout_counts_periods_not_rows(ctx):
    pdf = frame(40)
    pdf = pdf.drop(index=[36, 37])  # a gap inside the last 7 days
    row = run(pdf, ctx())
    assert row["testRows"] == 5 and row["trainRows"] == 33


def test_fraction_holdout_for_regression_uses_the_last_rows_in_file_order(ctx):
    pdf = frame(20).drop(columns=["date"])
    c = ctx(task="regression", columns={"time": None}, frequency=None,
            model={"holdout": {"periods": None, "fraction": 0.25}, "minTrainRows": 5})
    row = run(pdf, c)
    assert row["status"] == "ok" and (row["trainRows"], row["testRows"]) == (15, 5)


def test_a_model_exception_fails_only_this_group(ctx, project):
    custom = project.custom_model("bad.py", "def train(pdf, params):\n    raise RuntimeError('boom in fit')\n"
                                            "def predict(model, pdf):\n    return pdf['price']\n")
    custom["path"] = str(project.root / custom["path"])
    row = run(frame(), ctx(model={"type": "custom", "custom": custom}))
    assert row["status"] == "failed" and row["errorClass"] == "RuntimeError"
    assert row["errorMessage"] == "boom in fit" and row["artifact"] is None


def test_refit_false_keeps_the_training_split_model(ctx, tmp_path):
    row = run(frame(), ctx(model={"refit": False}))
    art = parse_artifact((tmp_path / "demo__1_a__g1.pkl").read_bytes())
    assert art["meta"]["lastTime"] == pd.Timestamp("2024-02-02").value
    assert art["meta"]["fitRows"] == row["trainRows"] == 33


def test_the_holdout_prediction_never_sees_the_target(ctx, project):
    custom = project.custom_model("peek.py", "import numpy as np\n"
                                             "def train(pdf, params):\n    return 0\n"
                                             "def predict(model, pdf):\n"
                                             "    assert 'sales' not in pdf.columns, 'target leaked'\n"
                                             "    return np.zeros(len(pdf))\n")
    custom["path"] = str(project.root / custom["path"])
    row = run(frame(), ctx(model={"type": "custom", "custom": custom}))
    assert row["status"] == "ok", row
