"""Scaling out: batch scoring of large exports with Dask."""

from titans_finance.scale.batch import score_files

__all__ = ["score_files"]
