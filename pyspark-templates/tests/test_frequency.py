"""Frequency aliases: pandas 2.2 spellings (ME, QE, YE, h, min) and the older ones (M, Q, A,
H, T) mean the same on pandas 1.5 and 2.x. One pandas is installed here, so the table is
tested in both directions directly, and to_offset on the installed one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model_helpers import daily_sales, forecast_data
from manymodels_runtime.frequency import NEW_ALIASES, normalize_frequency, to_offset
from manymodels_runtime.models import get_model
from manymodels_runtime.spec import parse_job_spec

PAIRS = [  # (pandas >= 2.2, pandas < 2.2)
    ("ME", "M"), ("QE", "Q"), ("YE", "A"), ("h", "H"), ("min", "T"), ("s", "S"), ("ms", "L"),
    ("MS", "MS"), ("QS", "QS"), ("YS", "AS"), ("D", "D"), ("W", "W"), ("B", "B"),
    ("2ME", "2M"), ("QE-DEC", "Q-DEC"), ("YE-JUN", "A-JUN"), ("3h", "3H"), ("15min", "15T"),
    ("W-MON", "W-MON"), ("BME", "BM"), ("QS-JAN", "QS-JAN"),
]


@pytest.mark.parametrize("new,old", PAIRS)
def test_each_spelling_maps_to_the_other_pandas(new, old):
    assert normalize_frequency(new, new_aliases=False) == old
    assert normalize_frequency(old, new_aliases=True) == new
    assert normalize_frequency(new, new_aliases=True) == new
    assert normalize_frequency(old, new_aliases=False) == old


def test_old_aliases_pandas_accepted_before_2_2_become_the_new_ones():
    assert normalize_frequency("Y", new_aliases=True) == "YE"
    assert normalize_frequency("BY", new_aliases=True) == "BYE"
    assert normalize_frequency("not a freq!", new_aliases=True) == "not a freq!"


@pytest.mark.parametrize("new,old", PAIRS)
def test_both_spellings_give_the_same_offset_on_the_installed_pandas(new, old):
    assert to_offset(new) == to_offset(old)
    assert to_offset(normalize_frequency(new)).freqstr == to_offset(old).freqstr


def test_installed_pandas_is_detected():
    assert NEW_ALIASES == (tuple(int(x) for x in pd.__version__.split(".")[:2]) >= (2, 2))


def test_a_spec_with_a_pandas_2_2_alias_parses(base_spec):
    spec = parse_job_spec(base_spec(frequency="ME"), "train")
    assert spec.frequency == ("ME" if NEW_ALIASES else "M")


def test_a_state_recorded_with_the_other_pandas_spelling_still_forecasts():
    frame = daily_sales(n=400, seed=3).set_index("date").resample("MS").mean().reset_index()
    m = get_model("seasonal_naive")
    st = m.fit(forecast_data(frame.iloc[:-3].reset_index(drop=True), frequency="MS"), {})
    pred = m.predict(st, frame.iloc[-3:].reset_index(drop=True))
    end = forecast_data(pd.DataFrame({"date": pd.date_range("2020-01-31", periods=14, freq="M"),
                                      "price": 1.0, "promo": 0.0, "sales": np.arange(14.0)}), frequency="M")
    st = m.fit(end, {})
    fut = pd.DataFrame({"date": pd.date_range("2021-03-31", periods=2, freq="M"), "price": 1.0, "promo": 0.0})
    expected = m.predict(st, fut)
    for spelling in ("ME", "M"):  # what pandas 2.2 and 1.5 record as state["freq"]
        np.testing.assert_array_equal(m.predict({**st, "freq": spelling}, fut), expected)
    assert pred.shape == (3,)
