"""The Batch API (``POST /api/now/v1/batch``): sub-requests served in-process by the same application.

pysnc sends ``update_multiple()``, ``delete_multiple()`` and queries longer than ~10,000 characters
through this API. Each sub-request goes through the whole ASGI application with the batch's own
credentials, so it meets exactly the Table API's authentication, ACLs, business rules and errors.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Scope

from sandbox.servicenow.asgi import JSON_TYPE, failure_body, json_response
from sandbox.servicenow.errors import MalformedRequestError

BATCH_PATHS = ("/api/now/v1/batch", "/api/now/batch")
# Header spellings the instance uses where title-casing each word would get them wrong.
_HEADER_SPELLINGS = {
    "www-authenticate": "WWW-Authenticate",
    "x-ratelimit-limit": "X-RateLimit-Limit",
    "x-ratelimit-reset": "X-RateLimit-Reset",
    "x-ratelimit-rule": "X-RateLimit-Rule",
}


@dataclass(frozen=True)
class SubRequest:
    """One entry of ``rest_requests``: its id, method, relative URL, headers and decoded body."""

    id: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass
class SubResponse:
    """What the application answered to one sub-request."""

    status: int = 500
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


def routes() -> list[Route]:
    """The Batch API routes (versioned and default URL)."""
    return [Route(path, serve_batch, methods=["POST"]) for path in BATCH_PATHS]


async def serve_batch(request: Request) -> Response:
    """Authenticate the batch, run its sub-requests in submission order, report each one."""
    request.app.state.authenticate(request)
    payload = await _json_object(request)
    items = parse_rest_requests(payload.get("rest_requests"))
    exclude_headers = _flag(payload.get("exclude_response_headers"))
    serviced = []
    for item in items:
        started = time.perf_counter()
        answer = await dispatch(request, item)
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        serviced.append(serviced_entry(item, answer, elapsed_ms, exclude_headers=exclude_headers))
    result = {
        "batch_request_id": str(payload.get("batch_request_id", "")),
        "serviced_requests": serviced,
        "unserviced_requests": [],
    }
    return json_response(result)


def parse_rest_requests(raw: object) -> list[SubRequest]:
    """Read ``rest_requests``; a malformed entry refuses the whole batch with a 400 naming it."""
    if not isinstance(raw, list):
        raise MalformedRequestError("Invalid batch request", "rest_requests must be a JSON array of requests")
    parsed = []
    for position, entry in enumerate(raw):
        where = f"rest_requests[{position}]"
        if not isinstance(entry, dict):
            raise MalformedRequestError("Invalid batch request", f"{where} must be a JSON object")
        missing = [name for name in ("id", "method", "url") if not str(entry.get(name) or "").strip()]
        if missing:
            raise MalformedRequestError("Invalid batch request", f"{where} lacks {', '.join(missing)}")
        parsed.append(
            SubRequest(
                id=str(entry["id"]),
                method=str(entry["method"]).upper(),
                url=str(entry["url"]),
                headers=_headers_of(entry.get("headers"), where),
                body=_body_of(entry.get("body"), where),
            )
        )
    return parsed


async def dispatch(request: Request, item: SubRequest) -> SubResponse:
    """Serve one sub-request through ``request.app`` as if it had arrived on its own connection."""
    split = urlsplit(item.url)
    if split.path.rstrip("/") in BATCH_PATHS:
        return _refusal(400, "Invalid batch request", "A batch cannot contain another batch request")
    answer = SubResponse()
    finished = asyncio.Event()
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": item.body, "more_body": False}
        await finished.wait()  # like a server: a disconnect only once the response is complete
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = int(message["status"])
            answer.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            answer.body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    try:
        await request.app(_scope_for(request, item, split.path, split.query), receive, send)
    except Exception:
        # Starlette has already sent its 500 when it re-raises; one failed item must not fail the batch.
        if not finished.is_set():
            return _refusal(500, "Internal server error", f"{item.method} {split.path} failed in the emulator")
    finally:
        finished.set()
    return answer


def serviced_entry(item: SubRequest, answer: SubResponse, elapsed_ms: int, *, exclude_headers: bool) -> dict[str, Any]:
    """One ``serviced_requests`` entry as the instance writes it (body base64, omitted when empty)."""
    headers = [] if exclude_headers else [{"name": _spelling(k), "value": v} for k, v in answer.headers]
    entry: dict[str, Any] = {
        "id": item.id,
        "status_code": answer.status,
        "status_text": _status_text(answer.status),
        "headers": headers,
        "execution_time": elapsed_ms,
    }
    if answer.body:
        entry["body"] = base64.b64encode(bytes(answer.body)).decode("ascii")
    return entry


def _scope_for(request: Request, item: SubRequest, path: str, query: str) -> Scope:
    # The batch's Authorization and Host win: sub-requests run as the batch's user on the same instance.
    overridden = {"authorization", "host", "content-length"}
    headers = [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in item.headers if k.lower() not in overridden
    ]
    for name in ("authorization", "host"):
        value = request.headers.get(name)
        if value is not None:
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
    headers.append((b"content-length", str(len(item.body)).encode("ascii")))
    if not any(k == b"accept" for k, _ in headers):
        headers.append((b"accept", b"application/json"))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": item.method,
        "scheme": request.url.scheme,
        "path": unquote(path),
        "raw_path": path.encode("latin-1", errors="replace"),
        "root_path": "",
        "query_string": query.encode("latin-1", errors="replace"),
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "extensions": {},
    }


def _headers_of(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(h, dict) and "name" in h for h in raw):
        raise MalformedRequestError("Invalid batch request", f"{where}.headers must be a list of {{name, value}}")
    return tuple((str(h["name"]), str(h.get("value", ""))) for h in raw)


def _body_of(raw: object, where: str) -> bytes:
    if raw is None or raw == "":
        return b""
    if not isinstance(raw, str):
        raise MalformedRequestError("Invalid batch request", f"{where}.body must be a base64 string")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise MalformedRequestError("Invalid batch request", f"{where}.body is not valid base64") from exc


def _refusal(status: int, message: str, detail: str) -> SubResponse:
    body = json.dumps(failure_body(message, detail)).encode("utf-8")
    return SubResponse(status, [("content-type", JSON_TYPE)], bytearray(body))


def _status_text(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _spelling(name: str) -> str:
    lowered = name.lower()
    return _HEADER_SPELLINGS.get(lowered) or "-".join(part.capitalize() for part in lowered.split("-"))


def _flag(raw: object) -> bool:
    return raw is True or (isinstance(raw, str) and raw.strip().lower() == "true")


async def _json_object(request: Request) -> Mapping[str, Any]:
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedRequestError("Exception while reading request", "The payload is not valid JSON.") from exc
    if not isinstance(payload, dict):
        raise MalformedRequestError("Exception while reading request", "The payload must be a JSON object.")
    return payload
