"""Folders and globs go to Spark's reader as they are; a glob also names the folder Hive
partitions are counted from (basePath), so store_id=3/ stays a column."""
from manymodels_runtime.spark_executor import glob_base_path


def test_a_glob_names_the_folder_before_its_first_wildcard():
    assert glob_base_path("data/lake/*/part-*.parquet") == "data/lake"
    assert glob_base_path("/mnt/x/store_id=*/y.csv") == "/mnt/x"
    assert glob_base_path("abfss://c@a.dfs.core.windows.net/lake/s[12]/f.parquet") == "abfss://c@a.dfs.core.windows.net/lake"
    assert glob_base_path("*.csv") == "."
    assert glob_base_path("/*.csv") == "/"


def test_a_file_or_folder_has_no_base_path():
    assert glob_base_path("data/lake") is None
    assert glob_base_path("data/sales.csv") is None
