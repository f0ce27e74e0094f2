"""Fake pyspark.sql.functions: col, lit, monotonically_increasing_id."""
import numpy as np
import pandas as pd

from .dataframe import Column
from .types import BooleanType, DoubleType, LongType, StringType


def col(name):
    return Column.ref(name)


def lit(value):
    t = BooleanType() if isinstance(value, bool) else LongType() if isinstance(value, int) else \
        DoubleType() if isinstance(value, float) else StringType()
    return Column(lambda df: (pd.Series([value] * len(df.pdf), index=df.pdf.index, dtype=object), t), "literal")


def monotonically_increasing_id():
    # Real Spark puts the partition id in the upper bits; one partition here, so 0..n-1.
    return Column(lambda df: (pd.Series(np.arange(len(df.pdf), dtype=np.int64), index=df.pdf.index), LongType()),
                  "monotonically_increasing_id()")
