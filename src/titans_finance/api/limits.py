"""Rate limiting per API key and the shared prediction cache, in Redis when configured.

Both degrade gracefully: when Redis is configured but unreachable, the limiter falls back to
its in-memory buckets and the cache to "miss", the failure is remembered (reported by
``/health``) and Redis is retried after a short pause instead of on every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

logger = logging.getLogger(__name__)

_RETRY_SECONDS = 5.0
_KEY_PREFIX = "titans:"

# Token bucket: capacity `burst`, refilled at `rate` tokens per second; one token per request.
# Time comes from the Redis server so every worker and host agrees.
_TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(retry), tostring(tokens)}
"""  # noqa: S105


# The same bucket, read without taking a token (is this identity currently blocked?).
_PEEK_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then return {1, '0', tostring(burst)} end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
if tokens >= 1 then return {1, '0', tostring(tokens)} end
return {0, tostring((1 - tokens) / rate), tostring(tokens)}
"""


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may proceed, and if not, in how many seconds to retry."""

    allowed: bool
    retry_after: float
    remaining: int


class RedisConnection:
    """A lazily connected asyncio Redis client that remembers failures instead of raising."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.client: aioredis.Redis | None = (
            aioredis.Redis.from_url(
                url, socket_connect_timeout=0.5, socket_timeout=0.5, health_check_interval=30
            )
            if url
            else None
        )
        self.last_error: str | None = None
        self._down_until = 0.0

    @property
    def configured(self) -> bool:
        """True when a Redis URL was given."""
        return self.client is not None

    @property
    def usable(self) -> bool:
        """Configured and not inside the pause after a failure."""
        return self.client is not None and time.monotonic() >= self._down_until

    def failed(self, exc: Exception) -> None:
        """Remember a failure; Redis is not tried again for a few seconds."""
        if self.last_error is None or time.monotonic() >= self._down_until:
            logger.warning("Redis unavailable (%s); serving without it", exc)
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._down_until = time.monotonic() + _RETRY_SECONDS

    def succeeded(self) -> None:
        """Clear the failure state."""
        if self.last_error is not None:
            logger.info("Redis reachable again")
        self.last_error = None

    async def ping(self) -> tuple[bool, str | None]:
        """(reachable, error) — tries even during the pause (used by /health)."""
        if self.client is None:
            return False, None
        try:
            await self.client.ping()
        except (RedisError, OSError) as exc:
            self.failed(exc)
            return False, self.last_error
        self.succeeded()
        self._down_until = 0.0
        return True, None

    async def close(self) -> None:
        """Close the connection pool."""
        if self.client is not None:
            with contextlib.suppress(RedisError, OSError):  # closing a dead connection is fine
                await self.client.aclose()


class RateLimiter:
    """Token-bucket limiter per key identity: ``per_hour`` requests per hour, ``burst`` at once."""

    def __init__(
        self, per_hour: int, burst: int, redis: RedisConnection, namespace: str = "rl"
    ) -> None:
        self.rate = per_hour / 3600.0
        self.burst = max(1, burst)
        self.per_hour = per_hour
        self.redis = redis
        self.namespace = namespace
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._script: Any = (
            redis.client.register_script(_TOKEN_BUCKET_LUA) if redis.client is not None else None
        )
        self._peek: Any = (
            redis.client.register_script(_PEEK_LUA) if redis.client is not None else None
        )

    def limits(self, per_hour: int | None = None) -> tuple[float, int]:
        """(tokens per second, burst) for ``per_hour`` (a key's own limit) or the default."""
        if per_hour is None:
            return self.rate, self.burst
        return per_hour / 3600.0, max(1, min(self.burst, per_hour))

    async def hit(self, identity: str, per_hour: int | None = None) -> RateDecision:
        """Take one token for ``identity`` (Redis when usable, else in memory)."""
        rate, burst = self.limits(per_hour)
        if self._script is not None and self.redis.usable:
            try:
                allowed, retry, tokens = await self._script(
                    keys=[f"{_KEY_PREFIX}{self.namespace}:{identity}"], args=[rate, burst]
                )
            except (RedisError, OSError) as exc:
                self.redis.failed(exc)
            else:
                self.redis.succeeded()
                return RateDecision(bool(int(allowed)), float(retry), int(float(tokens)))
        return self._hit_memory(identity, rate, burst, take=True)

    async def peek(self, identity: str) -> RateDecision:
        """Whether ``identity`` has a token left, without taking one."""
        if self._peek is not None and self.redis.usable:
            try:
                allowed, retry, tokens = await self._peek(
                    keys=[f"{_KEY_PREFIX}{self.namespace}:{identity}"],
                    args=[self.rate, self.burst],
                )
            except (RedisError, OSError) as exc:
                self.redis.failed(exc)
            else:
                self.redis.succeeded()
                return RateDecision(bool(int(allowed)), float(retry), int(float(tokens)))
        return self._hit_memory(identity, self.rate, self.burst, take=False)

    def _hit_memory(self, identity: str, rate: float, burst: int, *, take: bool) -> RateDecision:
        now = time.monotonic()
        with self._lock:
            tokens, ts = self._buckets.get(identity, (float(burst), now))
            tokens = min(float(burst), tokens + (now - ts) * rate)
            if tokens >= 1.0:
                left = tokens - 1.0 if take else tokens
                if take:
                    self._buckets[identity] = (left, now)
                return RateDecision(True, 0.0, int(left))
            if take:
                self._buckets[identity] = (tokens, now)
            return RateDecision(False, (1.0 - tokens) / rate, 0)

    @staticmethod
    def retry_after_header(decision: RateDecision) -> str:
        """Whole seconds for the Retry-After header (at least 1)."""
        return str(max(1, math.ceil(decision.retry_after)))


class PredictionCache:
    """Single-prediction results shared by all workers through Redis, with a TTL."""

    def __init__(self, redis: RedisConnection, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    @property
    def enabled(self) -> bool:
        """Configured with a positive TTL."""
        return self.redis.configured and self.ttl > 0

    @staticmethod
    def key(token: object, record_key: object) -> str:
        """Redis key of one prediction: a digest of what the prediction depends on."""
        digest = hashlib.sha256(repr((token, record_key)).encode()).hexdigest()[:32]
        return f"{_KEY_PREFIX}pred:{digest}"

    async def get(self, key: str) -> dict[str, Any] | None:
        """The cached prediction or None (also None when Redis is down)."""
        if not self.enabled or not self.redis.usable or self.redis.client is None:
            return None
        try:
            raw = await self.redis.client.get(key)
        except (RedisError, OSError) as exc:
            self.redis.failed(exc)
            return None
        self.redis.succeeded()
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def set(self, key: str, value: dict[str, Any]) -> None:
        """Store a prediction for ``ttl`` seconds (silently skipped when Redis is down)."""
        if not self.enabled or not self.redis.usable or self.redis.client is None:
            return
        try:
            await self.redis.client.set(key, json.dumps(value), ex=self.ttl)
        except (RedisError, OSError, TypeError, ValueError) as exc:
            if isinstance(exc, RedisError | OSError):
                self.redis.failed(exc)

    async def clear(self) -> int:
        """Delete every cached prediction; returns how many keys were removed."""
        if not self.redis.configured or self.redis.client is None:
            return 0
        removed = 0
        try:
            batch: list[Any] = []
            async for key in self.redis.client.scan_iter(match=f"{_KEY_PREFIX}pred:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += int(await self.redis.client.delete(*batch))
                    batch = []
            if batch:
                removed += int(await self.redis.client.delete(*batch))
        except (RedisError, OSError) as exc:
            self.redis.failed(exc)
        return removed


# A JSON \u0000 escape that is not itself an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NUL_IN_REQUEST = "request: NUL characters (\\u0000) are not allowed in text"
_NUL_IN_BODY = "body: NUL characters (\\u0000) are not allowed in text"


def _json_error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message, "success": False}, status_code=status_code)


class RequestGuard:
    """What every request must pass before routing, checked once in pure ASGI:

    * the body limit per path: 413 on a declared Content-Length over the limit, and while
      streaming for bodies without one (chunked);
    * no NUL character in the path, the query or a JSON body (422): PostgreSQL text cannot hold
      one, so it is refused before any route runs.

    JSON bodies are read here whole (they are parsed whole anyway) and handed on; uploads stream.
    FastAPI's own ``max_body_size`` answers in plain text from outside the exception handlers;
    this keeps every 413 a JSON error like all the others.  A route dependency did the NUL
    check before; as one it cost every request a dependency resolution and a parsed URL.
    """

    def __init__(self, app: Any, default_limit: int, path_limits: dict[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.path_limits = path_limits

    @staticmethod
    def _message(size: int | None, limit: int) -> str:
        what = f"request body of {size} bytes" if size is not None else "request body"
        return f"{what} exceeds the limit of {limit} bytes (TITANS_MAX_BODY_BYTES)"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if b"%00" in scope.get("query_string", b"") or "\x00" in path or "%00" in path:
            await _json_error(422, _NUL_IN_REQUEST)(scope, receive, send)
            return
        limit = self.path_limits.get(path, self.default_limit)
        is_json = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else 0
                if declared > limit:
                    await _json_error(413, self._message(declared, limit))(scope, receive, send)
                    return
            elif name == b"content-type":
                is_json = value.startswith(b"application/json")
        if is_json:
            await self._json_body(scope, receive, send, limit)
            return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # FastAPI re-raises HTTPExceptions from body reading to the handlers.
                    raise HTTPException(status_code=413, detail=self._message(None, limit))
            return message

        await self.app(scope, limited_receive, send)

    async def _json_body(self, scope: Any, receive: Any, send: Any, limit: int) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _json_error(413, self._message(None, limit))(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or (b"\\u0000" in body and _JSON_NUL.search(body)):
            await _json_error(422, _NUL_IN_BODY)(scope, receive, send)
            return
        message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, replaying(message, receive), send)


def replaying(message: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``message`` (already read) first, then reads on."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return message

    return replay


__all__ = [
    "PredictionCache",
    "RateDecision",
    "RateLimiter",
    "RedisConnection",
    "RequestGuard",
    "replaying",
]
