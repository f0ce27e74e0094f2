"""The parsed-input cache: a read Table saved as .npy files (memory-mapped when loaded, so
forked workers share the pages), one entry per input fingerprint and read request, the
CACHE_KEEP most recently used kept per cache folder."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

import numpy as np

from .table import KeyColumn, ReadRequest, Table

CACHE_FORMAT = 2                 # 2: category features (feature_kinds, feature_values)
CACHE_KEEP = 3                   # parsed copies kept per cache dir (each can be ~1 GB)


def entry_key(req: ReadRequest, fingerprint: str) -> str:
    """The cache entry's name: the input's fingerprint and everything the read asked for."""
    doc = json.dumps({"v": CACHE_FORMAT, "fp": fingerprint, "fmt": req.fmt,
                      "options": [list(o) for o in req.options], "keys": req.keys,
                      "time": req.time, "target": req.target, "labels": req.target_labels,
                      "features": req.features,
                      **({"timeKind": req.time_kind} if req.time_kind != "date" else {})}, sort_keys=True)
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()[:32]


def save_cache(entry: str, table: Table) -> None:
    parent = os.path.dirname(entry)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tmp-", dir=parent)
    try:
        meta = {"format": CACHE_FORMAT, "n": table.n_rows, "fingerprint": table.fingerprint,
                "keys": [], "time": table.time is not None, "target": table.target is not None,
                "classes": table.target_classes, "features": list(table.features),
                # Parallel to features: "number" (f{i}.npy float64 or a narrow int type) or
                # "category" (int32 codes into feature_values[name], -1 where missing).
                "feature_kinds": [table.feature_kind(f) for f in table.features],
                "feature_values": {f: [str(v) for v in vals] for f, vals in table.feature_values.items()}}
        for i, k in enumerate(table.keys):
            np.save(os.path.join(tmp, f"k{i}.npy"), k.codes)
            meta["keys"].append({"name": k.name, "values": [str(v) for v in k.values]})
        if table.time is not None:
            np.save(os.path.join(tmp, "time.npy"), table.time)
        if table.target is not None:
            np.save(os.path.join(tmp, "target.npy"), table.target)
        for i, f in enumerate(table.features):
            np.save(os.path.join(tmp, f"f{i}.npy"), table.features[f])
        # meta.json last: an entry without it is incomplete and never read.
        with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False)
        try:
            os.rename(tmp, entry)
        except OSError:
            pass  # another run cached the same input first; theirs is identical
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def load_cache(entry: str, req: ReadRequest, fingerprint: str) -> Table:
    with open(os.path.join(entry, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    if meta.get("format") != CACHE_FORMAT or meta.get("fingerprint") != fingerprint:
        raise ValueError("stale entry")
    os.utime(os.path.join(entry, "meta.json"))  # recency for pruning

    # Memory-mapped: pages come from the page cache on demand and are shared with the
    # forked workers instead of being copied into the parent first.
    def load(name: str) -> np.ndarray:
        return np.load(os.path.join(entry, name), mmap_mode="r")

    keys = [KeyColumn(m["name"], load(f"k{i}.npy"), np.array(m["values"], dtype=object))
            for i, m in enumerate(meta["keys"])]
    kinds = meta["feature_kinds"]
    if len(kinds) != len(meta["features"]) or any(k not in ("number", "category") for k in kinds):
        raise ValueError("feature_kinds does not match features")
    values = {}
    for f, kind in zip(meta["features"], kinds):
        if kind == "category":
            values[f] = np.array([str(v) for v in meta["feature_values"][f]], dtype=object)
    table = Table(
        n_rows=int(meta["n"]), keys=keys,
        time=load("time.npy") if meta["time"] else None,
        target=load("target.npy") if meta["target"] else None,
        target_classes=meta.get("classes"),
        features={f: load(f"f{i}.npy") for i, f in enumerate(meta["features"])},
        fingerprint=fingerprint, from_cache=True, feature_values=values)
    for f in values:
        if table.features[f].dtype != np.int32:
            raise ValueError(f"category feature {f} is not int32 codes")
    if [k.name for k in keys] != list(req.keys) or list(table.features) != list(req.features):
        raise ValueError("column mismatch")
    return table


def prune_cache(cache_dir: str, keep: str) -> None:
    entries = []
    for name in os.listdir(cache_dir):
        d = os.path.join(cache_dir, name)
        meta = os.path.join(d, "meta.json")
        if os.path.isfile(meta):
            entries.append((os.path.getmtime(meta), d))
    entries.sort(reverse=True)
    for _, d in entries[CACHE_KEEP:]:
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)
