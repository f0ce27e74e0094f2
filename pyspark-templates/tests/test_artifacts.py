"""Artifact format 2 (arrays + JSON, no pickle): every built-in model's state round-trips
exactly, values the format cannot hold are refused when saving, loading never unpickles, and
legacy format-1 pickles written by older versions still load behind the sha256 check."""
from __future__ import annotations

import hashlib
import json
import pickle
import struct

import numpy as np
import pytest

from model_helpers import daily_sales, forecast_data, split, tabular, tabular_data
from manymodels_runtime.artifacts import (
    MAGIC, ArtifactFormatError, dump_artifact, load_artifact, parse_artifact,
)
from manymodels_runtime.errors import ArtifactIntegrityError
from manymodels_runtime.models import get_model

CASES = [
    ("seasonal_naive", "forecast"), ("linear", "forecast"), ("ets", "forecast"), ("gbm", "forecast"),
    ("linear", "regression"), ("gbm", "regression"), ("random_forest", "regression"),
    ("logistic", "classification"), ("gbm", "classification"), ("random_forest", "classification"),
]


def assert_identical(a, b, path="state"):
    """Equal values of the same types; arrays with the same dtype, shape and bits."""
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        assert a.dtype == b.dtype and a.shape == b.shape, path
        np.testing.assert_array_equal(a, b, err_msg=path)
        return
    assert type(a) is type(b), f"{path}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), path
        for k in a:
            assert_identical(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    else:
        assert a == b, path


def _fit(name, task):
    if task == "forecast":
        train, test = split(daily_sales(n=300, seed=30))
        data = forecast_data(train)
    else:
        frame = tabular(n=300, seed=30, task=task)
        data, test = tabular_data(frame.iloc[:240], task), frame.iloc[240:]
    m = get_model(name)
    return m, m.fit(data, {"max_iter": 30} if name == "gbm" else {}), test


def _save(tmp_path, payload: bytes):
    p = tmp_path / "m.pkl"
    p.write_bytes(payload)
    return str(p), hashlib.sha256(payload).hexdigest()


@pytest.fixture
def no_pickle(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("pickle was called while loading a format-2 artifact")
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)


@pytest.mark.parametrize("name,task", CASES)
def test_every_builtin_state_round_trips_exactly_without_pickle(name, task, tmp_path, no_pickle):
    m, state, test = _fit(name, task)
    meta = {"lastTime": 1_700_000_000_000_000_000, "features": ["price"], "lastFeatures": [1.5, None]}
    payload = dump_artifact(name, task, state, meta)
    assert payload[:len(MAGIC)] == MAGIC
    art = load_artifact(*_save(tmp_path, payload))
    assert (art["format"], art["modelType"], art["task"]) == (2, name, task)
    assert_identical(state, art["state"])
    assert_identical(meta, art["meta"])
    np.testing.assert_array_equal(m.predict(art["state"], test), m.predict(state, test))
    s1, s2 = m.predict_score(state, test), m.predict_score(art["state"], test)
    if s1 is not None:
        np.testing.assert_array_equal(s1, s2)
    # Deterministic bytes: the same model gives the same sha256.
    assert dump_artifact(name, task, state, meta) == payload


def test_strings_maps_and_special_values_round_trip(tmp_path, no_pickle):
    state = {
        "categories": {"store": ["north", "süd", ""], "colour": ["red"]},
        "labels": np.array(["no", "yes", "maybe"]),  # unicode 'U', not object
        "label_map": {"no": 0, "yes": 1},
        "odd keys": {"$array": 3, "$x": [1, 2]},
        "floats": [float("nan"), float("inf"), float("-inf"), -0.0, 1e-300, 0.1],
        "scalars": [np.float64(2.5), np.int64(7), np.bool_(True), np.float32(0.25), np.int32(-3)],
        "ints": [0, -1, 2 ** 62], "flags": [True, False, None],
        "tuple": (1, "a"), "bytes": b"\x00\x01pickle?", "empty": np.zeros((0, 3)),
        "matrix": np.arange(12, dtype=np.int16).reshape(3, 4).T,  # non-contiguous
        "big_endian": np.array([1.0, 2.0], dtype=">f8"),
        "times": np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[ns]"),
        "zero_d": np.array(4.0),
    }
    art = parse_artifact(dump_artifact("linear", "classification", state, {}))
    got = art["state"]
    expected = dict(state, big_endian=state["big_endian"].astype("<f8"))
    assert_identical(expected, got)
    assert got["labels"].dtype.kind == "U"
    assert got["bytes"] == b"\x00\x01pickle?"
    got["matrix"][0, 0] = 99  # loaded arrays are writable, as unpickled ones were


@pytest.mark.parametrize("bad,match", [
    ({"labels": np.array(["a", None], dtype=object)}, r"state\.labels is an array of dtype object"),
    ({"est": object()}, r"state\.est is a builtins\.object"),
    ({"nested": {"m": [1, {2: "x"}]}}, r"state\.nested\.m\[1\] has a key 2"),
    ({"s": {"a", "b"}}, r"state\.s is a builtins\.set"),
    ({"rec": np.zeros(2, dtype=[("a", "f8")])}, r"state\.rec is an array of dtype"),
])
def test_values_the_format_cannot_hold_are_refused_when_saving(bad, match):
    with pytest.raises(ArtifactFormatError, match=match):
        dump_artifact("linear", "forecast", bad, {})


def test_loading_checks_the_sha256_first_and_refuses_malformed_bytes(tmp_path):
    payload = dump_artifact("linear", "forecast", {"coef": np.ones(3)}, {})
    uri, sha = _save(tmp_path, payload)
    with pytest.raises(ArtifactIntegrityError, match="refusing"):
        load_artifact(uri, "0" * 64)
    head_len = struct.unpack_from("<I", payload, len(MAGIC))[0]
    head = json.loads(payload[len(MAGIC) + 4:len(MAGIC) + 4 + head_len])
    for change in ({"arrays": [dict(head["arrays"][0], dtype="|O")]},
                   {"arrays": [dict(head["arrays"][0], nbytes=10 ** 6)]},
                   {"format": 3}):
        text = json.dumps({**head, **change}).encode()
        forged = MAGIC + struct.pack("<I", len(text)) + text + payload[len(MAGIC) + 4 + head_len:]
        with pytest.raises(ValueError, match="artifact"):
            load_artifact(*_save(tmp_path, forged))
    with pytest.raises(ValueError, match="is not a manymodels artifact"):
        load_artifact(*_save(tmp_path, b"PK\x03\x04 a zip"))


def old_dump_artifact(model_type: str, task: str, state: dict, meta: dict) -> bytes:
    """The format-1 writer of earlier versions (artifacts.py before format 2), verbatim."""
    return pickle.dumps({"format": 1, "modelType": model_type, "task": task,
                         "state": state, "meta": meta}, protocol=5)


def test_a_legacy_format_1_pickle_still_loads_behind_the_sha256_check(tmp_path):
    m, state, test = _fit("gbm", "forecast")
    uri, sha = _save(tmp_path, old_dump_artifact("gbm", "forecast", state, {"lastTime": 5}))
    with pytest.raises(ArtifactIntegrityError):
        load_artifact(uri, "f" * 64)
    art = load_artifact(uri, sha)
    assert (art["format"], art["modelType"], art["meta"]) == (1, "gbm", {"lastTime": 5})
    np.testing.assert_array_equal(m.predict(art["state"], test), m.predict(state, test))


def _score(art: dict, test):
    from manymodels_runtime.scoring import ROW_COLUMN, ScoreContext, new_score_row, score_artifact
    ctx = ScoreContext(pipeline="p", task="classification", time=None, features=("x1", "x2", "x3"),
                       frequency=None, horizon=None, custom=None, base_dir=".")
    cols = {c: test[c].to_numpy(dtype=np.float64) for c in ("x1", "x2", "x3")}
    cols[ROW_COLUMN] = np.arange(len(test), dtype=np.int64)
    return score_artifact(art, cols, len(test), new_score_row({}, "g", "m", None), ctx)


@pytest.mark.parametrize("name", ["logistic", "gbm", "random_forest"])
def test_a_label_map_round_trips_and_scoring_returns_the_labels_and_probabilities(name, tmp_path, no_pickle):
    # Given three classes whose labels are text no identifier or JSON writer would take as-is
    frame = tabular(n=300, seed=31, task="classification", classes=3)
    labels = ['$low "quoted"', "mid, süd", "high\nnew line"]
    m = get_model(name)
    state = m.fit(tabular_data(frame.iloc[:240], "classification"), {"max_iter": 30} if name == "gbm" else {})
    meta = {"targetClasses": labels, "features": ["x1", "x2", "x3"]}
    art = load_artifact(*_save(tmp_path, dump_artifact(name, "classification", state, meta)))
    assert art["meta"]["targetClasses"] == labels
    test = frame.iloc[240:]
    res = _score(art, test)
    assert res.row["status"] == "ok", res.row
    idx = m.predict(state, test).astype(int)
    assert res.labels == [labels[i] for i in idx]
    assert res.prediction_values() == [None] * len(test)
    assert res.classes == labels
    np.testing.assert_allclose(res.proba.sum(axis=1), 1.0, atol=1e-12)
    decoded = [json.loads(t) for t in res.probabilities_json()]
    assert all(list(d) == labels for d in decoded)
    np.testing.assert_allclose([[d[c] for c in labels] for d in decoded], m.predict_proba(state, test))


def test_an_artifact_without_a_label_map_still_scores_its_numeric_classes(tmp_path):
    # Given an artifact written before label maps (no meta.targetClasses at all), in format 1
    frame = tabular(n=300, seed=32, task="classification", classes=3)
    m = get_model("logistic")
    state = m.fit(tabular_data(frame.iloc[:240], "classification"), {})
    uri, sha = _save(tmp_path, old_dump_artifact("logistic", "classification", state, {"features": ["x1"]}))
    test = frame.iloc[240:]
    res = _score(load_artifact(uri, sha), test)
    assert res.row["status"] == "ok", res.row
    assert res.prediction_values() == m.predict(state, test).tolist()
    assert res.labels == [str(int(v)) for v in m.predict(state, test)]
    assert res.classes == ["0", "1", "2"]
    assert all(abs(sum(json.loads(t).values()) - 1) < 1e-12 for t in res.probabilities_json())


def test_a_label_map_that_is_not_strings_is_refused(tmp_path, no_pickle):
    frame = tabular(n=200, seed=33, task="classification")
    m = get_model("logistic")
    state = m.fit(tabular_data(frame, "classification"), {})
    art = parse_artifact(dump_artifact("logistic", "classification", state, {"targetClasses": [1, 2]}))
    with pytest.raises(ValueError, match="label map"):
        _score(art, frame.iloc[:5])  # score_columns turns it into this group's failure
