"""`manymodels_entry.py plan`: the profile counts groups by the training's own checks before a
fit, and the pilot trains a seeded, size-stratified sample through the worker pool."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import RUNTIME
from manymodels_runtime.plan_probe import pilot_sample


def _probe(project, spec: dict, *extra: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    spec_path = project.write_spec({**spec, "stage": "train"}, "plan-spec.json")
    out = project.root / "plan-out"
    proc = subprocess.run([sys.executable, str(RUNTIME / "manymodels_entry.py"), "plan", "--spec", str(spec_path),
                           "--out", str(out), "--cache-dir", str(project.root / "cache"), *extra],
                          cwd=project.root, capture_output=True, text=True, timeout=120)
    doc = out / "plan.json"
    return proc, json.loads(doc.read_text()) if doc.exists() else None


def test_the_profile_counts_short_constant_and_stale_groups_as_training_would(project, base_spec, series):
    frames = [series(("s1", f"i{i}"), days=60, seed=i) for i in range(6)]
    short = series(("s2", "short"), days=10, start="2024-02-20")  # 3 training rows < minTrainRows 14
    constant = series(("s2", "flat"), days=60).assign(sales=5.0)
    stale = series(("s2", "old"), days=30)                         # ends a month before the others
    project.write_data(pd.concat([*frames, short, constant, stale], ignore_index=True))
    proc, doc = _probe(project, base_spec(), "--pilot", "4", "--seed", "7", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    kinds = doc["groups"]["kinds"]
    assert (kinds["ok"], kinds["short"], kinds["constant"], kinds["stale"]) == (6, 1, 1, 1)
    assert doc["groups"]["count"] == 9 and sorted(doc["groups"]["sizes"]) == [10, 30] + [60] * 7
    assert doc["rows"] == 60 * 7 + 10 + 30
    assert doc["timeRange"] == {"start": "2024-01-01", "end": "2024-02-29"}
    assert doc["groups"]["largest"][0]["rows"] == 60
    pilot = doc["pilot"]
    assert len(pilot["groups"]) == 4 and pilot["workers"] == 2
    for g in pilot["groups"]:
        assert g["seconds"] > 0
        assert (g["artifactBytes"] or 0) > 0 if g["status"] == "ok" else g["artifactBytes"] is None
    assert sum(doc["groups"]["fitted"]) == 6 and len(doc["groups"]["mapped"]) == 9
    assert doc["groups"]["mapped"][0][1][0] in ("s1", "s2")
    # The pilot's artifacts and manifest stay in the --out folder, for the CLI to time a registration.
    for g in pilot["groups"]:
        if g["status"] == "ok":
            assert (project.root / "plan-out" / g["artifact"]).is_file() and g["sha256"]
    assert (project.root / "plan-out" / "run-manifest.json").is_file()


def test_the_pilot_sample_is_seeded_and_spans_the_sizes():
    sizes = np.arange(1000) % 97 + 1
    a, b = pilot_sample(sizes, 10, 3), pilot_sample(sizes, 10, 3)
    assert a == b and len(set(a)) == 10
    assert pilot_sample(sizes, 10, 4) != a
    picked = sorted(sizes[a])
    assert picked[0] <= 10 and picked[-1] >= 88      # one from the smallest tenth, one from the largest
    assert pilot_sample(sizes[:3], 50, 0) == [0, 1, 2] and pilot_sample(sizes, 0, 0) == []


def test_a_bad_spec_is_a_coded_error_not_a_traceback(project, base_spec):
    project.write_data(pd.DataFrame({"store_id": ["a"], "item_id": ["b"], "date": ["2024-01-01"], "sales": [1.0],
                                     "price": [1.0], "promo": [0]}))
    proc, doc = _probe(project, base_spec(data={"path": "missing.csv"}))
    assert proc.returncode == 2 and doc is None
    assert "error MM4" in proc.stderr and "Traceback" not in proc.stderr


# A model whose first fit in a process pays a one-off cost (as sklearn's imports and OpenMP's
# start do for gbm), then fits quickly.
WARMING_MODEL = """import time
import numpy as np
_warm = [False]
def train(pdf, params):
    if not _warm[0]:
        time.sleep(0.8)
        _warm[0] = True
    return float(pdf['sales'].mean())
def predict(model, pdf):
    return np.full(len(pdf), model)
"""

# A model that uses a fixed amount of CPU per fit, whatever else runs on the machine.
CPU_MODEL = """import time
import numpy as np
def train(pdf, params):
    t = time.process_time()
    while time.process_time() - t < 0.1:
        pass
    return float(pdf['sales'].mean())
def predict(model, pdf):
    return np.full(len(pdf), model)
"""


def test_the_pilot_counts_a_workers_first_fit_apart_not_in_its_groups_seconds(project, base_spec, series):
    project.write_data(pd.concat([series(("s", f"i{i}"), days=60, seed=i) for i in range(6)], ignore_index=True))
    custom = project.custom_model("warming.py", WARMING_MODEL)
    proc, doc = _probe(project, base_spec(model={"type": "custom", "custom": custom}), "--pilot", "6", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    pilot = doc["pilot"]
    assert [g["status"] for g in pilot["groups"]] == ["ok"] * 6
    # Every worker's first fit ran once untimed before its timed run: no group carries the 0.8 s.
    assert max(g["seconds"] for g in pilot["groups"]) < 0.5, [g["seconds"] for g in pilot["groups"]]
    warm = [g["warmUpSeconds"] for g in pilot["groups"] if g["warmUpSeconds"] is not None]
    assert len(warm) == 2 and min(warm) > 0.6  # one per worker, the one-off part of its first fit
    assert pilot["cores"] >= 1 and 0 <= pilot["poolSeconds"] < pilot["wallSeconds"]


@pytest.mark.skipif(not os.path.exists("/proc/thread-self/schedstat") or not hasattr(os, "sched_setaffinity"),
                    reason="the run-queue wait is read from Linux's schedstat")
def test_the_pilot_separates_the_time_a_group_waited_for_a_cpu_taken_by_another_process(project, base_spec, series):
    project.write_data(pd.concat([series(("s", f"i{i}"), days=60, seed=i) for i in range(3)], ignore_index=True))
    custom = project.custom_model("cpu.py", CPU_MODEL)
    cpu = min(os.sched_getaffinity(0))
    pin = lambda: os.sched_setaffinity(0, {cpu})  # noqa: E731 - the probe and a busy loop share one CPU
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=pin)
    try:
        spec_path = project.write_spec({**base_spec(model={"type": "custom", "custom": custom}), "stage": "train"})
        proc = subprocess.run([sys.executable, str(RUNTIME / "manymodels_entry.py"), "plan", "--spec", str(spec_path),
                               "--out", str(project.root / "plan-out"), "--cache-dir", str(project.root / "cache"),
                               "--pilot", "3", "--workers", "1"],
                              cwd=project.root, capture_output=True, text=True, timeout=120, preexec_fn=pin)
    finally:
        hog.kill()
        hog.wait()
    assert proc.returncode == 0, proc.stderr
    groups = json.loads((project.root / "plan-out" / "plan.json").read_text())["pilot"]["groups"]
    for g in groups:
        # Two fits of 0.1 s CPU each; the busy loop had the CPU about half of the wall time.
        assert g["waitSeconds"] > 0.25 * g["seconds"], g
        assert g["seconds"] - g["waitSeconds"] >= 0.18, g
