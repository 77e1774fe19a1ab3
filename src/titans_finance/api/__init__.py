"""The HTTP API (FastAPI): build it with `create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from titans_finance.api.main import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from titans_finance.api.main import create_app

        return create_app
    raise AttributeError(name)
