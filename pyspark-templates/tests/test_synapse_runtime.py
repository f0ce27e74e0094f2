"""What a Synapse run needs from the runtime, checked against the fake pyspark: abfss:// URIs
(handed over as arguments, inside the JobSpec and in the model manifest) opened through a mount
of the lake — MANYMODELS_ABFSS_MOUNT here, a job-scoped mssparkutils mount on a pool — the
runtime package imported from a py-files zip on the Python path, and predictions written with
synapsesql(). Real Spark and a real Synapse pool are NOT exercised."""
import json
import os
import shutil
import subprocess
import sys
import types
import zipfile

import pandas as pd

from conftest import FAKE_PYSPARK, RUNTIME
from manymodels_runtime import paths
from manymodels_runtime.artifacts import read_uri
from manymodels_runtime.paths import abfss_parts, local_path

LAKE = "abfss://lake@mmlake.dfs.core.windows.net"


def test_abfss_uris_resolve_under_the_mount_root_and_never_escape_it(monkeypatch, tmp_path):
    monkeypatch.delenv("MANYMODELS_ABFSS_MOUNT", raising=False)
    # Off a pool and without the variable there is no mount: the URI stays (Spark reads it itself).
    assert local_path(f"{LAKE}/a/b.csv") == f"{LAKE}/a/b.csv"
    monkeypatch.setenv("MANYMODELS_ABFSS_MOUNT", str(tmp_path))
    assert local_path(f"{LAKE}/a/b.csv") == str(tmp_path / "lake@mmlake" / "a" / "b.csv")
    assert local_path("abfs://Lake@MMLake.dfs.core.windows.net/x") == str(tmp_path / "lake@mmlake" / "x")
    assert local_path(f"{LAKE}") == str(tmp_path / "lake@mmlake")
    # A `..` would leave the mount: such a URI is not mapped at all.
    assert abfss_parts(f"{LAKE}/a/../../etc/passwd") is None
    assert local_path(f"{LAKE}/a/../../etc/passwd") == f"{LAKE}/a/../../etc/passwd"
    assert abfss_parts("abfss://c@acct.dfs.core.chinacloudapi.cn/p/q") == ("c", "acct", "acct.dfs.core.chinacloudapi.cn", "p/q")
    # Artifacts are read through the same mount.
    (tmp_path / "lake@mmlake" / "m").mkdir(parents=True)
    (tmp_path / "lake@mmlake" / "m" / "x.pkl").write_bytes(b"bytes")
    assert read_uri(f"{LAKE}/m/x.pkl") == b"bytes"
    monkeypatch.delenv("MANYMODELS_ABFSS_MOUNT")
    try:
        read_uri(f"{LAKE}/m/x.pkl")
        raise AssertionError("an abfss:// artifact without a mount must not be read")
    except ValueError as e:
        assert "no mount" in str(e)


def test_on_a_pool_the_container_is_mounted_once_per_job_through_mssparkutils(monkeypatch):
    monkeypatch.delenv("MANYMODELS_ABFSS_MOUNT", raising=False)
    calls = []

    class Fs:
        @staticmethod
        def mount(source, point):
            calls.append((source, point))

        @staticmethod
        def getMountPath(point):
            return f"/synfs/42{point}"

    fake = types.ModuleType("notebookutils")
    fake.mssparkutils = types.SimpleNamespace(fs=Fs)
    monkeypatch.setitem(sys.modules, "notebookutils", fake)
    monkeypatch.setattr(paths, "_SYNAPSE_MOUNTS", {})
    first = local_path(f"{LAKE}/runs/r1/events.ndjson")
    second = local_path(f"{LAKE}/cas/spec.json")
    assert len(calls) == 1 and calls[0][0] == "abfss://lake@mmlake.dfs.core.windows.net"
    point = calls[0][1]
    assert first == f"/synfs/42{point}/runs/r1/events.ndjson" and second == f"/synfs/42{point}/cas/spec.json"


