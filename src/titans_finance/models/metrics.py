"""Classification metrics shared by evaluate(), training and the benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score


def expected_calibration_error(
    correct: Sequence[bool] | np.ndarray, confidence: Sequence[float] | np.ndarray, n_bins: int = 10
) -> float:
    """Expected calibration error of top-1 confidences.

    Confidences are grouped into ``n_bins`` equal-width bins on [0, 1]; the ECE is the
    row-weighted mean of |accuracy - mean confidence| over the bins (0 = perfectly calibrated).
    """
    hits = np.asarray(correct, dtype=np.float64)
    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    if hits.shape != conf.shape:
        raise ValueError("correct and confidence must have the same length")
    if hits.size == 0:
        return 0.0
    bins = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    hit_sum = np.bincount(bins, weights=hits, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    return float(np.abs(hit_sum - conf_sum).sum() / hits.size)


def classification_report(
    y_true: Sequence[str] | pd.Series,
    y_pred: Sequence[str] | pd.Series,
    confidence: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """Accuracy, macro-F1, weighted-F1, rows and (with confidences) ECE and high-confidence
    coverage/accuracy (confidence > 0.9)."""
    truth = np.asarray(y_true, dtype=object).astype(str)
    pred = np.asarray(y_pred, dtype=object).astype(str)
    report: dict[str, float] = {
        "accuracy": float(accuracy_score(truth, pred)) if truth.size else 0.0,
        "macro_f1": float(f1_score(truth, pred, average="macro", zero_division=0))
        if truth.size
        else 0.0,
        "weighted_f1": float(f1_score(truth, pred, average="weighted", zero_division=0))
        if truth.size
        else 0.0,
        "rows": float(truth.size),
    }
    if confidence is not None:
        conf = np.asarray(confidence, dtype=np.float64)
        correct = truth == pred
        report["ece"] = expected_calibration_error(correct, conf)
        confident = conf > 0.9
        report["high_confidence_coverage"] = float(confident.mean()) if conf.size else 0.0
        report["high_confidence_accuracy"] = (
            float(correct[confident].mean()) if confident.any() else 0.0
        )
    return report


__all__ = ["classification_report", "expected_calibration_error"]
