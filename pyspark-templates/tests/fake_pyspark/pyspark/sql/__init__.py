"""Fake pyspark.sql: SparkSession, DataFrame, Row (see the package docstring)."""
from .dataframe import Column, DataFrame, DataFrameWriter, GroupedData, Row  # noqa: F401
from .session import SparkSession  # noqa: F401
