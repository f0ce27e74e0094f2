"""A fake `pyspark` for the runtime's tests: just enough of the DataFrame API, executed over
pandas, to run the SparkExecutor's wiring. Not real Spark: nothing here is distributed, and
the real connectors are only recorded (see pyspark.sql._record). On sys.path only in tests.
"""
