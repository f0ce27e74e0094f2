"""The online scoring core shared by `manymodels serve` (serve_worker.py, NDJSON over a pipe) and
the Azure ML online-endpoint scoring script (azureml_online.py, init()/run()): an LRU of loaded
artifacts bounded by bytes and by count, every load sha256-checked (artifacts.load_artifact), and
one prediction per message through scoring.score_artifact, the function batch scoring uses, so
online and batch answers are the same numbers.

A message: {"id", "pipeline", "model": {name, version, artifactUri, sha256, groupId, keys},
"horizon"?, "rows"?}. Its reply: {"id", "ok": true, "times", "origin", "predictions", "loaded",
"evicted", "cachedBytes", "cachedModels", "loadSeconds"} or {"id", "ok": false, "kind":
"integrity"|"failed", "errorClass", "message", "loaded", "evicted", "cachedBytes", "cachedModels"}.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections import OrderedDict

import numpy as np

from .artifacts import load_artifact
from .errors import ArtifactIntegrityError
from .redact import redact as redact_text
from .scoring import ROW_COLUMN, ScoreContext, _resolve_uri, iso_times_and_origin, new_score_row, score_artifact
from .training import absolute_custom

MEMO_PER_MODEL = 4   # forecast answers kept per cached model, one per horizon asked


class ModelCache:
    """Loaded artifacts by (uri, sha256), least recently used evicted first."""

    def __init__(self, max_bytes: int, max_models: int):
        self.max_bytes = max(0, max_bytes)
        self.max_models = max(1, max_models)
        self.items: OrderedDict[tuple[str, str], tuple[dict, int, dict]] = OrderedDict()
        self.bytes = 0

    def memo(self, uri: str, sha256: str) -> dict | None:
        """The answers kept for a cached model (None when it is not held)."""
        hit = self.items.get((uri, sha256.lower()))
        return None if hit is None else hit[2]

    def get(self, uri: str, sha256: str) -> tuple[dict, bool, int, float]:
        """(artifact, loaded now, evicted count, load seconds)."""
        key = (uri, sha256.lower())
        hit = self.items.get(key)
        if hit is not None:
            self.items.move_to_end(key)
            return hit[0], False, 0, 0.0
        t0 = time.perf_counter()
        art, size = _load(uri, sha256)
        seconds = time.perf_counter() - t0
        evicted = 0
        # A model larger than the whole budget is served but not kept.
        if size <= self.max_bytes:
            self.items[key] = (art, size, {})
            self.bytes += size
            while len(self.items) > self.max_models or self.bytes > self.max_bytes:
                _, (_, old, _) = self.items.popitem(last=False)
                self.bytes -= old
                evicted += 1
        return art, True, evicted, seconds


def _load(uri: str, sha256: str) -> tuple[dict, int]:
    art = load_artifact(uri, sha256)
    try:
        size = os.path.getsize(uri)
    except OSError:
        size = len(json.dumps(art.get("meta") or {}, default=str))
    return art, int(size)


def _finite(values) -> list:
    return [None if not math.isfinite(v) else float(v) for v in np.asarray(values, dtype=np.float64).tolist()]


def _columns(ctx: ScoreContext, rows: list[dict] | None) -> tuple[dict, int]:
    """The request's rows as the numpy columns score_artifact reads (the CLI has checked them)."""
    rows = rows or []
    cols: dict = {c: np.array([np.nan if r.get(c) is None else float(r[c]) for r in rows], dtype=np.float64)
                  for c in ctx.features}
    if ctx.task == "forecast" and ctx.time:
        cols[ctx.time] = np.array([np.datetime64(str(r[ctx.time]).rstrip("Z"), "ns") for r in rows],
                                  dtype="datetime64[ns]") if rows else np.array([], dtype="datetime64[ns]")
    else:
        cols[ROW_COLUMN] = np.arange(len(rows), dtype=np.int64)
    return cols, len(rows)


def handle(msg: dict, contexts: dict, cache: ModelCache) -> dict:
    """One prediction message answered from the cache (loading the model on first use)."""
    ctx: ScoreContext = contexts[msg["pipeline"]]
    if ctx.task == "forecast" and msg.get("horizon"):
        ctx = ScoreContext(**{**ctx.__dict__, "horizon": int(msg["horizon"])})
    model = msg["model"]
    reply = {"id": msg["id"], "loaded": False, "evicted": 0}
    uri = _resolve_uri(str(model.get("artifactUri") or ""), ctx.base_dir)
    try:
        art, loaded, evicted, seconds = cache.get(uri, str(model.get("sha256") or ""))
        reply.update(loaded=loaded, evicted=evicted, loadSeconds=seconds)
    except ArtifactIntegrityError as e:
        return {**reply, "ok": False, "kind": "integrity", "errorClass": "ArtifactIntegrityError",
                "message": redact_text(str(e)), **sizes(cache)}
    except Exception as e:  # noqa: BLE001 (an unreadable artifact is this model's failure)
        return {**reply, "ok": False, "kind": "integrity", "errorClass": type(e).__name__,
                "message": redact_text(str(e) or repr(e)), **sizes(cache)}
    # A forecast without rows depends only on the artifact and the horizon: answered again from
    # the model's memo (a few horizons per cached model), the same numbers at a fraction of the cost.
    memo_key = ("h", ctx.horizon) if ctx.task == "forecast" and not msg.get("rows") else None
    memo = cache.memo(uri, str(model.get("sha256") or ""))
    if memo_key is not None and memo is not None and memo_key in memo:
        return {**reply, **memo[memo_key], **sizes(cache)}
    cols, n = _columns(ctx, msg.get("rows"))
    row = new_score_row(model.get("keys") or {}, str(model.get("groupId") or ""), str(model.get("name") or ""), model)
    try:
        res = score_artifact(art, cols, n, row, ctx)
    except Exception as e:  # noqa: BLE001
        return {**reply, "ok": False, "kind": "failed", "errorClass": type(e).__name__,
                "message": redact_text(str(e) or repr(e)), **sizes(cache)}
    if res.row.get("status") != "ok" or res.predictions is None:
        return {**reply, "ok": False, "kind": "failed", "errorClass": res.row.get("errorClass") or "Skipped",
                "message": redact_text(str(res.row.get("errorMessage") or res.row.get("reason") or "not scored")),
                **sizes(cache)}
    times, origin = iso_times_and_origin(res, len(res.predictions))
    answer = {"ok": True, "times": times, "origin": origin[0] if origin else None,
              "predictions": _finite(res.predictions)}
    if res.text_labels:
        # Classification with text labels: the prediction is the label the data wrote.
        answer["predictions"] = list(res.labels)
    if res.proba is not None:
        answer["probabilities"] = res.probabilities_dicts()
    if memo_key is not None and memo is not None:
        if len(memo) >= MEMO_PER_MODEL:
            memo.pop(next(iter(memo)))
        memo[memo_key] = answer
    return {**reply, **answer, **sizes(cache)}


def sizes(cache: ModelCache) -> dict:
    return {"cachedBytes": cache.bytes, "cachedModels": len(cache.items)}


def score_context(name: str, raw: dict, base_dir: str) -> ScoreContext:
    """A pipeline's ScoreContext from the CLI's description of it (task, time, features, …)."""
    return ScoreContext(pipeline=name, task=raw["task"], time=raw.get("time"),
                        features=tuple(raw.get("features") or ()), frequency=raw.get("frequency"),
                        horizon=raw.get("horizon"), custom=absolute_custom(raw.get("custom")),
                        base_dir=base_dir, time_kind=raw.get("timeKind") or "date")
