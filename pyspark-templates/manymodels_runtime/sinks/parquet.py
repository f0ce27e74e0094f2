"""The parquet sink: Python has no Parquet writer without pyarrow, so the rows are staged as
NDJSON beside the target and handed to the CLI's embedded DuckDB (`MANYMODELS_NODE` runs
`MANYMODELS_PARQUET_WRITER`, src/jobs/local/parquet-writer.ts), which merges them with the old
file per write mode and renames the new file into place (files.py)."""
from __future__ import annotations

import itertools
import json
import os
import subprocess

from ..errors import InputError, SinkWriteError
from .files import (SINK_FILE_COLUMNS, SINK_FILE_UNUSABLE, SINK_WRITE_FAILED, SINK_WRITER_MISSING, FileSink,
                    null_nan, remove_quietly, temp_in)

PARQUET_WRITER_TIMEOUT_S = 3600


class ParquetSink(FileSink):
    kind = "parquet"
    ext = "parquet"

    def _writer(self) -> list[str]:
        node, script = os.environ.get("MANYMODELS_NODE"), os.environ.get("MANYMODELS_PARQUET_WRITER")
        if not node or not script:
            raise InputError(SINK_WRITER_MISSING, "the parquet sink is written by the CLI's embedded DuckDB, which "
                                                  "this runtime was not given (MANYMODELS_NODE and "
                                                  "MANYMODELS_PARQUET_WRITER): score through manymodels, or use "
                                                  "a csv or sqlite sink")
        return [node, script]

    def _run(self, args: list[str], what: str):
        try:
            return subprocess.run(self._writer() + args, capture_output=True, text=True,
                                  timeout=PARQUET_WRITER_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise SinkWriteError(f"the embedded Parquet writer could not {what}: {e}", SINK_WRITE_FAILED) from e

    def _request(self, **extra) -> str:
        return json.dumps({"file": self.file, "columns": self.columns, "mode": self.write_mode, **extra})

    def prepare(self) -> None:
        """The folder is writable, the writer is there and an existing file has our columns."""
        self._prepare_folder()
        res = self._run(["check", self._request()], "start")
        if res.returncode != 0:
            reply = _reply(res)
            code = reply.get("code") if reply.get("code") in (SINK_FILE_COLUMNS, SINK_FILE_UNUSABLE) \
                else SINK_WRITER_MISSING
            raise InputError(code, reply.get("message") or "the embedded Parquet writer did not start")

    def write(self, run_id: str, batches) -> int:
        counter = itertools.count()
        staged = None
        try:
            staged = temp_in(self.folder, os.path.basename(self.file), ".ndjson")
            with open(staged, "w", encoding="utf-8") as fh:
                for r in (r for r, _ in zip(itertools.chain.from_iterable(batches), counter)):
                    fh.write(json.dumps(dict(zip(self.columns, null_nan(r))), ensure_ascii=False,
                                        allow_nan=False))
                    fh.write("\n")
            n = next(counter)
            res = self._run(["write", self._request(staged=staged, runId=run_id, rows=n)], "write")
            if res.returncode != 0:
                raise SinkWriteError(f"writing predictions to {self.file} failed: "
                                     f"{_reply(res).get('message') or res.stderr.strip()[-500:]}", SINK_WRITE_FAILED)
            return n
        except (OSError, ValueError) as e:
            raise SinkWriteError(f"writing predictions to {self.file} failed: {e}", SINK_WRITE_FAILED) from e
        finally:
            if staged is not None:
                remove_quietly(staged)

    def write_spark(self, df, run_id: str) -> None:
        raise SinkWriteError("the parquet sink is written by the local executor")


def _reply(res) -> dict:
    """The writer's last stdout line, a JSON {code, message} (or {} when it printed none)."""
    for line in reversed((res.stdout or "").strip().splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return {"message": (res.stderr or "").strip()[-500:]}