def _lake_layout(tmp_path, series, base_spec):
    """The lake as the mount shows it: data, the entry scripts and the runtime zip uploaded
    apart from the package folder, JobSpecs naming their data and sinks by abfss:// URI."""
    root = tmp_path / "mount" / "lake@mmlake"
    (root / "data").mkdir(parents=True)
    (root / "cas").mkdir()
    pd.concat([series(("1", "a")), series(("2", "b"), seed=3)]).to_csv(root / "data" / "sales.csv", index=False)
    for stage in ("train", "score"):
        shutil.copy(RUNTIME / f"{stage}_entry.py", root / "cas" / f"{stage}_entry.py")
    pkg = RUNTIME / "manymodels_runtime"
    with zipfile.ZipFile(root / "cas" / "runtime.zip", "w") as zf:
        for f in [*pkg.rglob("*.py"), *pkg.rglob("*.json")]:
            zf.write(f, "manymodels_runtime/" + str(f.relative_to(pkg)))
    spec = base_spec(data={"format": "csv", "options": {}, "path": f"{LAKE}/data/sales.csv"}, engine="synapse",
                     stage="train", entryScript="train_entry.py")
    (root / "cas" / "train.json").write_text(json.dumps(spec), encoding="utf-8")
    sink = {"type": "synapse_sql", "flavor": "synapse", "database": "retail", "schema": "dbo", "table": "predictions",
            "tempDir": None, "url": None, "auth": "managed_identity"}
    score = dict(spec, stage="score", entryScript="score_entry.py", scoring={**spec["scoring"], "sink": sink, "writeMode": "append"})
    (root / "cas" / "score.json").write_text(json.dumps(score), encoding="utf-8")
    # Livy puts py-files on the Python path of the driver: the zip, not the package folder.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FAKE_PYSPARK), str(root / "cas" / "runtime.zip")]),
           "FAKE_PYSPARK_LOG": str(tmp_path / "spark.log"), "MANYMODELS_ABFSS_MOUNT": str(tmp_path / "mount")}
    return root, env


def _run(root, env, stage, run_id, *extra, cwd):
    cmd = [sys.executable, str(root / "cas" / f"{stage}_entry.py"), "--spec", f"{LAKE}/cas/{stage}.json",
           "--run-id", run_id, "--out", f"{LAKE}/runs/{run_id}", "--events", f"{LAKE}/runs/{run_id}/events.ndjson",
           "--executor", "spark", "--no-cache", *extra]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_a_synapse_run_takes_abfss_arguments_and_writes_predictions_with_synapsesql(tmp_path, series, base_spec):
    root, env = _lake_layout(tmp_path, series, base_spec)
    work = tmp_path / "work"
    work.mkdir()
    # Given the arguments as a pool passes them (abfss:// URIs, not rewritten by anyone)
    train = _run(root, env, "train", "t1", "--bundle-artifacts", cwd=work)
    assert train.returncode == 0, train.stderr
    trained = json.loads((root / "runs" / "t1" / "run-manifest.json").read_text(encoding="utf-8"))
    assert trained["executor"] == "spark" and trained["counts"]["ok"] == 2
    assert (root / "runs" / "t1" / "artifacts.tar.gz").is_file()
    log = [json.loads(line) for line in (tmp_path / "spark.log").read_text(encoding="utf-8").splitlines()]
    # The executors got the py-files zip the package was imported from.
    assert {"op": "addPyFile", "has_package": True, "has_stages": True} in log

    # When scoring with the artifacts named by abfss:// URI, as the CLI uploads them
    models = []
    for g in (g for g in trained["groups"] if g["status"] == "ok"):
        name = f"{g['sha256']}-model.pkl"
        shutil.copy(root / "runs" / "t1" / g["artifact"], root / "cas" / name)
        models.append({"groupId": g["groupId"], "modelName": g["modelName"], "version": "1", "keys": g["keys"],
                       "modelType": "linear", "artifactUri": f"{LAKE}/cas/{name}", "sha256": g["sha256"]})
    (root / "cas" / "models.json").write_text(json.dumps({"specVersion": 1, "pipeline": "demo", "models": models}))
    score = _run(root, env, "score", "s1", "--models", f"{LAKE}/cas/models.json", cwd=work)

    # Then every prediction went through synapsesql() into the three-part table name, appended
    assert score.returncode == 0, score.stderr
    scored = json.loads((root / "runs" / "s1" / "run-manifest.json").read_text(encoding="utf-8"))
    assert scored["counts"]["ok"] == 2 and scored["counts"]["predictionsWritten"] == 2 * 5
    write = [json.loads(line) for line in (tmp_path / "spark.log").read_text(encoding="utf-8").splitlines()
             if '"op": "write"' in line][-1]
    assert write["method"] == "synapsesql" and write["target"] == "retail.dbo.predictions" and write["mode"] == "append"
    assert len(write["rows"]) == 10 and "prediction" in write["columns"]
