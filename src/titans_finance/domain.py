"""Canonical transaction schema and the shared enums."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final


class TransactionType(StrEnum):
    INCOME = "Income"
    EXPENSE = "Expense"
    TRANSFER = "Transfer"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ConfidenceLevel(StrEnum):
    VERY_HIGH = "VERY_HIGH"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


# Canonical column names, shared by readers, storage, features, models and adapters.
DATE: Final = "Date"
TYPE: Final = "Type"
DESCRIPTION: Final = "Description"
AMOUNT: Final = "Amount"
CATEGORY: Final = "Category"
PAYMENT_METHOD: Final = "Payment Method"
STATUS: Final = "Status"
REFERENCE: Final = "Reference"
RECEIPT_URL: Final = "Receipt URL"
ACCOUNT: Final = "Account"
CURRENCY: Final = "Currency"
BALANCE: Final = "Balance"
# Optional: the card network's merchant category code (ISO 18245), four digits.
MCC: Final = "MCC"
MERCHANT: Final = "merchant"

CANONICAL_COLUMNS: Final[tuple[str, ...]] = (
    DATE,
    TYPE,
    DESCRIPTION,
    AMOUNT,
    CATEGORY,
    PAYMENT_METHOD,
    STATUS,
    REFERENCE,
    RECEIPT_URL,
    ACCOUNT,
    CURRENCY,
)
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (DATE, DESCRIPTION, AMOUNT)
DEFAULT_ACCOUNT: Final = "default"

CENT: Final = Decimal("0.01")

# Validation limits shared by ingest validation and the API's request schemas.
MIN_DATE: Final = dt.date(1900, 1, 1)
MAX_DATE: Final = dt.date(2100, 12, 31)  # the API's upper bound; ingest allows up to today + 1y
MAX_ABS_AMOUNT: Final = Decimal("1e12")
MAX_DESCRIPTION: Final = 500
MAX_HORIZON_DAYS: Final = 366  # forecasts and upcoming recurring payments: up to a year ahead

# Fields of a prediction request record, in key order (also the serving LRU cache key order);
# the API's schemas, serving.records and the dashboard's HTTP client all use this one list.
RECORD_FIELDS: Final[tuple[str, ...]] = (
    "description",
    "amount",
    "date",
    "type",
    "payment_method",
    "account",
    "currency",
    "category",
    "mcc",
)

# Type labels (lower case) as banks and users write them -> the canonical type.
TYPE_SYNONYMS: dict[str, TransactionType] = {
    **{
        word: TransactionType.EXPENSE
        for word in (
            "expense",
            "expenses",
            "debit",
            "dr",
            "db",
            "d",
            "withdrawal",
            "out",
            "outflow",
            "payment",
            "purchase",
            "spend",
            "af",
            "soll",
            "s",
            "debet",
            "débit",
            "debito",
            "débito",
            "cargo",
            "addebito",
            "uscita",
            "ausgabe",
            "dépense",
            "gasto",
            "vydaj",
            "vyber",
            "výdaj",
        )
    },
    **{
        word: TransactionType.INCOME
        for word in (
            "income",
            "credit",
            "cr",
            "c",
            "deposit",
            "in",
            "inflow",
            "refund",
            "bij",
            "haben",
            "h",
            "crédit",
            "credito",
            "crédito",
            "abono",
            "accredito",
            "entrata",
            "einnahme",
            "revenu",
            "ingreso",
            "prijem",
            "příjem",
        )
    },
    **{word: TransactionType.TRANSFER for word in ("transfer", "xfer", "virement", "umbuchung")},
}


def parse_type(label: object) -> TransactionType | None:
    """The canonical type a label names (case and surrounding space ignored); None if unknown."""
    if isinstance(label, TransactionType):
        return label
    if label is None:
        return None
    return TYPE_SYNONYMS.get(str(label).strip().lower())


@dataclass(frozen=True)
class RejectedRow:
    """A source row that could not become a transaction, with a reason a person understands."""

    line: int
    raw: str
    reason: str


@dataclass(frozen=True)
class BalanceBreak:
    """A running-balance discontinuity: previous balance + amount != reported balance."""

    line: int
    expected: str
    found: str


@dataclass
class TransactionFilter:
    """Filters for listing transactions; every field is optional."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    accounts: Sequence[str] = ()
    categories: Sequence[str] = ()
    types: Sequence[str] = ()
    text: str | None = None
    min_amount: Decimal | float | None = None
    max_amount: Decimal | float | None = None
    limit: int | None = None
    offset: int = 0
    sort: str = "date"
    descending: bool = False


def confidence_level(probability: float) -> ConfidenceLevel:
    """Map a calibrated probability to its level (VERY_HIGH > 0.98, HIGH > 0.90, MEDIUM > 0.60)."""
    if probability > 0.98:
        return ConfidenceLevel.VERY_HIGH
    if probability > 0.90:
        return ConfidenceLevel.HIGH
    if probability > 0.60:
        return ConfidenceLevel.MEDIUM
    return ConfidenceLevel.LOW


def type_from_amount(amount: Decimal | float) -> TransactionType:
    """Income for money in, Expense for money out."""
    return TransactionType.INCOME if amount > 0 else TransactionType.EXPENSE


class RuleKind(StrEnum):
    """How a user categorisation rule matches a transaction."""

    CONTAINS = "contains"  # description (case-insensitive) contains `pattern`
    REGEX = "regex"  # description matches the regular expression `pattern`
    MERCHANT = "merchant"  # normalised merchant equals `pattern` (case-insensitive)
    AMOUNT_RANGE = "amount_range"  # min_amount <= Amount <= max_amount
    ACCOUNT = "account"  # Account equals `pattern`


@dataclass(frozen=True)
class CategoryRule:
    """A user rule: transactions matching every given condition get `category`.

    ``pattern`` is interpreted by ``kind``; the optional amount bounds and account further
    restrict any kind.  Higher ``priority`` wins; rules always take precedence over the model.
    """

    kind: RuleKind
    category: str
    pattern: str = ""
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    account: str | None = None
    priority: int = 0
    id: int | None = None


def rule_from_dict(data: Mapping[str, object]) -> CategoryRule:
    """Build a rule from a plain mapping (JSON, an API answer); missing optional fields default."""

    def money(value: object) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    account = data.get("account")
    rule_id = data.get("id")
    return CategoryRule(
        kind=RuleKind(str(data["kind"])),
        category=str(data["category"]),
        pattern=str(data.get("pattern") or ""),
        min_amount=money(data.get("min_amount")),
        max_amount=money(data.get("max_amount")),
        account=None if account is None else str(account),
        priority=int(str(data.get("priority") or 0)),
        id=None if rule_id is None else int(str(rule_id)),
    )
