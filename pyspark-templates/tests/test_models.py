"""Model zoo: registry, params, and each built-in model family's behaviour on data with a
known pattern (beats a naive baseline or recovers a known coefficient), artifact round trips,
determinism and robustness to NaN features and constant targets."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from model_helpers import (
    daily_sales, forecast_data, roundtrip, split, tabular, tabular_data, wape,
)
from manymodels_runtime.models import (
    GroupData, ModelType, UnknownModelError, get_model, known_types, model_catalog,
)
from manymodels_runtime.models.base import future_times
from manymodels_runtime.models.ets import forecast_from_state
from manymodels_runtime.models.gbm import _lag_design
from manymodels_runtime.models.linear import ridge_fit

BUILTIN = ["ets", "gbm", "linear", "logistic", "random_forest", "seasonal_naive"]


@pytest.fixture(scope="module")
def sales():
    return daily_sales(n=1200, seed=1)


# ------------------------------------------------------------------ registry & params


def test_catalog_describes_every_type():
    cat = model_catalog()
    assert sorted(cat) == sorted(BUILTIN + ["custom"]) == known_types()
    assert cat["linear"]["tasks"] == ["forecast", "regression"]
    assert cat["gbm"]["tasks"] == ["classification", "forecast", "regression"]
    assert cat["logistic"]["tasks"] == ["classification"]
    assert cat["gbm"]["defaults"]["horizon"] == 28
    assert cat["gbm"]["defaults"]["max_iter"] == 100 and cat["gbm"]["defaults"]["max_leaf_nodes"] == 15
    for name, entry in cat.items():
        assert isinstance(entry["doc"], str) and entry["doc"] and "\n" not in entry["doc"], name
        pickle.dumps(entry["defaults"])  # JSON-like, plain values
    # Mutating the returned catalog must not change the models' defaults.
    cat["linear"]["defaults"]["alpha"] = 99
    assert model_catalog()["linear"]["defaults"]["alpha"] == 1.0


def test_get_model_unknown_names_known_types():
    with pytest.raises(UnknownModelError) as err:
        get_model("prophet")
    assert isinstance(err.value, ValueError)
    for name in BUILTIN:
        assert name in str(err.value)
    for name in BUILTIN:
        assert isinstance(get_model(name), ModelType)


@pytest.mark.parametrize("name", BUILTIN)
def test_unknown_param_is_rejected(name, sales):
    model = get_model(name)
    task = "classification" if name == "logistic" else ("regression" if name == "random_forest" else "forecast")
    data = tabular_data(tabular(task=task), task) if task != "forecast" else forecast_data(sales)
    with pytest.raises(ValueError, match=r"unknown param\(s\) alphaa"):
        model.fit(data, {"alphaa": 1})


@pytest.mark.parametrize("name,params,match", [
    ("linear", {"alpha": -1}, "alpha"),
    ("linear", {"fourier_order": True}, "fourier_order"),
    ("linear", {"log_features": "price"}, "log_features"),
    ("linear", {"log_features": ["nope"]}, "log_features"),
    ("seasonal_naive", {"season_length": 0}, "season_length"),
    ("ets", {"trend": None, "damped_trend": True}, "damped_trend"),
    ("ets", {"seasonal": "multiplicative"}, "seasonal"),
    ("gbm", {"lags": [7, 28]}, "horizon"),
    ("gbm", {"learning_rate": 0}, "learning_rate"),
    ("gbm", {"max_iter": "100"}, "max_iter"),
])
def test_bad_param_values_name_the_param(name, params, match, sales):
    with pytest.raises(ValueError, match=match):
        get_model(name).fit(forecast_data(sales), params)


def test_caller_supplied_horizon_is_accepted_by_every_model(sales):
    train, _ = split(sales)
    # The runtime core passes the scoring horizon to every model; those without lags ignore it.
    get_model("linear").fit(forecast_data(train), {"horizon": 14})
    get_model("seasonal_naive").fit(forecast_data(train), {"horizon": 14})
    get_model("logistic").fit(tabular_data(tabular(task="classification"), "classification"), {"horizon": 14})


def test_task_not_supported_is_a_clear_error():
    with pytest.raises(ValueError, match="does not support task 'regression'"):
        get_model("ets").fit(tabular_data(tabular(), "regression"), {})
    with pytest.raises(ValueError, match="does not support task 'forecast'"):
        get_model("random_forest").fit(forecast_data(daily_sales(100)), {})


# ------------------------------------------------------------------ seasonal_naive


def test_seasonal_naive_repeats_last_season():
    dates = pd.date_range("2021-03-01", periods=35, freq="D")  # a Monday
    y = np.tile([1.0, 2, 3, 4, 5, 6, 7], 5) + np.repeat(np.arange(5) * 10.0, 7)
    frame = pd.DataFrame({"date": dates, "sales": y})
    m = get_model("seasonal_naive")
    st = m.fit(forecast_data(frame, features=[]), {})
    fut = pd.DataFrame({"date": pd.date_range("2021-04-05", periods=10, freq="D")})
    expected = np.array([41, 42, 43, 44, 45, 46, 47, 41, 42, 43], dtype=float)
    np.testing.assert_array_equal(m.predict(st, fut), expected)
    np.testing.assert_array_equal(m.predict(roundtrip(st), fut), expected)
    assert m.predict_score(st, fut) is None
    assert len(pickle.dumps(st, protocol=5)) < 600


def test_seasonal_naive_uses_calendar_phase_across_gaps():
    dates = pd.date_range("2021-03-01", periods=21, freq="D")
    y = np.arange(21, dtype=float)
    frame = pd.DataFrame({"date": dates, "sales": y}).drop(index=[16])  # last Wednesday missing
    m = get_model("seasonal_naive")
    st = m.fit(forecast_data(frame, features=[]), {"season_length": 7})
    fut = pd.DataFrame({"date": pd.date_range("2021-03-22", periods=7, freq="D")})
    # Wednesday falls back to the Wednesday a week earlier (day 9), not to a shifted row.
    np.testing.assert_array_equal(m.predict(st, fut), [14, 15, 9, 17, 18, 19, 20])


def test_seasonal_naive_refuses_dates_before_training_end():
    frame = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=14), "sales": np.arange(14.0)})
    m = get_model("seasonal_naive")
    st = m.fit(forecast_data(frame, features=[]), {})
    with pytest.raises(ValueError, match="not after the last training time"):
        m.predict(st, pd.DataFrame({"date": pd.to_datetime(["2021-01-10"])}))


# ------------------------------------------------------------------ linear


def test_linear_forecast_recovers_coefficients_and_beats_naive():
    frame = daily_sales(n=1200, seed=2, noise=0.5)
    train, test = split(frame)
    m = get_model("linear")
    st = m.fit(forecast_data(train), {})
    # Known generating coefficients: promo +8, price -2 per unit.
    coef = dict(zip(["price", "promo"], st["coef"][-2:]))
    assert coef["promo"] == pytest.approx(8.0, abs=0.2)
    assert coef["price"] == pytest.approx(-2.0, abs=0.2)
    pred = m.predict(st, test)
    naive = get_model("seasonal_naive")
    base = naive.predict(naive.fit(forecast_data(train), {}), test)
    assert wape(test.sales, pred) < 0.5 * wape(test.sales, base)
    np.testing.assert_array_equal(m.predict(roundtrip(st), test), pred)
    assert len(pickle.dumps(st, protocol=5)) < 2_000


def test_linear_forecast_carries_features_forward_when_future_rows_lack_them():
    train, test = split(daily_sales(n=400, seed=3))
    m = get_model("linear")
    st = m.fit(forecast_data(train), {})
    with_last = test[["date"]].assign(price=train.price.iloc[-1], promo=train.promo.iloc[-1])
    np.testing.assert_allclose(m.predict(st, test[["date"]]), m.predict(st, with_last))
    partly = test.copy()
    partly.loc[5:, "price"] = np.nan  # a gap in future prices continues from day 4's price
    filled = partly.copy()
    filled.loc[5:, "price"] = partly.price.iloc[4]
    np.testing.assert_allclose(m.predict(st, partly), m.predict(st, filled))


def test_linear_log_features_fit_multiplicative_price_effect():
    rng = np.random.default_rng(4)
    n = 500
    price = rng.uniform(1, 10, n)
    frame = pd.DataFrame({"x1": price, "x2": rng.normal(size=n), "x3": 0.0,
                          "y": 50 - 7.0 * np.log(price) + rng.normal(0, 0.1, n)})
    st = get_model("linear").fit(tabular_data(frame, "regression"), {"log_features": ["x1"]})
    assert st["coef"][0] == pytest.approx(-7.0, abs=0.05)


def test_linear_regression_recovers_coefficients_with_nan_features():
    frame = tabular(n=800, seed=5)
    frame.loc[::10, "x2"] = np.nan  # 10 % missing: imputed with the training median
    m = get_model("linear")
    st = m.fit(tabular_data(frame, "regression"), {"alpha": 0.0})
    assert st["coef"][0] == pytest.approx(2.0, abs=0.05)
    assert st["intercept"] == pytest.approx(3.0, abs=0.1)
    pred = m.predict(st, frame)
    assert np.isfinite(pred).all()
    np.testing.assert_array_equal(pred, m.predict(roundtrip(st), frame))


def test_ridge_handles_constant_columns_and_targets():
    X = np.column_stack([np.arange(10.0), np.ones(10)])
    w, b = ridge_fit(X, np.full(10, 4.0), alpha=1.0)
    assert np.all(w == 0) and b == 4.0
    w, b = ridge_fit(X, 2 * np.arange(10.0) + 1, alpha=0.0)
    np.testing.assert_allclose([w[0], w[1], b], [2.0, 0.0, 1.0], atol=1e-12)


# ------------------------------------------------------------------ ets


def _sm_forecast(y, h, **kw):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ExponentialSmoothing(y, **kw).fit().forecast(h)


@pytest.mark.parametrize("params", [
    {},
    {"damped_trend": True},
    {"seasonal": "mul"},
    {"seasonal": None},
    {"trend": None},
])
def test_ets_final_state_forecast_equals_statsmodels(params):
    rng = np.random.default_rng(6)
    n = 220
    t = np.arange(n)
    y = 50 + 0.08 * t + 6 * np.sin(2 * np.pi * t / 7) * (1 + t / 300) + rng.normal(0, 1, n)
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n), "sales": y})
    m = get_model("ets")
    params = {**params, "engine": "statsmodels"}  # the reference engine
    st = m.fit(forecast_data(frame, features=[]), params)
    full = {**m.defaults, **params}
    expected = _sm_forecast(y, 30, trend=full["trend"], damped_trend=full["damped_trend"],
                            seasonal=full["seasonal"], seasonal_periods=7 if full["seasonal"] else None)
    fut = pd.DataFrame({"date": pd.date_range(frame.date.iloc[-1] + pd.Timedelta(days=1), periods=30)})
    np.testing.assert_allclose(m.predict(roundtrip(st), fut), expected, rtol=1e-12, atol=1e-9)
    assert len(pickle.dumps(st, protocol=5)) < 1_000


def test_ets_beats_naive_on_trending_seasonal_series():
    rng = np.random.default_rng(7)
    n = 400
    t = np.arange(n)
    y = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 1, n)
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n), "sales": y})
    train, test = split(frame)
    ets, naive = get_model("ets"), get_model("seasonal_naive")
    p = ets.predict(ets.fit(forecast_data(train, []), {}), test)
    b = naive.predict(naive.fit(forecast_data(train, []), {}), test)
    assert wape(test.sales, p) < 0.5 * wape(test.sales, b)


def test_ets_constant_short_and_gappy_series():
    m = get_model("ets")
    const = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=30), "sales": 5.0})
    st = m.fit(forecast_data(const, []), {})
    np.testing.assert_array_equal(m.predict(st, pd.DataFrame({"date": future_times(st, 9)})), np.full(9, 5.0))
    with pytest.raises(ValueError, match="at least 14 periods"):
        m.fit(forecast_data(const.iloc[:10], []), {})
    gappy = daily_sales(n=200, seed=8).drop(index=range(50, 60))
    st = m.fit(forecast_data(gappy, []), {})  # missing days are interpolated, not an error
    assert np.isfinite(m.predict(st, pd.DataFrame({"date": future_times(st, 7)}))).all()


def test_ets_damped_trend_formula_by_hand():
    st = {"level": 10.0, "slope": 2.0, "phi": 0.5, "damped": True, "seasonal": None, "m": 0}
    # 10 + 2*(0.5), 10 + 2*(0.5+0.25), 10 + 2*(0.5+0.25+0.125)
    np.testing.assert_allclose(forecast_from_state(st, np.array([1, 2, 3])), [11.0, 11.5, 11.75])


# ------------------------------------------------------------------ gbm


def test_gbm_lag_design_by_hand():
    grid = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0])
    X = _lag_design(grid, np.array([3, 5]), h=2, lags=[2, 3], windows=[2])
    # position 3: lag2 -> grid[1]=2, lag3 -> grid[0]=1, window (1, 1] ending at 1 -> mean(grid[0..1])=1.5
    # position 5: lag2 -> grid[3]=4, lag3 -> grid[2]=nan, window ending at 3 over [2, 3] -> nanmean = 4
    np.testing.assert_array_equal(X[0], [2.0, 1.0, 1.5])
    np.testing.assert_array_equal(X[1], [4.0, np.nan, 4.0])


def test_gbm_forecast_beats_naive_and_roundtrips(sales):
    train, test = split(sales)
    m = get_model("gbm")
    st = m.fit(forecast_data(train), {})
    pred = m.predict(st, test)
    naive = get_model("seasonal_naive")
    base = naive.predict(naive.fit(forecast_data(train), {}), test)
    assert wape(test.sales, pred) < 0.6 * wape(test.sales, base)
    np.testing.assert_array_equal(m.predict(roundtrip(st), test), pred)
    np.testing.assert_array_equal(m.predict(m.fit(forecast_data(train), {}), test), pred)  # seeded
    size = len(pickle.dumps(st, protocol=5))
    assert size < 60_000, size


def test_gbm_forecast_refuses_beyond_horizon_and_short_history(sales):
    train, _ = split(sales)
    m = get_model("gbm")
    st = m.fit(forecast_data(train), {"horizon": 7, "max_iter": 20})
    assert m.predict(st, pd.DataFrame({"date": future_times(st, 7)})).shape == (7,)
    with pytest.raises(ValueError, match="horizon 7"):
        m.predict(st, pd.DataFrame({"date": future_times(st, 8)}))
    with pytest.raises(ValueError, match="more than horizon=28"):
        m.fit(forecast_data(train.iloc[:20]), {})


def test_gbm_regression_and_classification():
    m = get_model("gbm")
    frame = tabular(n=1500, seed=9)
    train, test = frame.iloc[:1200], frame.iloc[1200:]
    st = m.fit(tabular_data(train, "regression"), {})
    pred = m.predict(roundtrip(st), test)
    assert np.mean(np.abs(pred - test.y)) < 0.35 * np.mean(np.abs(test.y - train.y.mean()))
    assert m.predict_score(st, test) is None

    frame = tabular(n=1500, seed=10, task="classification")
    frame.loc[::7, "x1"] = np.nan  # native missing-value handling
    train, test = frame.iloc[:1200], frame.iloc[1200:]
    st = m.fit(tabular_data(train, "classification"), {})
    labels = m.predict(st, test)
    assert set(np.unique(labels)) <= {0.0, 1.0}
    assert np.mean(labels == test.y) > 0.8
    score = m.predict_score(roundtrip(st), test)
    assert score.shape == (len(test),) and (score >= 0).all() and (score <= 1).all()
    np.testing.assert_array_equal(labels, (score > 0.5).astype(float))


# ------------------------------------------------------------------ random forest, logistic


def test_random_forest_regression_and_multiclass():
    m = get_model("random_forest")
    frame = tabular(n=1000, seed=11)
    st = m.fit(tabular_data(frame.iloc[:800], "regression"), {})
    test = frame.iloc[800:]
    pred = m.predict(st, test)
    assert np.mean(np.abs(pred - test.y)) < 0.4 * np.mean(np.abs(test.y - frame.y.iloc[:800].mean()))
    frame = tabular(n=1000, seed=12, task="classification", classes=3)
    st = m.fit(tabular_data(frame.iloc[:800], "classification"), {})
    labels = m.predict(roundtrip(st), frame.iloc[800:])
    assert set(np.unique(labels)) <= {0.0, 1.0, 2.0}
    assert np.mean(labels == frame.y.iloc[800:]) > 0.7
    assert m.predict_score(st, frame.iloc[800:]) is None  # multiclass: no single score


def test_logistic_recovers_direction_and_matches_sklearn():
    from sklearn.linear_model import LogisticRegression

    frame = tabular(n=2000, seed=13, task="classification")
    m = get_model("logistic")
    st = m.fit(tabular_data(frame, "classification"), {})
    # True decision direction is (2.5, -1.5, 0) in raw units (all columns have unit scale).
    w = st["coef"][0] / st["scale"]
    assert w[0] > 0 > w[1] and abs(w[2]) < 0.1 * w[0]
    assert w[0] / -w[1] == pytest.approx(2.5 / 1.5, rel=0.15)
    X = frame[["x1", "x2", "x3"]].to_numpy()
    ref = LogisticRegression(random_state=0, max_iter=200).fit((X - st["mean"]) / st["scale"], frame.y)
    np.testing.assert_allclose(m.predict_score(roundtrip(st), frame),
                               ref.predict_proba((X - st["mean"]) / st["scale"])[:, 1], rtol=1e-10)
    np.testing.assert_array_equal(m.predict(st, frame), ref.predict((X - st["mean"]) / st["scale"]))


@pytest.mark.parametrize("name", ["logistic", "gbm", "random_forest"])
def test_single_class_training_predicts_that_class(name):
    frame = tabular(n=50, seed=14, task="classification").assign(y=1.0)
    m = get_model(name)
    st = roundtrip(m.fit(tabular_data(frame, "classification"), {}))
    np.testing.assert_array_equal(m.predict(st, frame), np.ones(50))
    np.testing.assert_array_equal(m.predict_score(st, frame), np.ones(50))


# ------------------------------------------------------------------ every model: robustness


CASES = [
    ("seasonal_naive", "forecast"), ("linear", "forecast"), ("ets", "forecast"), ("gbm", "forecast"),
    ("linear", "regression"), ("gbm", "regression"), ("random_forest", "regression"),
    ("logistic", "classification"), ("gbm", "classification"), ("random_forest", "classification"),
]


def _case_data(task: str, seed: int, nan_features: bool = False, constant: bool = False):
    if task == "forecast":
        frame = daily_sales(n=300, seed=seed)
        train, test = split(frame)
        if nan_features:
            train.loc[::5, "price"] = np.nan
            train.loc[:3, "promo"] = np.nan  # leading gap: median fill
            test.loc[::3, "price"] = np.nan
        if constant:
            train["sales"] = 7.0
        return forecast_data(train), test
    frame = tabular(n=300, seed=seed, task=task)
    train, test = frame.iloc[:240].copy(), frame.iloc[240:].copy()
    if nan_features:
        train.loc[train.index[::4], "x1"] = np.nan
        train["x3"] = np.nan  # a feature never observed
        test.loc[test.index[::3], "x2"] = np.nan
    if constant:
        train["y"] = 7.0 if task == "regression" else 1.0
    return tabular_data(train, task), test


@pytest.mark.parametrize("name,task", CASES)
def test_artifact_roundtrip_predicts_identically(name, task):
    data, test = _case_data(task, seed=20)
    m = get_model(name)
    st = m.fit(data, {"max_iter": 30} if name == "gbm" else {})
    again = roundtrip(st)
    np.testing.assert_array_equal(m.predict(again, test), m.predict(st, test))
    s1, s2 = m.predict_score(st, test), m.predict_score(again, test)
    assert (s1 is None) == (s2 is None) == (task != "classification")
    if s1 is not None:
        np.testing.assert_array_equal(s1, s2)


@pytest.mark.parametrize("name,task", CASES)
def test_nan_features_give_finite_predictions(name, task):
    data, test = _case_data(task, seed=21, nan_features=True)
    m = get_model(name)
    st = m.fit(data, {"max_iter": 30} if name == "gbm" else {})
    pred = m.predict(st, test)
    assert pred.shape == (len(test),) and np.isfinite(pred).all()


@pytest.mark.parametrize("name,task", [c for c in CASES if c[1] != "classification"])
def test_constant_target_predicts_the_constant(name, task):
    data, test = _case_data(task, seed=22, constant=True)
    m = get_model(name)
    st = m.fit(data, {"max_iter": 30} if name == "gbm" else {})
    np.testing.assert_allclose(m.predict(st, test), 7.0, atol=1e-9)


def test_forecast_models_accept_other_frequencies():
    # Monthly data: seasonal periods come from the frequency (12), dates step by month.
    n = 60
    t = np.arange(n)
    frame = pd.DataFrame({"date": pd.date_range("2015-01-01", periods=n, freq="MS"),
                          "sales": 100 + t + 10 * np.sin(2 * np.pi * t / 12)})
    data = GroupData(frame, "date", "sales", [], "MS", "forecast")
    for name, params in [("seasonal_naive", {}), ("ets", {}), ("linear", {}), ("gbm", {"horizon": 6})]:
        m = get_model(name)
        st = m.fit(data, params)
        fut = pd.DataFrame({"date": future_times(st, 6)})
        assert list(fut.date.dt.strftime("%Y-%m-%d")) == [f"2020-{mm:02d}-01" for mm in range(1, 7)]
        assert np.isfinite(m.predict(st, fut)).all(), name
    st = get_model("seasonal_naive").fit(data, {})
    assert st["m"] == 12
