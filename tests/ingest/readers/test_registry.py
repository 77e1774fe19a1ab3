"""The reader registry and the one text decoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from titans_finance.errors import InputFileError
from titans_finance.ingest.readers import (
    FORMAT_CHOICES,
    REGISTRY,
    SUPPORTED_EXTENSIONS,
    detect_format,
    resolve_format,
    spec_of,
)
from titans_finance.ingest.readers._common import decode_text


def test_every_spec_loads_a_reader() -> None:
    names = [spec.name for spec in REGISTRY]
    assert len(names) == len(set(names))
    for spec in REGISTRY:
        assert callable(spec.load())
        assert spec.label
    assert FORMAT_CHOICES[0] == "auto" and set(FORMAT_CHOICES[1:]) == set(names)


def test_extensions_and_aliases_come_from_the_registry() -> None:
    assert {".ofx", ".qfx", ".qif", ".xml", ".asc", ".csv"} <= SUPPORTED_EXTENSIONS
    assert resolve_format("QFX") == "ofx"
    assert resolve_format("camt.054") == "camt"
    assert spec_of("camt").extensions == (".xml",)


def test_api_format_literal_is_the_registry() -> None:
    from typing import get_args

    from titans_finance.api.routes.transactions import ALLOWED_SUFFIXES, FileFormat

    assert get_args(FileFormat) == FORMAT_CHOICES
    assert ALLOWED_SUFFIXES == SUPPORTED_EXTENSIONS


def test_qif_with_leading_comment_lines_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("# exported by MyBank\n; second comment\n!Type:Bank\nD01/02/2024\nT-4.50\n^\n")
    assert detect_format(path) == "qif"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Café;-4,50".encode("cp1252"), "Café;-4,50"),  # tiny cp1252: not cp775's "Cafķ"
        ("Müller€".encode(), "Müller€"),
        (b"\xef\xbb\xbfDate,Amount", "Date,Amount"),
        ("Datum\tBetrag".encode("utf-16"), "Datum\tBetrag"),
        ("Datum\tBetrag".encode("utf-32"), "Datum\tBetrag"),
        ("Zaúčtovaná částka;Popis\n".encode("cp1250") * 20, "Zaúčtovaná částka;Popis\n" * 20),
    ],
)
def test_decode_text(raw: bytes, expected: str) -> None:
    assert decode_text(raw) == expected


def test_decode_text_declared_and_binary() -> None:
    assert decode_text("é".encode("latin-1"), "latin-1") == "é"
    assert decode_text("é".encode(), "ascii") == "é"  # a wrong declaration falls through
    with pytest.raises(InputFileError, match="cannot decode as ascii"):
        decode_text("é".encode(), "ascii", source="f.csv", strict=True)
    with pytest.raises(InputFileError, match="binary"):
        decode_text(b"PK\x03\x04\x00\x00junk")
