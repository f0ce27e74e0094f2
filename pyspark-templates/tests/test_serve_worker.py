"""The scoring worker of `manymodels serve`: its LRU by bytes and count, and its NDJSON loop over
a real artifact (the same numbers as score_artifact)."""
import json
import subprocess
import sys

import numpy as np

from conftest import RUNTIME
from manymodels_runtime import online_core as serve_worker
from manymodels_runtime.artifacts import dump_artifact, write_artifact


def _artifact(tmp_path, name, level):
    last = int(np.datetime64("2024-01-07", "ns").astype(np.int64))
    state = {"kind": "seasonal_naive", "season": np.arange(7, dtype=np.float64) + level, "m": 7,
             "last_time": last, "freq": "D", "time": "date"}
    payload = dump_artifact("seasonal_naive", "forecast", state, {"lastTime": last, "time": "date", "frequency": "D"})
    path = tmp_path / f"{name}.bin"
    return str(path), write_artifact(str(path), payload), len(payload)


def test_lru_evicts_least_recent_by_bytes_and_keeps_nothing_too_big(tmp_path, monkeypatch):
    loads = []
    monkeypatch.setattr(serve_worker, "_load", lambda uri, sha: (loads.append(uri), ({"uri": uri}, 100))[1])
    cache = serve_worker.ModelCache(max_bytes=250, max_models=10)
    for uri in ("a", "b", "a", "c"):
        cache.get(uri, "x")
    # a was used after b, so b goes when c needs room.
    assert [k[0] for k in cache.items] == ["a", "c"] and cache.bytes == 200
    assert loads == ["a", "b", "c"]
    cache.get("b", "x")
    assert [k[0] for k in cache.items] == ["c", "b"]
    by_count = serve_worker.ModelCache(max_bytes=10_000, max_models=2)
    for uri in ("a", "b", "c"):
        by_count.get(uri, "x")
    assert [k[0] for k in by_count.items] == ["b", "c"]
    tiny = serve_worker.ModelCache(max_bytes=50, max_models=2)
    art, loaded, evicted, _ = tiny.get("a", "x")
    assert art == {"uri": "a"} and loaded and evicted == 0 and not tiny.items


def test_the_worker_loop_refuses_a_wrong_sha_and_goes_on(tmp_path):
    path, sha, _ = _artifact(tmp_path, "m", 3.0)
    ctx = {"task": "forecast", "time": "date", "features": [], "frequency": "D", "horizon": 3, "custom": None}
    model = {"name": "m", "version": "1", "artifactUri": path, "sha256": sha, "groupId": "g", "keys": {"k": "1"}}
    lines = [
        {"op": "pipeline", "name": "p", "ctx": ctx},
        {"op": "predict", "id": 1, "pipeline": "p", "model": {**model, "sha256": "0" * 64}},
        {"op": "predict", "id": 2, "pipeline": "p", "model": model},
    ]
    out = subprocess.run([sys.executable, str(RUNTIME / "serve_entry.py"), "--cache-bytes", "100000", "--cache-models", "5"],
                         input="".join(json.dumps(m) + "\n" for m in lines), capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    replies = [json.loads(x) for x in out.stdout.splitlines()]
    # The first line says the runtime is imported (the CLI waits for it before it listens).
    assert replies[0]["op"] == "ready" and isinstance(replies[0]["pid"], int)
    replies = replies[1:]
    assert [r["id"] for r in replies] == [1, 2]
    assert replies[0]["ok"] is False and replies[0]["kind"] == "integrity" and "sha256" in replies[0]["message"]
    assert replies[1]["ok"] is True and replies[1]["loaded"] is True and replies[1]["cachedModels"] == 1
    assert replies[1]["times"] == ["2024-01-08", "2024-01-09", "2024-01-10"]
    assert replies[1]["predictions"] == [4.0, 5.0, 6.0]
