"""A bounded log of the requests an emulator answered, so tests and benchmarks can count a feature's calls.

Read it in-process (``RequestLog.entries()``/``count()``/``clear()``) or over HTTP (``GET``/``DELETE
/__emu/requests``, loopback only). Only method, path, query, status, latency and user name are kept: never
Authorization headers, passwords, tokens or bodies.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.asgi import EMU_PREFIX, bearer_token, control_failure, refuse_remote, send_json

REQUESTS_PATH = "/__emu/requests"
DEFAULT_CAPACITY = 10_000
REDACTED = "***"
# Query parameters that may carry a secret (OAuth and API-key styles); their values are never stored.
SECRET_PARAMETERS = frozenset(
    {"password", "client_secret", "access_token", "refresh_token", "token", "api_key", "apikey", "x-sn-apikey"}
)

_SECRET_HINTS = ("password", "secret", "token", "apikey", "api_key")


class RequestLogError(ValueError):
    """A filter of ``GET /__emu/requests`` is malformed; the message names it and the expected form."""


@dataclass(frozen=True)
class LoggedRequest:
    """One answered request."""

    time: float  # UNIX seconds at arrival
    method: str
    path: str
    query: str  # the raw query string, secret parameters masked
    status: int
    latency_ms: float  # arrival to the last chunk of the response, injected delays included
    user: str  # as the middleware's ``user_of`` names the caller: a Basic user name, ``bearer:<digest>``, or ''

    def to_json(self) -> dict[str, object]:
        """The entry as ``GET /__emu/requests`` lists it."""
        return asdict(self)


class RequestLog:
    """The most recent ``capacity`` requests, oldest first; safe to read from any thread."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"RequestLog capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, entry: LoggedRequest) -> None:
        """Append an entry, dropping the oldest when full."""
        with self._lock:
            self._entries.append(entry)

    def entries(
        self, method: str | None = None, path_prefix: str | None = None, since: float | None = None
    ) -> list[LoggedRequest]:
        """The kept entries matching every filter given (method case-insensitive, ``since`` in UNIX seconds)."""
        with self._lock:
            kept = list(self._entries)
        return [
            entry
            for entry in kept
            if (method is None or entry.method == method.upper())
            and (path_prefix is None or entry.path.startswith(path_prefix))
            and (since is None or entry.time >= since)
        ]

    def count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """How many kept entries match."""
        return len(self.entries(method, path_prefix))

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


def token_digest(scope: Scope) -> str:
    """Who made the request, safe to store: a digest standing for its bearer token ('' when anonymous)."""
    token = bearer_token(scope)
    if token is not None:
        return "bearer:" + hashlib.sha256(token.encode()).hexdigest()[:12]
    return ""


def masked_query(raw: bytes) -> str:
    """The query string as sent, unless it carries a secret parameter: then that value is masked."""
    text = raw.decode("latin-1")
    lowered = text.lower()
    if not any(hint in lowered for hint in _SECRET_HINTS):
        return text  # the usual case, checked without parsing: the log is on every request's path
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(name.lower() in SECRET_PARAMETERS for name, _ in pairs):
        return text
    return urlencode([(name, REDACTED if name.lower() in SECRET_PARAMETERS else value) for name, value in pairs])


def parse_since(raw: str) -> float:
    """``since`` as UNIX seconds (``1718000000.5``) or an ISO 8601 time with offset (``2024-06-10T08:00:00Z``)."""
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RequestLogError(f"since={raw!r}: expected UNIX seconds or an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RequestLogError(f"since={raw!r}: give a time zone (e.g. a trailing Z for UTC)")
    return moment.timestamp()


class RequestLogMiddleware:
    """Records every request except the ``/__emu/`` control calls; serves ``GET/DELETE /__emu/requests``."""

    def __init__(
        self, app: ASGIApp, log: RequestLog | None = None, *, user_of: Callable[[Scope], str] = token_digest
    ) -> None:
        self.app = app
        self.log = log if log is not None else RequestLog()
        self._user_of = user_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == REQUESTS_PATH:
            await self._control(scope, send)
            return
        if path.startswith(EMU_PREFIX):
            await self.app(scope, receive, send)
            return
        arrived, started = time.time(), time.perf_counter()
        status = 500  # what the client sees if the app fails before answering
        recorded = False

        def record() -> None:
            nonlocal recorded
            recorded = True
            self.log.record(
                LoggedRequest(
                    time=arrived,
                    method=scope["method"],
                    path=path,
                    query=masked_query(scope.get("query_string", b"")),
                    status=status,
                    latency_ms=round((time.perf_counter() - started) * 1000, 3),
                    user=self._user_of(scope),
                )
            )

        async def observing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Recorded before the last byte leaves, so a client that got its answer finds it in the log.
                record()
            await send(message)

        try:
            await self.app(scope, receive, observing)
        finally:
            if not recorded:
                record()

    async def _control(self, scope: Scope, send: Send) -> None:
        if await refuse_remote(scope, send):
            return
        method = scope["method"]
        if method == "DELETE":
            self.log.clear()
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if method != "GET":
            detail = f"{method} is not supported on {REQUESTS_PATH}"
            await send_json(send, 405, control_failure("Method not Supported", detail))
            return
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            since = parse_since(params["since"]) if params.get("since") else None
        except RequestLogError as exc:
            await send_json(send, 400, control_failure("Invalid filter", str(exc)))
            return
        found = self.log.entries(params.get("method") or None, params.get("path_prefix") or None, since)
        await send_json(send, 200, [entry.to_json() for entry in found])
