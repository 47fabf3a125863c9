"""The request log of the emulated instance: ``sandbox.request_log`` recording who called by Basic user name.

Read it in-process (``RequestLog.entries()``/``count()``/``clear()``) or over HTTP (``GET``/``DELETE
/__emu/requests``, loopback only). Never Authorization headers, passwords, tokens or bodies.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Scope

from sandbox.request_log import (
    DEFAULT_CAPACITY,
    REDACTED,
    REQUESTS_PATH,
    SECRET_PARAMETERS,
    LoggedRequest,
    RequestLog,
    RequestLogError,
    masked_query,
    parse_since,
    token_digest,
)
from sandbox.request_log import RequestLogMiddleware as _RequestLogMiddleware
from sandbox.servicenow.asgi import basic_user

__all__ = [
    "DEFAULT_CAPACITY", "REDACTED", "REQUESTS_PATH", "SECRET_PARAMETERS", "LoggedRequest", "RequestLog",
    "RequestLogError", "RequestLogMiddleware", "logged_user", "masked_query", "parse_since",
]


def logged_user(scope: Scope) -> str:
    """Who made the request, safe to store: the Basic user name, or a digest standing for a bearer token."""
    user = basic_user(scope)
    return user if user is not None else token_digest(scope)


class RequestLogMiddleware(_RequestLogMiddleware):
    """``sandbox.request_log.RequestLogMiddleware`` naming Basic users, as the instance's logs do."""

    def __init__(
        self, app: ASGIApp, log: RequestLog | None = None, *, user_of: Callable[[Scope], str] = logged_user
    ) -> None:
        super().__init__(app, log, user_of=user_of)
