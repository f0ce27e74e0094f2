"""Fake pyspark.sql.functions: col, lit, lower, when, monotonically_increasing_id."""
import numpy as np
import pandas as pd

from .dataframe import Column, _case
from .types import BooleanType, DoubleType, LongType, NullType, StringType


def col(name):
    return Column.ref(name)


def lit(value):
    if isinstance(value, Column):
        return value
    t = NullType() if value is None else BooleanType() if isinstance(value, bool) else LongType() if isinstance(value, int) else \
        DoubleType() if isinstance(value, float) else StringType()
    return Column(lambda df: (pd.Series([value] * len(df.pdf), index=df.pdf.index, dtype=object), t), "literal")


def monotonically_increasing_id():
    # Real Spark puts the partition id in the upper bits; one partition here, so 0..n-1.
    return Column(lambda df: (pd.Series(np.arange(len(df.pdf), dtype=np.int64), index=df.pdf.index), LongType()),
                  "monotonically_increasing_id()")


def lower(col):
    """lower(col): the string lower-cased; null stays null."""
    c = Column.ref(col) if isinstance(col, str) else col
    return Column(lambda df: (c.eval(df)[0].map(lambda v: None if v is None else str(v).lower()).astype(object),
                              StringType()), f"lower({c.name})")


def when(condition, value):
    """when(condition, value): starts a CASE WHEN chain (Column.when / Column.otherwise)."""
    if not isinstance(condition, Column):
        raise TypeError("condition should be a Column")
    return _case([(condition, value)], None, "CASE WHEN")
