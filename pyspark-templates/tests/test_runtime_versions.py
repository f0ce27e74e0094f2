"""One test per library difference the runtime works around (docs/databricks.md, "Library
differences the runtime handles"). The development machine has one pandas, numpy and
scikit-learn, so the other side of each difference is the real library's shape built here
(a version flag set, an attribute the other version has or lacks, a dtype it produces), and
the test runs the runtime's own code path over it."""
from __future__ import annotations

import importlib
import sys
import types

import numpy as np
import pandas as pd
import pytest

from model_helpers import tabular, tabular_data
from manymodels_runtime import artifacts, frequency, timeparse
from manymodels_runtime.models import _trees, get_model
from manymodels_runtime.models.base import time_ns
from manymodels_runtime.spark_executor import _times
from manymodels_runtime.training import frame_columns

# ---------------------------------------------------------------- pandas 2.2 frequency aliases


def test_frequency_alias_spelling_is_detected_from_what_to_offset_accepts(monkeypatch):
    def before_2_2(freq):  # pandas < 2.2: "ME" is not an alias
        if freq == "ME":
            raise ValueError(f"Invalid frequency: {freq}")
        return freq

    monkeypatch.setattr(frequency, "_pandas_to_offset", before_2_2)
    assert frequency._pandas_has_new_aliases() is False
    monkeypatch.setattr(frequency, "_pandas_to_offset", lambda freq: freq)  # pandas >= 2.2
    assert frequency._pandas_has_new_aliases() is True


# ---------------------------------------------------------------- pandas 2.0 to_datetime


class _ToDatetime:
    """pd.to_datetime as pandas 2 takes it: format="ISO8601" and format="mixed" are keywords
    there (pandas 1.5 would read them as strftime patterns); recorded, then parsed the way
    pandas 2 does it, which is what pandas 1.5 does without a format."""

    def __init__(self, real):
        self.real, self.formats = real, []

    def __call__(self, values, **kw):
        self.formats.append(kw.get("format"))
        if kw.get("format") in ("ISO8601", "mixed"):
            kw = {k: v for k, v in kw.items() if k != "format"}
        return self.real(values, **kw)


@pytest.mark.parametrize("pandas2", [True, False])
def test_iso_values_are_parsed_as_iso8601_on_pandas_2_and_by_default_on_1_5(monkeypatch, pandas2):
    fake = _ToDatetime(pd.to_datetime)
    monkeypatch.setattr(timeparse, "_PANDAS2", pandas2)
    monkeypatch.setattr(timeparse.pd, "to_datetime", fake)
    got = timeparse.parse_datetimes(pd.Index(["2024-01-05", "2024-01-06T08:00:00+00:00"], dtype=object), utc=True)
    assert fake.formats == (["ISO8601"] if pandas2 else [None])
    assert [str(t) for t in got] == ["2024-01-05 00:00:00+00:00", "2024-01-06 08:00:00+00:00"]


@pytest.mark.parametrize("pandas2", [True, False])
def test_values_with_no_guessable_format_are_parsed_one_by_one_on_both(monkeypatch, pandas2):
    fake = _ToDatetime(pd.to_datetime)
    monkeypatch.setattr(timeparse, "_PANDAS2", pandas2)
    monkeypatch.setattr(timeparse.pd, "to_datetime", fake)
    monkeypatch.setattr(timeparse, "guess_datetime_format", lambda value: None)
    got = timeparse.parse_datetimes(pd.Index(["Jan 5 2024", "2024-01-06"], dtype=object))
    assert fake.formats == (["mixed"] if pandas2 else [None])
    assert [str(t) for t in got] == ["2024-01-05 00:00:00", "2024-01-06 00:00:00"]


def test_guess_datetime_format_comes_from_the_public_module_when_the_private_one_is_gone(monkeypatch):
    # pandas 2.2 made guess_datetime_format public (pandas.tseries.api); the private module is
    # what pandas 1.5 has. With the private import failing, the public one is used.
    import pandas.tseries.api as public

    def guess(value):
        return "%d/%m/%Y"

    monkeypatch.setitem(sys.modules, "pandas._libs.tslibs.parsing", None)
    monkeypatch.setattr(public, "guess_datetime_format", guess, raising=False)
    try:
        importlib.reload(timeparse)
        assert timeparse.guess_datetime_format is guess
    finally:
        monkeypatch.undo()
        importlib.reload(timeparse)
    assert timeparse.guess_datetime_format is not guess


# ---------------------------------------------------------------- pandas 2.0 non-nanosecond times


class _MicrosecondSeries:
    """A timestamp column as pandas >= 2.0 holds one read from Parquet timestamp[us] (pyarrow
    >= 13 keeps the unit): dtype datetime64[us], values counted in microseconds. pandas 1.5
    turns every datetime64 into nanoseconds, so the shape is built from numpy here."""

    class dt:  # noqa: N801 - the accessor's name
        tz = None

    def __init__(self, values):
        self._values = np.asarray(values, dtype="datetime64[us]")
        self.dtype = self._values.dtype

    def to_numpy(self, dtype=None, **_):
        return self._values if dtype is None else self._values.astype(dtype)


class _Frame(dict):
    @property
    def columns(self):
        return list(self)


MICROS = ["2024-01-01T00:00:00", "2024-01-02T12:30:00.000001"]
NANOS = np.array(MICROS, dtype="datetime64[ns]").view(np.int64)


def test_a_microsecond_time_column_is_nanoseconds_in_the_spark_executor():
    np.testing.assert_array_equal(_times(_MicrosecondSeries(MICROS), "date"), NANOS)


