"""Retention: per-class policies, legal holds, noticed purges and the Parquet archive."""
