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
    sign = "as_is"             # or "invert": card statements listing charges as positive
    headerless = false         # true: the file has no header row; columns are column_1, ...

``titans ingest FILE --dry-run`` writes the mapping it detected in this format (YAML), to be
edited and passed back with ``--mapping``.
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
    sign: Literal["as_is", "invert"] | None = None
    headerless: bool = False

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
        if self.sign is None and self.invert_sign:
            self.sign = "invert"
        self.invert_sign = self.sign == "invert"
        return self

    @property
    def sign_setting(self) -> Literal["as_is", "invert"] | None:
        """``invert``/``as_is`` when the mapping fixes the sign convention, None to detect it."""
        if self.sign is not None:
            return self.sign
        return "invert" if self.invert_sign else None

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


def mapping_document(mapping: ColumnMapping) -> dict[str, Any]:
    """The keys a mapping file needs to reproduce ``mapping`` (defaults left out)."""
    data = mapping.model_dump(exclude_defaults=True, exclude_none=True)
    data.pop("invert_sign", None)  # ``sign`` says it
    return data


def dump_mapping(mapping: ColumnMapping, path: Path | str) -> Path:
    """Write ``mapping`` as an editable YAML file (JSON when ``path`` ends in ``.json``)."""
    import json

    path = Path(path)
    data = mapping_document(mapping)
    if path.suffix.lower() == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = (
            "# Column mapping written by `titans ingest --dry-run`; edit it and import with\n"
            "# `titans ingest FILE --mapping THIS_FILE`.\n"
            + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputFileError(
            f"{path}: cannot write the mapping file ({exc.strerror or exc})"
        ) from exc
    return path


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
        # JSON is YAML, so ``.json`` mapping files load through the YAML parser.
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


__all__ = ["ColumnMapping", "coerce_mapping", "dump_mapping", "load_mapping", "mapping_document"]
