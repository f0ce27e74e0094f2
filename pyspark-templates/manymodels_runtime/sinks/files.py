"""What the csv and parquet sinks (csv.py, parquet.py) share: one predictions file on this
machine, written by the LocalExecutor.

`path` is the file, or a folder (an existing one, or a path ending in "/"), which then holds
`<table>.csv` / `<table>.parquet`. The file holds every run's rows, as the sqlite sink's
`<table>_all` view does: `replace_run` (the default) keeps the other runs' rows and replaces
this run's, `append` keeps every row, `overwrite` keeps none. Either way the new file is
written whole under a temporary name in the same folder, flushed and renamed over the old one,
so a reader sees the old file or the new one, never half of one; a failure leaves the old file
and removes the temporary one.

CSV is written here (the standard library's csv module; NULL is an empty field). Python has no
Parquet writer without pyarrow, so the parquet sink stages the rows as NDJSON beside the target
and hands them to the CLI's embedded DuckDB (`MANYMODELS_NODE` runs `MANYMODELS_PARQUET_WRITER`,
src/jobs/local/parquet-writer.ts), which merges them with the old file and does the rename.
Column names and values never become code: the CSV header is written as data, the DuckDB side
quotes every identifier and literal.
"""
from __future__ import annotations

import math
import os
import tempfile

from ..errors import InputError
from ..spec import JobSpec, resolve_path
from .base import has_selection, prediction_columns

SINK_FILE_COLUMNS = "MM460"   # an existing predictions file has other columns
SINK_FILE_UNUSABLE = "MM461"  # the predictions path cannot be written (a folder where a file goes, no permission)
SINK_WRITER_MISSING = "MM462"  # the parquet sink has no embedded writer (not run by the CLI)
SINK_WRITE_FAILED = "MM463"   # writing the predictions file failed after the groups ran


def target_file(path: str, table: str, ext: str) -> str:
    """The predictions file of a sink path: the path itself, or `<table>.<ext>` in a folder."""
    p = resolve_path(path)
    if path.endswith(("/", os.sep)) or os.path.isdir(p):
        return os.path.join(p, f"{table}.{ext}")
    return p


def temp_in(folder: str, name: str, suffix: str) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=folder)
    os.close(fd)
    return tmp


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class FileSink:
    kind = ""
    ext = ""
    needs_spark = False

    def __init__(self, path: str, table: str, key_columns, write_mode: str, selection: bool = False):
        self.file = target_file(path, table, self.ext)
        self.folder = os.path.dirname(self.file)
        self.columns = prediction_columns(key_columns, selection)
        self.write_mode = write_mode

    @classmethod
    def from_spec(cls, spec: JobSpec):
        sink = spec.scoring.sink
        return cls(sink.raw["path"], sink.raw.get("table") or "predictions", spec.columns.keys,
                   spec.scoring.write_mode, has_selection(spec))

    def _prepare_folder(self) -> None:
        if os.path.isdir(self.file):
            raise InputError(SINK_FILE_UNUSABLE, f"the predictions file {self.file} is a folder; name a file, "
                                                 "or end the path with / to write <table>." + self.ext + " in it")
        try:
            os.makedirs(self.folder, exist_ok=True)
            remove_quietly(temp_in(self.folder, os.path.basename(self.file), ".check"))
        except OSError as e:
            raise InputError(SINK_FILE_UNUSABLE, f"cannot write the predictions file {self.file}: "
                                                 f"{e.strerror or e}") from None


def null_nan(r: tuple) -> tuple:
    # NaN (a missing prediction) is NULL: an empty field, like None.
    return tuple(None if isinstance(v, float) and math.isnan(v) else v for v in r)


