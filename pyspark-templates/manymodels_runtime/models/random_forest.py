"""`random_forest`: scikit-learn random forests for regression and classification.

Category features are one-hot encoded over the categories seen in training (an unseen or
missing one is an all-zero row): the forest then splits on 0/1 columns at 0.5, which the
compact trees evaluate exactly; an ordinal code would impose the sorted order of the strings
on the splits. Features with NaN are imputed with the training medians (kept in state) because the
installed scikit-learn's forests reject NaN. The fitted forest is stored in compact array
form (`_trees.py`), which predicts identically at a fraction of the pickle size. Defaults
are deliberately shallower than scikit-learn's (max_depth 8, 50 trees): fully grown trees
on a few thousand rows pickle to megabytes per group, times thousands of groups.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _trees
from .base import (
    GroupData, ParamChecker, category_levels, check_task, column_medians, constant_class_predict,
    constant_class_proba, constant_class_score, constant_class_state, encoded_matrix, fill_with,
    target_array,
)


class RandomForest:
    name = "random_forest"
    tasks = frozenset({"regression", "classification"})
    defaults = {"n_estimators": 50, "max_depth": 8, "min_samples_leaf": 5, "max_features": 1.0,
                "bootstrap": True, "random_state": 0}
    param_schema = {
        "n_estimators": {"type": "integer", "minimum": 1, "maximum": 5_000},
        "max_depth": {"type": ["integer", "null"], "minimum": 1, "maximum": 64},
        "min_samples_leaf": {"type": "integer", "minimum": 1},
        # A name, a whole number of features, or a fraction of them.
        "max_features": {"anyOf": [
            {"enum": ["sqrt", "log2"]},
            {"type": "integer", "minimum": 1},
            {"type": "number", "exclusiveMinimum": 0.0, "maximum": 1.0},
        ]},
        "bootstrap": {"type": "boolean"},
        "random_state": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    }
    doc = "Random forest (sklearn, single-threaded), stored as compact arrays."

    def _params(self, params: dict) -> dict:
        p = ParamChecker(self.name, self.defaults, params, self.param_schema)
        names, whole, fraction = self.param_schema["max_features"]["anyOf"]
        mf = p.values["max_features"]
        if mf in names["enum"]:
            max_features = mf
        elif isinstance(mf, (int, np.integer)) and not isinstance(mf, bool):
            max_features = p.integer("max_features", lo=whole["minimum"])
        else:
            max_features = p.number("max_features", lo=fraction["exclusiveMinimum"], lo_open=True,
                                    hi=fraction["maximum"])
        out = {key: p.value(key) for key in self.param_schema if key != "max_features"}
        return {**out, "max_features": max_features}

    def fit(self, data: GroupData, params: dict) -> dict:
        check_task(self.name, self.tasks, data.task)
        p = self._params(params)
        y = target_array(data)
        levels = category_levels(data.frame, data.features)
        X = encoded_matrix(data.frame, data.features, levels, one_hot=True)
        if X.shape[1] == 0:
            raise ValueError("model 'random_forest' needs at least one feature column")
        med = column_medians(X)
        X = fill_with(X, med)
        base = {"kind": "random_forest", "task": data.task, "features": list(data.features), "medians": med,
                "levels": levels}
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        classifier = data.task == "classification"
        if classifier:
            classes = np.unique(y)
            if classes.size == 1:
                return {**base, **constant_class_state(self.name, classes[0])}
        cls = RandomForestClassifier if classifier else RandomForestRegressor
        # n_jobs=1: parallelism belongs to the executor (one group per core), not the model.
        est = cls(n_jobs=1, **p).fit(X, y)
        state = {**base, "trees": _trees.from_forest(est, classifier=classifier)}
        if classifier:
            state["classes"] = np.asarray(est.classes_, dtype=np.float64)
        return state

    def _X(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        return fill_with(encoded_matrix(future, state["features"], state.get("levels") or {}, one_hot=True),
                         state["medians"])

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        if state.get("kind") == "constant_class":
            return constant_class_predict(state, len(future))
        out = _trees.raw_predict(state["trees"], self._X(state, future))
        if state["task"] == "regression":
            return out
        return state["classes"][np.argmax(out, axis=1)]

    def predict_score(self, state: dict, future: pd.DataFrame) -> np.ndarray | None:
        if state.get("kind") == "constant_class":
            return constant_class_score(state, len(future))
        if state["task"] != "classification" or state["classes"].size != 2:
            return None
        return _trees.raw_predict(state["trees"], self._X(state, future))[:, 1]

    def predict_proba(self, state: dict, future: pd.DataFrame) -> np.ndarray | None:
        """(rows, classes) probabilities, columns in the order of the model's classes."""
        if state.get("kind") == "constant_class":
            return constant_class_proba(state, len(future))
        if state["task"] != "classification":
            return None
        return _trees.raw_predict(state["trees"], self._X(state, future))


__all__ = ["RandomForest"]
