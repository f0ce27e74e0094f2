"""Both executors implement the Executor protocol, and --executor picks one of them in one place."""
import sys

from manymodels_runtime.executor import Executor
from manymodels_runtime.local_executor import LocalExecutor
from manymodels_runtime.spark_executor import SparkExecutor
from manymodels_runtime.stages import choose_executor


def test_both_executors_implement_the_protocol():
    for ex in (LocalExecutor(2, None), SparkExecutor()):
        assert isinstance(ex, Executor)
    assert (LocalExecutor.name, SparkExecutor.name) == ("local", "spark")


def test_choose_executor_maps_the_flag(tmp_path):
    local = choose_executor("local", 3, str(tmp_path))
    assert isinstance(local, LocalExecutor) and (local.workers, local.cache_dir) == (3, str(tmp_path))
    assert isinstance(choose_executor("spark", 3, None), SparkExecutor)
    assert "pyspark" not in sys.modules  # choosing Spark imports pyspark only when a stage runs
