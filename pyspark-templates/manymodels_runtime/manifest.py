"""The run manifest (docs/contracts.md): counts, failure budget, atomic write, and the
merge that lets a resumed run (--only-groups) keep the groups it did not re-run.
"""
from __future__ import annotations

import json
import os
import tempfile

from .spec import SPEC_VERSION, JobSpec

MANIFEST_NAME = "run-manifest.json"


def count_statuses(rows: list[dict]) -> dict:
    counts = {"total": len(rows), "ok": 0, "failed": 0, "skipped": 0}
    for r in rows:
        counts[r["status"]] += 1
    return counts


def budget_exceeded(spec: JobSpec, counts: dict) -> bool:
    failed, total = counts["failed"], counts["total"]
    if spec.max_failed is not None and failed > spec.max_failed:
        return True
    if spec.max_failed_fraction is not None and total and failed / total > spec.max_failed_fraction:
        return True
    return False


def build_manifest(spec: JobSpec, run_id: str, started_at: str, finished_at: str, fingerprint: str | None,
                   rows: list[dict], timings: dict, extra_counts: dict | None = None, **extra) -> dict:
    counts = count_statuses(rows)
    if extra_counts:
        counts.update(extra_counts)
    exceeded = budget_exceeded(spec, counts)
    doc = {
        "specVersion": SPEC_VERSION, "runId": run_id, "stage": spec.stage, "pipeline": spec.pipeline,
        "modelType": spec.model.type, "task": spec.task, "startedAt": started_at, "finishedAt": finished_at,
        "dataFingerprint": fingerprint, "counts": counts,
        "failureBudget": {"maxFailed": spec.max_failed, "maxFailedFraction": spec.max_failed_fraction,
                          "exceeded": exceeded},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    doc.update(extra)
    doc["groups"] = rows
    return doc


def write_json_atomic(path: str, doc: dict) -> None:
    """tmp file in the same directory + rename: a reader never sees half a manifest."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2, allow_nan=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def merge_previous(path: str, run_id: str, stage: str, rows: list[dict]) -> list[dict]:
    """For a resumed run: the earlier manifest's rows (same run id and stage) in their order,
    re-run groups replaced in place, groups new to the run appended. Without such a
    manifest, `rows` unchanged."""
    try:
        with open(path, encoding="utf-8") as fh:
            old = json.load(fh)
    except (OSError, ValueError):
        return rows
    if old.get("runId") != run_id or old.get("stage") != stage or not isinstance(old.get("groups"), list):
        return rows
    fresh = {r["groupId"]: r for r in rows}
    merged = []
    for r in old["groups"]:
        merged.append(fresh.pop(r.get("groupId"), r))
    merged.extend(r for r in rows if r["groupId"] in fresh)
    return merged
