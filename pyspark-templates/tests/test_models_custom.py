"""The `custom` model type: sha256 verification before import, wrapping, pickling."""
from __future__ import annotations

import hashlib
import pickle
import sys

import numpy as np
import pytest

from model_helpers import daily_sales, forecast_data, roundtrip, split, tabular, tabular_data
from manymodels_runtime.models import CustomCodeIntegrityError, get_model, model_catalog
from manymodels_runtime.models import custom as custom_mod

SOURCE = '''
import numpy as np

TRAINED = []

class MeanModel:
    """Predicts the training mean plus a user offset (a class defined in the user's file)."""
    def __init__(self, mean, offset):
        self.mean, self.offset = mean, offset

def train(pdf, params):
    TRAINED.append(len(pdf))
    pdf["sales"] = 0.0          # mutating the frame must not leak back to the runtime
    return MeanModel(float(np.mean(pdf["price"])), params.get("offset", 0.0))

def predict(model, pdf):
    return [model.mean + model.offset] * len(pdf)
'''


@pytest.fixture(autouse=True)
def _fresh_cache():
    custom_mod._LOADED.clear()
    yield
    custom_mod._LOADED.clear()


def _write(tmp_path, name: str, text: str) -> dict:
    p = tmp_path / name
    p.write_text(text)
    return {"path": str(p), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def test_custom_model_fits_pickles_and_predicts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _write(tmp_path, "my_model.py", SOURCE)
    spec["path"] = "my_model.py"  # relative to the project root (the working directory)
    m = get_model("custom", spec)
    train, test = split(daily_sales(n=100))
    data = forecast_data(train)
    st = m.fit(data, {"offset": 1.5})
    assert data.frame["sales"].iloc[0] != 0.0  # the user's mutation hit a copy
    assert m.module.TRAINED == [72]
    pred = m.predict(roundtrip(st), test)
    assert pred.dtype == np.float64
    np.testing.assert_allclose(pred, train.price.mean() + 1.5)
    assert m.predict_score(st, test) is None
    # The module lives under a private name, never the file's own name.
    assert "my_model" not in sys.modules and m.module.__name__.startswith("_manymodels_custom_")
    assert get_model("custom", spec) is m  # imported once per process
    assert model_catalog()["custom"]["tasks"] == ["classification", "forecast", "regression"]


def test_custom_sha_mismatch_is_refused_before_any_code_runs(tmp_path):
    marker = tmp_path / "ran.txt"
    text = f"open({str(marker)!r}, 'w').write('x')\ndef train(p, q): pass\ndef predict(m, p): pass\n"
    spec = _write(tmp_path, "evil.py", text)
    spec["sha256"] = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(CustomCodeIntegrityError, match="refusing to import"):
        get_model("custom", spec)
    assert not marker.exists()
    spec = _write(tmp_path, "evil.py", text)  # correct hash: now it is imported
    get_model("custom", spec)
    assert marker.exists()


def test_custom_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="needs model.custom"):
        get_model("custom", None)
    with pytest.raises(ValueError, match="cannot read custom model file"):
        get_model("custom", {"path": str(tmp_path / "missing.py"), "sha256": "0" * 64})
    with pytest.raises(ValueError, match="must define predict"):
        get_model("custom", _write(tmp_path, "half.py", "def train(pdf, params):\n    return 1\n"))
    bad = _write(tmp_path, "bad.py", "def train(pdf, params):\n    return lambda x: x\n"
                                     "def predict(model, pdf):\n    return [1, 2]\n")
    m = get_model("custom", bad)
    frame = tabular(n=20)
    with pytest.raises(ValueError, match="cannot be pickled"):
        m.fit(tabular_data(frame, "regression"), {})


def test_custom_refuses_model_trained_by_other_code_version(tmp_path):
    spec1 = _write(tmp_path, "m.py", SOURCE)
    st = get_model("custom", spec1).fit(forecast_data(daily_sales(n=50)), {})
    spec2 = _write(tmp_path, "m.py", SOURCE + "\n# edited\n")
    m2 = get_model("custom", spec2)
    with pytest.raises(ValueError, match="retrain"):
        m2.predict(st, daily_sales(n=5))


def test_custom_classification_score_and_shape_check(tmp_path):
    text = ("import numpy as np\n"
            "def train(pdf, params):\n    return float(np.median(pdf['x1']))\n"
            "def predict(model, pdf):\n    return (pdf['x1'].to_numpy() > model).astype(int)\n"
            "def predict_score(model, pdf):\n    return 1 / (1 + np.exp(-(pdf['x1'].to_numpy() - model)))\n")
    m = get_model("custom", _write(tmp_path, "clf.py", text))
    frame = tabular(n=40, task="classification")
    st = pickle.loads(pickle.dumps(m.fit(tabular_data(frame, "classification"), {})))
    assert set(m.predict(st, frame)) <= {0.0, 1.0}
    score = m.predict_score(st, frame)
    assert score.shape == (40,) and ((score > 0.5) == (m.predict(st, frame) == 1)).all()
    short = _write(tmp_path, "short.py", "def train(p, q):\n    return 0\ndef predict(m, p):\n    return [1.0]\n")
    ms = get_model("custom", short)
    with pytest.raises(ValueError, match="one value per row"):
        ms.predict(ms.fit(tabular_data(frame, "regression"), {}), frame)


def test_custom_model_scores_after_the_file_moves(tmp_path):
    # Train with the file in one directory, score in a "fresh process" with it elsewhere
    # (the runtime passes absolute paths, which differ between machines).
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    spec_a = _write(tmp_path / "a", "mm.py", SOURCE)
    m = get_model("custom", spec_a)
    blob = pickle.dumps(m.fit(forecast_data(daily_sales(n=60)), {"offset": 2.0}), protocol=5)
    sys.modules.pop(m.module.__name__)
    custom_mod._LOADED.clear()
    spec_b = _write(tmp_path / "b", "mm.py", SOURCE)
    m2 = get_model("custom", spec_b)
    assert m2 is not m
    pred = m2.predict(pickle.loads(blob), daily_sales(n=3))
    np.testing.assert_allclose(pred, daily_sales(n=60).price.mean() + 2.0)
