"""Fake Synapse connector: importing it adds DataFrameWriter.synapsesql, as the real one does."""
from pyspark.sql.dataframe import DataFrameWriter


def _synapsesql(self, table_name, table_type=None, location=None):
    self._done("synapsesql", table_name)


DataFrameWriter.synapsesql = _synapsesql
