"""The train and score stages behind the entry scripts: arguments, up-front checks, the choice
of executor (executor.py: LocalExecutor or SparkExecutor, which run the groups and write the
manifest), the events and the exit code (docs/contracts.md).

Exit codes: 0 finished (failures within budget); 1 failure budget exceeded, or the
predictions could not be written (the manifest is written either way); 2 a problem found
before any group ran (an `error` event carries its MM4xx code); 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os

from .compat import check_runtime, runtime_name
from .errors import BAD_SPEC, InputError
from .events import EventWriter, log
from .executor import Executor, StageRun
from .manifest import BUNDLE_NAME, bundle_artifacts
from .paths import abfss_parts, local_path
from .process_lifetime import die_with_parent
from .spec import check_run_id, load_job_spec
from .stage_common import EXIT_INPUT, EXIT_INTERRUPTED


class _Interrupted(Exception):
    pass


def _parser(stage: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=f"{stage}_entry.py", description=f"manymodels {stage} stage runtime")
    ap.add_argument("--spec", required=True, help="JobSpec JSON written by `manymodels compile`")
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--out", required=True, help="run directory (manifest, artifacts, events)")
    if stage == "score":
        ap.add_argument("--models", required=True, help="model manifest JSON written by the CLI")
    ap.add_argument("--executor", choices=("local", "spark"), default="local")
    ap.add_argument("--workers", type=int, default=None, help="0 = every core (default: the JobSpec's)")
    ap.add_argument("--events", default=None, help="'-' for stdout, or a file (default: RUN_DIR/events.ndjson)")
    ap.add_argument("--only-groups", default=None, help="JSON array of groupIds to run (resume)")
    ap.add_argument("--skip-groups", default=None,
                    help="JSON array of groupIds not to run: done by the stopped run being resumed")
    ap.add_argument("--cache-dir", default=os.path.join(".manymodels", "cache"),
                    help="parsed-input cache (default .manymodels/cache under the project root)")
    ap.add_argument("--no-cache", action="store_true", help="parse the input again and write no cache")
    ap.add_argument("--input-entry", default=None,
                    help="local executor: a parsed-input cache entry the CLI's embedded reader wrote; "
                         "loaded instead of reading data.path")
    ap.add_argument("--runtime-zip", default=None,
                    help="import the runtime package from this zip (remote runs; read by the entry script)")
    if stage == "train":
        ap.add_argument("--bundle-artifacts", action="store_true",
                        help=f"also write RUN_DIR/{BUNDLE_NAME}: every ok group's artifact in one file, "
                             "so a remote CLI downloads one file instead of thousands")
    return ap


def _resolve_path_args(args) -> None:
    """On a Synapse pool the CLI passes abfss:// URIs for the files the job opens itself; they are
    opened through a mount of the lake (paths.py). Elsewhere (and under the test suite's
    emulator, which hands over local paths) this changes nothing."""
    for name in ("spec", "out", "events", "models", "only_groups", "skip_groups"):
        value = getattr(args, name, None)
        if isinstance(value, str) and abfss_parts(value):
            setattr(args, name, local_path(value))


def main(stage: str, argv: list[str]) -> int:
    args = _parser(stage).parse_args(argv)
    _resolve_path_args(args)
    events = EventWriter(args.events if args.events is not None else os.path.join(args.out, "events.ndjson"))
    try:
        return _run(stage, args, events)
    except InputError as e:
        log(f"error {e.code}: {e.message}")
        events.error(e.code, e.message)
        return EXIT_INPUT
    except (KeyboardInterrupt, _Interrupted):
        log("interrupted")
        return EXIT_INTERRUPTED
    finally:
        events.close()


def _run(stage: str, args, events: EventWriter) -> int:
    import signal

    # The local engine's runtime lives only as long as the CLI that started it, which asks for
    # that with MANYMODELS_DIE_WITH_PARENT=1: no orphan writes artifacts or predictions after a
    # kill -9 of the CLI. Its workers die with it the same way (worker_pool).
    if os.environ.get("MANYMODELS_DIE_WITH_PARENT") == "1":
        die_with_parent(os.getppid(), EXIT_INTERRUPTED)

    def on_term(signum, frame):
        raise _Interrupted()
    # The CLI cancels a local run with SIGTERM: stop the workers and exit like Ctrl-C.
    signal.signal(signal.SIGTERM, on_term)

    check_run_id(args.run_id)
    if args.executor == "spark":
        # A cluster or pool without what the runtime needs fails here, naming the runtime.
        log(f"runtime: {runtime_name()}; " + ", ".join(f"{k} {v}" for k, v in check_runtime().items()))
    spec = load_job_spec(args.spec, expected_stage=stage)
    workers = args.workers if args.workers is not None else spec.workers
    if workers < 0:
        raise InputError(BAD_SPEC, "--workers must be 0 (every core) or more")
    only = _read_group_ids("--only-groups", args.only_groups) if args.only_groups else None
    skip = _read_group_ids("--skip-groups", args.skip_groups) if args.skip_groups else None
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    executor = choose_executor(args.executor, workers, None if args.no_cache else os.path.abspath(args.cache_dir),
                               os.path.abspath(args.input_entry) if args.input_entry else None)
    run = StageRun(spec=spec, run_id=args.run_id, out=out, events=events, only=only, skip=skip,
                   models_path=getattr(args, "models", None))
    code = executor.train(run) if stage == "train" else executor.score(run)
    # Also after a run past its failure budget: its ok groups are registered all the same.
    if stage == "train" and args.bundle_artifacts:
        bundle_artifacts(out)
    return code


def _read_group_ids(flag: str, path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            ids = json.load(fh)
    except (OSError, ValueError) as e:
        raise InputError(BAD_SPEC, f"cannot read {flag} {path}: {e}") from None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InputError(BAD_SPEC, f"{flag} {path} must hold a JSON array of groupId strings")
    return set(ids)


def choose_executor(name: str, workers: int, cache_dir: str | None, input_entry: str | None = None) -> Executor:
    """The one place that maps --executor to an Executor. Spark's module is imported only
    when asked for: the local engine never loads it."""
    if name == "spark":
        from .spark_executor import SparkExecutor
        return SparkExecutor()
    from .local_executor import LocalExecutor
    return LocalExecutor(workers, cache_dir, input_entry)


__all__ = ["main", "choose_executor"]
