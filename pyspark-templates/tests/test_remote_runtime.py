"""What a remote (Databricks) run needs from the runtime, checked against the fake pyspark:
the package imported from --runtime-zip and shipped to executors as that zip, cluster paths
inside the files the job reads resolved through the DBFS/volume mounts (movable by environment
variables), and the artifacts bundle a remote CLI downloads. Real Spark is NOT exercised."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pandas as pd

from conftest import FAKE_PYSPARK, RUNTIME
from manymodels_runtime.paths import local_path, spark_uri


def test_cluster_paths_resolve_through_movable_mounts(monkeypatch):
    for var in ("MANYMODELS_DBFS_MOUNT", "MANYMODELS_VOLUMES_MOUNT", "MANYMODELS_WORKSPACE_MOUNT"):
        monkeypatch.delenv(var, raising=False)
    assert local_path("dbfs:/a/b.csv") == "/dbfs/a/b.csv"
    assert local_path("/Volumes/c/s/v/x") == "/Volumes/c/s/v/x"
    assert local_path("data/x.csv") == "data/x.csv"
    monkeypatch.setenv("MANYMODELS_DBFS_MOUNT", "/tmp/emu/dbfs")
    monkeypatch.setenv("MANYMODELS_VOLUMES_MOUNT", "/tmp/emu/volumes")
    monkeypatch.setenv("MANYMODELS_WORKSPACE_MOUNT", "/tmp/emu/workspace")
    assert local_path("dbfs:/a/b.csv") == "/tmp/emu/dbfs/a/b.csv"
    assert local_path("/dbfs/a") == "/tmp/emu/dbfs/a"
    assert local_path("/Volumes/c/s/v/x") == "/tmp/emu/volumes/c/s/v/x"
    assert local_path("/Workspace/Users/u/m.py") == "/tmp/emu/workspace/Users/u/m.py"
    assert local_path("/dbfsx/a") == "/dbfsx/a"
    assert local_path("abfss://c@a.dfs.core.windows.net/x") == "abfss://c@a.dfs.core.windows.net/x"
    assert spark_uri("/dbfs/a/b") == "dbfs:/a/b"
    assert spark_uri("/Volumes/c/s/v") == "/Volumes/c/s/v"


def _runtime_zip(path):
    pkg = RUNTIME / "manymodels_runtime"
    with zipfile.ZipFile(path, "w") as zf:
        for f in [*pkg.rglob("*.py"), *pkg.rglob("*.json")]:
            zf.write(f, "manymodels_runtime/" + str(f.relative_to(pkg)))


def _remote_layout(tmp_path, series, base_spec, stage="train", **spec_over):
    """A DBFS tree as the emulator keeps it, the entry script and zip uploaded apart from the
    package folder, and a JobSpec naming its data by dbfs:/ URI."""
    dbfs = tmp_path / "dbfs"
    (dbfs / "data").mkdir(parents=True)
    (dbfs / "cas").mkdir()
    frame = pd.concat([series(("1", "a")), series(("2", "b"), seed=3)])
    frame.to_csv(dbfs / "data" / "sales.csv", index=False)
    shutil.copy(RUNTIME / f"{stage}_entry.py", dbfs / "cas" / f"{stage}_entry.py")
    _runtime_zip(dbfs / "cas" / "runtime.zip")
    spec = base_spec(data={"format": "csv", "options": {}, "path": "dbfs:/data/sales.csv"}, engine="databricks",
                     stage=stage, entryScript=f"{stage}_entry.py", **spec_over)
    (dbfs / "cas" / f"{stage}.json").write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(FAKE_PYSPARK), "FAKE_PYSPARK_LOG": str(tmp_path / "spark.log"),
           "MANYMODELS_DBFS_MOUNT": str(dbfs)}
    return dbfs, env


def _run(dbfs, env, stage, run_id, *extra, cwd):
    cmd = [sys.executable, str(dbfs / "cas" / f"{stage}_entry.py"), "--spec", str(dbfs / "cas" / f"{stage}.json"),
           "--run-id", run_id, "--out", str(dbfs / "runs" / run_id), "--events", str(dbfs / "runs" / run_id / "events.ndjson"),
           "--executor", "spark", "--runtime-zip", str(dbfs / "cas" / "runtime.zip"), "--no-cache", *extra]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def _log(tmp_path):
    return [json.loads(line) for line in (tmp_path / "spark.log").read_text(encoding="utf-8").splitlines()]


def test_a_remote_train_imports_the_runtime_zip_reads_dbfs_and_bundles_its_artifacts(tmp_path, series, base_spec):
    dbfs, env = _remote_layout(tmp_path, series, base_spec)
    work = tmp_path / "work"
    work.mkdir()
    proc = _run(dbfs, env, "train", "r1", "--bundle-artifacts", cwd=work)
    assert proc.returncode == 0, proc.stderr
    out = dbfs / "runs" / "r1"
    manifest = json.loads((out / "run-manifest.json").read_text(encoding="utf-8"))
    assert manifest["executor"] == "spark" and manifest["counts"]["ok"] == 2
    # The data was read through the DBFS mount, so the fingerprint could be taken.
    assert manifest["dataFingerprint"].startswith("sha256:")
    # The executors got the very zip the package was imported from.
    assert {"op": "addPyFile", "has_package": True, "has_stages": True} in _log(tmp_path)
    with tarfile.open(out / "artifacts.tar.gz") as tf:
        members = {m.name: tf.extractfile(m).read() for m in tf.getmembers()}
    ok = [g for g in manifest["groups"] if g["status"] == "ok"]
    assert sorted(members) == sorted(g["artifact"] for g in ok)
    for g in ok:
        assert hashlib.sha256(members[g["artifact"]]).hexdigest() == g["sha256"]
    events = [json.loads(line)["event"] for line in (out / "events.ndjson").read_text(encoding="utf-8").splitlines()]
    assert events[0] == "start" and events[-1] == "summary"


def test_a_remote_score_reads_dbfs_artifact_uris_and_a_missing_runtime_zip_is_exit_2(tmp_path, series, base_spec):
    dbfs, env = _remote_layout(tmp_path, series, base_spec)
    work = tmp_path / "work"
    work.mkdir()
    assert _run(dbfs, env, "train", "t1", cwd=work).returncode == 0
    trained = json.loads((dbfs / "runs" / "t1" / "run-manifest.json").read_text(encoding="utf-8"))
    # The CLI uploads artifacts under content addresses and names them by dbfs:/ URI.
    models = []
    for g in (g for g in trained["groups"] if g["status"] == "ok"):
        name = f"{g['sha256']}-model.pkl"
        shutil.copy(dbfs / "runs" / "t1" / g["artifact"], dbfs / "cas" / name)
        models.append({"groupId": g["groupId"], "modelName": g["modelName"], "version": "1", "keys": g["keys"],
                       "modelType": "linear", "artifactUri": f"dbfs:/cas/{name}", "sha256": g["sha256"]})
    (dbfs / "cas" / "models.json").write_text(json.dumps({"specVersion": 1, "pipeline": "demo", "models": models}))
    sink = {"type": "delta", "path": "dbfs:/predictions", "tableName": None, "table": "predictions"}
    shutil.copy(RUNTIME / "score_entry.py", dbfs / "cas" / "score_entry.py")
    spec = json.loads((dbfs / "cas" / "train.json").read_text(encoding="utf-8"))
    spec.update(stage="score", entryScript="score_entry.py", scoring={**spec["scoring"], "sink": sink})
    (dbfs / "cas" / "score.json").write_text(json.dumps(spec), encoding="utf-8")
    proc = _run(dbfs, env, "score", "s1", "--models", str(dbfs / "cas" / "models.json"), cwd=work)
    assert proc.returncode == 0, proc.stderr
    scored = json.loads((dbfs / "runs" / "s1" / "run-manifest.json").read_text(encoding="utf-8"))
    assert scored["counts"]["ok"] == 2 and scored["counts"]["predictionsWritten"] == 2 * 5
    write = [e for e in _log(tmp_path) if e["op"] == "write"][-1]
    assert write["format"] == "delta" and write["target"] == "dbfs:/predictions" and len(write["rows"]) == 10

    os.remove(dbfs / "cas" / "runtime.zip")
    missing = _run(dbfs, env, "train", "t2", cwd=work)
    assert missing.returncode == 2 and "--runtime-zip" in missing.stderr


def test_the_spark_executor_reports_progress_while_the_groups_run(project, base_spec, series):
    # Six groups of a deliberately slow model: longer than one reporting interval in all.
    project.write_data(pd.concat([series((str(i), "a"), seed=i) for i in range(6)]))
    slow = project.custom_model("slow.py", "import time\nimport numpy as np\n\n"
                                           "def train(pdf, params):\n    time.sleep(0.6)\n    return 1.0\n\n"
                                           "def predict(model, pdf):\n    return np.full(len(pdf), model)\n")
    spec = base_spec(model={"type": "custom", "custom": slow, "refit": False})
    res = project.run("train", spec, "slow", spark=True)
    assert res.code == 0, res.stderr
    progress = res.kinds("progress")
    assert any(0 < e["done"] < 6 for e in progress), progress
    assert progress[-1]["done"] == 6 and [e["event"] for e in res.events][-1] == "summary"
