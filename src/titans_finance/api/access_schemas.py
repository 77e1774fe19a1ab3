"""Request and response bodies of the access routes: tokens, keys, users, audit."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from titans_finance.auth.scopes import Role, Scope

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class TokenRequest(BaseModel):
    """A user's name and password."""

    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=100)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class RefreshRequest(BaseModel):
    """A refresh token from /auth/token or /auth/refresh."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class TokenResponse(BaseModel):
    """A short-lived access token and the refresh token that renews it."""

    success: bool = True
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    expires_at: dt.datetime
    refresh_token: str
    refresh_expires_at: dt.datetime


class Me(BaseModel):
    """Who the caller is."""

    success: bool = True
    kind: str
    name: str
    scope: Scope
    accounts: list[str] | None


class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    scope: Scope
    accounts: Annotated[list[AccountName] | None, Field(max_length=100)] = None
    expires_at: dt.datetime | None = Field(default=None, description="UTC if no offset given")
    rate_limit: Annotated[int | None, Field(ge=1, le=10_000_000)] = Field(
        default=None, description="requests per hour (default TITANS_RATE_LIMIT)"
    )


class KeyPublic(BaseModel):
    """A stored key as shown: never the key or its digest."""

    id: int
    key_id: str
    name: str
    scope: Scope
    accounts: list[str] | None
    rate_limit: int | None
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    active: bool


class KeyCreated(BaseModel):
    """The new key, shown this once."""

    success: bool = True
    key: str = Field(description="Shown once; only its hash is stored")
    record: KeyPublic


class KeyList(BaseModel):
    """Every stored key."""

    success: bool = True
    keys: list[KeyPublic]


class KeyRevoked(BaseModel):
    """A revoked key."""

    success: bool = True
    record: KeyPublic


class UserCreate(BaseModel):
    """A new user."""

    model_config = ConfigDict(extra="forbid")

    username: Name
    password: Annotated[str, Field(min_length=12, max_length=1024)]
    role: Role
    accounts: Annotated[list[AccountName] | None, Field(max_length=100)] = None


class UserPublic(BaseModel):
    """A user as shown: never the password hash."""

    id: int
    username: str
    role: Role
    accounts: list[str] | None
    created_at: dt.datetime


class UserOne(BaseModel):
    """One user."""

    success: bool = True
    user: UserPublic


class UserList(BaseModel):
    """Every user."""

    success: bool = True
    users: list[UserPublic]


class AuditPublic(BaseModel):
    """One audited write."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """Audited writes, newest first."""

    success: bool = True
    items: list[AuditPublic]
    total: int
    limit: int
    offset: int


__all__ = [
    "AuditPage",
    "KeyCreate",
    "KeyCreated",
    "KeyList",
    "KeyRevoked",
    "Me",
    "RefreshRequest",
    "TokenRequest",
    "TokenResponse",
    "UserCreate",
    "UserList",
    "UserOne",
]
