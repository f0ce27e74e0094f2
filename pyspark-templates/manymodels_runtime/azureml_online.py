"""The scoring core of an Azure ML online deployment written by `manymodels deploy`: what the
bundle's score.py calls from Azure ML's init() / run(raw_data) contract (docs/serving.md).

init() reads the deployment's model folder (AZUREML_MODEL_DIR): manymodels-bundle.json, which
names this shard's groups only, and their artifacts beside it. Nothing is loaded then: a model
is loaded on its first request, sha256-checked, and kept in online_core's LRU (bounded by bytes
and by count, MANYMODELS_CACHE_BYTES / MANYMODELS_CACHE_MODELS); predictions are
scoring.score_artifact's, so the numbers are those of `manymodels score` and `manymodels serve`.

run() takes serve's request body (one group, or {"requests": [...]}) plus "pipeline" when the
bundle holds more than one, and answers serve's body, or {"error": {"code", "status",
"message"}} with that HTTP status.
"""
from __future__ import annotations

import json
import math
import os
import re

from .online_core import ModelCache, handle, score_context
from .redact import redact as redact_text
from .shard_routing import ROUTING_HEADER, shard_of

MANIFEST = "manymodels-bundle.json"
BUNDLE_FORMAT = 1
MAX_HORIZON = 10_000
MAX_ROWS = 10_000
MAX_BATCH = 1_000
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?Z?$")


class BundleError(Exception):
    """The deployment's model folder is not a usable bundle (MM715): init() fails, loudly."""


class RequestError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code


def find_manifest(model_dir: str) -> str:
    """manymodels-bundle.json in AZUREML_MODEL_DIR, or one folder down (Azure ML mounts a model
    registered from a folder under that folder's name)."""
    direct = os.path.join(model_dir, MANIFEST)
    if os.path.isfile(direct):
        return direct
    try:
        found = [os.path.join(model_dir, d, MANIFEST) for d in sorted(os.listdir(model_dir))
                 if os.path.isfile(os.path.join(model_dir, d, MANIFEST))]
    except OSError as e:
        raise BundleError(f"MM715: the model folder {model_dir} cannot be read: {e}") from None
    if len(found) != 1:
        raise BundleError(f"MM715: no {MANIFEST} in {model_dir} (or one folder below it): "
                          "the deployment's model is not a manymodels bundle")
    return found[0]


