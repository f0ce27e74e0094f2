#!/usr/bin/env python3
"""Writes the model catalog (types, tasks, default params, param schemas) as canonical JSON
for the CLI, which checks `model.params` names and values at validate time without starting
Python. `npm run generate` (scripts/generate.mjs) runs it into
src/pipeline/model-catalog.generated.json; by hand: python3 pyspark-templates/export_model_catalog.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from manymodels_runtime.models import model_catalog  # noqa: E402


def catalog_json() -> str:
    return json.dumps(model_catalog(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(catalog_json())
