"""score_group and artifacts: sha256 before unpickling, future periods and features."""
import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest

from manymodels_runtime.artifacts import dump_artifact, load_artifact
from manymodels_runtime.errors import ArtifactIntegrityError
from manymodels_runtime.scoring import ScoreContext, future_features, score_group
from manymodels_runtime.training import future_times

LOADED = []


def mark(what):
    LOADED.append(what)


class Trap:
    """Unpickling this calls mark(): proof that bytes were unpickled."""

    def __reduce__(self):
        return (mark, ("unpickled",))


def test_load_refuses_a_mismatched_sha256_without_unpickling(tmp_path):
    p = tmp_path / "a.pkl"
    p.write_bytes(pickle.dumps({"format": 1, "trap": Trap()}, protocol=5))
    with pytest.raises(ArtifactIntegrityError) as e:
        load_artifact(str(p), "0" * 64)
    assert "refusing" in str(e.value)
    assert LOADED == []
    good = hashlib.sha256(p.read_bytes()).hexdigest()
    load_artifact(p.as_uri(), good)  # file:// works, and a matching sha256 loads
    assert LOADED == ["unpickled"]


def test_future_times_continue_after_the_last_training_time():
    last = pd.Timestamp("2024-01-31").value
    np.testing.assert_array_equal(future_times(last, 3, "D"),
                                  pd.to_datetime(["2024-02-01", "2024-02-02", "2024-02-03"]).asi8)
    # off the month-start grid: the next period is still the next month start
    assert list(pd.to_datetime(future_times(pd.Timestamp("2024-01-15").value, 2, "MS")).strftime("%Y-%m-%d")) == \
        ["2024-02-01", "2024-03-01"]


def test_future_features_prefer_data_rows_and_carry_values_forward(base_spec):
    from manymodels_runtime.spec import parse_job_spec
    ctx = ScoreContext.from_spec(parse_job_spec(base_spec(stage="score"), "score"))
    meta = {"lastTime": pd.Timestamp("2024-01-10").value, "lastFeatures": [3.0, None]}
    times = future_times(meta["lastTime"], 4, "D")
    pdf = pd.DataFrame({"date": pd.to_datetime(["2024-01-05", "2024-01-12", "2024-01-13"]),
                        "price": [99.0, 5.0, np.nan], "promo": [1.0, np.nan, 1.0]})
    X = future_features(pdf, ctx, meta, times)
    # 01-11 from the artifact; 01-12 its row; 01-13 its row with price carried; 01-14 carried
    np.testing.assert_array_equal(X["price"], [3.0, 5.0, 5.0, 5.0])
    np.testing.assert_array_equal(X["promo"], [np.nan, np.nan, 1.0, 1.0])


def test_group_without_a_model_is_skipped_and_a_task_mismatch_fails(tmp_path, base_spec):
    from manymodels_runtime.spec import parse_job_spec
    ctx = ScoreContext.from_spec(parse_job_spec(base_spec(stage="score"), "score"))
    empty = pd.DataFrame({"date": pd.to_datetime([]), "price": [], "promo": []})
    res = score_group(empty, {"k": "1"}, "g", "n", None, ctx)
    assert res.row["status"] == "skipped" and res.row["reason"] == "no production model" and res.predictions is None
    p = tmp_path / "a.pkl"
    p.write_bytes(dump_artifact("linear", "regression", {}, {}))
    entry = {"artifactUri": str(p), "sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "version": 3}
    res = score_group(empty, {"k": "1"}, "g", "n", entry, ctx)
    assert res.row["status"] == "failed" and res.row["errorClass"] == "ArtifactMismatch"
    assert res.row["modelVersion"] == "3"
