"""Fixtures for the runtime-core tests: a throwaway project directory that writes data and
JobSpecs and runs the real entry scripts as subprocesses (events, manifest, exit code back).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

RUNTIME = Path(__file__).resolve().parents[1]
FAKE_PYSPARK = Path(__file__).resolve().parent / "fake_pyspark"
if str(RUNTIME) not in sys.path:
    sys.path.insert(0, str(RUNTIME))


def _base_spec(**over) -> dict:
    """A forecast JobSpec over data.csv (keys store_id, item_id; daily; linear model)."""
    spec = {
        "columns": {"features": ["price", "promo"], "keys": ["store_id", "item_id"], "target": "sales",
                    "time": "date"},
        "data": {"format": "csv", "options": {}, "path": "data.csv"},
        "engine": "local", "entryScript": "train_entry.py",
        "execution": {"sparkConf": {}, "workers": 2},
        "failureBudget": {"maxFailed": None, "maxFailedFraction": 0.5},
        "frequency": "D", "metrics": ["mae", "wape"],
        "model": {"custom": None, "holdout": {"fraction": None, "periods": 7}, "minTrainRows": 14,
                  "params": {}, "refit": True, "type": "linear"},
        "pipeline": "demo",
        "project": "retail",
        "scoring": {"horizon": 5, "sink": {"path": "preds.db", "table": "predictions", "type": "sqlite"},
                    "writeMode": "replace_run"},
        "specVersion": 1, "stage": "train", "target": "local", "task": "forecast",
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(spec.get(k), dict):
            spec[k] = {**spec[k], **v}
        else:
            spec[k] = v
    return spec


def _series(keys: tuple, days: int = 60, start: str = "2024-01-01", seed: int = 0) -> pd.DataFrame:
    """One group's daily rows with a weekly pattern, in date order."""
    rng = np.random.default_rng(seed)
    d = pd.date_range(start, periods=days, freq="D")
    price = np.round(rng.uniform(1, 5, days), 2)
    promo = (rng.random(days) < 0.2).astype(int)
    sales = np.round(20 + 5 * np.sin(np.arange(days) * 2 * np.pi / 7) + 4 * promo - price + rng.normal(0, 1, days), 2)
    return pd.DataFrame({"store_id": keys[0], "item_id": keys[1], "date": d.strftime("%Y-%m-%d"),
                         "sales": sales, "price": price, "promo": promo})


@dataclass
class RunResult:
    code: int
    events: list
    stdout: str
    stderr: str
    out: Path

    @property
    def manifest(self) -> dict:
        return json.loads((self.out / "run-manifest.json").read_text(encoding="utf-8"))

    def by_keys(self) -> dict:
        return {tuple(g["keys"].values()): g for g in self.manifest["groups"]}

    def kinds(self, kind: str) -> list:
        return [e for e in self.events if e["event"] == kind]


class Project:
    def __init__(self, root: Path):
        self.root = root

    def write_data(self, frame: pd.DataFrame, name: str = "data.csv") -> Path:
        p = self.root / name
        frame.to_csv(p, index=False)
        return p

    def write_text(self, name: str, text: str) -> Path:
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    def custom_model(self, name: str, source: str) -> dict:
        p = self.write_text(name, source)
        return {"path": name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}

    def write_spec(self, spec: dict, name: str = "spec.json") -> Path:
        return self.write_text(name, json.dumps(spec, indent=2, sort_keys=True))

    def run(self, stage: str, spec: dict, run_id: str = "r1", *extra: str, spark: bool = False,
            env: dict | None = None, events_to_stdout: bool = True) -> RunResult:
        spec = {**spec, "stage": stage}
        spec_path = self.write_spec(spec, f"{stage}-{run_id}.json")
        out = self.root / "runs" / run_id
        cmd = [sys.executable, str(RUNTIME / f"{stage}_entry.py"), "--spec", str(spec_path), "--run-id", run_id,
               "--out", str(out), "--cache-dir", str(self.root / "cache")]
        if events_to_stdout:
            cmd += ["--events", "-"]
        if spark:
            cmd += ["--executor", "spark"]
        cmd += list(extra)
        full_env = {**os.environ, **(env or {})}
        if spark:
            full_env["PYTHONPATH"] = os.pathsep.join([str(FAKE_PYSPARK), full_env.get("PYTHONPATH", "")])
            full_env["FAKE_PYSPARK_LOG"] = str(self.root / "fake-spark.log")
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, env=full_env, timeout=120)
        source = proc.stdout if events_to_stdout else (out / "events.ndjson").read_text(encoding="utf-8") \
            if (out / "events.ndjson").exists() else ""
        events = [json.loads(line) for line in source.splitlines() if line.strip()]
        return RunResult(proc.returncode, events, proc.stdout, proc.stderr, out)

    def spark_log(self) -> list:
        p = self.root / "fake-spark.log"
        return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()] if p.exists() else []

    def model_manifest(self, train: RunResult, pipeline: str = "demo", version: str = "1") -> Path:
        m = train.manifest
        models = [{"groupId": g["groupId"], "modelName": g["modelName"], "version": version, "keys": g["keys"],
                   "modelType": m["modelType"], "artifactUri": str(train.out / g["artifact"]), "sha256": g["sha256"]}
                  for g in m["groups"] if g["status"] == "ok"]
        return self.write_text("models.json", json.dumps({"specVersion": 1, "pipeline": pipeline, "models": models}))


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def base_spec():
    """base_spec(**overrides) → a JobSpec dict (top-level dicts are merged one level deep)."""
    return _base_spec


@pytest.fixture
def series():
    """series((store, item), days=60, start=..., seed=...) → one group's daily rows."""
    return _series
