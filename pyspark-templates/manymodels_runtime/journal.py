"""The group journal of a local training run (docs/contracts.md, docs/reliability.md): one JSON
line per finished group, written as results arrive and fsync'd in batches, so that a run
stopped by Ctrl-C, kill -9, an OOM kill or a power loss keeps every group it had fitted.
`train --resume RUN` skips the journal's ok groups (after checking each artifact's sha256)
and trains the rest.

The first line is a header naming the run; every other line is a manifest group row. The CLI
reads it (src/jobs/run-journal.ts): a torn last line (the write the power loss cut) and
anything after a line that does not parse are ignored, so those groups are trained again
(at least once, never lost). The run manifest supersedes the journal, which is removed once
the manifest is written.
"""
from __future__ import annotations

import json
import os
import time

JOURNAL_NAME = "groups.journal.ndjson"
JOURNAL_VERSION = 1
SYNC_EVERY_ROWS = 256   # fsync at least every 256 groups...
SYNC_EVERY_S = 1.0      # ...and at least once a second while results arrive


class Journal:
    """Append-only writer. `header` goes first when the file is new."""

    def __init__(self, path: str, header: dict):
        self.path = path
        new = not os.path.exists(path) or os.path.getsize(path) == 0
        self._fh = open(path, "a", encoding="utf-8")
        self._unsynced = 0
        self._last_sync = time.monotonic()
        if new:
            self._write({"journal": JOURNAL_VERSION, **header})
            self.sync()

    def _write(self, obj: dict) -> None:
        self._fh.write(json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n")

    def add(self, row: dict) -> None:
        """Each row reaches the OS at once (a killed process loses none), and the disk in batches
        (a power loss loses at most the last second or SYNC_EVERY_ROWS rows)."""
        self._write(row)
        self._fh.flush()
        self._unsynced += 1
        if self._unsynced >= SYNC_EVERY_ROWS or time.monotonic() - self._last_sync >= SYNC_EVERY_S:
            self.sync()

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._unsynced = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fh is None:
            return
        try:
            self.sync()
        finally:
            self._fh.close()
            self._fh = None

    def remove(self) -> None:
        """After the run manifest is written: the manifest holds every row now."""
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


__all__ = ["JOURNAL_NAME", "Journal"]
