"""The sqlite sink: SQLite through the standard library, written by the LocalExecutor from
the driver's rows, and by the SparkExecutor on spark-local after collecting the predictions.

Layout (docs/contracts.md#predictions):
- `<table>`: the current forecast, one row per (pipeline, keys, time) — for a regression or
  classification run the input row (`row_index`) stands where a forecast has its time. A
  unique index holds it so.
- `<table>_history`: the rows a later write superseded, with `superseded_at` and
  `superseded_by` (the run id that replaced them); every earlier run stays readable by run id.
- `<table>_all`: a view, both tables together (`superseded_at` NULL for current rows).

Writing a run is one transaction: this run's earlier rows go (replace_run; every row for
overwrite), the run's rows are staged in a temporary table, the current rows they supersede
move to the history table, and the staged rows are inserted. A crash at any point leaves the
previous state. Identifiers (table and key column names come from the user's pipeline) are
always quoted, values are always bound parameters: no user string ever becomes SQL text.
"""
from __future__ import annotations

import itertools
import os
import sqlite3

import numpy as np

from ..errors import BAD_SINK, InputError, SinkWriteError
from ..events import utc_now_iso
from ..spec import JobSpec, resolve_path
from .base import has_selection, prediction_columns

FIXED_TYPES = {"time": "TEXT", "forecast_origin": "TEXT", "row_index": "INTEGER", "prediction": "REAL",
               "label": "TEXT", "probabilities": "TEXT", "model_version": "TEXT", "model_name": "TEXT", "pipeline": "TEXT", "run_id": "TEXT",
               "scored_at": "TEXT", "model_type": "TEXT", "fallback": "INTEGER"}
HISTORY_COLUMNS = ("superseded_at", "superseded_by")
# Columns this version added: a table without them is from an earlier manymodels.
KEY_COLUMNS_ADDED = ("pipeline", "forecast_origin")
# Nullable columns a later version added (classification's label and probabilities): a table
# without them gets them (ALTER TABLE … ADD COLUMN), its rows NULL there.
COLUMNS_ADDED_NULLABLE = ("label", "probabilities")
# Columns a table gains when its pipeline turns to model.type auto: added in place (NULL in
# the rows written before).
ADDABLE_COLUMNS = ("model_type", "fallback")
STAGE = "temp.mm_incoming"


