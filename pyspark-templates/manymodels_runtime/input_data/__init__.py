"""Reads the input into column arrays for the local executor: CSV (always), Parquet (with
pyarrow), the up-front column checks (MM410–MM413), and the parsed-input cache.

Why arrays and not one DataFrame: the executor slices each group out of plain numpy arrays
that forked workers inherit; key columns become integer codes over their sorted distinct
strings (identity is the string as written: '007' stays '007'), and the time column is
parsed once per distinct string rather than once per row. Parsing a large CSV dominates
the cost of cheap models, so big files are parsed by several processes at once and the
result is cached as .npy files that the score stage and later runs load in about a second.

One module per concern:
  read.py            read_table: format detection and the up-front column checks
  csv_reader.py      CSV options, header and (parallel) parsing into chunk arrays
  parquet_reader.py  Parquet through pyarrow into the same chunk arrays
  columns.py         typing: chunk arrays → the final Table (keys, times, numbers, labels)
  cache.py           the parsed-input cache (.npy files, memory-mapped when loaded)
  fingerprint.py     the input's fingerprint
  table.py           Table, KeyColumn, ReadRequest
"""
from __future__ import annotations

from .columns import parse_time_values, parse_times
from .fingerprint import data_fingerprint
from .read import read_table
from .table import KeyColumn, ReadRequest, Table

__all__ = ["read_table", "Table", "KeyColumn", "ReadRequest", "data_fingerprint", "parse_times", "parse_time_values"]
