"""manymodels plan's partition plan in the Spark job (partition_plan.py), against the fake pyspark
(real Spark is NOT exercised): the bucket salts follow Spark's own hash, a planned training run
repartitions by bucket before grouping and gives the same results as an unplanned one."""
from __future__ import annotations

import pandas as pd

from manymodels_runtime.partition_plan import BUCKET, BucketFn, bucket_salts, spark_hash_int


def test_the_hash_is_sparks_murmur3_of_an_int():
    # What Spark SQL answers to SELECT hash(0), hash(1) (Murmur3_x86_32, seed 42).
    assert spark_hash_int(0) == 933211791
    assert spark_hash_int(1) == -559580957


def test_each_bucket_gets_a_salt_that_lands_in_its_own_partition():
    for n in (1, 2, 7, 64, 200):
        salts = bucket_salts(n)
        assert len(salts) == n and len(set(salts)) == n
        assert [spark_hash_int(s) % n for s in salts] == list(range(n))


def test_the_bucket_fn_uses_the_mapping_and_hashes_the_rest():
    fn = BucketFn(["s", "i"], {"buckets": 4, "mapping": [{"keys": ["1", "a"], "bucket": 3}, {"keys": ["2", "b"], "bucket": 0}]})
    salts = bucket_salts(4)
    pdf = pd.DataFrame({"s": ["1", "2", "9", "1"], "i": ["a", "b", "z", "a"], "v": [1.0, 2.0, 3.0, 4.0]})
    out = next(fn(iter([pdf])))
    assert list(out.columns) == ["s", "i", "v", BUCKET] and out[BUCKET].dtype == "int32"
    assert out[BUCKET].tolist()[:2] == [salts[3], salts[0]] and out[BUCKET].iloc[3] == salts[3]
    assert out[BUCKET].iloc[2] in salts
    # The same keys always get the same bucket: a group is never split between partitions.
    again = next(fn(iter([pdf.iloc[[2]]])))
    assert again[BUCKET].iloc[0] == out[BUCKET].iloc[2]


def _frame(series):
    return pd.concat([series((str(s), c), seed=s * 7 + ord(c)) for s in range(1, 4) for c in "ab"], ignore_index=True)


def test_a_planned_spark_training_repartitions_by_bucket_and_matches_an_unplanned_one(project, base_spec, series):
    project.write_data(_frame(series))
    plain = project.run("train", base_spec(), "plain", spark=True)
    partition = {"buckets": 3, "mapping": [{"keys": ["1", "a"], "bucket": 2}, {"keys": ["2", "b"], "bucket": 1}]}
    planned = project.run("train", base_spec(execution={"partition": partition}), "planned", spark=True)
    assert plain.code == 0 and planned.code == 0, planned.stderr
    strip = ("fitSeconds",)
    assert [{k: v for k, v in g.items() if k not in strip} for g in planned.manifest["groups"]] == \
        [{k: v for k, v in g.items() if k not in strip} for g in plain.manifest["groups"]]
    log = project.spark_log()
    start = max(i for i, e in enumerate(log) if e["op"] == "session")
    ops = log[start:]
    assert {"op": "conf.set", "key": "spark.sql.shuffle.partitions", "value": "3"} in ops
    assert {"op": "conf.set", "key": "spark.sql.adaptive.coalescePartitions.enabled", "value": "false"} in ops
    assert {"op": "repartition", "n": 3, "cols": [BUCKET]} in ops
    apply = [e for e in ops if e["op"] == "applyInPandas"][0]
    assert apply["keys"] == [BUCKET, "store_id", "item_id"] and apply["groups"] == 6
    # Without a plan: today's grouping, no repartition.
    first = log[:start]
    assert not [e for e in first if e["op"] == "repartition"]
    assert [e for e in first if e["op"] == "applyInPandas"][0]["keys"] == ["store_id", "item_id"]
