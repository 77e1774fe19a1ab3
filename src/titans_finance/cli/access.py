"""`titans users`, `titans keys` and `titans audit`: who may use the API, and what was changed."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from titans_finance.errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console()
users_app = typer.Typer(help="Users who log in to the API and dashboard.", no_args_is_help=True)
keys_app = typer.Typer(help="Scoped API keys (shown once, stored as a hash).", no_args_is_help=True)

_DURATION = re.compile(r"^(\d{1,5})([dhw])$")


def cli_actor() -> str:
    """How the audit log names a command-line user: ``cli:<login name>``."""
    try:
        import os
        import pwd  # POSIX only

        return f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
    except (ImportError, KeyError, OSError):
        return "cli:unknown"


def _engine() -> Engine:
    from titans_finance.config import get_settings
    from titans_finance.storage.db import get_engine

    return get_engine(get_settings().database_url)


def parse_expiry(value: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``2w`` from now, or a date (end of that day, UTC) / ISO timestamp."""
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        hours = {"h": 1, "d": 24, "w": 24 * 7}[unit] * amount
        return now + timedelta(hours=hours)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"--expires: {value!r} is neither a duration (30d, 12h, 2w) nor a date (YYYY-MM-DD)"
        ) from None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", "-r", help="owner | member | viewer"),
    accounts: str | None = typer.Option(
        None, "--accounts", help="Comma-separated accounts this user is limited to."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (no prompt)."
    ),
) -> None:
    """Add a user (password asked twice, hashed with argon2id)."""
    from titans_finance.auth import Role, parse_accounts, store

    try:
        chosen = Role(role.strip().lower())
    except ValueError:
        raise ValidationError(f"--role: {role!r} is not one of owner, member, viewer") from None
    engine = _engine()
    password = _read_password(password_stdin)
    user = store.add_user(engine, name, password, chosen, parse_accounts(accounts))
    detail = {k: v for k, v in user.public().items() if k != "created_at"}
    store.record_audit(
        engine, actor=cli_actor(), action="user.create", target=user.username, detail=detail
    )
    console.print(f"user {escape(user.username)} added with role {user.role.value}")


@users_app.command("list")
def users_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Users with role and accounts."""
    from titans_finance.auth import store

    users = [u.public() for u in store.list_users(_engine())]
    if as_json:
        typer.echo(json.dumps(users, indent=2))
        return
    table = Table("id", "username", "role", "accounts", "created")
    for user in users:
        table.add_row(
            str(user["id"]),
            escape(user["username"]),
            user["role"],
            escape(", ".join(user["accounts"])) if user["accounts"] else "all",
            user["created_at"][:19],
        )
    console.print(table)


@users_app.command("remove")
def users_remove(name: str = typer.Argument(..., help="Login name.")) -> None:
    """Remove a user; their tokens stop working at once."""
    from titans_finance.auth import store

    engine = _engine()
    user = store.delete_user(engine, name)
    store.record_audit(engine, actor=cli_actor(), action="user.delete", target=user.username)
    console.print(f"user {escape(user.username)} removed")


@users_app.command("passwd")
def users_passwd(
    name: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (no prompt)."
    ),
) -> None:
    """Set a user's password; their existing tokens stop working."""
    from titans_finance.auth import store

    engine = _engine()
    user = store.set_password(engine, name, _read_password(password_stdin))
    store.record_audit(engine, actor=cli_actor(), action="user.password", target=user.username)
    console.print(f"password of {escape(user.username)} changed")


def bootstrap_owner(engine: Engine) -> tuple[str, bool]:
    """Create the owner from TITANS_OWNER_USERNAME / TITANS_OWNER_PASSWORD when missing.

    Returns (username, created); ConfigurationError (exit 78) when either setting is missing.
    """
    from titans_finance.auth import store
    from titans_finance.config import get_settings

    settings = get_settings()
    if not settings.owner_username or settings.owner_password is None:
        raise ConfigurationError(
            "set TITANS_OWNER_USERNAME and TITANS_OWNER_PASSWORD (at least 12 characters) "
            "to bootstrap the owner"
        )
    try:
        user, created = store.ensure_owner(
            engine, settings.owner_username, settings.owner_password.get_secret_value()
        )
    except ValidationError as exc:
        raise ConfigurationError(f"TITANS_OWNER_*: {exc.message}") from None
    if created:
        store.record_audit(
            engine,
            actor="bootstrap",
            action="user.create",
            target=user.username,
            detail={"role": user.role.value, "source": "TITANS_OWNER_USERNAME"},
        )
    return user.username, created


