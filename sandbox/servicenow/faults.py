"""Fault injection for the emulated instance, in ServiceNow's words: ``sandbox.faults`` with the instance's dialect.

Faults touch ``/api/...`` and ``/oauth_token.do`` only. A rate-limited call gets the instance's ``failure``
envelope with ``X-RateLimit-*`` headers naming the emulated ``sys_rate_limit_rules`` row; an injected 500 is
the instance's JSON, 502/503/504 the load balancer's HTML page (503 with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import math
import time

from starlette.types import ASGIApp, Scope, Send

from sandbox.faults import (
    ERROR_STATUSES,
    FAULT_FLAGS,
    FAULTS_PATH,
    KNOWN_ERROR_STATUSES,
    Clock,
    FaultDialect,
    FaultPlan,
    FaultPlanError,
    RateDecision,
    RateLimit,
    RateLimiter,
    Sleep,
    add_fault_arguments,
    fault_flags,
)
from sandbox.faults import FaultMiddleware as _FaultMiddleware
from sandbox.servicenow.asgi import JSON_TYPE, caller_key, failure_body, send_body, send_json

__all__ = [
    "ERROR_STATUSES", "FAULTS_PATH", "FAULTY_PATHS", "FAULTY_PREFIXES", "FAULT_FLAGS", "KNOWN_ERROR_STATUSES",
    "RATE_LIMIT_RULE", "SERVICENOW", "FaultMiddleware", "FaultPlan", "FaultPlanError", "RateDecision", "RateLimit",
    "RateLimiter", "ServiceNowDialect", "add_fault_arguments", "fault_flags", "rate_limit_headers",
]

FAULTY_PREFIXES = ("/api/",)
FAULTY_PATHS = ("/oauth_token.do",)
# A fixed sys_id for the one emulated ``sys_rate_limit_rules`` row, sent in ``X-RateLimit-Rule``.
RATE_LIMIT_RULE = "5e5a0429000000000000000000000001"
_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def rate_limit_headers(decision: RateDecision) -> list[tuple[str, str]]:
    """The instance's ``X-RateLimit-*`` headers (plus ``Retry-After`` when refused)."""
    headers = [
        ("X-RateLimit-Limit", str(decision.limit.requests)),
        ("X-RateLimit-Remaining", str(decision.remaining)),
        ("X-RateLimit-Reset", str(math.ceil(decision.reset_at))),
        ("X-RateLimit-Rule", RATE_LIMIT_RULE),
    ]
    if not decision.allowed:
        headers.insert(0, ("Retry-After", str(decision.retry_after)))
    return headers


class ServiceNowDialect(FaultDialect):
    """A ServiceNow instance behind its load balancer."""

    def guards(self, path: str) -> bool:
        """The REST APIs and the OAuth token endpoint."""
        return path.startswith(FAULTY_PREFIXES) or path in FAULTY_PATHS

    def caller(self, scope: Scope) -> str:
        """The Basic user name, else the bearer token: rate limit rules count per user."""
        return caller_key(scope)

    async def send_throttled(self, scope: Scope, send: Send, decision: RateDecision) -> None:
        """429 in the ``failure`` envelope, with ``Retry-After`` and the ``X-RateLimit-*`` headers."""
        limit = decision.limit
        detail = f"Rate limit of {limit.requests} requests per {limit.window_seconds} seconds for Table API exceeded"
        await send_json(send, 429, failure_body("Rate limit exceeded", detail), rate_limit_headers(decision),
                        content_type=JSON_TYPE)

    async def send_error(self, scope: Scope, send: Send, status: int, retry_after_s: int) -> None:
        """500 from the instance (JSON); 502/503/504 from the load balancer (HTML; 503 says when to retry)."""
        if status == 500:
            detail = "Fault injected by the Sésame sandbox (error_rate); retry the request"
            await send_json(send, 500, failure_body("Internal Server Error", detail), content_type=JSON_TYPE)
            return
        reason = _REASONS[status]
        body = f"<html><head><title>{status} {reason}</title></head><body><h1>{status} {reason}</h1></body></html>"
        headers = [("Retry-After", str(retry_after_s))] if status == 503 else []
        await send_body(send, status, body.encode(), "text/html; charset=utf-8", headers)

    def admitted_headers(self, decision: RateDecision) -> list[tuple[str, str]]:
        """The instance reports the remaining quota on every rate-limited answer."""
        return rate_limit_headers(decision)


SERVICENOW = ServiceNowDialect()


class FaultMiddleware(_FaultMiddleware):
    """``sandbox.faults.FaultMiddleware`` speaking ServiceNow unless told otherwise."""

    def __init__(
        self,
        app: ASGIApp,
        plan: FaultPlan | None = None,
        *,
        dialect: FaultDialect = SERVICENOW,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(app, plan, dialect=dialect, clock=clock, sleep=sleep)
