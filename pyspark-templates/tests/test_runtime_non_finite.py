"""Non-finite or overflowing values never make an "ok" group with null metrics: the group is
failed with a reason naming the column (or the overflow), so it is not registered."""
import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.spec import parse_job_spec
from manymodels_runtime.training import TrainContext, train_group


@pytest.fixture
def ctx(tmp_path, base_spec):
    def make(**over):
        spec = parse_job_spec(base_spec(**over), "train")
        return TrainContext.from_spec(spec, str(tmp_path))
    return make


def frame(days=40, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-01-01", periods=days, freq="D")
    return pd.DataFrame({"date": t.values, "price": rng.uniform(1, 5, days), "promo": (rng.random(days) < .3) * 1.0,
                         "sales": 10 + np.arange(days) * 0.1 + rng.normal(0, 1, days)})


def run(pdf, c):
    return train_group(pdf, {"store_id": "1", "item_id": "a"}, "g1", "demo__1_a__g1", c)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_an_infinite_target_fails_the_group_naming_the_column(ctx, tmp_path, value):
    pdf = frame()
    pdf.loc[30, "sales"] = value
    row = run(pdf, ctx())
    assert row["status"] == "failed", row
    assert row["errorClass"] == "NonFiniteValues"
    assert "'sales'" in row["errorMessage"] and "infinite" in row["errorMessage"]
    assert row["artifact"] is None and not (tmp_path / "demo__1_a__g1.pkl").exists()


def test_an_infinite_feature_fails_the_group_naming_the_column(ctx):
    pdf = frame()
    pdf.loc[5, "price"] = np.inf
    row = run(pdf, ctx())
    assert row["status"] == "failed", row
    assert row["errorClass"] == "NonFiniteValues"
    assert "'price'" in row["errorMessage"]


@pytest.mark.parametrize("value", [1e308, -1e308])
def test_values_that_overflow_fail_the_group(ctx, value):
    pdf = frame()
    pdf.loc[[10, 35], "sales"] = value
    row = run(pdf, ctx())
    assert row["status"] == "failed", row
    assert row["errorClass"] == "NonFiniteValues"
    assert "too large" in row["errorMessage"]
    assert row["artifact"] is None


def test_an_undefined_metric_alone_still_trains(ctx):
    # WAPE over an all-zero holdout is undefined (null) without any value being too large.
    pdf = frame()
    pdf.loc[33:, "sales"] = 0.0
    row = run(pdf, ctx())
    assert row["status"] == "ok", row
