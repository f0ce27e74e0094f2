"""`custom`: a user's own Python model file, wrapped as a ModelType.

The file (JobSpec `model.custom = {"path", "sha256"}`, path relative to the project root)
defines `train(pdf, params) -> model` and `predict(model, pdf) -> array-like`, and may
define `predict_score(model, pdf)` for classification scores.

Loading executes user code, so the file's bytes are hashed and compared with the sha256
that `manymodels compile` recorded before anything runs, and the module is executed from
exactly those bytes (no second read a changed file could slip into). It is registered under
a private name (`_manymodels_custom_<file stem>`) so it cannot shadow a real module and so
classes it defines pickle and unpickle under the same name wherever the file is placed.

State keeps the user's model as a nested pickle plus the code's sha256: loading an
artifact never imports user code by itself, and predicting refuses a model trained by a
different version of the file.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
import types

import numpy as np
import pandas as pd

from .base import TASKS, GroupData, check_task

_LOADED: dict[tuple[str, str], "CustomModel"] = {}


class CustomCodeIntegrityError(ValueError):
    """The custom model file's bytes do not match the sha256 recorded in the JobSpec."""


class CustomModel:
    name = "custom"
    tasks = frozenset(TASKS)
    defaults: dict = {}
    param_schema: dict = {}  # any name goes: the user's train() reads its own params
    doc = "Your own train(pdf, params)/predict(model, pdf) Python file, verified by sha256 before import."

    def __init__(self, path: str, sha256: str, module: types.ModuleType):
        self.path = path
        self.sha256 = sha256
        self.module = module

    def fit(self, data: GroupData, params: dict) -> dict:
        check_task(self.name, self.tasks, data.task)
        if params is not None and not isinstance(params, dict):
            raise ValueError("model 'custom': params must be a mapping")
        # A copy: user code that mutates its frame must not change the rows the runtime
        # goes on to evaluate.
        model = self.module.train(data.frame.copy(), dict(params or {}))
        try:
            blob = pickle.dumps(model, protocol=5)
        except Exception as exc:  # noqa: BLE001 - any pickling failure is the user's to fix
            raise ValueError(
                f"custom train() in {self.path} returned a {type(model).__name__} that cannot be pickled: {exc}"
            ) from exc
        return {"kind": "custom", "task": data.task, "code_sha256": self.sha256, "model": blob, "time": data.time}

    def _model(self, state: dict):
        if state.get("code_sha256") != self.sha256:
            raise ValueError(
                f"this model was trained with custom code sha256 {state.get('code_sha256')}, but "
                f"{self.path} now has sha256 {self.sha256}; retrain with the current file"
            )
        return pickle.loads(state["model"])

    def _call(self, fn, state: dict, future: pd.DataFrame, what: str) -> np.ndarray:
        out = np.asarray(fn(self._model(state), future.copy()))
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1 or out.shape[0] != len(future):
            raise ValueError(
                f"custom {what}() in {self.path} must return one value per row: "
                f"got shape {out.shape} for {len(future)} rows"
            )
        if out.dtype.kind in "biuf":
            out = out.astype(np.float64)
        return out

    def predict(self, state: dict, future: pd.DataFrame) -> np.ndarray:
        return self._call(self.module.predict, state, future, "predict")

    def predict_score(self, state: dict, future: pd.DataFrame) -> np.ndarray | None:
        fn = getattr(self.module, "predict_score", None)
        if fn is None or state.get("task") != "classification":
            return None
        return self._call(fn, state, future, "predict_score")


def file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def load_custom(custom: dict | None) -> CustomModel:
    """Verify and import the custom model file named by the JobSpec's `model.custom`."""
    if not isinstance(custom, dict) or not custom.get("path") or not custom.get("sha256"):
        raise ValueError('model type "custom" needs model.custom = {"path": ..., "sha256": ...} in the JobSpec')
    path, expected = str(custom["path"]), str(custom["sha256"]).strip().lower()
    key = (os.path.abspath(path), expected)
    if key in _LOADED:
        return _LOADED[key]
    try:
        with open(path, "rb") as fh:
            source = fh.read()
    except OSError as exc:
        raise ValueError(f"cannot read custom model file {path}: {exc.strerror or exc}") from None
    actual = hashlib.sha256(source).hexdigest()
    if actual != expected:
        raise CustomCodeIntegrityError(
            f"custom model file {path} has sha256 {actual}, but the JobSpec expects {expected}; "
            "refusing to import it (re-run `manymodels compile` if you changed it on purpose)"
        )
    # Named after the file's stem, not its full path: the runtime resolves the path to an
    # absolute one, which differs between the machine that trains and the one that scores,
    # and a pickled instance of a class from this file is looked up by module name.
    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0])
    name = "_manymodels_custom_" + stem
    module = types.ModuleType(name)
    module.__file__ = path
    # Registered before running so that classes the file defines can be pickled by name.
    sys.modules[name] = module
    try:
        exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 - verified user code
    except Exception:
        sys.modules.pop(name, None)
        raise
    for fn in ("train", "predict"):
        if not callable(getattr(module, fn, None)):
            sys.modules.pop(name, None)
            raise ValueError(f"custom model file {path} must define {fn}(); see docs/models.md")
    model = CustomModel(path, expected, module)
    _LOADED[key] = model
    return model


__all__ = ["CustomModel", "CustomCodeIntegrityError", "load_custom", "file_sha256"]
