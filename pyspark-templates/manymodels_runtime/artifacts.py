"""Model artifacts, written with their sha256 and loaded only after the bytes match it.

Format 2 (written now): no pickle. The bytes are

    magic  b"\\x89MMART\\r\\n"  (8 bytes)
    uint32 little-endian: length H of the header
    header: H bytes of UTF-8 JSON, space-padded so the data starts on an 8-byte boundary
    data:   the arrays' raw little-endian bytes, each at an 8-byte aligned offset

The header is {"format": 2, "modelType", "task", "state", "meta", "arrays": [{"dtype",
"shape", "offset", "nbytes"}, ...]}. `state` and `meta` are JSON trees: None, bools, ints,
strings, finite floats, lists and string-keyed dicts as themselves; anything else as a
one-key tagged object — {"$array": i} (a numpy array of booleans, ints, floats, complex,
unicode 'U' strings or datetime64/timedelta64; entry i of `arrays`), {"$scalar": i} (a numpy
scalar, stored as a 0-d array), {"$bytes": i} (bytes, as a uint8 array), {"$float": "nan" |
"inf" | "-inf"}, {"$tuple": [...]}, {"$dict": [[key, value], ...]} (a dict with a key that
starts with "$"). Object arrays and any other type are refused when the artifact is written
(ArtifactFormatError), so what loads is what was saved, with numpy ≥ 1.21 and no pickle.

A `custom` model's state carries the user's pickled model as bytes; only CustomModel
unpickles it, at predict time, after this sha256 check and its code's own sha256 check.

Format 1 (legacy, read only): a pickle protocol 5 of {"format": 1, "modelType", "task",
"state", "meta"}, written before format 2. It is still loaded, after the same sha256 check,
so models trained by older versions keep scoring; this path is removed in the first release
after 2027-06-30 (retrain such models before then). docs/contracts.md, *Artifacts*.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import urllib.parse
import urllib.request

import numpy as np

from .errors import ArtifactIntegrityError
from .paths import local_path

ARTIFACT_FORMAT = 2
LEGACY_PICKLE_FORMAT = 1
MAGIC = b"\x89MMART\r\n"
HTTP_TIMEOUT_S = 60
_ALIGN = 8
# dtype kinds an artifact may hold: bool, signed/unsigned int, float, complex, unicode,
# datetime64, timedelta64. Never "O" (objects: pickles) or "V" (structured/void).
_KINDS = frozenset("biufcUMm")
_MAX_HEADER = 1 << 30


class ArtifactFormatError(ValueError):
    """A model state holds a value the artifact format cannot store, or the bytes are not a
    well-formed artifact."""


def _encode(value, arrays: list, path: str):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float) and not isinstance(value, np.floating):
        if math.isfinite(value):
            return float(value)
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, np.ndarray):
        return {"$array": _add_array(value, arrays, path)}
    if isinstance(value, np.generic):
        return {"$scalar": _add_array(np.asarray(value), arrays, path)}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": _add_array(np.frombuffer(bytes(value), dtype=np.uint8), arrays, path)}
    if isinstance(value, list):
        return [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise ArtifactFormatError(f"model state {path} has a key {k!r} of type {type(k).__name__}; "
                                          "artifact dicts need string keys")
        items = {k: _encode(v, arrays, f"{path}.{k}") for k, v in value.items()}
        if any(k.startswith("$") for k in items):
            return {"$dict": [[k, v] for k, v in items.items()]}
        return items
    raise ArtifactFormatError(f"model state {path} is a {type(value).__module__}.{type(value).__name__}, "
                              "which an artifact cannot store (use numpy arrays, numbers, strings, lists, dicts)")


def _add_array(a: np.ndarray, arrays: list, path: str) -> int:
    if a.dtype.kind not in _KINDS or a.dtype.fields is not None or a.dtype.subdtype is not None:
        raise ArtifactFormatError(f"model state {path} is an array of dtype {a.dtype} ({a.dtype.kind!r}); "
                                  "artifacts hold bool, int, float, complex, unicode ('U') and datetime arrays "
                                  "only, never object arrays (store strings as a list or an array of dtype 'U')")
    le = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
    arrays.append(a.astype(le, order="C", copy=False))
    return len(arrays) - 1


def dump_artifact(model_type: str, task: str, state: dict, meta: dict) -> bytes:
    """The format-2 bytes of an artifact; raises ArtifactFormatError naming the first value
    the format cannot hold."""
    arrays: list[np.ndarray] = []
    enc_state = _encode(state, arrays, "state")
    enc_meta = _encode(meta, arrays, "meta")
    table, offset = [], 0
    for a in arrays:
        table.append({"dtype": a.dtype.str, "shape": list(a.shape), "offset": offset, "nbytes": int(a.nbytes)})
        offset += -(-a.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"format": ARTIFACT_FORMAT, "modelType": model_type, "task": task,
                         "state": enc_state, "meta": enc_meta, "arrays": table},
                        separators=(",", ":"), allow_nan=False).encode("utf-8")
    header += b" " * (-(len(MAGIC) + 4 + len(header)) % _ALIGN)
    out = bytearray(MAGIC + struct.pack("<I", len(header)) + header)
    start = len(out)
    out.extend(bytes(offset))
    for a, t in zip(arrays, table):
        out[start + t["offset"]:start + t["offset"] + t["nbytes"]] = a.tobytes()
    return bytes(out)


def _decode(node, arrays: list):
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (tag, val), = node.items()
        if tag.startswith("$"):
            if tag == "$array":
                return arrays[_index(val, arrays)]
            if tag == "$scalar":
                return arrays[_index(val, arrays)][()]
            if tag == "$bytes":
                return arrays[_index(val, arrays)].tobytes()
            if tag == "$float" and val in ("nan", "inf", "-inf"):
                return float(val)
            if tag == "$tuple" and isinstance(val, list):
                return tuple(_decode(v, arrays) for v in val)
            if tag == "$dict" and isinstance(val, list):
                return {str(k): _decode(v, arrays) for k, v in val}
            raise ArtifactFormatError(f"unknown tag {tag!r} in the artifact header")
    return {k: _decode(v, arrays) for k, v in node.items()}


def _index(i, arrays: list) -> int:
    if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(arrays):
        raise ArtifactFormatError(f"array reference {i!r} is out of range")
    return i


_DTYPES: dict = {}


def _dtype(name) -> np.dtype:
    dt = _DTYPES.get(name)
    if dt is None:
        try:
            dt = np.dtype(str(name))
        except TypeError:
            raise ArtifactFormatError(f"artifact array dtype {name!r} is not a dtype") from None
        if dt.kind not in _KINDS or dt.fields is not None or dt.subdtype is not None:
            raise ArtifactFormatError(f"artifact array dtype {dt} is not allowed")
        if len(_DTYPES) < 256:
            _DTYPES[name] = dt
    return dt


def parse_artifact(payload: bytes) -> dict:
    """A format-2 artifact's {"format", "modelType", "task", "state", "meta"}; never unpickles."""
    if payload[:len(MAGIC)] != MAGIC or len(payload) < len(MAGIC) + 4:
        raise ArtifactFormatError("not a format-2 manymodels artifact (bad magic)")
    (hlen,) = struct.unpack_from("<I", payload, len(MAGIC))
    start = len(MAGIC) + 4 + hlen
    if hlen > _MAX_HEADER or start > len(payload):
        raise ArtifactFormatError("truncated artifact header")
    try:
        head = json.loads(payload[len(MAGIC) + 4:start].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArtifactFormatError(f"artifact header is not JSON: {exc}") from None
    if not isinstance(head, dict) or head.get("format") != ARTIFACT_FORMAT:
        raise ArtifactFormatError(f"artifact format {head.get('format') if isinstance(head, dict) else None!r} "
                                  f"is not {ARTIFACT_FORMAT}; this runtime reads formats 1 and 2")
    # One copy of the data section: the arrays are writable views of it, as unpickled ones were.
    data = bytearray(payload[start:])
    arrays = []
    for t in head.get("arrays") or []:
        dt = _dtype(t["dtype"])
        shape, off, nbytes = tuple(int(s) for s in t["shape"]), int(t["offset"]), int(t["nbytes"])
        count = math.prod(shape)
        if min(shape, default=0) < 0 or count * dt.itemsize != nbytes or off < 0 or off + nbytes > len(data):
            raise ArtifactFormatError("artifact array table does not match its data")
        arrays.append(np.frombuffer(data, dtype=dt, count=count, offset=off).reshape(shape) if count
                      else np.empty(shape, dtype=dt))
    return {"format": ARTIFACT_FORMAT, "modelType": head.get("modelType"), "task": head.get("task"),
            "state": _decode(head.get("state"), arrays), "meta": _decode(head.get("meta"), arrays)}


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
            f"{expected_sha256 or '(none)'}; refusing to load it")
    if payload[:len(MAGIC)] == MAGIC:
        try:
            return parse_artifact(payload)
        except ArtifactFormatError as exc:
            raise ValueError(f"artifact {uri}: {exc}") from None
    if payload[:2] == b"\x80\x05":
        return _load_legacy_pickle(uri, payload)
    raise ValueError(f"artifact {uri} is not a manymodels artifact (format {ARTIFACT_FORMAT}, "
                     f"or legacy format {LEGACY_PICKLE_FORMAT})")


def _load_legacy_pickle(uri: str, payload: bytes) -> dict:
    """Format 1 (legacy, removed after 2027-06-30): a pickle, loaded only because its sha256
    matched the one the registry recorded when this runtime's older version wrote it."""
    import pickle

    obj = pickle.loads(payload)  # noqa: S301 - sha256 verified by the caller
    if not isinstance(obj, dict) or obj.get("format") != LEGACY_PICKLE_FORMAT:
        raise ValueError(f"artifact {uri} is not a manymodels artifact (format {ARTIFACT_FORMAT}, "
                         f"or legacy format {LEGACY_PICKLE_FORMAT})")
    return obj