def test_a_microsecond_time_column_is_nanoseconds_in_the_models():
    np.testing.assert_array_equal(time_ns(_Frame(date=_MicrosecondSeries(MICROS)), "date"), NANOS)


def test_a_microsecond_time_column_is_nanoseconds_in_a_group_frame():
    cols = frame_columns(_Frame(date=_MicrosecondSeries(MICROS)))
    assert cols["date"].dtype == np.dtype("datetime64[ns]")
    np.testing.assert_array_equal(cols["date"].view(np.int64), NANOS)


# ---------------------------------------------------------------- scikit-learn trees


def _fake_forest(value: np.ndarray, missing_go_to_left=None):
    """A fitted forest of one tree (root splits feature 0 at 0.5; two leaves), its tree_ in
    the shape scikit-learn gives: value (nodes, outputs, classes)."""
    tree = types.SimpleNamespace(
        children_left=np.array([1, -1, -1]), children_right=np.array([2, -1, -1]),
        feature=np.array([0, -2, -2]), threshold=np.array([0.5, -2.0, -2.0]), value=value)
    if missing_go_to_left is not None:
        tree.missing_go_to_left = np.asarray(missing_go_to_left, dtype=np.uint8)
    return types.SimpleNamespace(estimators_=[types.SimpleNamespace(tree_=tree)])


def test_classifier_leaves_are_probabilities_from_counts_and_from_fractions():
    # scikit-learn < 1.4 stores weighted class counts in tree_.value; 1.4+ stores fractions.
    counts = np.array([[[6.0, 4.0]], [[6.0, 0.0]], [[0.0, 4.0]]])
    fractions = counts / counts.sum(axis=2, keepdims=True)
    old = _trees.from_forest(_fake_forest(counts), classifier=True)
    new = _trees.from_forest(_fake_forest(fractions), classifier=True)
    np.testing.assert_array_equal(old["values"], [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(new["values"], old["values"])


def test_missing_values_follow_the_tree_when_scikit_learn_records_a_side():
    # scikit-learn < 1.3 trees have no missing_go_to_left (NaN goes right, as x <= t fails);
    # from 1.3 each node records where missing values go.
    value = np.array([[[2.0]], [[1.0]], [[3.0]]])
    without = _trees.from_forest(_fake_forest(value), classifier=False)
    with_side = _trees.from_forest(_fake_forest(value, missing_go_to_left=[1, 0, 0]), classifier=False)
    X = np.array([[np.nan], [0.0], [1.0]])
    np.testing.assert_array_equal(_trees.raw_predict(without, X), [3.0, 1.0, 3.0])
    np.testing.assert_array_equal(_trees.raw_predict(with_side, X), [1.0, 1.0, 3.0])


class _Recorder:
    """A scikit-learn estimator class that records its keyword arguments and builds the real one."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, **kw):
        self.calls.append(kw)
        return self.real(**kw)


def test_gbm_names_categorical_features_instead_of_relying_on_the_default(monkeypatch):
    # The default changed from None to "from_dtype" in scikit-learn 1.6.
    import sklearn.ensemble

    rec = _Recorder(sklearn.ensemble.HistGradientBoostingRegressor)
    monkeypatch.setattr(sklearn.ensemble, "HistGradientBoostingRegressor", rec)
    gbm = get_model("gbm")
    p = gbm._params({})
    gbm._estimator(p, classifier=False, categorical=np.array([False, False]))
    mask = np.array([True, False])
    gbm._estimator(p, classifier=False, categorical=mask)
    assert "categorical_features" in rec.calls[0] and rec.calls[0]["categorical_features"] is None
    assert rec.calls[1]["categorical_features"] is mask


def test_logistic_passes_no_argument_newer_scikit_learn_removed(monkeypatch):
    # multi_class is deprecated in 1.5 and gone in 1.7; penalty="none" was removed in 1.4.
    import sklearn.linear_model

    rec = _Recorder(sklearn.linear_model.LogisticRegression)
    monkeypatch.setattr(sklearn.linear_model, "LogisticRegression", rec)
    state = get_model("logistic").fit(tabular_data(tabular(n=200, task="classification", classes=3),
                                                   "classification"), {})
    assert state["classes"].size == 3
    assert len(rec.calls) == 1
    assert not {"multi_class", "penalty"} & set(rec.calls[0])


def test_random_forest_names_max_features_and_has_no_auto(monkeypatch):
    # max_features="auto" was removed in scikit-learn 1.3; the default is given as 1.0.
    import sklearn.ensemble

    rec = _Recorder(sklearn.ensemble.RandomForestRegressor)
    monkeypatch.setattr(sklearn.ensemble, "RandomForestRegressor", rec)
    rf = get_model("random_forest")
    rf.fit(tabular_data(tabular(n=200), "regression"), {"n_estimators": 3})
    assert rec.calls[0]["max_features"] == 1.0
    with pytest.raises(ValueError):
        rf._params({"max_features": "auto"})


# ---------------------------------------------------------------- numpy 2


class _Numpy2Array(np.ndarray):
    """An array as numpy 2 has them: ndarray.newbyteorder is gone (dtype.newbyteorder stays)."""

    @property
    def newbyteorder(self):
        raise AttributeError("`newbyteorder` was removed from the ndarray class in NumPy 2.0")


def test_a_big_endian_array_is_stored_little_endian_without_ndarray_newbyteorder():
    a = np.arange(4, dtype=">f8").view(_Numpy2Array)
    state = artifacts.parse_artifact(artifacts.dump_artifact("linear", "regression", {"w": a}, {}))["state"]
    assert state["w"].dtype == np.dtype("<f8")
    np.testing.assert_array_equal(state["w"], [0.0, 1.0, 2.0, 3.0])
