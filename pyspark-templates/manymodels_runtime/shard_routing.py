"""Shard-by-key routing of a sharded Azure ML online deployment: which shard (and so which
deployment of the endpoint) owns a group. A stable hash of the pipeline name and the group's key
values, the same function as the CLI's (src/runs/shard-routing.ts; a test checks both agree), so
the bundle's routing table, each shard's init() and a client's router never disagree.

    shard = int(sha256(json([pipeline, *key values]))[:16 hex], 16) mod shards

json is compact (no spaces), non-ASCII kept as is, UTF-8: JavaScript's JSON.stringify.
"""
from __future__ import annotations

import hashlib
import json

ROUTING_HEADER = "azureml-model-deployment"


def shard_key(pipeline: str, key_values: list[str]) -> str:
    return json.dumps([pipeline, *[str(v) for v in key_values]], separators=(",", ":"), ensure_ascii=False)


def shard_of(pipeline: str, key_values: list[str], shards: int) -> int:
    """The shard (0 … shards-1) that owns this group."""
    if shards <= 1:
        return 0
    digest = hashlib.sha256(shard_key(pipeline, key_values).encode("utf-8")).hexdigest()
    return int(digest[:16], 16) % shards


def deployment_for(routing: dict, pipeline: str, keys: dict) -> str:
    """The deployment that serves a group, from a bundle's routing.json (shards + deployments)."""
    names = routing["pipelines"][pipeline]["keys"]
    values = [str(keys[k]) for k in names]
    return routing["deployments"][shard_of(pipeline, values, int(routing["shards"]))]


def headers_for(routing: dict, pipeline: str, keys: dict) -> dict:
    """The request headers that send a request for this group to its shard's deployment."""
    return {ROUTING_HEADER: deployment_for(routing, pipeline, keys), "Content-Type": "application/json"}
