"""Who may do what: users, scoped API keys, tokens and the audit log."""

from __future__ import annotations

from titans_finance.auth.scopes import Principal, Role, Scope, parse_accounts

__all__ = ["Principal", "Role", "Scope", "parse_accounts"]
