"""Databricks' `pyspark.dbutils.DBUtils(spark)`, its secrets utility only: `secrets.get(scope,
key)` answers from the JSON object {scope: {key: value}} in the file FAKE_DBUTILS_SECRETS names
(the workspace's secret scopes, for the test), and raises as Databricks does for a missing one."""
import json
import os


class _Secrets:
    def get(self, scope, key):
        path = os.environ.get("FAKE_DBUTILS_SECRETS")
        scopes = json.load(open(path, encoding="utf-8")) if path else {}
        if scope not in scopes:
            raise Exception(f"Secret does not exist with scope: {scope} and key: {key}")
        if key not in scopes[scope]:
            raise Exception(f"Secret does not exist with scope: {scope} and key: {key}")
        return scopes[scope][key]


class DBUtils:
    def __init__(self, spark=None):
        self.secrets = _Secrets()
