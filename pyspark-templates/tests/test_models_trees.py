"""Compact tree ensembles (models/_trees.py) predict exactly what scikit-learn predicts."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import model_helpers  # noqa: F401  (puts the runtime on sys.path)
from manymodels_runtime.models import _trees


def _data(seed: int, nan: bool):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(1500, 6))
    y = 3 * X[:, 0] + np.sin(3 * X[:, 1]) + (X[:, 2] > 0.5) + rng.normal(0, 0.3, 1500)
    Xt = rng.normal(size=(400, 6))
    if nan:
        X[rng.random(X.shape) < 0.1] = np.nan
        Xt[rng.random(Xt.shape) < 0.1] = np.nan
        Xt[0] = np.nan  # a row with nothing observed
    return X, y, Xt


def test_hist_gradient_boosting_regressor_exact():
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y, Xt = _data(0, nan=True)
    est = HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=15, early_stopping=False, random_state=0).fit(X, y)
    ens = _trees.from_hist_gradient_boosting(est)
    np.testing.assert_array_equal(_trees.raw_predict(ens, Xt)[:, 0], est.predict(Xt))
    # Much smaller than the estimator itself.
    assert len(pickle.dumps(ens, protocol=5)) < 0.35 * len(pickle.dumps(est, protocol=5))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_hist_gradient_boosting_classifier_exact(n_classes):
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y, Xt = _data(1, nan=True)
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1])).astype(float)
    est = HistGradientBoostingClassifier(max_iter=40, early_stopping=False, random_state=0).fit(X, labels)
    raw = _trees.raw_predict(_trees.from_hist_gradient_boosting(est), Xt)
    ref = est.decision_function(Xt)
    np.testing.assert_array_equal(raw[:, 0] if n_classes == 2 else raw, ref)


@pytest.mark.parametrize("classifier", [False, True])
def test_random_forest_exact(classifier):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    X, y, Xt = _data(2, nan=False)
    if classifier:
        y = np.digitize(y, [-1.0, 1.0]).astype(float)
        est = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(X, y)
        ref = est.predict_proba(Xt)
    else:
        est = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(X, y)
        ref = est.predict(Xt)
    np.testing.assert_array_equal(_trees.raw_predict(_trees.from_forest(est, classifier), Xt), ref)


def test_threshold_ties_and_single_leaf_trees():
    from sklearn.ensemble import HistGradientBoostingRegressor

    # Integer-valued feature: test points sit exactly on split thresholds' neighbours, and a
    # constant target yields root-only (single leaf) trees.
    X = np.repeat(np.arange(10.0), 20)[:, None]
    y = (X[:, 0] >= 5).astype(float)
    est = HistGradientBoostingRegressor(max_iter=5, early_stopping=False).fit(X, y)
    Xt = np.arange(-1, 11, 0.5)[:, None]
    np.testing.assert_array_equal(_trees.raw_predict(_trees.from_hist_gradient_boosting(est), Xt)[:, 0],
                                  est.predict(Xt))
    flat = HistGradientBoostingRegressor(max_iter=3, early_stopping=False).fit(X, np.full(200, 2.0))
    ens = _trees.from_hist_gradient_boosting(flat)
    assert ens["feature"].size == 0 and (ens["roots"] < 0).all()
    np.testing.assert_array_equal(_trees.raw_predict(ens, Xt)[:, 0], flat.predict(Xt))
