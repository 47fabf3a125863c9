"""HTTP plumbing of the emulated instance: callers, JSON answers and its ``failure`` error envelope.

The middlewares (faults, request log) work on raw ASGI ``scope``/``send`` with the generic helpers of
``sandbox.asgi``, re-exported here; the Starlette routes answer with ``json_response``. Both speak the
instance's content type and its ``failure`` error envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Scope

from sandbox.asgi import (
    EMU_PREFIX,
    bearer_token,
    header,
    is_loopback,
    read_body,
    refuse_remote,
    send_body,
    send_json,
)

__all__ = [
    "EMU_PREFIX", "JSON_TYPE", "basic_user", "bearer_token", "caller_key", "failure_body", "header", "is_loopback",
    "json_response", "read_body", "refuse_remote", "send_body", "send_json",
]

# What the instance types its JSON as; ``send_json`` defaults to the same.
JSON_TYPE = "application/json;charset=UTF-8"


def failure_body(message: str, detail: str | None) -> dict[str, Any]:
    """ServiceNow's error envelope: ``{"error": {"message", "detail"}, "status": "failure"}``."""
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response typed the way the instance types it."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def basic_user(scope: Scope) -> str | None:
    """The user name of a Basic Authorization header (the password is never returned)."""
    scheme, _, encoded = header(scope, b"authorization").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return None


def caller_key(scope: Scope) -> str:
    """Whom a rate limit counts: the Basic user name, else the bearer token, else '' (anonymous)."""
    return basic_user(scope) or bearer_token(scope) or ""
