"""Command-line entry for the synthetic sales generator (manymodels_runtime.sample_data).

    python3 pyspark-templates/sample_data_entry.py --out data/sales.csv \
        [--stores 10] [--items 10] [--days 1461] [--start 2015-01-01] [--seed 0] [--format csv]

Prints one JSON line to stdout: {"rows", "series", "bytes", "seconds"}. Errors go to
stderr with exit code 2. The reference workload is --stores 100 --items 100 --days 4000
(40 M rows, about 1.1 GB).
"""
from __future__ import annotations

import argparse
import os
import sys

from manymodels_runtime.sample_data import summary_line, write_csv


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sample_data_entry.py",
                                 description="Write deterministic store×item daily sales.")
    ap.add_argument("--out", required=True, help="output file path")
    ap.add_argument("--stores", type=_positive, default=10)
    ap.add_argument("--items", type=_positive, default=10, help="items per store")
    ap.add_argument("--days", type=_positive, default=1461)
    ap.add_argument("--start", default="2015-01-01", help="first date (YYYY-MM-DD)")
    ap.add_argument("--seed", type=_seed, default=0)
    # Only CSV: Parquet would need pyarrow, which the local engine does not assume.
    ap.add_argument("--format", choices=["csv"], default="csv")
    args = ap.parse_args(argv)
    try:
        import pandas as pd

        pd.Timestamp(args.start)
        parent = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(parent, exist_ok=True)
        summary = write_csv(args.out, args.stores, args.items, args.days, args.start, args.seed)
    except (ValueError, OSError) as exc:
        print(f"sample_data_entry: {exc}", file=sys.stderr)
        return 2
    print(summary_line(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
