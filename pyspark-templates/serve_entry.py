#!/usr/bin/env python3
"""Entry point of a `manymodels serve` scoring worker (manymodels_runtime.serve_worker): the CLI
starts one per --workers and talks NDJSON to it. Usage: python3 serve_entry.py --help
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from manymodels_runtime.serve_worker import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
