"""Graph error bodies and request ids, as ``msgraph-sdk`` parses them into ``ODataError``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Statuses the SDK's retry handler retries; Graph tells it when with Retry-After.
RETRYABLE_STATUSES = frozenset({429, 503, 504})
DEFAULT_RETRY_AFTER_SECONDS = 1


class GraphError(Exception):
    """Raised by a route to answer with Graph's error JSON (``code`` as Graph names it)."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def not_found(what: str) -> GraphError:
    """The error Exchange gives for a missing message or folder."""
    return GraphError(404, "ErrorItemNotFound", f"The specified object was not found in the store. ({what})")


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    """A 400 naming what was wrong in the request."""
    return GraphError(400, code, message)


def request_id_of(request: Request) -> str:
    """The id this emulator gave the request (also in the ``request-id`` header)."""
    return str(request.scope.get("state", {}).get("request_id", ""))


def graph_error_response(
    request: Request, status: int, code: str, message: str, *, retry_after: int | None = None
) -> JSONResponse:
    """The Graph error JSON with ``innerError`` carrying request ids, and ``Retry-After`` when retryable."""
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id_of(request),
        "client-request-id": request.headers.get("client-request-id", request_id_of(request)),
    }
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    response = JSONResponse(body, status_code=status)
    if status in RETRYABLE_STATUSES:
        # Without it the SDK waits 3 s or more per retry; Graph always says when to come back.
        response.headers["Retry-After"] = str(DEFAULT_RETRY_AFTER_SECONDS if retry_after is None else retry_after)
    return response


async def on_graph_error(request: Request, exc: Exception) -> Response:
    """Starlette handler turning ``GraphError`` into its JSON response."""
    assert isinstance(exc, GraphError)
    return graph_error_response(request, exc.status, exc.code, exc.message, retry_after=exc.retry_after)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods answered as Graph does, not with Starlette's plain text."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        segment = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        return graph_error_response(request, 400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    if exc.status_code == 405:
        return graph_error_response(
            request, 405, "Request_BadRequest", f"The method {request.method} is not supported on this resource."
        )
    return graph_error_response(request, exc.status_code, "BadRequest", str(exc.detail))


class RequestIdMiddleware:
    """Give every request an id, echo it in ``request-id``/``client-request-id`` headers as Graph does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        client_id = dict(scope.get("headers", [])).get(b"client-request-id", request_id.encode())

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"request-id", request_id.encode()), (b"client-request-id", client_id)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_ids)
