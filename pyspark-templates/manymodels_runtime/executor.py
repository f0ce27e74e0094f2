"""The seam between a stage and whatever runs its groups: one run's inputs (StageRun) and the
Executor protocol that LocalExecutor (forked workers over every core, local_executor.py) and
SparkExecutor (applyInPandas, spark_executor.py) implement. stages.py picks one of the two and
knows nothing else about them; this module imports neither."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .events import EventWriter
from .spec import JobSpec


@dataclass(frozen=True)
class StageRun:
    """What one train or score run hands its executor, after the up-front checks of stages.py."""
    spec: JobSpec
    run_id: str
    out: str                      # the run directory, absolute
    events: EventWriter
    only: set[str] | None = None  # --only-groups (resume): just these groupIds
    skip: set[str] | None = None  # --skip-groups (train --resume of a stopped run): not these
    models_path: str | None = None  # score: the model manifest written by the CLI


@runtime_checkable
class Executor(Protocol):
    """Runs every group of one stage and writes the run manifest; returns the exit code
    (stage_common: EXIT_OK, or EXIT_BUDGET past the failure budget or when the predictions
    could not be written). Raises InputError for a problem found before any group ran."""

    name: str  # "local" | "spark": the manifest's executor

    def train(self, run: StageRun) -> int: ...

    def score(self, run: StageRun) -> int: ...
