"""`logistic`: L2-regularised logistic regression (scikit-learn lbfgs) for classification.

Category features are one-hot encoded over the categories seen in training (an unseen or
missing one is an all-zero row). Features are median-imputed and standardised before fitting (lbfgs converges in a few
iterations on standardised columns; raw prices and counts make it crawl). State keeps only
the standardisation, coefficients, intercepts and class labels; prediction is a NumPy
matrix product, so artifacts are a few hundred bytes and independent of sklearn.
Binary uses sklearn's one-vs-rest sigmoid, more than two classes its multinomial softmax.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

from .base import (
    GroupData, ParamChecker, category_levels, check_task, column_medians, constant_class_predict,
    constant_class_proba, constant_class_score, constant_class_state, encoded_matrix, fill_with, target_array,
)


class Logistic:
    name = "logistic"
    tasks = frozenset({"classification"})
    defaults = {"C": 1.0, "max_iter": 200, "class_weight": None}
    param_schema = {
        "C": {"type": "number", "exclusiveMinimum": 0.0},
        "max_iter": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "class_weight": {"enum": [None, "balanced"]},
    }
    doc = "L2 logistic regression (sklearn lbfgs) on standardised, median-imputed features."

    def _params(self, params: dict) -> dict:
        p = ParamChecker(self.name, self.defaults, params, self.param_schema)
        return {key: p.value(key) for key in self.param_schema}

    def fit(self, data: GroupData, params: dict) -> dict:
        check_task(self.name, self.tasks, data.task)
        p = self._params(params)
        y = target_array(data)
        levels = category_levels(data.frame, data.features)
        X = encoded_matrix(data.frame, data.features, levels, one_hot=True)
        if X.shape[1] == 0:
            raise ValueError("model 'logistic' needs at least one feature column")
        med = column_medians(X)
        X = fill_with(X, med)
        base = {"kind": "logistic", "task": data.task, "features": list(data.features), "medians": med,
                "levels": levels}
        classes = np.unique(y)
        if classes.size == 1:
            return {**base, **constant_class_state(self.name, classes[0])}
        mean = X.mean(axis=0) if X.size else np.zeros(X.shape[1])
        scale = X.std(axis=0) if X.size else np.ones(X.shape[1])
        scale[scale < 1e-12] = 1.0  # constant column: leave unscaled (its coefficient stays ~0)
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est = LogisticRegression(C=p["C"], max_iter=p["max_iter"], class_weight=p["class_weight"],
                                     random_state=0).fit((X - mean) / scale, y)
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return {**base, "mean": mean, "scale": scale, "coef": est.coef_.astype(np.float64),
                "intercept": est.intercept_.astype(np.float64),
                "classes": np.asarray(est.classes_, dtype=np.float64), "converged": converged}

    def _decision(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        X = fill_with(encoded_matrix(future, state["features"], state.get("levels") or {}, one_hot=True),
                      state["medians"])
        return ((X - state["mean"]) / state["scale"]) @ state["coef"].T + state["intercept"]

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        if state.get("kind") == "constant_class":
            return constant_class_predict(state, len(future))
        d = self._decision(state, future)
        if d.shape[1] == 1:
            return state["classes"][(d[:, 0] > 0).astype(np.int64)]
        return state["classes"][np.argmax(d, axis=1)]

    def predict_score(self, state: dict, future: pd.DataFrame) -> np.ndarray | None:
        if state.get("kind") == "constant_class":
            return constant_class_score(state, len(future))
        if state["classes"].size != 2:
            return None
        return expit(self._decision(state, future)[:, 0])

    def predict_proba(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        """(rows, classes) probabilities, as scikit-learn's predict_proba: a sigmoid for two
        classes, the softmax of the decision values for more."""
        if state.get("kind") == "constant_class":
            return constant_class_proba(state, len(future))
        d = self._decision(state, future)
        if d.shape[1] == 1:
            p1 = expit(d[:, 0])
            return np.column_stack([1.0 - p1, p1])
        return softmax(d, axis=1)


__all__ = ["Logistic"]
