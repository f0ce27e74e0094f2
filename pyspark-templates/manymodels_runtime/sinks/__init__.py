"""Where the score stage writes its predictions: one module per sink kind, chosen here by the
JobSpec's scoring.sink.type. Adding a sink: docs/architecture.md ("Adding a sink")."""
from __future__ import annotations

from ..errors import BAD_SINK, InputError
from ..spec import JobSpec
from .base import Sink, prediction_columns
from .delta import DeltaSink
from .csv import CsvSink
from .parquet import ParquetSink
from .sqlite import SqliteSink, quote_ident
from .synapse_sql import SynapseSqlSink

# scoring.sink.type → the Sink that writes it.
SINKS: dict[str, type] = {cls.kind: cls for cls in (SqliteSink, CsvSink, ParquetSink, DeltaSink, SynapseSqlSink)}


def sink_for(spec: JobSpec) -> Sink:
    """The Sink of a score JobSpec; MM415 when it has none or names an unknown kind."""
    sink = spec.scoring.sink
    if sink is None:
        raise InputError(BAD_SINK, "scoring.sink is required to score")
    cls = SINKS.get(sink.type)
    if cls is None:
        raise InputError(BAD_SINK, f"unsupported sink type {sink.type!r}")
    return cls.from_spec(spec)


__all__ = ["SINKS", "Sink", "sink_for", "prediction_columns", "quote_ident", "SqliteSink", "CsvSink",
           "ParquetSink", "DeltaSink", "SynapseSqlSink"]
