"""User column-mapping files (TOML or YAML) for exports whose headers we do not recognise.

Example (TOML)::

    date = "Buchung"
    description = "Text"
    amount = "Umsatz"          # or: debit = "Ausgang" / credit = "Eingang"
    type_column = "S/H"        # with debit_values / credit_values
    debit_values = ["S"]
    credit_values = ["H"]
    date_format = "%d.%m.%Y"
    decimal = ","
    delimiter = ";"
    encoding = "cp1252"
    skip_rows = 4
    account = "Giro"
    currency = "EUR"
    invert_sign = false
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from titans_finance.errors import InputFileError


class ColumnMapping(BaseModel):
    """Which source column feeds each canonical field, and how to read the file."""

    model_config = ConfigDict(extra="forbid")

    date: str | None = None
    description: str | None = None
    amount: str | None = None
    debit: str | None = None
    credit: str | None = None
    category: str | None = None
    type: str | None = None
    payment_method: str | None = None
    status: str | None = None
    reference: str | None = None
    receipt_url: str | None = None
    account_column: str | None = None
    currency_column: str | None = None
    balance: str | None = None
    payee: str | None = None
    type_column: str | None = None
    debit_values: list[str] = Field(default_factory=lambda: ["debit", "dr", "d"])
    credit_values: list[str] = Field(default_factory=lambda: ["credit", "cr", "c"])
    date_format: str | None = None
    dayfirst: bool | None = None
    decimal: Literal[".", ","] | None = None
    delimiter: str | None = None
    encoding: str | None = None
    skip_rows: int = Field(default=0, ge=0)
    account: str | None = None
    currency: str | None = None
    invert_sign: bool = False

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is not None:
            value = {"\\t": "\t", "tab": "\t"}.get(value, value)
            if len(value) != 1:
                raise ValueError("delimiter must be a single character (use '\\t' for tab)")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 3 and value.isalpha()):
            raise ValueError("currency must be a 3-letter code such as EUR")
        return value.upper() if value else value

    @model_validator(mode="after")
    def _amount_source(self) -> ColumnMapping:
        if self.amount and (self.debit or self.credit):
            raise ValueError("give either 'amount' or 'debit'/'credit' columns, not both")
        return self

    def columns(self) -> dict[str, str]:
        """Canonical field -> source column, for the fields this mapping names."""
        fields = (
            "date",
            "description",
            "amount",
            "debit",
            "credit",
            "category",
            "type",
            "payment_method",
            "status",
            "reference",
            "receipt_url",
            "account_column",
            "currency_column",
            "balance",
            "payee",
            "type_column",
        )
        return {f: v for f in fields if (v := getattr(self, f))}


def coerce_mapping(mapping: Mapping[str, Any] | ColumnMapping | None) -> ColumnMapping:
    """A ColumnMapping from a mapping object, a plain dict or None (an empty mapping)."""
    if mapping is None:
        return ColumnMapping()
    if isinstance(mapping, ColumnMapping):
        return mapping
    try:
        return ColumnMapping.model_validate(dict(mapping))
    except ValidationError as exc:
        raise InputFileError(f"invalid column mapping: {_explain(exc)}") from exc


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "mapping"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def load_mapping(path: Path | str) -> ColumnMapping:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) mapping file.

    Raises InputFileError naming the file and the problem when it is missing, malformed or has
    unknown or wrongly typed keys.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputFileError(f"{path}: mapping file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read mapping file ({exc})") from exc
    data: Any
    try:
        is_toml = path.suffix.lower() == ".toml"
        data = tomllib.loads(text) if is_toml else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise InputFileError(f"{path}: not valid TOML/YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: a mapping file must hold key = value pairs at the top level")
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as exc:
        raise InputFileError(f"{path}: invalid column mapping: {_explain(exc)}") from exc


__all__ = ["ColumnMapping", "coerce_mapping", "load_mapping"]
