"""Metrics against hand-computed values, and their documented edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

import model_helpers  # noqa: F401  (puts the runtime on sys.path)
from manymodels_runtime.metrics import compute_metrics

# y = [2, 0, 4, 5], ŷ = [3, 1, 4, 3]: errors [1, 1, 0, -2], |e| = [1, 1, 0, 2], sum |e| = 4, sum |y| = 11
Y = np.array([2.0, 0.0, 4.0, 5.0])
P = np.array([3.0, 1.0, 4.0, 3.0])


@pytest.mark.parametrize("name,expected", [
    ("mae", 1.0),                              # 4 / 4
    ("rmse", math.sqrt(1.5)),                  # sqrt((1 + 1 + 0 + 4) / 4)
    ("mape", 0.3),                             # zero actual ignored: (1/2 + 0/4 + 2/5) / 3
    ("smape", 0.725),                          # (2/5 + 2/1 + 0 + 4/8) / 4
    ("wape", 4 / 11),
    ("accuracy", 7 / 11),                      # 1 - wape
])
def test_regression_metrics_by_hand(name, expected):
    for task in ("forecast", "regression"):
        assert compute_metrics(task, [name], Y, P)[name] == pytest.approx(expected, abs=1e-15)


def test_order_and_types():
    out = compute_metrics("forecast", ["wape", "mae"], [1, 2], [1, 3])
    assert list(out) == ["wape", "mae"] and all(type(v) is float for v in out.values())


def test_regression_edge_cases():
    zeros = np.zeros(3)
    out = compute_metrics("forecast", ["mape", "wape", "smape", "accuracy"], zeros, zeros)
    assert math.isnan(out["mape"])            # no non-zero actual
    assert out["wape"] == 0.0 and out["accuracy"] == 1.0 and out["smape"] == 0.0  # perfect zeros
    out = compute_metrics("forecast", ["wape", "smape"], zeros, np.array([1.0, 0.0, 0.0]))
    assert math.isnan(out["wape"])            # x / 0 is undefined
    assert out["smape"] == pytest.approx(2 / 3)  # one term 2|1|/(0+1) = 2, two zero terms
    empty = compute_metrics("regression", ["mae", "rmse", "wape"], [], [])
    assert all(math.isnan(v) for v in empty.values())
    # Rows without an actual are dropped; a NaN prediction poisons the metric.
    assert compute_metrics("forecast", ["mae"], [1.0, np.nan], [2.0, 100.0])["mae"] == 1.0
    assert math.isnan(compute_metrics("forecast", ["mae"], [1.0, 2.0], [np.nan, 2.0])["mae"])


def test_binary_classification_by_hand():
    y = [1, 0, 1, 1, 0, 0]
    p = [1, 1, 0, 1, 0, 0]  # tp 2, fp 1, fn 1, tn 2
    out = compute_metrics("classification", ["accuracy", "precision", "recall", "f1"], y, p)
    assert out == pytest.approx({"accuracy": 4 / 6, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    p2 = [1, 1, 1, 1, 0, 0]  # tp 3, fp 1, fn 0: precision 3/4, recall 1, f1 = 2·0.75/1.75
    out = compute_metrics("classification", ["precision", "recall", "f1"], y, p2)
    assert out == pytest.approx({"precision": 0.75, "recall": 1.0, "f1": 6 / 7})


def test_binary_positive_class_is_larger_label():
    # Labels 2 and 5: 5 is positive. y=[5,5,2], p=[5,2,2]: tp 1, fn 1, fp 0
    out = compute_metrics("classification", ["precision", "recall"], [5, 5, 2], [5, 2, 2])
    assert out == {"precision": 1.0, "recall": 0.5}
    # Only zeros seen: the positive class is still 1, so nothing is positive.
    out = compute_metrics("classification", ["precision", "recall", "f1", "accuracy"], [0, 0], [0, 0])
    assert out == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 1.0}


def test_multiclass_macro_by_hand():
    # class 0: P 1 R 1; class 1: tp 0 → P 0 R 0; class 2: tp 1 fp 1 fn 1 → P .5 R .5 F .5
    out = compute_metrics("classification", ["precision", "recall", "f1", "accuracy", "roc_auc"],
                          [0, 1, 2, 2], [0, 2, 2, 1], y_score=[0.1, 0.2, 0.3, 0.4])
    assert out["precision"] == pytest.approx(0.5)
    assert out["recall"] == pytest.approx(0.5)
    assert out["f1"] == pytest.approx(0.5)
    assert out["accuracy"] == 0.5
    assert math.isnan(out["roc_auc"])  # not defined for multiclass here


def test_roc_auc_by_hand():
    assert compute_metrics("classification", ["roc_auc"], [0, 0, 1, 1], [0, 0, 1, 1],
                           y_score=[0.1, 0.4, 0.35, 0.8])["roc_auc"] == pytest.approx(0.75)
    # Ties count one half: pairs (0.5,0.5)=½, (0.5,0.2)=1, (0.9,0.5)=1, (0.9,0.2)=1 → 3.5/4
    assert compute_metrics("classification", ["roc_auc"], [0, 1, 0, 1], [0, 1, 0, 1],
                           y_score=[0.5, 0.5, 0.2, 0.9])["roc_auc"] == pytest.approx(0.875)
    # Undefined: no score, or only one class among the actuals.
    assert math.isnan(compute_metrics("classification", ["roc_auc"], [0, 1], [0, 1])["roc_auc"])
    assert math.isnan(compute_metrics("classification", ["roc_auc"], [1, 1], [1, 0], y_score=[0.2, 0.9])["roc_auc"])


def test_roc_auc_matches_sklearn_on_random_data():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300), 2)  # rounding creates ties
    got = compute_metrics("classification", ["roc_auc"], y, y, y_score=s)["roc_auc"]
    assert got == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_unknown_or_misapplied_names_raise():
    with pytest.raises(ValueError, match="unknown metric.*r2"):
        compute_metrics("regression", ["mae", "r2"], Y, P)
    with pytest.raises(ValueError, match="task 'classification'.*mae"):
        compute_metrics("classification", ["mae"], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="unknown task"):
        compute_metrics("ranking", ["mae"], Y, P)
    with pytest.raises(ValueError, match="y_pred has 3"):
        compute_metrics("forecast", ["mae"], Y, P[:3])
