"""Integer period axes (timeKind: period), holdout.from and the stale-series policy through
train_group, for every forecast model type (issue 12)."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.errors import InputError
from manymodels_runtime.periods import NS_PER_PERIOD, format_times, parse_periods
from manymodels_runtime.scoring import ScoreResult, iso_times_and_origin
from manymodels_runtime.spec import parse_job_spec
from manymodels_runtime.training import TrainContext, check_holdout_from, train_group

FORECASTERS = ["seasonal_naive", "linear", "ets", "gbm"]


def periods_frame(first=40, last=160, gaps=(), seed=0):
    rng = np.random.default_rng(seed)
    weeks = np.array([w for w in range(first, last) if w not in gaps])
    y = 20 + 5 * np.sin(weeks / 8.3) + rng.normal(0, 0.5, weeks.size)
    return pd.DataFrame({"week": (weeks * NS_PER_PERIOD).view("datetime64[ns]"), "sales": y})


def context(tmp_path, base_spec, model, hold=None, stale="skip", data_end=159):
    spec = base_spec(
        columns={"features": [], "keys": ["store_id", "item_id"], "target": "sales", "time": "week"},
        frequency=None, timeKind="period",
        model={"type": model, "holdout": hold or {"fraction": None, "periods": 8},
               "minTrainRows": 14, "params": {}, "refit": True, "custom": None, "stale": stale},
        scoring={"horizon": 8, "sink": {"path": "p.db", "table": "predictions", "type": "sqlite"},
                 "writeMode": "replace_run"})
    return TrainContext.from_spec(parse_job_spec(spec, "train"), str(tmp_path), data_end_ns=data_end * NS_PER_PERIOD)


def run(pdf, ctx):
    return train_group(pdf.reset_index(drop=True), {"store_id": "1", "item_id": "a"}, "g1", "demo__g1", ctx)


def test_period_strings_parse_and_format_back():
    ns = parse_periods(["40", " 41 ", "160.0", "-3"], "week")
    assert list(format_times(ns)) == ["40", "41", "160", "-3"]
    with pytest.raises(InputError, match="MM412.*not whole period numbers.*'2024-01-01'"):
        parse_periods(["40", "2024-01-01", "40.5"], "week")


@pytest.mark.parametrize("model", FORECASTERS)
def test_every_model_trains_on_periods_with_gaps(tmp_path, base_spec, model):
    row = run(periods_frame(gaps=(150, 151)), context(tmp_path, base_spec, model))
    assert row["status"] == "ok", row
    assert row["testRows"] == 8 and np.isfinite(row["metrics"]["wape"])


@pytest.mark.parametrize("model", FORECASTERS)
def test_holdout_from_holds_out_every_period_at_or_after_it(tmp_path, base_spec, model):
    ctx = context(tmp_path, base_spec, model, hold={"fraction": None, "periods": None, "from": "152"})
    row = run(periods_frame(gaps=(155,)), ctx)
    assert row["status"] == "ok", row
    assert row["testRows"] == 7  # 152..159 less the missing 155


def test_holdout_from_outside_the_data_is_mm418(tmp_path, base_spec):
    ctx = context(tmp_path, base_spec, "linear", hold={"fraction": None, "periods": None, "from": "400"})
    with pytest.raises(InputError, match="MM418.*400 is outside the data.*from 40 to 159"):
        check_holdout_from(ctx, np.array([40, 159], dtype=np.int64) * NS_PER_PERIOD)


@pytest.mark.parametrize("model", FORECASTERS)
def test_stale_series_skip_or_forecast_from_origin(tmp_path, base_spec, model):
    pdf = periods_frame(last=130)
    skipped = run(pdf, context(tmp_path, base_spec, model))
    assert skipped["status"] == "skipped"
    assert skipped["reason"] == ("stale: its last observation (129) is before the run's holdout, which starts "
                                 "after 151 (the data ends 159)")
    row = run(pdf, context(tmp_path, base_spec, model, stale="forecast_from_origin"))
    assert row["status"] == "ok", row
    assert row["testRows"] == 0 and row["trainRows"] == 90
    assert row["reason"].endswith("forecast from 159")


def test_prediction_times_and_origin_are_period_numbers():
    times = np.arange(160, 163, dtype=np.int64) * NS_PER_PERIOD
    res = ScoreResult({}, times, None, np.zeros(3), 159 * NS_PER_PERIOD, "period")
    assert iso_times_and_origin(res, 3) == (["160", "161", "162"], ["159"] * 3)
    dated = dataclasses.replace(res, time_kind="date")
    assert iso_times_and_origin(dated, 3)[0][0] == "1970-06-10"
