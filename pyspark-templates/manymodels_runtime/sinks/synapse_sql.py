"""The synapse_sql sink: a Synapse Dedicated SQL Pool table, through Databricks' Azure Synapse
connector (flavor databricks) or Synapse's own synapsesql connector (flavor synapse)."""
from __future__ import annotations

import os
import re

from ..spec import synapse_table
from .base import SparkOnlySink

MAX_STR_LENGTH = 4000
# The SQL type of a column the connector adds to an existing table, by its Spark type.
SQL_TYPES = {"DoubleType": "FLOAT", "FloatType": "FLOAT", "LongType": "BIGINT", "IntegerType": "INT",
             "BooleanType": "BIT", "TimestampType": "DATETIME2"}
# The prediction columns the runtime writes are snake-case names of its own; the key columns
# are never added (every table manymodels created has them).
OWN_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class SynapseSqlSink(SparkOnlySink):
    kind = "synapse_sql"
    keys: tuple = ()

    @classmethod
    def from_spec(cls, spec):
        sink = super().from_spec(spec)
        sink.keys = tuple(spec.columns.keys)
        return sink

    def write_spark(self, df, run_id: str) -> None:
        if self.raw["flavor"] == "databricks":
            _write_sqldw(df, self.raw, self.write_mode, run_id, self.keys)
        else:
            _write_synapsesql(df, self.raw, self.write_mode)


def _write_sqldw(df, s: dict, mode: str, run_id: str, keys: tuple = ()) -> None:
    """Azure Synapse connector of Databricks (com.databricks.spark.sqldw)."""
    msi = (s.get("auth") or "managed_identity") == "managed_identity"
    table = synapse_table(s)
    w = (df.write.format("com.databricks.spark.sqldw")
         .option("url", s["url"]).option("tempDir", s["tempDir"]).option("dbTable", table)
         # Exactly one way of giving the SQL pool access to the staging storage.
         .option("useAzureMSI", "true" if msi else "false")
         .option("forwardSparkAzureStorageCredentials", "false" if msi else "true")
         # A table the connector creates holds string columns as NVARCHAR(maxStrLength): the
         # default 256 is too short for a classification's probabilities (a JSON object).
         .option("maxStrLength", str(MAX_STR_LENGTH)))
    for opt, env in (("user", s.get("userEnv")), ("password", s.get("passwordEnv"))):
        if env:
            w = w.option(opt, os.environ[env])
    if mode in ("replace_run", "append"):
        # The connector runs preActions (`;`-separated) before loading into the existing table.
        # Schema, table and run id were all checked against strict patterns when the JobSpec
        # was read, and column names are the runtime's own (OWN_COLUMN), so none can break out.
        actions = add_missing_columns(df, table, keys)
        if mode == "replace_run":
            actions.append(f"IF OBJECT_ID('{table}') IS NOT NULL DELETE FROM {table} WHERE run_id = '{run_id}'")
        if actions:
            w = w.option("preActions", ";".join(actions))
        w = w.mode("append")
    else:
        w = w.mode("overwrite")
    w.save()


def add_missing_columns(df, table: str, keys: tuple = ()) -> list[str]:
    """For each prediction column, the T-SQL that adds it to an existing table that lacks it (a
    table an older manymodels created has no model_type or fallback): nullable, so the rows
    already there keep NULL in it."""
    out = []
    for f in df.schema.fields:
        if f.name in keys or not OWN_COLUMN.match(f.name):
            continue
        sql_type = SQL_TYPES.get(type(f.dataType).__name__, f"NVARCHAR({MAX_STR_LENGTH})")
        out.append(f"IF OBJECT_ID('{table}') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sys.columns "
                   f"WHERE object_id = OBJECT_ID('{table}') AND name = '{f.name}') "
                   f"ALTER TABLE {table} ADD [{f.name}] {sql_type} NULL")
    return out


def _write_synapsesql(df, s: dict, mode: str) -> None:
    """Synapse's Dedicated SQL Pool connector (synapsesql); replace_run is refused at spec
    load because this connector runs no delete. Without a server the connector finds the
    endpoint from the database of the three-part name."""
    import com.microsoft.spark.sqlanalytics  # noqa: F401  (adds DataFrameWriter.synapsesql)
    from com.microsoft.spark.sqlanalytics.Constants import Constants
    w = df.write
    if s.get("server"):
        w = w.option(Constants.SERVER, s["server"])
    if s.get("tempDir"):
        w = w.option(Constants.TEMP_FOLDER, s["tempDir"])
    for const, env in ((Constants.USER, s.get("userEnv")), (Constants.PASSWORD, s.get("passwordEnv"))):
        if env:
            w = w.option(const, os.environ[env])
    w.mode("append" if mode == "append" else "overwrite").synapsesql(synapse_table(s))
