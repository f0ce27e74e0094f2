"""Progress events (NDJSON, docs/contracts.md) and human-readable logging on stderr, both
redacted (redact.py): an error message that quotes a data path never carries its SAS.

With `--events -` stdout belongs to the events alone: the original stdout descriptor is
kept privately for them and descriptor 1 is pointed at stderr, so a stray print() in a
user's custom model (or in a forked worker) cannot corrupt the stream the CLI parses.
"""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timezone

from .redact import redact, redact_json

PROGRESS_INTERVAL_S = 0.25  # at most four progress events a second


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log(msg: str) -> None:
    print(redact(f"[manymodels] {msg}"), file=sys.stderr, flush=True)


class EventWriter:
    """Writes one JSON object per line; `target` is '-', a file path, or None (discard)."""

    def __init__(self, target: str | None):
        self._fh = None
        self._last_progress = 0.0
        if target == "-":
            fd = os.dup(1)
            os.dup2(2, 1)
            self._fh = os.fdopen(fd, "w", encoding="utf-8", buffering=1)
        elif target:
            parent = os.path.dirname(os.path.abspath(target))
            os.makedirs(parent, exist_ok=True)
            # Append: a remote engine may poll the file while it grows; never truncate
            # events a poller already saw.
            self._fh = open(target, "a", encoding="utf-8", buffering=1)

    def emit(self, event: str, **fields) -> None:
        if self._fh is None:
            return
        obj = {"event": event, **fields}
        if "ts" not in obj and event in ("start", "progress"):
            obj["ts"] = utc_now_iso()
        self._fh.write(redact_json(obj, lambda o: json.dumps(o, ensure_ascii=False, allow_nan=False)) + "\n")
        self._fh.flush()

    def progress(self, counts: dict, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < PROGRESS_INTERVAL_S:
            return
        self._last_progress = now
        done = counts["ok"] + counts["failed"] + counts["skipped"]
        self.emit("progress", done=done, ok=counts["ok"], failed=counts["failed"],
                  skipped=counts["skipped"], total=total)

    def error(self, code: str, message: str) -> None:
        self.emit("error", code=code, message=message)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
