"""The model zoo: look a model type up by name, and describe all of them for the CLI.

`get_model(name)` returns a stateless ModelType (see base.py); one name can serve several
tasks (`linear`, `gbm`, `random_forest`) and dispatches on the task of the data it fits.
`model_catalog()` is the machine-readable list the TypeScript schema mirrors.
"""
from __future__ import annotations

import copy

from .base import CALLER_PARAMS, TASKS, GroupData, ModelType, UnknownModelError
from .custom import CustomCodeIntegrityError, CustomModel, load_custom
from .ets import Ets
from .gbm import Gbm
from .linear import Linear
from .logistic import Logistic
from .random_forest import RandomForest
from .seasonal_naive import SeasonalNaive

_BUILTIN: dict[str, ModelType] = {
    m.name: m for m in (SeasonalNaive(), Linear(), Ets(), Gbm(), RandomForest(), Logistic())
}


def known_types() -> list[str]:
    return sorted([*_BUILTIN, CustomModel.name])


def get_model(type_name: str, custom: dict | None = None) -> ModelType:
    """The ModelType called `type_name`; `custom` is the JobSpec's `model.custom` for "custom"."""
    if type_name == CustomModel.name:
        return load_custom(custom)
    model = _BUILTIN.get(type_name)
    if model is None:
        raise UnknownModelError(f"unknown model type {type_name!r}; known types: {', '.join(known_types())}")
    return model


def model_catalog() -> dict:
    """{type: {"tasks": [...], "defaults": {...}, "param_schema": {...}, "doc": "..."}} for every
    model type; `param_schema` holds one JSON Schema per param (see base.ModelType)."""
    out = {}
    for name in known_types():
        m = _BUILTIN.get(name, CustomModel)
        out[name] = {"tasks": sorted(m.tasks), "defaults": dict(m.defaults),
                     "param_schema": copy.deepcopy(m.param_schema), "doc": m.doc}
    return out


__all__ = [
    "CALLER_PARAMS", "TASKS", "CustomCodeIntegrityError", "GroupData", "ModelType",
    "UnknownModelError", "get_model", "known_types", "model_catalog",
]
