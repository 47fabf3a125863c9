"""An OpenAI-compatible chat completions endpoint: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Answers are deterministic (keyword rules of ``answers.py``, the same prompt always gives the same
reply). A ``LlmSwitch`` lets tests and rehearsals make the "model" misbehave: unparseable output,
JSON outside the requested schema, the answer of a model that obeyed an injected instruction, or a
slow reply. Prompts are kept in memory for assertions and never logged (they carry e-mail text).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.llm.answers import classify, injected_answer

MODEL_ID = "sandbox-intent-1"
MAX_BODY_BYTES = 256 * 1024
_CREATED = 1_700_000_000  # a fixed timestamp: replies are byte-for-byte repeatable


class Mode(StrEnum):
    """How the emulated model answers."""

    NORMAL = "normal"
    MALFORMED = "malformed"  # prose instead of JSON
    OFF_SCHEMA = "off_schema"  # JSON, but an unknown intent and a confidence above 1
    INJECTED = "injected"  # obeys an instruction hidden in the e-mail: a privileged target not in the text


@dataclass
class LlmSwitch:
    """Test controls: answer ``mode``, a ``delay`` in seconds before replying, and the requests received."""

    mode: Mode = Mode.NORMAL
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


def _error(status: int, message: str, kind: str = "invalid_request_error", param: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": None}},
                        status_code=status)


def _content(mode: Mode, email_text: str) -> str:
    if mode is Mode.MALFORMED:
        return "Sure! This looks like an account unlock request for the user mentioned above."
    if mode is Mode.OFF_SCHEMA:
        return json.dumps({"intent": "unlock_everything", "targets": "jdupont", "confidence": 7})
    answer = injected_answer() if mode is Mode.INJECTED else classify(email_text)
    return json.dumps(answer, ensure_ascii=False)


def _user_text(messages: list[Any]) -> str:
    texts = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return "\n".join(text for text in texts if isinstance(text, str))


def build_llm_app(*, api_key: str | None, switch: LlmSwitch | None = None) -> Starlette:
    """The endpoint; with ``api_key`` set, only ``Authorization: Bearer <api_key>`` is served."""
    control = switch or LlmSwitch()

    def refused(request: Request) -> JSONResponse | None:
        if api_key is None:
            return None
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(key.strip().encode(), api_key.encode()):
            return None
        return _error(401, "Incorrect API key provided: send 'Authorization: Bearer <api key>'.",
                      "invalid_api_key")

    async def completions(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, f"Request body over {MAX_BODY_BYTES} bytes.")
        try:
            payload = json.loads(raw)
        except ValueError:
            return _error(400, "The body is not valid JSON.")
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            return _error(400, "'messages' must be a list of chat messages.", param="messages")
        if not isinstance(payload.get("model"), str):
            return _error(400, "'model' is required.", param="model")
        control.requests.append(payload)
        if control.delay:
            await asyncio.sleep(control.delay)
        email_text = _user_text(payload["messages"])
        content = _content(control.mode, email_text)
        digest = hashlib.sha256(f"{control.mode.value}\x00{raw.decode(errors='replace')}".encode()).hexdigest()
        prompt_tokens, completion_tokens = len(raw) // 4, len(content) // 4
        return JSONResponse({
            "id": f"chatcmpl-{digest[:24]}",
            "object": "chat.completion",
            "created": _CREATED,
            "model": payload["model"],
            "system_fingerprint": "sesame-sandbox",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        })

    async def models(request: Request) -> Response:
        if (denied := refused(request)) is not None:
            return denied
        return JSONResponse({"object": "list", "data": [
            {"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "sesame-sandbox"}
        ]})

    app = Starlette(routes=[
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ])
    app.state.switch = control
    return app
