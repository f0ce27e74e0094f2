"""A validator for the small subset of JSON Schema the runtime's own schemas use
(jobspec.schema.json, generated from src/contracts/job-spec-schema.ts).

Keywords: type, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
pattern, items, minItems, uniqueItems, properties, required, additionalProperties, anyOf,
allOf, if/then/else; `description` says what a value failing `pattern` or `anyOf` must be;
`default` and the annotation keywords are not checked. Anything else raises, so the schema
cannot silently use a keyword this file ignores.

Unlike JSON Schema, "integer" is an int only (2.0 is refused): the CLI writes integers without
a fraction, and a float where the runtime counts things is a mistake. true/false are never
numbers. Errors come back as ("columns.keys[0]", "must not be empty") pairs, every one found.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

KNOWN = {
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "pattern", "items", "minItems", "uniqueItems", "properties", "required",
    "additionalProperties", "anyOf", "allOf", "if", "then", "else", "description", "default",
    "$schema", "$id", "title",
}
_TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number",
               "boolean": "true or false", "object": "an object", "array": "an array", "null": "null"}


def _type_of(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _has_type(v: Any, t: str) -> bool:
    actual = _type_of(v)
    return actual == t or (t == "number" and actual == "integer")


def _show(v: Any) -> str:
    return "null" if v is None else repr(v)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _same(a: Any, b: Any) -> bool:
    # 1 == True in Python; JSON keeps them apart.
    return _type_of(a) == _type_of(b) and a == b


def errors(value: Any, schema: dict, path: str = "") -> list[tuple[str, str]]:
    """Every way `value` fails `schema`, as (path, message) pairs in document order."""
    unknown = set(schema) - KNOWN
    if unknown:
        raise ValueError(f"schema at {path or 'the root'} uses unsupported keywords: {', '.join(sorted(unknown))}")
    out: list[tuple[str, str]] = []
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_has_type(value, t) for t in types):
            if value is None:
                return [(path, "must not be null")]
            words = " or ".join(_TYPE_WORDS[t] for t in types if t != "null")
            got = {"boolean": "a boolean"}.get(_type_of(value)) or _TYPE_WORDS.get(_type_of(value), _type_of(value))
            return [(path, f"must be {words}, got {got}")]
    if "const" in schema and not _same(value, schema["const"]):
        return [(path, f"must be {_show(schema['const'])}, got {_show(value)}")]
    if "enum" in schema and not any(_same(value, c) for c in schema["enum"]):
        choices = ", ".join(_show(c) for c in schema["enum"] if c is not None)
        return [(path, f"must be one of {choices}, got {_show(value)}")]
    if "anyOf" in schema and not any(not errors(value, s, path) for s in schema["anyOf"]):
        what = schema.get("description", "one of its allowed forms")
        return [(path, f"must be {what}, got {_show(value)}")]
    if _type_of(value) in ("integer", "number"):
        out += _bounds(value, schema, path)
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append((path, "must not be empty" if schema["minLength"] == 1
                        else f"must be at least {schema['minLength']} characters long"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append((path, f"must be {schema['description']}" if "description" in schema
                        else f"must match {schema['pattern']}"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append((path, "must not be empty" if schema["minItems"] == 1
                        else f"must have at least {schema['minItems']} items"))
        if "items" in schema:
            for i, item in enumerate(value):
                out += errors(item, schema["items"], _join(path, i))
        if schema.get("uniqueItems"):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            twice = sorted({v for v in value if isinstance(v, str) and seen.count(json.dumps(v)) > 1})
            if len(set(seen)) != len(seen):
                out.append((path, "lists an item twice" + (f": {', '.join(twice)}" if twice else "")))
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                out.append((_join(path, key), "is required"))
        props = schema.get("properties", {})
        for key, sub in props.items():
            if key in value:
                out += errors(value[key], sub, _join(path, key))
        extra = schema.get("additionalProperties", True)
        for key in value:
            if key in props or extra is True:
                continue
            if extra is False:
                out.append((_join(path, key), "is not a known field"))
            else:
                out += errors(value[key], extra, _join(path, key))
    for sub in schema.get("allOf", []):
        out += errors(value, sub, path)
    if "if" in schema:
        branch = schema.get("then") if not errors(value, schema["if"], path) else schema.get("else")
        if branch:
            out += errors(value, branch, path)
    return _unique(out)


def _bounds(v: float, schema: dict, path: str) -> list[tuple[str, str]]:
    if isinstance(v, float) and not math.isfinite(v):
        return [(path, "must be a finite number")]
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    bad = ((lo is not None and v < lo) or (hi is not None and v > hi)
           or (xlo is not None and v <= xlo) or (xhi is not None and v >= xhi))
    if not bad:
        return []
    low = f"at least {lo}" if lo is not None else (f"greater than {xlo}" if xlo is not None else None)
    high = f"at most {hi}" if hi is not None else (f"less than {xhi}" if xhi is not None else None)
    if low and high:
        if xlo is not None and xhi is not None:
            return [(path, f"must be between {xlo} and {xhi} (exclusive), got {_show(v)}")]
        if lo is not None and hi is not None:
            return [(path, f"must be between {lo} and {hi}, got {_show(v)}")]
        return [(path, f"must be {low} and {high}, got {_show(v)}")]
    return [(path, f"must be {low or high}, got {_show(v)}")]


def _unique(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set = set()
    out = []
    for it in items:
        if it not in seen:
            seen.add(it)
            out.append(it)
    return out


def defaults(schema: dict) -> dict:
    """{property: default} of an object schema's properties that declare one."""
    return {k: s["default"] for k, s in schema.get("properties", {}).items() if "default" in s}


__all__ = ["defaults", "errors"]
