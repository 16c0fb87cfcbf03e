"""UMS engine: the pure-Python core of the Unified Messaging System.

Nothing in this package imports Dagster except ``definitions`` (the composition root)
and ``resources``; the CLI reaches Dagster only through ``definitions``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
