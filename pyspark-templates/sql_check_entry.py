#!/usr/bin/env python3
"""Entry point of `manymodels validate --data` for a sql (PostgreSQL) source: the request on
stdin, one JSON line on stdout (manymodels_runtime/sql_check.py says what both hold)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from manymodels_runtime.sql_check import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
