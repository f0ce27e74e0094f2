"""The partition plan of `manymodels plan` in the Spark job (docs/plan.md, The partition plan).

The JobSpec's execution.partition carries `buckets` and the largest groups' keys, each with its
bucket from the CLI's longest-processing-time-first plan. Before groupBy(keys).applyInPandas,
each row gets a bucket column (BucketFn under mapInPandas: the mapping travels pickled with the
function; a group not in it gets a stable hash of its keys), the frame is repartitioned by that
column into `buckets` partitions, and the groups are grouped by (bucket, keys): a hash
partitioning on the bucket satisfies that grouping, so Spark adds no second shuffle.

repartition(n, col) sends a row to partition pmod(murmur3_32(value, seed 42), n). The bucket
column therefore holds a *salt* per bucket: the smallest integer Spark's hash sends to that
partition, so bucket b is exactly shuffle partition b. The hash is Spark's Murmur3_x86_32.hashInt
(spark_hash_int; checked against Spark's `SELECT hash(0), hash(1)`).

Which bucket a group lands in never changes its result, only where it runs: a stale or missing
plan costs balance, not correctness.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

BUCKET = "__mm_bucket"
_M = 0xFFFFFFFF


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _M


def _mix_k1(k: int) -> int:
    k = (k * 0xCC9E2D51) & _M
    k = _rotl(k, 15)
    return (k * 0x1B873593) & _M


def _mix_h1(h: int, k: int) -> int:
    h ^= k
    h = _rotl(h, 13)
    return (h * 5 + 0xE6546B64) & _M


def _fmix(h: int, length: int) -> int:
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M
    h ^= h >> 16
    return h


def spark_hash_int(value: int, seed: int = 42) -> int:
    """Spark's hash() of an IntegerType value (Murmur3_x86_32.hashInt), as a signed int."""
    h = _fmix(_mix_h1(seed, _mix_k1(value & _M)), 4)
    return h - (1 << 32) if h >= 1 << 31 else h


def bucket_salts(n: int) -> list[int]:
    """salts[b]: the smallest non-negative int that repartition(n, column) puts in partition b."""
    if n < 1:
        raise ValueError(f"buckets must be at least 1, got {n}")
    salts: list[int | None] = [None] * n
    left, i = n, 0
    while left:
        p = spark_hash_int(i) % n  # Python's % of a positive n is Spark's pmod
        if salts[p] is None:
            salts[p] = i
            left -= 1
        i += 1
    return [int(s) for s in salts]  # type: ignore[arg-type]


def _fnv1a(text: str) -> int:
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & _M
    return h


class BucketFn:
    """mapInPandas function: each row's bucket salt, from the plan's mapping or a hash of its keys."""

    def __init__(self, keys: list[str], partition: dict):
        self.keys = list(keys)
        self.n = int(partition["buckets"])
        self.salts = bucket_salts(self.n)
        self.mapping = {tuple(str(v) for v in m["keys"]): int(m["bucket"]) for m in partition.get("mapping") or []
                        if 0 <= int(m["bucket"]) < self.n and len(m["keys"]) == len(self.keys)}

    def bucket_of(self, key_values: tuple) -> int:
        b = self.mapping.get(key_values)
        if b is None:
            b = _fnv1a("\x1f".join(key_values)) % self.n
        return b

    def __call__(self, batches):
        for pdf in batches:
            if not len(pdf):
                yield pdf.assign(**{BUCKET: pd.Series([], dtype=np.int32)})
                continue
            values = zip(*[pdf[k].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
                           for k in self.keys])
            salts = np.fromiter((self.salts[self.bucket_of(t)] for t in values), dtype=np.int32, count=len(pdf))
            yield pdf.assign(**{BUCKET: salts})


def bucketed(df, keys: list[str], partition: dict):
    """The frame with its bucket column, repartitioned into the plan's buckets, and the columns to group it by."""
    from pyspark.sql.types import IntegerType, StructField, StructType
    schema = StructType(list(df.schema.fields) + [StructField(BUCKET, IntegerType(), False)])
    out = df.mapInPandas(BucketFn(keys, partition), schema=schema).repartition(int(partition["buckets"]), BUCKET)
    return out, [BUCKET, *keys]


__all__ = ["BUCKET", "BucketFn", "bucket_salts", "bucketed", "spark_hash_int"]
