"""The CLI's copy of the model catalog (src/pipeline/model-catalog.generated.json) must match
the runtime's own: regenerate it with `npm run generate` when a model's params change."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from export_model_catalog import catalog_json  # noqa: E402


def test_cli_copy_of_the_model_catalog_is_current():
    generated = os.path.join(HERE, "..", "..", "src", "pipeline", "model-catalog.generated.json")
    with open(generated, encoding="utf-8") as fh:
        assert fh.read() == catalog_json(), (
            "src/pipeline/model-catalog.generated.json is stale: run npm run generate")
