"""Category and boolean features in every model that takes features: one-hot for linear,
logistic and random_forest, HistGradientBoosting's native categorical splits for gbm (the
compact trees equal scikit-learn bit for bit), the category map kept in the state as plain
strings, and predictions that do not depend on the codes of one input file."""
import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.artifacts import dump_artifact, load_artifact, write_artifact
from manymodels_runtime.models import GroupData, get_model
from manymodels_runtime.models import _trees
from manymodels_runtime.models.base import classes_of

DIRECTIONS = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
EFFECT = {d: 3.0 * i for i, d in enumerate(DIRECTIONS)}


def rows(n: int = 400, seed: int = 0, task: str = "regression") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    wd = rng.choice(DIRECTIONS, n)
    rain = (rng.random(n) < 0.3).astype(np.float64)
    x = rng.normal(size=n)
    y = np.array([EFFECT[d] for d in wd]) + 4.0 * rain + x + rng.normal(0, 0.1, n)
    if task == "classification":
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])).astype(np.float64)
    wd_col = pd.Categorical(wd, categories=sorted(DIRECTIONS))
    return pd.DataFrame({"date": pd.date_range("2023-01-01", periods=n, freq="h"), "wd": wd_col,
                         "rain": rain, "x": x, "y": y})


def data(frame: pd.DataFrame, task: str) -> GroupData:
    forecast = task == "forecast"
    return GroupData(frame=frame.reset_index(drop=True), time="date" if forecast else None, target="y",
                     features=["wd", "rain", "x"], frequency="h" if forecast else None, task=task)


def round_trip(tmp_path, model_type: str, task: str, state: dict) -> dict:
    path = tmp_path / "model.pkl"
    sha = write_artifact(str(path), dump_artifact(model_type, task, state, {}))
    return load_artifact(str(path), sha)["state"]


CASES = [("linear", "regression"), ("linear", "forecast"), ("logistic", "classification"),
         ("random_forest", "regression"), ("random_forest", "classification"), ("gbm", "regression"),
         ("gbm", "classification"), ("gbm", "forecast")]


@pytest.mark.parametrize("model_type,task", CASES)
def test_category_and_boolean_features_fit_and_round_trip(tmp_path, model_type, task):
    frame = rows(task="classification" if task == "classification" else "regression")
    train, test = frame.iloc[:300], frame.iloc[300:].reset_index(drop=True)
    model = get_model(model_type)
    params = {"horizon": 100, "lags": [100]} if model_type == "gbm" and task == "forecast" else {}
    state = round_trip(tmp_path, model_type, task, model.fit(data(train, task), params))
    # The category map is plain strings in the state
    assert state["levels"] == {"wd": sorted(DIRECTIONS)}
    future = test.drop(columns=["y"])
    pred = np.asarray(model.predict(state, future))
    # The same rows as text (Spark's pandas frames), with a vocabulary in another order and
    # an extra category: the same predictions, since the model keeps strings, not codes
    as_text = future.assign(wd=pd.Categorical(future["wd"].astype(str), categories=["calm", *DIRECTIONS]))
    np.testing.assert_array_equal(model.predict(state, as_text), pred)
    np.testing.assert_array_equal(model.predict(state, future.assign(wd=future["wd"].astype(str))), pred)
    if task == "classification":
        assert (pred == test["y"].to_numpy()).mean() > 0.8
    elif task == "regression":
        assert np.abs(pred - test["y"].to_numpy()).mean() < 2.0  # the effects are 0–21
    else:
        assert np.isfinite(pred).all()


@pytest.mark.parametrize("model_type", ["linear", "random_forest", "gbm"])
def test_an_unseen_category_is_treated_like_a_missing_one(model_type):
    frame = rows()
    model = get_model(model_type)
    state = model.fit(data(frame, "regression"), {})
    probe = frame.iloc[:5].drop(columns=["y"])
    unseen = probe.assign(wd=pd.Categorical(["calm"] * 5))
    missing = probe.assign(wd=pd.Categorical([None] * 5, categories=["N"]))
    np.testing.assert_array_equal(model.predict(state, unseen), model.predict(state, missing))


def test_linear_unseen_category_is_an_all_zero_row():
    frame = rows()
    model = get_model("linear")
    state = model.fit(data(frame, "regression"), {"alpha": 0.0})
    probe = frame.iloc[:1].drop(columns=["y"]).assign(wd=pd.Categorical(["calm"]))
    expected = state["intercept"] + state["coef"][-2] * probe["rain"].iloc[0] + state["coef"][-1] * probe["x"].iloc[0]
    np.testing.assert_allclose(model.predict(state, probe), [expected])


@pytest.mark.parametrize("classifier", [False, True])
def test_compact_trees_equal_sklearn_on_native_categorical_splits(classifier):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    rng = np.random.default_rng(1)
    n = 2000
    cat = rng.integers(0, 40, n).astype(np.float64)
    cat2 = rng.integers(0, 5, n).astype(np.float64)
    cat[rng.random(n) < 0.05] = np.nan
    x = rng.normal(size=n)
    y = np.sin(np.nan_to_num(cat, nan=7.5)) * 3 + (cat2 == 2) * 2 + x
    if classifier:
        y = np.digitize(y, [-1.0, 1.0]).astype(np.float64)
    X = np.column_stack([cat, x, cat2])
    cls = HistGradientBoostingClassifier if classifier else HistGradientBoostingRegressor
    est = cls(max_iter=30, categorical_features=[True, False, True], random_state=0).fit(X, y)
    ens = _trees.from_hist_gradient_boosting(est)
    assert ens["cat_left"].shape[0] > 0
    # Probe rows: seen codes, missing, and codes the booster never saw (treated as missing)
    probe = np.column_stack([np.r_[cat[:300], np.nan, 45.0, 200.0], np.r_[x[:300], 0.1, 0.2, 0.3],
                             np.r_[cat2[:300], 7.0, 1.0, np.nan]])
    raw = _trees.raw_predict(ens, probe)
    expected = est._raw_predict(probe)
    expected = expected if expected.shape == raw.shape else expected.T
    np.testing.assert_array_equal(raw, expected)


@pytest.mark.parametrize("model_type", ["logistic", "random_forest", "gbm"])
def test_predict_proba_has_one_column_per_class_and_picks_the_prediction(model_type):
    frame = rows(task="classification")
    model = get_model(model_type)
    state = model.fit(data(frame, "classification"), {})
    future = frame.drop(columns=["y"])
    proba = model.predict_proba(state, future)
    assert proba.shape == (len(frame), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(classes_of(state)[np.argmax(proba, axis=1)], model.predict(state, future))
