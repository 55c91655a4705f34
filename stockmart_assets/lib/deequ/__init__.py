"""Data-quality gates for stockmart: Deequ suites declared as data, one runner, anomaly history, orphans.

Importing this package (or any module in it) loads no Spark, pydeequ or Java: the suites are plain data and
the modules that talk to Deequ import pyspark/pydeequ inside their functions, so Dagster definitions that
reference them still load in a second.
"""
