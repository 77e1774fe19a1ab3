"""The model-freshness pipeline: inbox ingest, retraining, champion/challenger promotion."""

from titans_finance.pipeline.runner import (
    STEPS,
    RetrainCheck,
    retrain_check,
    run_pipeline,
    run_step,
)

__all__ = ["STEPS", "RetrainCheck", "retrain_check", "run_pipeline", "run_step"]
