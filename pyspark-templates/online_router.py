#!/usr/bin/env python3
"""The client-side router of a sharded `manymodels deploy` endpoint: sends a request for a group
to the deployment (shard) that owns it, with the `azureml-model-deployment` header. The bundle
ships it as router.py beside routing.json and code/ (docs/serving.md#sharding).

  python3 router.py --pipeline daily --keys store_id=3,item_id=7            # prints the deployment
  python3 router.py --pipeline daily --url https://<endpoint>.<region>.inference.ml.azure.com/score \\
      --key-env ENDPOINT_KEY --body '{"keys": {"store_id": "3", "item_id": "7"}, "horizon": 7}'

As a module: route(routing, pipeline, body) → (headers, body) for any HTTP client.
"""
import argparse
import json
import os
import sys
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "code"))
from manymodels_runtime.shard_routing import deployment_for, headers_for  # noqa: E402


def load_routing(path: str = os.path.join(HERE, "routing.json")) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def route(routing: dict, pipeline: str, body: dict) -> tuple[dict, dict]:
    """(headers, body) of a single-group request (serve's body, "pipeline" added)."""
    return headers_for(routing, pipeline, body["keys"]), {"pipeline": pipeline, **body}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="router.py", description=__doc__.split("\n")[0])
    ap.add_argument("--routing", default=os.path.join(HERE, "routing.json"))
    ap.add_argument("--pipeline", required=True)
    ap.add_argument("--keys", help="k=v,k=v: print the deployment that owns this group")
    ap.add_argument("--body", help="a request body as serve takes it (JSON); sent to --url")
    ap.add_argument("--url", help="the endpoint's scoring URI")
    ap.add_argument("--key-env", default="MANYMODELS_ENDPOINT_KEY", help="variable holding the endpoint key")
    args = ap.parse_args(argv)
    routing = load_routing(args.routing)
    if args.keys is not None:
        keys = dict(kv.split("=", 1) for kv in args.keys.split(",") if kv)
        print(deployment_for(routing, args.pipeline, keys))
        return 0
    if not args.body or not args.url:
        ap.error("give --keys, or --body and --url")
    headers, body = route(routing, args.pipeline, json.loads(args.body))
    key = os.environ.get(args.key_env)
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(args.url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:  # noqa: S310 (the user's endpoint)
            sys.stdout.write(res.read().decode("utf-8") + "\n")
            return 0
    except urllib.error.HTTPError as e:
        sys.stdout.write(e.read().decode("utf-8", "replace") + "\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