def quote_ident(name: str) -> str:
    if "\x00" in name:
        raise InputError(BAD_SINK, f"identifier {name!r} contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


class SqliteSink:
    kind = "sqlite"
    needs_spark = False

    def __init__(self, path: str, table: str, key_columns, write_mode: str, selection: bool = False):
        self.path = resolve_path(path)
        self.table = table
        self.history = table + "_history"
        self.view = table + "_all"
        self.columns = prediction_columns(key_columns, selection)
        self.key_columns = list(key_columns)
        self.write_mode = write_mode

    @classmethod
    def from_spec(cls, spec: JobSpec) -> "SqliteSink":
        sink = spec.scoring.sink
        return cls(sink.raw["path"], sink.raw["table"], spec.columns.keys, spec.scoring.write_mode,
                   has_selection(spec))

    def _connect(self) -> sqlite3.Connection:
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        # isolation_level=None: transactions are begun and committed explicitly below.
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def _identity(self, alias: str = "") -> list[str]:
        """The current table's unique key, as expressions (over `alias` when given): pipeline,
        the keys, the time and the input row (one of the two is NULL, so both are coalesced)."""
        a = alias + "." if alias else ""
        return ([f"{a}pipeline"] + [a + quote_ident(k) for k in self.key_columns] +
                [f"IFNULL({a}time, '')", f"IFNULL({a}row_index, -1)"])

    def _check_columns(self, con: sqlite3.Connection, table: str, wanted: list[str]) -> bool:
        """True when columns were added (ADDABLE_COLUMNS); MM415 when others are missing."""
        have = {r[1] for r in con.execute(f"PRAGMA table_info({quote_ident(table)})")}
        missing = [c for c in wanted if c not in have]
        if not missing:
            return False
        if set(missing) <= set(ADDABLE_COLUMNS):
            for c in missing:
                con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(c)} {FIXED_TYPES[c]}")
            return True
        if set(missing) <= set(KEY_COLUMNS_ADDED):
            raise InputError(BAD_SINK, f"the table {table!r} in {self.path} was written by an earlier manymodels "
                                       f"and lacks the column(s) {', '.join(missing)} that key each prediction "
                                       f"(pipeline, keys, time, forecast origin); keep it under another name "
                                       f"(ALTER TABLE {quote_ident(table)} RENAME TO "
                                       f"{quote_ident(table + '_before_keys')}) or drop it, then score again — "
                                       "the next score run creates the new layout")
        raise InputError(BAD_SINK, f"the table {table!r} in {self.path} exists without the "
                                   f"column(s) {', '.join(missing)}; use another table name or "
                                   "drop the table")

    def _add_nullable_columns(self, con: sqlite3.Connection, table: str) -> int:
        have = {r[1] for r in con.execute(f"PRAGMA table_info({quote_ident(table)})")}
        missing = [c for c in COLUMNS_ADDED_NULLABLE if c not in have]
        for c in missing:
            con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(c)} {FIXED_TYPES[c]}")
        return len(missing)

    def prepare(self) -> None:
        """Creates the tables, the unique index and the view if missing, and checks existing
        ones have our columns — before any group runs, so a mismatched table is an MM415 up
        front, not a lost run."""
        try:
            con = self._connect()
        except (sqlite3.Error, OSError) as e:
            raise InputError(BAD_SINK, f"cannot open the SQLite sink {self.path}: {e}") from None
        try:
            t, h = quote_ident(self.table), quote_ident(self.history)
            cols = [f"{quote_ident(c)} {FIXED_TYPES.get(c, 'TEXT')}" for c in self.columns]
            con.execute("BEGIN IMMEDIATE")
            con.execute(f"CREATE TABLE IF NOT EXISTS {t} ({', '.join(cols)})")
            added = self._add_nullable_columns(con, self.table)
            added = self._check_columns(con, self.table, self.columns) or added
            con.execute(f"CREATE TABLE IF NOT EXISTS {h} ({', '.join(cols + [f'{c} TEXT' for c in HISTORY_COLUMNS])})")
            added = self._add_nullable_columns(con, self.history) or added
            added = self._check_columns(con, self.history, self.columns + list(HISTORY_COLUMNS)) or added
            if added:
                # The view lists its columns: it is rebuilt over the wider tables.
                con.execute(f"DROP VIEW IF EXISTS {quote_ident(self.view)}")
            con.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {quote_ident(self.table + '__current')} "
                        f"ON {t} ({', '.join(self._identity())})")
            # replace_run deletes by run_id: without an index that is a full scan per run.
            con.execute(f"CREATE INDEX IF NOT EXISTS {quote_ident(self.table + '__run_id')} ON {t} (run_id)")
            con.execute(f"CREATE INDEX IF NOT EXISTS {quote_ident(self.history + '__run_id')} ON {h} (run_id)")
            listed = ", ".join(quote_ident(c) for c in self.columns)
            con.execute(f"CREATE VIEW IF NOT EXISTS {quote_ident(self.view)} AS "
                        f"SELECT {listed}, NULL AS superseded_at, NULL AS superseded_by FROM {t} "
                        f"UNION ALL SELECT {listed}, superseded_at, superseded_by FROM {h}")
            con.execute("COMMIT")
        except sqlite3.Error as e:
            raise InputError(BAD_SINK, f"cannot prepare table {self.table!r} in {self.path}: {e}") from None
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()

    def write(self, run_id: str, batches) -> int:
        """Writes every row of `batches` (an iterable of row-tuple iterables, columns in
        prediction_columns order) in one transaction, as the module docstring says; returns
        the number of rows."""
        t, h = quote_ident(self.table), quote_ident(self.history)
        listed = ", ".join(quote_ident(c) for c in self.columns)
        match = " AND ".join(f"{c} = {n}" for c, n in zip(self._identity("c"), self._identity("n")))
        counter = itertools.count()
        try:
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                if self.write_mode == "replace_run":
                    con.execute(f"DELETE FROM {t} WHERE run_id = ?", (run_id,))
                    con.execute(f"DELETE FROM {h} WHERE run_id = ?", (run_id,))
                elif self.write_mode == "overwrite":
                    con.execute(f"DELETE FROM {t}")
                    con.execute(f"DELETE FROM {h}")
                con.execute(f"DROP TABLE IF EXISTS {STAGE}")
                con.execute(f"CREATE TABLE {STAGE} AS SELECT {listed} FROM {t} WHERE 0")
                # Unique like the current table: a run never holds two rows for one key.
                con.execute(f"CREATE UNIQUE INDEX temp.mm_incoming_key ON mm_incoming ({', '.join(self._identity())})")
                # zip with the counter tallies rows without materialising them.
                con.executemany(f"INSERT INTO {STAGE} ({listed}) VALUES ({', '.join('?' for _ in self.columns)})",
                                (r for r, _ in zip(itertools.chain.from_iterable(batches), counter)))
                # Both statements find the current rows through the unique indexes.
                con.execute(f"INSERT INTO {h} ({listed}, superseded_at, superseded_by) "
                            f"SELECT {', '.join('c.' + quote_ident(c) for c in self.columns)}, ?, ? "
                            f"FROM {STAGE} AS n JOIN {t} AS c ON {match}", (utc_now_iso(), run_id))
                con.execute(f"DELETE FROM {t} AS c WHERE EXISTS (SELECT 1 FROM {STAGE} AS n WHERE {match})")
                con.execute(f"INSERT INTO {t} ({listed}) SELECT {listed} FROM {STAGE}")
                con.execute(f"DROP TABLE {STAGE}")
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
