"""Fake SparkSession: builder, read, createDataFrame, sparkContext."""
import pandas as pd

from .dataframe import DataFrame, DataFrameReader, SparkContext, _from_typed, _record
from .types import StructType


class _Builder:
    def __init__(self):
        self._conf = {}
        self._name = None

    def appName(self, name):
        self._name = name
        return self

    def config(self, key, value):
        self._conf[key] = value
        return self

    def master(self, m):
        return self

    def getOrCreate(self):
        _record({"op": "session", "appName": self._name, "conf": self._conf})
        return SparkSession()


class _BuilderDescriptor:
    def __get__(self, obj, owner):
        return _Builder()


class RuntimeConfig:
    def __init__(self):
        self.values = {}

    def set(self, key, value):
        _record({"op": "conf.set", "key": key, "value": value})
        self.values[key] = value

    def get(self, key, default=None):
        return self.values.get(key, default)


class SparkSession:
    builder = _BuilderDescriptor()

    def __init__(self):
        self.sparkContext = SparkContext()
        self.conf = RuntimeConfig()

    @property
    def read(self):
        return DataFrameReader(self)

    def createDataFrame(self, data, schema=None):
        if not isinstance(data, pd.DataFrame) or not isinstance(schema, StructType):
            raise ValueError("fake pyspark: createDataFrame(pandas_df, StructType) only")
        return DataFrame(_from_typed(data[schema.names], schema.fields), schema.fields, self)

    def stop(self):
        pass
