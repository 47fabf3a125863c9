"""HTTP plumbing shared by the emulator's app and middlewares: request headers, callers, JSON answers.

The middlewares (faults, request log) work on raw ASGI ``scope``/``send``; the Starlette routes answer
with ``json_response``. Both speak the instance's content type and its ``failure`` error envelope.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

EMU_PREFIX = "/__emu/"
JSON_TYPE = "application/json;charset=UTF-8"


def failure_body(message: str, detail: str | None) -> dict[str, Any]:
    """ServiceNow's error envelope: ``{"error": {"message", "detail"}, "status": "failure"}``."""
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response typed the way the instance types it."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def header(scope: Scope, name: bytes) -> str:
    """One request header's value ('' when absent), decoded as latin-1 like HTTP/1.1 says."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def basic_user(scope: Scope) -> str | None:
    """The user name of a Basic Authorization header (the password is never returned)."""
    scheme, _, encoded = header(scope, b"authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None


def bearer_token(scope: Scope) -> str | None:
    """The token of a Bearer Authorization header."""
    scheme, _, token = header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def caller_key(scope: Scope) -> str:
    """Whom a rate limit counts: the Basic user name, else the bearer token, else '' (anonymous)."""
    return basic_user(scope) or bearer_token(scope) or ""


def is_loopback(scope: Scope) -> bool:
    """True when the peer is on this machine (or there is no socket at all: an in-process call)."""
    client = scope.get("client")
    if not client:
        return True
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


async def send_body(
    send: Send, status: int, body: bytes, content_type: str, headers: Sequence[tuple[str, str]] = ()
) -> None:
    """Send a whole response in one go."""
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, payload: object, headers: Sequence[tuple[str, str]] = ()) -> None:
    """Send a JSON response typed like the instance's."""
    await send_body(send, status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), JSON_TYPE, headers)


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def refuse_remote(scope: Scope, send: Send) -> bool:
    """Answer 403 and return True when a control endpoint is called from off this machine."""
    if is_loopback(scope):
        return False
    await send_json(send, 403, failure_body("Forbidden", "The /__emu endpoints answer loopback clients only"))
    return True
