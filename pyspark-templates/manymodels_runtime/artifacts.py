"""Model artifacts: pickle protocol 5 of {"format": 1, "modelType", "task", "state", "meta"},
written with their sha256, and loaded only after the bytes match the recorded sha256
(unpickling runs code, so an unverified artifact is never unpickled).
"""
from __future__ import annotations

import hashlib
import os
import pickle
import urllib.parse
import urllib.request

from .errors import ArtifactIntegrityError
from .paths import local_path

ARTIFACT_FORMAT = 1
HTTP_TIMEOUT_S = 60


def dump_artifact(model_type: str, task: str, state: dict, meta: dict) -> bytes:
    return pickle.dumps({"format": ARTIFACT_FORMAT, "modelType": model_type, "task": task,
                         "state": state, "meta": meta}, protocol=5)


def write_artifact(path: str, payload: bytes) -> str:
    """Writes the bytes and returns their sha256 (hex)."""
    with open(path, "wb") as fh:
        fh.write(payload)
    return hashlib.sha256(payload).hexdigest()


def read_uri(uri: str) -> bytes:
    """Bytes of an artifact: a local path, file://, dbfs:/ (through the /dbfs fuse mount), abfss://
    (through a mount of the lake, paths.py), http(s)://."""
    parsed = urllib.parse.urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_S) as resp:  # noqa: S310 (scheme checked)
            return resp.read()
    if scheme == "file":
        path = urllib.request.url2pathname(parsed.path)
    elif scheme == "dbfs":
        path = local_path(uri)
    elif scheme in ("abfss", "abfs"):
        # A Synapse lake file, opened through a mount of its container (paths.py).
        path = local_path(uri)
        if path == uri:
            raise ValueError(f"cannot open {uri}: no mount of its container here (set MANYMODELS_ABFSS_MOUNT, "
                             "or run on a Synapse pool)")
    elif scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        # /Volumes/… and /Workspace/… are mounts on a cluster (see paths.py).
        path = local_path(uri)
    else:
        raise ValueError(f"unsupported artifact URI scheme {scheme!r} in {uri!r}; use a path, file://, "
                         "dbfs:/, abfss:// or https://")
    with open(path, "rb") as fh:
        return fh.read()


def load_artifact(uri: str, expected_sha256: str) -> dict:
    payload = read_uri(uri)
    actual = hashlib.sha256(payload).hexdigest()
    if not expected_sha256 or actual.lower() != expected_sha256.lower():
        raise ArtifactIntegrityError(
            f"artifact {uri} has sha256 {actual} but the model manifest records "
            f"{expected_sha256 or '(none)'}; refusing to unpickle it")
    obj = pickle.loads(payload)
    if not isinstance(obj, dict) or obj.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"artifact {uri} is not a format-{ARTIFACT_FORMAT} manymodels artifact")
    return obj