@users_app.command("bootstrap")
def users_bootstrap() -> None:
    """Create the owner from TITANS_OWNER_USERNAME and TITANS_OWNER_PASSWORD if missing."""
    username, created = bootstrap_owner(_engine())
    state = "created" if created else "already exists"
    console.print(f"owner {escape(username)} {state}")


@keys_app.command("create")
def keys_create(
    name: str = typer.Option(..., "--name", "-n", help="What the key is for."),
    scope: str = typer.Option(..., "--scope", "-s", help="read | write | admin"),
    accounts: str | None = typer.Option(
        None, "--accounts", help="Comma-separated accounts the key is limited to."
    ),
    expires: str | None = typer.Option(
        None, "--expires", help="30d, 12h, 2w or a date YYYY-MM-DD (default: never)."
    ),
    rate_limit: int | None = typer.Option(
        None, "--rate-limit", min=1, help="Requests per hour (default TITANS_RATE_LIMIT)."
    ),
) -> None:
    """Create a key and print it once; only its SHA-256 digest is stored."""
    from titans_finance.auth import Scope, parse_accounts, store

    try:
        chosen = Scope(scope.strip().lower())
    except ValueError:
        raise ValidationError(f"--scope: {scope!r} is not one of read, write, admin") from None
    engine = _engine()
    record, key = store.create_key(
        engine,
        name=name,
        scope=chosen,
        created_by=cli_actor(),
        accounts=parse_accounts(accounts),
        expires_at=parse_expiry(expires) if expires else None,
        rate_limit=rate_limit,
    )
    store.record_audit(
        engine,
        actor=cli_actor(),
        action="key.create",
        target=record.key_id,
        detail=record.public(),
    )
    err = Console(stderr=True)
    err.print(
        f"key {escape(record.name)} ({record.key_id}, scope {record.scope.value}) created; "
        "it is shown once, store it now:"
    )
    typer.echo(key)


@keys_app.command("list")
def keys_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Keys with scope, accounts, expiry, last use and whether revoked (never the key)."""
    from titans_finance.auth import store

    keys = [k.public() for k in store.list_keys(_engine())]
    if as_json:
        typer.echo(json.dumps(keys, indent=2))
        return
    table = Table("key_id", "name", "scope", "accounts", "expires", "last used", "state")
    for key in keys:
        state = "revoked" if key["revoked_at"] else ("active" if key["active"] else "expired")
        table.add_row(
            key["key_id"],
            escape(key["name"]),
            key["scope"],
            escape(", ".join(key["accounts"])) if key["accounts"] else "all",
            (key["expires_at"] or "never")[:19],
            (key["last_used_at"] or "never")[:19],
            state,
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key: str = typer.Argument(..., help="key_id (or unique name) of the key.")) -> None:
    """Revoke a key; API workers refuse it within their TITANS_KEY_CACHE_SECONDS (default 5)."""
    from titans_finance.auth import store
    from titans_finance.config import get_settings

    engine = _engine()
    record = store.revoke_key(engine, key)
    store.record_audit(engine, actor=cli_actor(), action="key.revoke", target=record.key_id)
    console.print(
        f"key {escape(record.name)} ({record.key_id}) revoked; running API workers refuse it "
        f"within {get_settings().key_cache_seconds:g} s"
    )


def audit(
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=10_000, help="How many events."),
    action: str | None = typer.Option(None, "--action", help="Only this action, e.g. import."),
    actor: str | None = typer.Option(None, "--actor", help="Only this actor, e.g. user:alice."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The audit log: who changed what and when, newest first."""
    from titans_finance.auth import store

    _total, events = store.list_audit(_engine(), limit=limit, action=action, actor=actor)
    if as_json:
        typer.echo(json.dumps([e.public() for e in events], indent=2))
        return
    table = Table("at", "actor", "action", "target", "detail")
    for event in events:
        table.add_row(
            event.at.isoformat()[:19],
            escape(event.actor),
            event.action,
            escape(event.target or ""),
            escape(json.dumps(event.detail, sort_keys=True)[:120]),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the users and keys groups and the audit command."""
    app.add_typer(users_app, name="users")
    app.add_typer(keys_app, name="keys")
    app.command("audit")(audit)


__all__ = ["bootstrap_owner", "cli_actor", "parse_expiry", "register"]
