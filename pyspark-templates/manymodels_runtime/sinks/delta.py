"""The delta sink: a Delta table by path or by name, written by the SparkExecutor."""
from __future__ import annotations

from ..paths import spark_path
from .base import SparkOnlySink


class DeltaSink(SparkOnlySink):
    kind = "delta"

    def write_spark(self, df, run_id: str) -> None:
        s, mode = self.raw, self.write_mode
        # mergeSchema: a table written before the label and probabilities columns existed gains them.
        w = df.write.format("delta").option("mergeSchema", "true")
        if mode == "replace_run":
            # Overwrite only this run's rows; run ids are restricted to [A-Za-z0-9._:-], so the
            # literal cannot break out of the predicate.
            w = w.mode("overwrite").option("replaceWhere", f"run_id = '{run_id}'")
        else:
            w = w.mode("append" if mode == "append" else "overwrite")
        if self.selection:
            # A table written before the pipeline turned to model.type auto gains model_type
            # and fallback (null in its earlier rows).
            w = w.option("mergeSchema", "true")
        if s.get("tableName"):
            w.saveAsTable(s["tableName"])
        else:
            w.save(spark_path(s["path"]))
