"""Fake `com.microsoft.spark.sqlanalytics` (Synapse's Dedicated SQL Pool connector) for tests."""
