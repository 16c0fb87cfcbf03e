"""Partitions shared by assets and sensors: one dynamic partition per send job."""

import dagster as dg

__all__ = ["jobs_partitions"]

jobs_partitions = dg.DynamicPartitionsDefinition(name="jobs")
