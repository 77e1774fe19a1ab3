"""Canonical transaction schema and the shared enums."""

from __future__ import annotations

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
