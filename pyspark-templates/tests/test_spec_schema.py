"""The JobSpec is checked against jobspec.schema.json (generated from
src/contracts/job-spec-schema.ts) plus the cross-field rules in spec.py; every problem is
listed in one MM414 error naming the field."""
import json
import os
from pathlib import Path

import pytest

from manymodels_runtime import schema_check
from manymodels_runtime.errors import InputError
from manymodels_runtime.spec import JOB_SPEC_SCHEMA, parse_job_spec

REPO = Path(__file__).resolve().parents[2]
GOLDEN = sorted(p for p in (REPO / "test" / "fixtures").glob("*/expected-stdout.txt")
                if p.read_text(encoding="utf-8").lstrip().startswith("{")
                and "specVersion" in p.read_text(encoding="utf-8"))


def _problems(spec, stage=None):
    with pytest.raises(InputError) as e:
        parse_job_spec(spec, stage)
    assert e.value.code == "MM414"
    return e.value.message


@pytest.mark.parametrize("over,path,fragment", [
    ({"stage": "deploy"}, "stage", "'train'"),
    ({"pipeline": "bad name!"}, "pipeline", "letters, digits"),
    ({"task": "cluster"}, "task", "forecast"),
    ({"columns": {"keys": []}}, "columns.keys", ""),
    ({"columns": {"keys": ["store_id", "store_id"]}}, "columns.keys", "twice"),
    ({"columns": {"keys": ["store_id", ""]}}, "columns.keys[1]", "empty"),
    ({"columns": {"keys": "store_id"}}, "columns.keys", "array"),
    ({"model": {"holdout": {"periods": 0, "fraction": None}}}, "model.holdout.periods", "at least 1"),
    ({"model": {"holdout": {"periods": None, "fraction": 1.5}}}, "model.holdout.fraction", "between 0 and 1"),
    ({"model": {"minTrainRows": True}}, "model.minTrainRows", "boolean"),
    ({"model": {"minTrainRows": 2.5}}, "model.minTrainRows", "integer"),
    ({"model": {"custom": {"path": "m.py"}}}, "model.custom.sha256", "required"),
    ({"failureBudget": {"maxFailedFraction": 2}}, "failureBudget.maxFailedFraction", "between 0 and 1"),
    ({"failureBudget": {"maxFailed": -1}}, "failureBudget.maxFailed", "at least 0"),
    ({"scoring": {"writeMode": "upsert"}}, "scoring.writeMode", "replace_run"),
    ({"scoring": {"horizon": 0}}, "scoring.horizon", "at least 1"),
    ({"scoring": {"sink": {"type": "sqlite", "path": "p.db"}}}, "scoring.sink.table", "required"),
    ({"scoring": {"sink": {"type": "kafka"}}}, "scoring.sink.type", "sqlite"),
    ({"scoring": {"sink": {"type": "synapse_sql", "flavor": "databricks", "table": "drop table"}}},
     "scoring.sink.table", "letters, digits and '_'"),
    ({"scoring": {"sink": {"type": "synapse_sql", "flavor": "databricks", "table": "p"}}}, "scoring.sink.url", "required"),
    ({"scoring": {"sink": {"type": "synapse_sql", "flavor": "synapse", "table": "p", "database": "dw"}}},
     "scoring.writeMode", "replace_run"),
    ({"scoring": {"sink": {"type": "delta", "tableName": "a.b.c.d"}}}, "scoring.sink.tableName", "[catalog.][schema.]table"),
    ({"execution": {"workers": -1}}, "execution.workers", "at least 0"),
    ({"execution": {"shufflePartitions": 0}}, "execution.shufflePartitions", "'auto' or a positive integer"),
    ({"execution": {"shufflePartitions": True}}, "execution.shufflePartitions", "'auto' or a positive integer"),
    ({"frequency": None}, "frequency", "required for a forecast"),
    ({"data": {"format": "jdbc", "path": None}}, "data.jdbc", "required"),
    ({"data": {"format": "sql", "path": None}}, "data.sql", "exactly one of table and query"),
    ({"data": {"format": "sql", "path": None, "sql": {"url": "postgresql://h/d", "table": "t", "query": "SELECT 1",
                                                    "partition": None, "userEnv": None, "passwordEnv": None,
                                                    "secretScope": None, "userKey": None, "passwordKey": None}}},
     "data.sql", "exactly one of table and query"),
    ({"data": {"format": "csv", "path": None}}, "data.path", "required"),
    ({"data": {"format": "excel"}}, "data.format", "csv"),
    ({"columns": {"features": ["store_id"]}}, "columns", "store_id"),
])
def test_each_problem_names_its_field(base_spec, over, path, fragment):
    message = _problems(base_spec(**over))
    line = next((ln for ln in message.splitlines() if ln.strip().startswith(path + ":")), None)
    assert line is not None, message
    assert fragment in line, message


def test_score_needs_scoring_and_a_sink(base_spec):
    spec = base_spec(stage="score", entryScript="score_entry.py")
    del spec["scoring"]
    assert "scoring: is required" in _problems(spec)
    assert "scoring.sink: must not be null" in _problems(base_spec(stage="score", scoring={"sink": None}))


def test_every_problem_is_listed_at_once(base_spec):
    spec = base_spec(stage="deploy", task="cluster", execution={"workers": -1})
    del spec["pipeline"]
    message = _problems(spec)
    for path in ("stage:", "task:", "execution.workers:", "pipeline: is required"):
        assert path in message, message


def test_the_version_is_checked_before_anything_else(base_spec):
    message = _problems(base_spec(specVersion=2, stage="deploy"))
    assert "specVersion" in message and "stage" not in message


def test_fields_left_out_get_the_schema_defaults(base_spec):
    spec = base_spec()
    for k in ("minTrainRows", "refit"):
        del spec["model"][k]
    del spec["scoring"]["writeMode"]
    spec["execution"] = {}
    parsed = parse_job_spec(spec, "train")
    assert parsed.model.min_train_rows == 10 and parsed.model.refit is True
    assert parsed.scoring.write_mode == "replace_run"
    assert parsed.workers == 0 and parsed.shuffle_partitions == "auto"


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: p.parent.name)
def test_golden_job_specs_satisfy_the_schema(golden):
    spec = json.loads(golden.read_text(encoding="utf-8"))
    assert schema_check.errors(spec, JOB_SPEC_SCHEMA) == []
    parse_job_spec(spec)


def test_golden_job_specs_were_found():
    assert len(GOLDEN) >= 4


def test_the_validator_refuses_keywords_it_does_not_know():
    with pytest.raises(ValueError, match="format"):
        schema_check.errors("x", {"type": "string", "format": "uri"})


def test_the_validator_subset():
    e = schema_check.errors
    assert e(2.0, {"type": "integer"}) == [("", "must be an integer, got a number")]
    assert e(True, {"type": "number"}) == [("", "must be a number, got a boolean")]
    assert e(1, {"enum": [True]}) != []
    assert e(None, {"type": "string"}) == [("", "must not be null")]
    assert e({"a": 1}, {"additionalProperties": False}) == [("a", "is not a known field")]
    assert e(5, {"if": {"minimum": 3}, "then": {"maximum": 4}}) == [("", "must be at most 4, got 5")]
    assert e(1, {"if": {"minimum": 3}, "then": {"maximum": 0}}) == []
    assert e(float("nan"), {"type": "number", "minimum": 0}) == [("", "must be a finite number")]
    assert e([1, 1], {"uniqueItems": True}) == [("", "lists an item twice")]