class OnlineScorer:
    def __init__(self, manifest: dict, folder: str, env: dict):
        if manifest.get("format") != BUNDLE_FORMAT:
            raise BundleError(f"MM715: bundle format {manifest.get('format')!r}; this runtime reads format {BUNDLE_FORMAT}")
        self.shard = int(manifest["shard"])
        self.shards = int(manifest["shards"])
        self.deployments: list[str] = list(manifest["deployments"])
        expected = env.get("MANYMODELS_SHARD")
        if expected not in (None, "") and int(expected) != self.shard:
            raise BundleError(f"MM715: this deployment is shard {expected} but its model folder holds shard "
                              f"{self.shard}'s groups; deploy the bundle again")
        cache = manifest.get("cache") or {}
        self.cache = ModelCache(int(env.get("MANYMODELS_CACHE_BYTES") or cache.get("bytes") or 512 * 1024 * 1024),
                                int(env.get("MANYMODELS_CACHE_MODELS") or cache.get("models") or 1000))
        self.pipelines: dict[str, dict] = {}
        self.contexts = {}
        for name, p in manifest["pipelines"].items():
            self.contexts[name] = score_context(name, p["ctx"], folder)
            by_keys = {}
            for m in p["models"]:
                values = [str(m["keys"][k]) for k in p["keys"]]
                by_keys[json.dumps(values)] = m
            self.pipelines[name] = {"keys": list(p["keys"]), "byKeys": by_keys}
        self.next_id = 0

    @classmethod
    def from_model_dir(cls, model_dir: str, env: dict | None = None) -> "OnlineScorer":
        env = dict(os.environ) if env is None else env
        path = find_manifest(model_dir)
        try:
            with open(path, encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError) as e:
            raise BundleError(f"MM715: {path} cannot be read: {e}") from None
        return cls(manifest, os.path.dirname(path), env)

    def models(self) -> int:
        return sum(len(p["byKeys"]) for p in self.pipelines.values())

    # ---- requests ----

    def run(self, raw_data) -> tuple[int, dict]:
        """(HTTP status, body) for one raw request body (str, bytes or an already parsed dict)."""
        try:
            body = raw_data
            if isinstance(raw_data, (bytes, bytearray)):
                raw_data = raw_data.decode("utf-8")
            if isinstance(raw_data, str):
                try:
                    body = json.loads(raw_data)
                except ValueError as e:
                    raise RequestError(400, "MM703", f"the request body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise RequestError(400, "MM703", 'the body must be a JSON object with "keys"')
            body = dict(body)
            pipeline = self._pipeline(body.pop("pipeline", None))
            if "requests" in body:
                entries = body["requests"]
                if not isinstance(entries, list) or not entries:
                    raise RequestError(400, "MM703", '"requests" must be a non-empty array of {keys, horizon?, rows?}')
                if len(entries) > MAX_BATCH:
                    raise RequestError(413, "MM705", f'"requests" has {len(entries)} entries; at most {MAX_BATCH} per request')
                if len(body) > 1:
                    raise RequestError(400, "MM703", 'a batch request has "pipeline" and "requests" only')
                results = []
                for i, entry in enumerate(entries):
                    try:
                        results.append(self._one(pipeline, entry, f"requests[{i}]"))
                    except RequestError as e:
                        keys = entry.get("keys") if isinstance(entry, dict) and isinstance(entry.get("keys"), dict) else None
                        results.append({"keys": keys, **_error(e)})
                return 200, {"pipeline": pipeline, "results": results}
            return 200, self._one(pipeline, body, "the body")
        except RequestError as e:
            return e.status, _error(e)
        except Exception as e:  # noqa: BLE001 (an answer, never a stack trace)
            return 500, {"error": {"code": "MM707", "status": 500, "message": redact_text(f"internal error: {type(e).__name__}: {e}")}}

    def _pipeline(self, name) -> str:
        if name is None:
            if len(self.pipelines) == 1:
                return next(iter(self.pipelines))
            raise RequestError(400, "MM703", f'name the pipeline: "pipeline" is one of {", ".join(self.pipelines)}')
        if not isinstance(name, str) or name not in self.pipelines:
            raise RequestError(404, "MM701", f"no pipeline {json.dumps(name)} is served here (served: {', '.join(self.pipelines)})")
        return name

    def _one(self, pipeline: str, body, where: str) -> dict:
        p = self.pipelines[pipeline]
        ctx = self.contexts[pipeline]
        if not isinstance(body, dict):
            raise RequestError(400, "MM703", f'{where} must be a JSON object with "keys"')
        extra = [k for k in body if k not in ("keys", "horizon", "rows")]
        if extra:
            raise RequestError(400, "MM703", f"{where} has unknown field(s) {', '.join(json.dumps(k) for k in extra)}; expected keys, horizon, rows")
        keys = body.get("keys")
        names = p["keys"]
        if not isinstance(keys, dict):
            raise RequestError(400, "MM703", f"{where}.keys must be an object naming {', '.join(names)}")
        values = []
        for k in names:
            v = keys.get(k)
            if isinstance(v, str):
                values.append(v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                values.append(_number_text(v))
            elif v is None and k not in keys:
                raise RequestError(400, "MM703", f'{where}.keys lacks "{k}" (the pipeline\'s keys are {", ".join(names)})')
            else:
                raise RequestError(400, "MM703", f"{where}.keys.{k} must be a string, not {json.dumps(v)}")
        unknown = [k for k in keys if k not in names]
        if unknown:
            raise RequestError(400, "MM703", f"{where}.keys has {', '.join(unknown)}, which are not keys of pipeline {pipeline} ({', '.join(names)})")
        msg = {"pipeline": pipeline}
        if "horizon" in body:
            if ctx.task != "forecast":
                raise RequestError(400, "MM703", f'{where}.horizon is for forecasts; pipeline {pipeline} is {ctx.task}: send "rows"')
            h = body["horizon"]
            if isinstance(h, bool) or not isinstance(h, int) or h < 1 or h > MAX_HORIZON:
                raise RequestError(400, "MM703", f"{where}.horizon must be a whole number from 1 to {MAX_HORIZON}, not {json.dumps(h)}")
            msg["horizon"] = h
        if "rows" in body:
            rows = body["rows"]
            if not isinstance(rows, list):
                raise RequestError(400, "MM703", f"{where}.rows must be an array of objects")
            if len(rows) > MAX_ROWS:
                raise RequestError(413, "MM705", f"{where}.rows has {len(rows)} rows; at most {MAX_ROWS} per request")
            msg["rows"] = [self._row(ctx, r, f"{where}.rows[{i}]") for i, r in enumerate(rows)]
        if ctx.task != "forecast" and not msg.get("rows"):
            raise RequestError(400, "MM703", f'{where} needs "rows": pipeline {pipeline} ({ctx.task}) predicts one value per row of features')
        shown = ", ".join(f"{k}={v}" for k, v in zip(names, values))
        owner = shard_of(pipeline, values, self.shards)
        if owner != self.shard:
            raise RequestError(421, "MM714", f"{shown} of pipeline {pipeline} is served by deployment {self.deployments[owner]}, not this one "
                                             f"({self.deployments[self.shard]}): send it with the header {ROUTING_HEADER}: {self.deployments[owner]}")
        model = p["byKeys"].get(json.dumps(values))
        if model is None:
            raise RequestError(404, "MM702", f"pipeline {pipeline} has no production model for {shown}")
        self.next_id += 1
        msg["id"] = self.next_id
        msg["model"] = {"name": model["name"], "version": model["version"], "artifactUri": model["artifact"],
                        "sha256": model["sha256"], "groupId": model.get("groupId") or "", "keys": model["keys"]}
        reply = handle(msg, self.contexts, self.cache)
        if not reply["ok"]:
            if reply["kind"] == "integrity":
                raise RequestError(503, "MM706", f"the model {model['name']} version {model['version']} was refused: {reply['message']}")
            raise RequestError(500, "MM707", f"the model {model['name']} version {model['version']} could not predict: {reply['errorClass']}: {reply['message']}")
        forecast = ctx.task == "forecast"
        predictions = [{"time": t, "prediction": v} if forecast else {"prediction": v}
                       for t, v in zip(reply["times"] or [None] * len(reply["predictions"]), reply["predictions"])]
        return {"pipeline": pipeline, "keys": dict(zip(names, values)), "model_version": model["version"], "predictions": predictions}

    @staticmethod
    def _row(ctx, row, where: str) -> dict:
        if not isinstance(row, dict):
            raise RequestError(400, "MM704", f"{where} must be an object of feature values")
        out = {}
        for f in ctx.features:
            if f not in row:
                raise RequestError(400, "MM704", f'{where} lacks the feature "{f}" (features: {", ".join(ctx.features)})')
            v = row[f]
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise RequestError(400, "MM704", f"{where}.{f} must be a finite number or null, not {json.dumps(v)}")
            out[f] = v
        if ctx.task == "forecast" and ctx.time:
            t = row.get(ctx.time)
            if not isinstance(t, str) or not ISO_TIME.match(t):
                raise RequestError(400, "MM704", f"{where}.{ctx.time} must be an ISO date or date-time (2024-03-01 or 2024-03-01T10:00:00), not {json.dumps(t)}")
            out[ctx.time] = t.replace(" ", "T")
        return out


def _number_text(v) -> str:
    # A number key is taken as its decimal text, as serve does (JavaScript's String(3.0) is "3").
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _error(e: RequestError) -> dict:
    return {"error": {"code": e.code, "status": e.status, "message": redact_text(str(e))}}


def respond(status: int, body: dict):
    """What run() returns: an AMLResponse with the status when the Azure ML inference server is
    there (it sets the HTTP status), else the body itself (its error.status says what it was)."""
    try:
        from azureml.contrib.services.aml_response import AMLResponse  # type: ignore
    except ImportError:
        try:
            from azureml_inference_server_http.api.aml_response import AMLResponse  # type: ignore
        except ImportError:
            return body
    # json_str=True: AMLResponse serialises the body itself, as application/json.
    return AMLResponse(body, status, json_str=True)
