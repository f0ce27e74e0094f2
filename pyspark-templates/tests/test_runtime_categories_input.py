"""Category and boolean feature columns in the reader and the parsed-input cache (the shared
cache contract: feature_kinds, feature_values, int32 codes with -1 for missing)."""
import json
import os

import numpy as np
import pytest

from manymodels_runtime.input_data import csv_reader, read_table
from manymodels_runtime.spec import parse_job_spec


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.chdir(project.root)
    return project


def _spec(base_spec, features=("wd", "rain", "price")):
    return parse_job_spec(base_spec(columns={"features": list(features), "keys": ["store_id", "item_id"],
                                             "target": "sales", "time": "date"}), "train")


def _csv(rows: list[str]) -> str:
    return "store_id,item_id,date,sales,wd,rain,price\n" + "\n".join(rows) + "\n"


ROWS = ["1,a,2024-01-01,3,NE,TRUE,1.5", "1,a,2024-01-02,4,N,FALSE,2", "1,a,2024-01-03,5,,true,NA",
        "1,a,2024-01-04,6,SW,,3", "1,a,2024-01-05,7,NE,False,4"]


def test_text_features_are_categories_and_true_false_are_numbers(in_project, base_spec):
    in_project.write_text("data.csv", _csv(ROWS))
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert t.feature_kind("wd") == "category" and t.feature_kind("rain") == "number"
    assert list(t.feature_values["wd"]) == ["N", "NE", "SW"]
    assert t.features["wd"].dtype == np.int32
    assert t.features["wd"].tolist() == [1, 0, -1, 2, 1]  # the empty field is missing: -1
    np.testing.assert_array_equal(t.features["rain"], [1.0, 0.0, 1.0, np.nan, 0.0])
    assert "price" not in t.feature_values


def test_text_first_seen_past_the_sample_is_still_a_category(in_project, base_spec, monkeypatch):
    # The first rows of wd look like numbers; text appears only after the sampled rows
    rows = [f"1,a,2024-01-{d:02d},{d},{d % 3},TRUE,1" for d in range(1, 21)] + ["1,a,2024-01-21,1,calm,FALSE,1"]
    in_project.write_text("data.csv", _csv(rows))
    monkeypatch.setattr(csv_reader, "SAMPLE_ROWS", 5)
    t = read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert list(t.feature_values["wd"]) == ["0", "1", "2", "calm"]
    assert t.features["wd"][-1] == 3


def test_parallel_parse_finds_the_same_categories(in_project, base_spec, monkeypatch):
    rows = [f"{s},a,2024-01-{d:02d},{d},{'NESW'[d % 4]},{'TRUE' if d % 2 else 'FALSE'},{d}"
            for s in range(3) for d in range(1, 29)]
    rows[-1] = rows[-1].replace(",W,", ",calm,").replace(",N,", ",calm,")
    in_project.write_text("data.csv", _csv(rows))
    spec = _spec(base_spec)
    single = read_table(spec, need_target=True, cache_dir=None, workers=1)
    monkeypatch.setattr(csv_reader, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(csv_reader, "RANGE_BYTES", 300)
    monkeypatch.setattr(csv_reader, "SAMPLE_ROWS", 2)
    multi = read_table(spec, need_target=True, cache_dir=None, workers=3)
    assert list(single.feature_values["wd"]) == list(multi.feature_values["wd"])
    np.testing.assert_array_equal(single.features["wd"], multi.features["wd"])
    np.testing.assert_array_equal(single.features["rain"], multi.features["rain"])


def test_cache_holds_feature_kinds_and_values_as_the_contract_says(in_project, base_spec):
    in_project.write_text("data.csv", _csv(ROWS))
    spec = _spec(base_spec)
    cache = str(in_project.root / "cache")
    first = read_table(spec, need_target=True, cache_dir=cache, workers=1)
    (entry,) = [d for d in os.listdir(cache) if os.path.isfile(os.path.join(cache, d, "meta.json"))]
    meta = json.loads(open(os.path.join(cache, entry, "meta.json"), encoding="utf-8").read())
    assert meta["format"] == 2
    assert meta["features"] == ["wd", "rain", "price"]
    assert meta["feature_kinds"] == ["category", "number", "number"]
    assert meta["feature_values"] == {"wd": ["N", "NE", "SW"]}
    codes = np.load(os.path.join(cache, entry, "f0.npy"))
    assert codes.dtype == np.int32 and codes.tolist() == [1, 0, -1, 2, 1]
    second = read_table(spec, need_target=True, cache_dir=cache, workers=1)
    assert second.from_cache
    assert list(second.feature_values["wd"]) == ["N", "NE", "SW"]
    np.testing.assert_array_equal(second.features["wd"], first.features["wd"])
    np.testing.assert_array_equal(second.features["rain"], first.features["rain"])


def test_a_target_of_text_is_still_MM412(in_project, base_spec):
    in_project.write_text("data.csv", _csv(["1,a,2024-01-01,lots,N,TRUE,1"]))
    from manymodels_runtime.errors import InputError
    with pytest.raises(InputError) as e:
        read_table(_spec(base_spec), need_target=True, cache_dir=None, workers=1)
    assert e.value.code == "MM412" and "'lots'" in e.value.message and "sales" in e.value.message
