"""Raw ASGI plumbing shared by the emulators' middlewares (faults, request log): headers, callers, answers.

Cheap to import: Starlette's types only, nothing of ``sandbox.servicenow`` or ``sandbox.graph``. The
``/__emu`` control endpoints answer in the same JSON and ``failure`` envelope for every emulator.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from starlette.types import Receive, Scope, Send

EMU_PREFIX = "/__emu/"
# The control endpoints' content type, and ``send_json``'s unless told otherwise (ServiceNow's own type too).
CONTROL_JSON = "application/json;charset=UTF-8"

__all__ = [
    "CONTROL_JSON", "EMU_PREFIX", "bearer_token", "control_failure", "header", "is_loopback", "read_body",
    "refuse_remote", "send_body", "send_json",
]


def control_failure(message: str, detail: str | None) -> dict[str, Any]:
    """The error body of the ``/__emu`` control endpoints, the same for every emulator."""
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def header(scope: Scope, name: bytes) -> str:
    """One request header's value ('' when absent), decoded as latin-1 like HTTP/1.1 says."""
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def bearer_token(scope: Scope) -> str | None:
    """The token of a Bearer Authorization header."""
    scheme, _, token = header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


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


async def send_json(
    send: Send,
    status: int,
    payload: object,
    headers: Sequence[tuple[str, str]] = (),
    *,
    content_type: str = CONTROL_JSON,
) -> None:
    """Send a JSON response, typed ``application/json;charset=UTF-8`` unless ``content_type`` says otherwise."""
    await send_body(send, status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), content_type, headers)


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
    await send_json(send, 403, control_failure("Forbidden", "The /__emu endpoints answer loopback clients only"))
    return True
