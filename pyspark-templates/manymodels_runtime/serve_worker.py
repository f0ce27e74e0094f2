"""One scoring process of `manymodels serve`: requests in, predictions out, NDJSON over its
stdin and stdout, one request at a time in arrival order.

The CLI's HTTP front routes every request for a model to the same worker, so a model is
loaded by one process only, once, however many requests for it arrive together. The cache and
the prediction itself are online_core's (shared with the Azure ML scoring script).

Messages (one JSON object per line):
  {"op": "pipeline", "name", "ctx": {task, time, features, frequency, horizon, custom}}
  {"op": "predict", "id", "pipeline", "model": {name, version, artifactUri, sha256, groupId,
   keys}, "horizon"?, "rows"?}
Replies to predict: online_core.handle's. The first line a worker writes is {"op": "ready"}, once
it has imported the runtime: the CLI waits for it before it listens, so a runtime that cannot be
imported (a syntax error, a missing package) stops `serve` at start-up instead of answering every
request 503.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .online_core import ModelCache, handle, score_context, sizes
from .process_lifetime import die_with_parent
from .redact import redact as redact_text
from .scoring import ScoreContext


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="serve_worker", description=__doc__.split("\n")[0])
    ap.add_argument("--cache-bytes", type=int, required=True)
    ap.add_argument("--cache-models", type=int, required=True)
    args = ap.parse_args(argv)
    # No worker outlives the server: stdin closing ends the loop, PDEATHSIG covers a kill -9.
    die_with_parent(os.getppid(), 0)
    cache = ModelCache(args.cache_bytes, args.cache_models)
    contexts: dict[str, ScoreContext] = {}
    base_dir = os.getcwd()
    out = sys.stdout
    out.write(json.dumps({"op": "ready", "pid": os.getpid()}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if msg.get("op") == "pipeline":
            contexts[msg["name"]] = score_context(msg["name"], msg["ctx"], base_dir)
            continue
        try:
            reply = handle(msg, contexts, cache)
        except Exception as e:  # noqa: BLE001 (one bad request never ends the worker)
            reply = {"id": msg.get("id"), "ok": False, "kind": "failed", "errorClass": type(e).__name__,
                     "message": redact_text(str(e) or repr(e)), "loaded": False, "evicted": 0, **sizes(cache)}
        out.write(json.dumps(reply, allow_nan=False) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
