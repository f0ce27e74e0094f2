"""Every model declares a JSON Schema for each param it accepts (`param_schema`), the runtime
enforces exactly those bounds, and the catalog the CLI reads carries them."""
import pytest

from manymodels_runtime.models import get_model, known_types, model_catalog
from manymodels_runtime.models.base import ParamChecker

BUILTIN = [t for t in known_types() if t != "custom"]
KEYWORDS = {"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "items",
            "minItems", "anyOf"}
TYPES = {"integer", "number", "boolean", "string", "array", "null"}


def _walk(schema):
    yield schema
    for sub in schema.get("anyOf", []):
        yield from _walk(sub)
    if "items" in schema:
        yield from _walk(schema["items"])


@pytest.mark.parametrize("name", BUILTIN)
def test_every_accepted_param_has_a_schema_entry(name):
    m = get_model(name)
    assert set(m.param_schema) == set(m.defaults), f"{name}: param_schema and defaults name different params"
    for key, schema in m.param_schema.items():
        for s in _walk(schema):
            assert set(s) <= KEYWORDS, f"{name}.{key}: keywords outside the supported subset: {set(s) - KEYWORDS}"
            types = s.get("type", [])
            assert set([types] if isinstance(types, str) else types) <= TYPES, f"{name}.{key}"
        assert "type" in schema or "enum" in schema or "anyOf" in schema, f"{name}.{key} says nothing"


@pytest.mark.parametrize("name", BUILTIN)
def test_defaults_satisfy_the_schema(name):
    m = get_model(name)
    p = ParamChecker(name, m.defaults, {}, m.param_schema)
    for key, schema in m.param_schema.items():
        if "anyOf" not in schema:
            p.value(key)
    m._params({})


def _just_outside(schema):
    """Values the schema refuses, one per bound it declares."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "enum" in schema:
        yield "no-such-choice"
    if "integer" in types:
        yield 2.5
    if "integer" in types or "number" in types:
        yield "12"
        if "minimum" in schema:
            yield schema["minimum"] - 1 if "integer" in types else schema["minimum"] - 1e-9
        if "maximum" in schema:
            yield schema["maximum"] + 1 if "integer" in types else schema["maximum"] + 1e-9
        if "exclusiveMinimum" in schema:
            yield schema["exclusiveMinimum"]
        if "exclusiveMaximum" in schema:
            yield schema["exclusiveMaximum"]
    if types == ["boolean"]:
        yield "yes"
    if "array" in types:
        yield "not a list"
        item = schema.get("items", {})
        if "minimum" in item:
            yield [item["minimum"] - 1]
        if schema.get("minItems"):
            yield []
    if "null" not in types and "anyOf" not in schema and None not in schema.get("enum", ["x"]):
        yield None


CASES = [(name, key, bad) for name in BUILTIN for key, s in get_model(name).param_schema.items()
         for bad in _just_outside(s)]
CASES += [("random_forest", "max_features", bad) for bad in ("auto", 0, 0.0, 1.5, None)]


@pytest.mark.parametrize("name,key,bad", CASES)
def test_the_runtime_refuses_what_the_schema_refuses(name, key, bad):
    with pytest.raises(ValueError, match=f"'{key}'"):
        get_model(name)._params({key: bad})


def test_catalog_exports_the_schemas():
    cat = model_catalog()
    assert cat["gbm"]["param_schema"]["learning_rate"] == {"type": "number", "exclusiveMinimum": 0.0, "maximum": 10.0}
    assert cat["custom"]["param_schema"] == {}
    cat["gbm"]["param_schema"]["learning_rate"]["maximum"] = 1
    assert model_catalog()["gbm"]["param_schema"]["learning_rate"]["maximum"] == 10.0
