"""The run manifest (docs/contracts.md): counts, failure budget, atomic write, and the
merge that lets a resumed run (--only-groups) keep the groups it did not re-run.
"""
from __future__ import annotations

import json
import os
import tarfile
import tempfile

from .redact import redact_json
from .spec import SPEC_VERSION, JobSpec

MANIFEST_NAME = "run-manifest.json"
BUNDLE_NAME = "artifacts.tar.gz"


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
    """tmp file in the same directory + rename: a reader never sees half a manifest. Redacted
    (redact.py): a group's error may quote a data path with its SAS."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(redact_json(doc, lambda d: json.dumps(d, ensure_ascii=False, indent=2, allow_nan=False)))
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


def bundle_artifacts(out: str) -> str | None:
    """Writes RUN_DIR/artifacts.tar.gz holding every ok group's artifact under its manifest path
    (`artifacts/<modelName>.pkl`). A remote CLI reads files in 1 MiB calls: one bundle instead
    of thousands of small files. Written under a temporary name, then renamed. None when the
    run wrote no manifest."""
    manifest_path = os.path.join(out, MANIFEST_NAME)
    if not os.path.exists(manifest_path):
        return None
    with open(manifest_path, encoding="utf-8") as fh:
        doc = json.load(fh)
    names = [g["artifact"] for g in doc.get("groups", []) if g.get("status") == "ok" and g.get("artifact")]
    target = os.path.join(out, BUNDLE_NAME)
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=out)
    os.close(fd)
    try:
        # PAX: model names can be longer than ustar's 100-character file names.
        with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=6) as tf:
            for name in names:
                tf.add(os.path.join(out, name), arcname=name, recursive=False)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target
