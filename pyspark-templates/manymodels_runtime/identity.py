"""Group identity (docs/contracts.md "Group identity"): groupId and modelName from key values.

Key values are the strings as written in the data; nothing here parses them, and no key
value can turn a model name into a path (every character outside [A-Za-z0-9] becomes '-').
"""
from __future__ import annotations

import hashlib
import json
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9]")
SLUG_MAX = 80


def canonical_keys(key_columns: tuple[str, ...] | list[str], values: tuple[str, ...] | list[str]) -> str:
    return json.dumps([[c, v] for c, v in zip(key_columns, values)], separators=(",", ":"),
                      ensure_ascii=False)


def group_id(key_columns, values) -> str:
    return hashlib.sha256(canonical_keys(key_columns, values).encode("utf-8")).hexdigest()[:16]


def slug(values) -> str:
    # Each value is sanitised on its own and the values are joined by '_', so "1","7"
    # gives "1_7" and the separator stays readable.
    return "_".join(_UNSAFE.sub("-", v) for v in values)[:SLUG_MAX]


def model_name(pipeline: str, values, gid: str) -> str:
    return f"{pipeline}__{slug(values)}__{gid[:12]}"


def identity(pipeline: str, key_columns, values) -> tuple[str, str]:
    """(groupId, modelName) of one group."""
    gid = group_id(key_columns, values)
    return gid, model_name(pipeline, values, gid)
