"""linear's one-pass evaluate-and-refit equals the long way (fit on the head, predict the
holdout, fit on everything), and declines where it could not be equal."""
import numpy as np
import pandas as pd

import model_helpers  # noqa: F401  (puts the runtime package on sys.path)
from manymodels_runtime.models import GroupData, get_model


def _series(n=800, nan_at=None):
    t = pd.date_range("2020-01-01", periods=n, freq="D")
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"date": t, "price": rng.random(n) + 1, "promo": (rng.random(n) < 0.1).astype(float)})
    df["sales"] = 20 + 5 * np.sin(np.arange(n) / 58) + 3 * df.promo - 2 * df.price + rng.normal(0, 2, n)
    if nan_at is not None:
        df.loc[nan_at, "price"] = np.nan
    return df


def _data(df):
    return GroupData(frame=df, time="date", target="sales", features=["price", "promo"], frequency="D", task="forecast")


def test_pair_equals_the_long_way():
    model = get_model("linear")
    df = _series()
    head = model.fit(_data(df.iloc[:-28]), {"alpha": 0.5})
    expected = model.predict(head, df.iloc[-28:][["date", "price", "promo"]])
    full = model.fit(_data(df), {"alpha": 0.5})
    pred, state = model.fit_with_holdout(_data(df), len(df) - 28, {"alpha": 0.5})
    np.testing.assert_allclose(pred, expected, rtol=0, atol=1e-8)
    np.testing.assert_allclose(state["coef"], full["coef"], rtol=0, atol=1e-8)
    assert abs(state["intercept"] - full["intercept"]) < 1e-8
    assert state["spec"] == full["spec"] and state["last_time"] == full["last_time"]


def test_pair_declines_when_imputation_or_recipe_would_differ():
    model = get_model("linear")
    assert model.fit_with_holdout(_data(_series(nan_at=5)), 772, {}) is None
    # 400 days: the head (< 1 year after holding out 60) has no yearly terms, the whole has.
    assert model.fit_with_holdout(_data(_series(n=400)), 340, {}) is None
    assert model.fit_with_holdout(_data(_series()), 772, {"alpha": 0.0}) is None
