"""The SMS gateway HTTP API: ``POST /sms/v1/messages`` to send, ``GET`` to inspect what was sent.

Shaped like common gateway APIs: a bearer API key, JSON or form-encoded ``to``/``text``/``from``,
201 with the message id, status and segment count; errors as ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.sms.sink import SmsError, SmsSink

log = logging.getLogger(__name__)
API_PREFIX = "/sms/v1"
MAX_BODY_BYTES = 64 * 1024


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def build_sms_app(sink: SmsSink, *, api_key: str) -> Starlette:
    """The gateway API over ``sink``, accepting only ``Authorization: Bearer <api_key>``."""
    if not api_key:
        raise ValueError("the SMS sink needs a non-empty API key")

    def authorised(request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(key.strip().encode(), api_key.encode())

    def refused() -> JSONResponse:
        response = _error(401, "unauthorized", "Missing or wrong API key: send 'Authorization: Bearer <api key>'.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="sms"'
        return response

    async def send(request: Request) -> Response:
        if not authorised(request):
            return refused()
        try:
            fields = await _fields(request)
            sender = fields.get("from") or "SESAME"
            message = sink.send(to=fields.get("to", ""), text=fields.get("text", ""), sender=sender)
        except SmsError as exc:
            return _error(415 if exc.code == "unsupported_media_type" else 400, exc.code, str(exc))
        # Id, recipient and size only: the text carries half a temporary password.
        log.info("SMS %s queued to ...%s (%d segments)", message.id, message.to[-2:], message.segments)
        response = JSONResponse(
            {"id": message.id, "status": message.status, "segments": message.segments}, status_code=201
        )
        response.headers["Location"] = f"{request.url.scheme}://{request.url.netloc}{API_PREFIX}/messages/{message.id}"
        return response

    async def list_messages(request: Request) -> Response:
        if not authorised(request):
            return refused()
        since_text = request.query_params.get("since")
        try:
            since = _moment(since_text) if since_text else None
        except ValueError:
            return _error(400, "invalid_since", f"'since' must be an ISO 8601 date-time, got {since_text!r}.")
        found = sink.messages(to=request.query_params.get("to"), since=since)
        return JSONResponse({"messages": [m.to_json() for m in found]})

    async def get_message(request: Request) -> Response:
        if not authorised(request):
            return refused()
        message = sink.get(request.path_params["message_id"])
        if message is None:
            return _error(404, "not_found", f"No message with id {request.path_params['message_id']!r}.")
        return JSONResponse(message.to_json())

    app = Starlette(
        routes=[
            Route(f"{API_PREFIX}/messages", send, methods=["POST"]),
            Route(f"{API_PREFIX}/messages", list_messages, methods=["GET"]),
            Route(f"{API_PREFIX}/messages/{{message_id}}", get_message, methods=["GET"]),
        ]
    )
    app.state.sink = sink
    return app


async def _fields(request: Request) -> dict[str, Any]:
    """``to``/``text``/``from`` from a JSON object or a form-encoded body."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise SmsError("body_too_large", f"The request body exceeds {MAX_BODY_BYTES} bytes.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        # Parsed with the stdlib: Starlette's request.form() needs python-multipart, not a dependency.
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if content_type in ("application/json", ""):
        try:
            data = json.loads(body or b"null")
        except json.JSONDecodeError as exc:
            raise SmsError("invalid_json", f"The body is not valid JSON ({exc.msg} at position {exc.pos}).") from exc
        if not isinstance(data, dict):
            raise SmsError("invalid_json", 'The body must be a JSON object: {"to": "+33…", "text": "…"}.')
        return data
    raise SmsError(
        "unsupported_media_type", f"Send application/json or application/x-www-form-urlencoded, not {content_type!r}."
    )


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
