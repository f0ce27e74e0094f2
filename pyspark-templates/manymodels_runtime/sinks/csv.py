"""The csv sink: the predictions file written with the standard library's csv module (a header
row, NULL as an empty field), whole under a temporary name and renamed (files.py)."""
from __future__ import annotations

import csv
import itertools
import os

from ..errors import InputError, SinkWriteError
from .files import (SINK_FILE_COLUMNS, SINK_FILE_UNUSABLE, SINK_WRITE_FAILED, FileSink, null_nan, remove_quietly,
                    temp_in)


class CsvSink(FileSink):
    kind = "csv"
    ext = "csv"

    def prepare(self) -> None:
        """The folder is writable and an existing file has our columns — before any group runs."""
        self._prepare_folder()
        if os.path.exists(self.file):
            self._check_header(self._header())

    def _header(self) -> list[str]:
        try:
            with open(self.file, newline="", encoding="utf-8") as fh:
                return next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise InputError(SINK_FILE_UNUSABLE, f"cannot read the predictions file {self.file}: {e}") from None

    def _check_header(self, header: list[str]) -> None:
        if header != self.columns:
            raise InputError(SINK_FILE_COLUMNS, f"the predictions file {self.file} exists with other columns "
                                                f"({', '.join(header[:12]) or 'none'}); this pipeline writes "
                                                f"{', '.join(self.columns)}. Move it away or name another path")

    def _kept_rows(self, run_id: str):
        """The old file's rows this write keeps (write modes as the module docstring says)."""
        if self.write_mode == "overwrite" or not os.path.exists(self.file):
            return
        run_col = self.columns.index("run_id")
        with open(self.file, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            if header != self.columns:
                raise SinkWriteError(f"the predictions file {self.file} changed its columns during the run",
                                     SINK_FILE_COLUMNS)
            for r in reader:
                if self.write_mode == "append" or (len(r) > run_col and r[run_col] != run_id):
                    yield r

    def write(self, run_id: str, batches) -> int:
        counter = itertools.count()
        tmp = None
        try:
            tmp = temp_in(self.folder, os.path.basename(self.file), ".tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(self.columns)
                w.writerows(self._kept_rows(run_id))
                w.writerows(null_nan(r) for r, _ in zip(itertools.chain.from_iterable(batches), counter))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.file)
            tmp = None
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise SinkWriteError(f"writing predictions to {self.file} failed: {e}", SINK_WRITE_FAILED) from e
        finally:
            if tmp is not None:
                remove_quietly(tmp)
        return next(counter)

    def write_spark(self, df, run_id: str) -> None:
        raise SinkWriteError("the csv sink is written by the local executor")
