"""What the train and score stages share whichever executor runs the groups: the exit codes,
the up-front checks of the model type and of the model manifest, and the summary that ends a
run (docs/contracts.md). Both executors import this module; it imports neither of them."""
from __future__ import annotations

import json
import time

from .errors import BAD_SPEC, InputError
from .events import EventWriter, log
from .manifest import MANIFEST_NAME
from .paths import abfss_parts, local_path
from .spec import JobSpec
from .training import resolve_model


EXIT_OK, EXIT_BUDGET, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def check_model_type(spec: JobSpec, custom: dict | None) -> None:
    """An unknown model type or a custom file that fails its sha256 is a config error for the
    whole run (MM414), not 10,000 identical group failures."""
    from .models import UnknownModelError
    selection = spec.model.selection
    if selection is not None:
        # auto: every candidate and the fallback must be a built-in type that does the task.
        for choice in selection.candidates + ((selection.fallback,) if selection.fallback else ()):
            try:
                model = resolve_model(choice.type, None)
            except UnknownModelError as e:
                raise InputError(BAD_SPEC, f"model type auto: {e}") from None
            if spec.task not in model.tasks:
                raise InputError(BAD_SPEC, f"model type auto: {choice.type!r} does not do {spec.task} "
                                           f"(it does {', '.join(sorted(model.tasks))})")
        return
    try:
        resolve_model(spec.model.type, custom)
    except UnknownModelError as e:
        raise InputError(BAD_SPEC, str(e)) from None
    except (ValueError, OSError, SyntaxError) as e:
        raise InputError(BAD_SPEC, f"model {spec.model.type!r} cannot be loaded: {e}") from None


def finish(events: EventWriter, doc: dict, t_start: float, manifest_path: str, exit_code: int | None = None) -> int:
    exceeded = doc["failureBudget"]["exceeded"]
    seconds = round(time.perf_counter() - t_start, 3)
    events.emit("summary", counts=doc["counts"], exceeded=exceeded, seconds=seconds, manifest=MANIFEST_NAME)
    c = doc["counts"]
    log(f"{doc['stage']} finished in {seconds:.1f}s: {c['ok']} ok, {c['failed']} failed, {c['skipped']} skipped"
        f"{' — failure budget exceeded' if exceeded else ''}; manifest {manifest_path}")
    if exit_code is not None:
        return exit_code
    return EXIT_BUDGET if exceeded else EXIT_OK


def load_model_manifest(path: str, spec: JobSpec) -> dict[str, dict]:
    """groupId → model entry; MM414 when the file is unreadable or malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as e:
        raise InputError(BAD_SPEC, f"cannot read the model manifest {path}: {e}") from None
    problems = []
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise InputError(BAD_SPEC, f"the model manifest {path} must be an object with a 'models' array")
    if doc.get("specVersion") != 1:
        problems.append(f"specVersion must be 1, got {doc.get('specVersion')!r}")
    if doc.get("pipeline") not in (None, spec.pipeline):
        problems.append(f"it is for pipeline {doc.get('pipeline')!r}, this JobSpec is {spec.pipeline!r}")
    out = {}
    for i, m in enumerate(doc["models"]):
        if not isinstance(m, dict):
            problems.append(f"models[{i}] must be an object")
            continue
        miss = [k for k in ("groupId", "keys", "artifactUri", "sha256") if not m.get(k)]
        if miss:
            problems.append(f"models[{i}] lacks {', '.join(miss)}")
            continue
        if not isinstance(m["keys"], dict):
            problems.append(f"models[{i}].keys must be an object")
            continue
        if abfss_parts(str(m["artifactUri"])):
            # Resolved here on the driver: an executor cannot mount the lake itself (paths.py).
            m = {**m, "artifactUri": local_path(str(m["artifactUri"]))}
        out[str(m["groupId"])] = m
    if problems:
        raise InputError(BAD_SPEC, f"the model manifest {path} is not valid:\n  " + "\n  ".join(problems[:20]))
    return out
