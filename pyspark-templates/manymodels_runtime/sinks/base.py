"""The Sink protocol: where the score stage writes its predictions. One module per sink kind
(sqlite.py, delta.py, synapse_sql.py), chosen by the JobSpec's scoring.sink.type through the
registry in __init__.py."""
from __future__ import annotations

import os
from typing import Any, ClassVar, Iterable, Protocol, runtime_checkable

from ..errors import BAD_SINK, InputError, SinkWriteError
from ..spec import AUTO, PREDICTION_COLUMNS, SELECTION_COLUMNS, JobSpec


def prediction_columns(key_columns, selection: bool = False) -> list[str]:
    """The columns of every predictions table: the pipeline's keys, then the fixed ones (and,
    for a model.type auto pipeline, the model type and fallback marker)."""
    return list(key_columns) + list(PREDICTION_COLUMNS) + (list(SELECTION_COLUMNS) if selection else [])


def has_selection(spec: JobSpec) -> bool:
    """Whether the spec's predictions carry SELECTION_COLUMNS (model.type auto)."""
    return spec.model.type == AUTO


@runtime_checkable
class Sink(Protocol):
    kind: ClassVar[str]          # scoring.sink.type
    needs_spark: ClassVar[bool]  # True: only the SparkExecutor can write it

    def prepare(self) -> None:
        """Up-front checks before any group runs; a problem is an InputError MM415."""

    def write(self, run_id: str, batches: Iterable[Iterable[tuple]]) -> int:
        """LocalExecutor: writes row tuples (prediction_columns order); returns the row count.
        A failure is a SinkWriteError."""

    def write_spark(self, df: Any, run_id: str) -> None:
        """SparkExecutor: writes the prediction DataFrame with the sink's connector."""


def check_env_named(raw: dict) -> None:
    """Credentials travel as names of environment variables: each one named must be set."""
    for k in ("userEnv", "passwordEnv"):
        env = raw.get(k)
        if env and env not in os.environ:
            raise InputError(BAD_SINK, f"scoring.sink.{k} names the environment variable {env}, which is not set")


class SparkOnlySink:
    """Base of the sinks that only a Spark connector writes (delta, synapse_sql)."""

    kind: ClassVar[str] = ""
    needs_spark: ClassVar[bool] = True

    def __init__(self, raw: dict, write_mode: str, selection: bool = False):
        self.raw = raw
        self.write_mode = write_mode
        self.selection = selection   # the predictions carry SELECTION_COLUMNS

    @classmethod
    def from_spec(cls, spec: JobSpec):
        return cls(spec.scoring.sink.raw, spec.scoring.write_mode, has_selection(spec))

    def prepare(self) -> None:
        check_env_named(self.raw)

    def write(self, run_id: str, batches) -> int:
        # The LocalExecutor refuses a sink that needs Spark before any group runs.
        raise SinkWriteError(f"the {self.kind} sink needs Spark")
