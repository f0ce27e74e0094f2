"""The sqlite sink: SQLite through the standard library, written by the LocalExecutor from
the driver's rows, and by the SparkExecutor on spark-local after collecting the predictions.

Identifiers (table and key column names come from the user's pipeline) are always quoted,
values are always bound parameters: no user string ever becomes SQL text. The whole write
is one transaction, so a reader sees either the previous rows or all of this run's rows.
"""
from __future__ import annotations

import itertools
import os
import sqlite3

import numpy as np

from ..errors import BAD_SINK, InputError, SinkWriteError
from ..spec import JobSpec, resolve_path
from .base import prediction_columns

FIXED_TYPES = {"time": "TEXT", "row_index": "INTEGER", "prediction": "REAL", "model_version": "TEXT",
               "model_name": "TEXT", "run_id": "TEXT", "scored_at": "TEXT"}


def quote_ident(name: str) -> str:
    if "\x00" in name:
        raise InputError(BAD_SINK, f"identifier {name!r} contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


class SqliteSink:
    kind = "sqlite"
    needs_spark = False

    def __init__(self, path: str, table: str, key_columns, write_mode: str):
        self.path = resolve_path(path)
        self.table = table
        self.columns = prediction_columns(key_columns)
        self.key_columns = list(key_columns)
        self.write_mode = write_mode

    @classmethod
    def from_spec(cls, spec: JobSpec) -> "SqliteSink":
        sink = spec.scoring.sink
        return cls(sink.raw["path"], sink.raw["table"], spec.columns.keys, spec.scoring.write_mode)

    def _connect(self) -> sqlite3.Connection:
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        # isolation_level=None: transactions are begun and committed explicitly below.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def prepare(self) -> None:
        """Creates the table if missing and checks an existing one has our columns — before
        any group runs, so a mismatched table is an MM415 up front, not a lost run."""
        try:
            con = self._connect()
        except (sqlite3.Error, OSError) as e:
            raise InputError(BAD_SINK, f"cannot open the SQLite sink {self.path}: {e}") from None
        try:
            t = quote_ident(self.table)
            cols = ", ".join(f"{quote_ident(c)} {FIXED_TYPES.get(c, 'TEXT')}" for c in self.columns)
            con.execute(f"CREATE TABLE IF NOT EXISTS {t} ({cols})")
            have = {r[1] for r in con.execute(f"PRAGMA table_info({t})")}
            missing = [c for c in self.columns if c not in have]
            if missing:
                raise InputError(BAD_SINK, f"the table {self.table!r} in {self.path} exists without the "
                                           f"column(s) {', '.join(missing)}; use another table name or "
                                           "drop the table")
            # replace_run deletes by run_id: without an index that is a full scan per run.
            con.execute(f"CREATE INDEX IF NOT EXISTS {quote_ident(self.table + '__run_id')} ON {t} (run_id)")
        except sqlite3.Error as e:
            raise InputError(BAD_SINK, f"cannot prepare table {self.table!r} in {self.path}: {e}") from None
        finally:
            con.close()

    def write(self, run_id: str, batches) -> int:
        """Writes every row of `batches` (an iterable of row-tuple iterables, columns in
        prediction_columns order) in one transaction; returns the number of rows."""
        t = quote_ident(self.table)
        sql = f"INSERT INTO {t} ({', '.join(quote_ident(c) for c in self.columns)}) " \
              f"VALUES ({', '.join('?' for _ in self.columns)})"
        counter = itertools.count()
        try:
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                if self.write_mode == "replace_run":
                    con.execute(f"DELETE FROM {t} WHERE run_id = ?", (run_id,))
                elif self.write_mode == "overwrite":
                    con.execute(f"DELETE FROM {t}")
                # zip with the counter tallies rows without materialising them.
                con.executemany(sql, (r for r, _ in zip(itertools.chain.from_iterable(batches), counter)))
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            finally:
                con.close()
        except sqlite3.Error as e:
            raise SinkWriteError(f"writing predictions to {self.path} (table {self.table!r}) failed: {e}") from e
        return next(counter)

    def write_spark(self, df, run_id: str) -> int:
        """spark-local: the predictions are small enough to come to the driver."""
        pdf = df.toPandas()
        cols = list(pdf.columns)
        rows = (tuple(None if (isinstance(v, float) and np.isnan(v) and c != "prediction") else v
                      for c, v in zip(cols, r)) for r in pdf.itertuples(index=False, name=None))
        return self.write(run_id, [rows])
