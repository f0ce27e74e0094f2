"""The synapse_sql sink: a Synapse Dedicated SQL Pool table, through Databricks' Azure Synapse
connector (flavor databricks) or Synapse's own synapsesql connector (flavor synapse)."""
from __future__ import annotations

import os

from ..spec import synapse_table
from .base import SparkOnlySink

MAX_STR_LENGTH = 4000


class SynapseSqlSink(SparkOnlySink):
    kind = "synapse_sql"

    def write_spark(self, df, run_id: str) -> None:
        if self.raw["flavor"] == "databricks":
            _write_sqldw(df, self.raw, self.write_mode, run_id)
        else:
            _write_synapsesql(df, self.raw, self.write_mode)


def _write_sqldw(df, s: dict, mode: str, run_id: str) -> None:
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
    if mode == "replace_run":
        # The connector runs preActions before loading. Schema, table and run id were all
        # checked against strict patterns when the JobSpec was read, so none can break out.
        w = w.option("preActions", f"IF OBJECT_ID('{table}') IS NOT NULL DELETE FROM {table} "
                                   f"WHERE run_id = '{run_id}'").mode("append")
    else:
        w = w.mode("append" if mode == "append" else "overwrite")
    w.save()


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
