"""Calibration and classification metrics."""

from __future__ import annotations

import numpy as np
import pytest

from titans_finance.models.metrics import classification_report, expected_calibration_error


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    correct = np.array([True] * 8 + [False] * 2)
    confidence = np.full(10, 0.8)
    assert expected_calibration_error(correct, confidence) == pytest.approx(0.0)


def test_ece_measures_overconfidence() -> None:
    correct = np.array([True, False, True, False])
    confidence = np.full(4, 0.95)
    assert expected_calibration_error(correct, confidence) == pytest.approx(0.45)


def test_ece_weights_bins_by_rows() -> None:
    # bin 0.9x: 2 rows, all right (gap 0.05 each); bin 0.3x: 2 rows, none right (gap 0.3)
    correct = [True, True, False, False]
    confidence = [0.95, 0.95, 0.3, 0.3]
    assert expected_calibration_error(correct, confidence) == pytest.approx((0.1 + 0.6) / 4)


def test_ece_rejects_mismatched_lengths_and_handles_empty() -> None:
    with pytest.raises(ValueError):
        expected_calibration_error([True], [0.5, 0.5])
    assert expected_calibration_error([], []) == 0.0


def test_classification_report_values() -> None:
    report = classification_report(
        ["a", "a", "b", "c"], ["a", "b", "b", "c"], [0.99, 0.5, 0.95, 0.7]
    )
    assert report["accuracy"] == pytest.approx(0.75)
    assert report["rows"] == 4
    assert 0 < report["macro_f1"] < 1
    assert report["high_confidence_coverage"] == pytest.approx(0.5)
    assert report["high_confidence_accuracy"] == pytest.approx(1.0)
    assert "ece" in report
