"""Scopes, roles and the authenticated principal every route sees."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from titans_finance.errors import PermissionDeniedError, ValidationError


class Scope(StrEnum):
    """What a key or user may do; each scope includes the ones below it."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for read, 1 for write, 2 for admin."""
        return _RANK[self]

    def allows(self, needed: Scope) -> bool:
        """True when this scope covers ``needed``."""
        return self.rank >= needed.rank


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


class Role(StrEnum):
    """A user's role: owner administers, member writes, viewer reads."""

    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"

    @property
    def scope(self) -> Scope:
        """The scope this role grants."""
        return {Role.OWNER: Scope.ADMIN, Role.MEMBER: Scope.WRITE, Role.VIEWER: Scope.READ}[self]


def parse_accounts(value: str | Iterable[str] | None) -> frozenset[str] | None:
    """Account names from ``"A,B"`` or a list; None (every account) when nothing is given."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = frozenset(item.strip() for item in items if item and item.strip())
    if not names:
        return None
    for name in names:
        if len(name) > 200:
            raise ValidationError(f"accounts: {name[:40]!r}… is longer than 200 characters")
    return names


@dataclass(frozen=True)
class Principal:
    """Who is calling: an environment key, a stored key or a user's token.

    ``accounts`` is None for "every account"; otherwise the only accounts this caller may see
    or change.  ``identity`` is a non-secret id used for rate limits, logs and the audit log.
    """

    kind: str  # "env-key" | "key" | "user"
    name: str
    scope: Scope
    identity: str
    accounts: frozenset[str] | None = None
    rate_limit: int | None = None
    key_id: int | None = None
    user_id: int | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.kind}:{self.name}"

    @property
    def restricted(self) -> bool:
        """True when limited to some accounts."""
        return self.accounts is not None

    def require(self, needed: Scope) -> None:
        """PermissionDeniedError unless this caller's scope covers ``needed``."""
        if not self.scope.allows(needed):
            raise PermissionDeniedError(
                f"this {self._what} has scope {self.scope.value!r}; "
                f"this request needs {needed.value!r}"
            )

    def allows_account(self, account: str | None) -> bool:
        """True when this caller may see ``account`` (unrestricted callers see every one)."""
        return self.accounts is None or (account is not None and account in self.accounts)

    def accounts_filter(self, requested: Sequence[str] | None) -> list[str]:
        """The accounts a filter should use: what was asked, limited to what is allowed.

        An unrestricted caller gets ``requested`` as is (empty = every account).  A restricted
        caller asking for nothing gets its own accounts; asking for another account is refused
        (403), whether that account exists or not.
        """
        wanted = list(requested or [])
        if self.accounts is None:
            return wanted
        if not wanted:
            return sorted(self.accounts)
        outside = sorted(set(wanted) - self.accounts)
        if outside:
            raise PermissionDeniedError(
                f"account: this {self._what} may not read {', '.join(map(repr, outside))}"
            )
        return wanted

    def require_account(
        self, account: str | None, field: str = "account", *, required: bool = True
    ) -> None:
        """Refuse (403) an account outside this caller's accounts.

        With ``required``, a restricted caller must name one (the answer would otherwise
        cover every account, e.g. a household cash-flow forecast).
        """
        if self.accounts is None or (account is None and not required):
            return
        if account is None:
            raise PermissionDeniedError(
                f"{field}: this {self._what} is limited to accounts "
                f"{', '.join(sorted(self.accounts))}; name one of them"
            )
        if account not in self.accounts:
            raise PermissionDeniedError(f"{field}: this {self._what} may not use {account!r}")

    def require_unrestricted(self, what: str) -> None:
        """Refuse (403) household-wide changes to callers limited to some accounts."""
        if self.accounts is not None:
            raise PermissionDeniedError(
                f"{what} applies to every account; this {self._what} is limited to "
                f"{', '.join(sorted(self.accounts))}"
            )

    @property
    def _what(self) -> str:
        return "user" if self.kind == "user" else "key"


__all__ = ["Principal", "Role", "Scope", "parse_accounts"]
