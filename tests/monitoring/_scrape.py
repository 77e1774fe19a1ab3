"""Reading the app's /metrics text."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(sample name, labels, value) of every exported series."""
    return [
        (sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def series(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Series of one metric name, keyed by their sorted labels."""
    return {
        tuple(sorted(labels.items())): value
        for sample_name, labels, value in samples(text)
        if sample_name == name
    }
