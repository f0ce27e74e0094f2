#!/usr/bin/env python3
"""Entry point of `manymodels report`'s series: recent history and holdout forecasts for a few
groups of a training run. Usage: python3 report_entry.py --help
"""
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from manymodels_runtime.report_series import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
