"""The scoring script of a `manymodels deploy` online deployment (Azure ML's init() / run(raw_data)
contract). The deploy bundle ships it as code/score.py beside the manymodels_runtime package; all
it does is call manymodels_runtime.azureml_online (docs/serving.md#deployment)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from manymodels_runtime.azureml_online import OnlineScorer, respond  # noqa: E402

_scorer = None


def init():
    """Reads this shard's routing and model index from AZUREML_MODEL_DIR; loads no model yet."""
    global _scorer
    _scorer = OnlineScorer.from_model_dir(os.environ.get("AZUREML_MODEL_DIR", ""))
    print(f"manymodels: shard {_scorer.shard} of {_scorer.shards}, {_scorer.models()} production models, loaded on demand")


def run(raw_data):
    status, body = _scorer.run(raw_data)
    return respond(status, body)
