"""Fault injection for the sandbox's emulators: latency, per-caller rate limits (429), 5xx and slow responses.

One ``FaultPlan`` and one ``FaultMiddleware`` serve every emulator; a ``FaultDialect`` says which paths a plan
touches and how that emulator words a refusal (ServiceNow's ``failure`` envelope, Graph's ``error`` JSON), so
clients meet the answers they would meet in production. Everything is off by default and set per run, from
CLI flags (``FaultPlan.parse``/``from_options``) or at run time with ``GET/PUT /__emu/faults`` (loopback only,
never faulted, so a test can always reach it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.asgi import (
    EMU_PREFIX,
    bearer_token,
    control_failure,
    header,
    read_body,
    refuse_remote,
    send_json,
)

FAULTS_PATH = "/__emu/faults"
# What a plan injects when it does not say, and what ``error_statuses`` may name.
ERROR_STATUSES = (500, 502, 503)
KNOWN_ERROR_STATUSES = (*ERROR_STATUSES, 504)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class FaultPlanError(ValueError):
    """A fault option is malformed; the message names the option and the form it expects."""


# -- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``window_seconds`` for each caller (``100/3600`` = ServiceNow's hourly style)."""

    requests: int
    window_seconds: int

    def __post_init__(self) -> None:
        if self.requests < 1 or self.window_seconds < 1:
            raise FaultPlanError(f"rate limit {self}: both numbers must be whole and at least 1 (e.g. 100/3600)")

    def __str__(self) -> str:
        return f"{self.requests}/{self.window_seconds}"

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"N/W"``: N requests per W seconds."""
        found = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if found is None:
            raise FaultPlanError(f"--rate-limit {text!r}: expected REQUESTS/SECONDS, e.g. 100/3600")
        return cls(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class FaultPlan:
    """What to inject into each request; the default plan injects nothing."""

    latency_ms: float = 0.0
    # Extra random latency drawn uniformly in [low, high] ms for every request.
    latency_jitter_ms: tuple[float, float] = (0.0, 0.0)
    rate_limit: RateLimit | None = None
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = ERROR_STATUSES
    # Retry-After sent with injected 503s (and Graph's 504s): clients sleep that long before retrying.
    error_retry_after_s: int = 1
    slow_rate: float = 0.0
    slow_ms: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        low, high = self.latency_jitter_ms
        checks = [
            (self.latency_ms >= 0, f"latency_ms must be >= 0, got {self.latency_ms}"),
            (0 <= low <= high, f"latency_jitter_ms must be LOW-HIGH with 0 <= LOW <= HIGH, got {low}-{high}"),
            (0 <= self.error_rate <= 1, f"error_rate must be between 0 and 1, got {self.error_rate}"),
            (0 <= self.slow_rate <= 1, f"slow_rate must be between 0 and 1, got {self.slow_rate}"),
            (self.slow_ms >= 0, f"slow_ms must be >= 0, got {self.slow_ms}"),
            (self.error_retry_after_s >= 0, f"error_retry_after_s must be >= 0, got {self.error_retry_after_s}"),
            (bool(self.error_statuses), "error_statuses must name at least one status"),
            (
                all(status in KNOWN_ERROR_STATUSES for status in self.error_statuses),
                f"error_statuses must be among {ERROR_STATUSES} (the defaults) or 504 (a gateway timeout), "
                f"got {self.error_statuses}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise FaultPlanError(message)

    @property
    def enabled(self) -> bool:
        """True when the plan injects anything at all."""
        return bool(
            self.latency_ms or self.latency_jitter_ms[1] or self.rate_limit or self.error_rate or self.slow_rate
        )

    def to_json(self) -> dict[str, Any]:
        """The plan as ``GET /__emu/faults`` shows it (``from_json`` reads it back)."""
        return {
            "latency_ms": self.latency_ms,
            "latency_jitter_ms": list(self.latency_jitter_ms),
            "rate_limit": str(self.rate_limit) if self.rate_limit else None,
            "error_rate": self.error_rate,
            "error_statuses": list(self.error_statuses),
            "error_retry_after_s": self.error_retry_after_s,
            "slow_rate": self.slow_rate,
            "slow_ms": self.slow_ms,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultPlan:
        """A plan from ``PUT /__emu/faults`` JSON; missing keys take their defaults, unknown keys are refused."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise FaultPlanError(f"unknown fault settings {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        return cls.from_options(**data)

    @classmethod
    def from_options(
        cls,
        *,
        latency_ms: float | str | None = None,
        latency_jitter_ms: str | Sequence[float] | None = None,
        rate_limit: str | RateLimit | Mapping[str, int] | None = None,
        error_rate: float | str | None = None,
        error_statuses: str | Sequence[int] | None = None,
        error_retry_after_s: int | str | None = None,
        slow_rate: float | str | None = None,
        slow_ms: float | str | None = None,
        seed: int | str | None = None,
    ) -> FaultPlan:
        """A plan from CLI-style values (strings such as ``"0-50"``, ``"100/3600"``); None keeps the default."""
        changes: dict[str, Any] = {}
        if latency_ms is not None:
            changes["latency_ms"] = _number("latency-ms", latency_ms)
        if latency_jitter_ms is not None:
            changes["latency_jitter_ms"] = _range("latency-jitter-ms", latency_jitter_ms)
        if rate_limit is not None:
            changes["rate_limit"] = _rate_limit(rate_limit)
        if error_rate is not None:
            changes["error_rate"] = _number("error-rate", error_rate)
        if error_statuses is not None:
            changes["error_statuses"] = _statuses(error_statuses)
        if error_retry_after_s is not None:
            changes["error_retry_after_s"] = int(_number("error-retry-after-s", error_retry_after_s))
        if slow_rate is not None:
            changes["slow_rate"] = _number("slow-rate", slow_rate)
        if slow_ms is not None:
            changes["slow_ms"] = _number("slow-ms", slow_ms)
        if seed is not None:
            changes["seed"] = int(_number("seed", seed))
        return replace(cls(), **changes)

    @classmethod
    def parse(cls, argv: Sequence[str], *, prefix: str = "") -> FaultPlan:
        """A plan from flags: ``--latency-ms 20 --rate-limit 100/3600 ...`` (``--graph-latency-ms`` with a prefix)."""
        parser = argparse.ArgumentParser(prog="faults", add_help=False, exit_on_error=False)
        add_fault_arguments(parser, prefix=prefix)
        try:
            options, unknown = parser.parse_known_args(list(argv))
        except argparse.ArgumentError as exc:
            raise FaultPlanError(f"bad fault options {' '.join(argv)!r}: {exc}") from None
        if unknown:
            known = ", ".join(fault_flags(prefix))
            raise FaultPlanError(f"bad fault options: {' '.join(unknown)!r} is not a fault flag ({known})")
        return cls.from_options(**{name.removeprefix(_dest(prefix)): value for name, value in vars(options).items()})


# CLI flags of the plan and their help; the destination is the flag without dashes (``latency_ms``).
FAULT_FLAGS = {
    "--latency-ms": "fixed latency added to every request, in ms",
    "--latency-jitter-ms": "random extra latency LOW-HIGH in ms, e.g. 0-50",
    "--rate-limit": "REQUESTS/SECONDS per caller, then 429 with Retry-After, e.g. 100/3600",
    "--error-rate": "fraction 0..1 of requests answered with a 5xx",
    "--error-statuses": "comma-separated statuses for --error-rate among 500,502,503,504",
    "--error-retry-after-s": "Retry-After seconds on injected 503s (and Graph's 504s; default 1)",
    "--slow-rate": "fraction 0..1 of requests delayed by --slow-ms",
    "--slow-ms": "delay of a slow response, in ms",
    "--seed": "seed of the random draws, for reproducible runs",
}


def fault_flags(prefix: str = "") -> dict[str, str]:
    """The flags and their help, each named ``--<prefix><flag>`` (e.g. ``prefix="graph-"``)."""
    return {f"--{prefix}{flag[2:]}": help_text for flag, help_text in FAULT_FLAGS.items()}


def add_fault_arguments(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """Add the fault flags to an argparse parser (values stay strings; ``FaultPlan.from_options`` reads them)."""
    for flag, help_text in fault_flags(prefix).items():
        parser.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None, help=help_text)


def _dest(prefix: str) -> str:
    return prefix.replace("-", "_")


def _number(option: str, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise FaultPlanError(f"--{option}: expected a number, got {raw!r}")
    try:
        return float(raw)
    except ValueError:
        raise FaultPlanError(f"--{option}: expected a number, got {raw!r}") from None


def _rate_limit(raw: str | RateLimit | Mapping[str, int]) -> RateLimit:
    if isinstance(raw, RateLimit):
        return raw
    if isinstance(raw, str):
        return RateLimit.parse(raw)
    try:
        return RateLimit(int(raw["requests"]), int(raw["window_seconds"]))
    except (KeyError, TypeError, ValueError):
        raise FaultPlanError(f'rate_limit {raw!r}: expected "N/W" or {{"requests": N, "window_seconds": W}}') from None


def _range(option: str, raw: str | Sequence[float]) -> tuple[float, float]:
    if isinstance(raw, str):
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*", raw)
        if found is None:
            raise FaultPlanError(f"--{option} {raw!r}: expected LOW-HIGH in ms, e.g. 0-50")
        return float(found[1]), float(found[2])
    if len(raw) != 2:
        raise FaultPlanError(f"--{option}: expected [low, high], got {raw!r}")
    return _number(option, raw[0]), _number(option, raw[1])


def _statuses(raw: str | Sequence[int]) -> tuple[int, ...]:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    try:
        return tuple(int(item) for item in items)
    except (TypeError, ValueError):
        raise FaultPlanError(f"--error-statuses {raw!r}: expected statuses such as 500,503") from None


# -- the rate limiter ----------------------------------------------------------------------


@dataclass(frozen=True)
class RateDecision:
    """The limiter's answer for one request: allowed or not, what is left, and when to come back."""

    allowed: bool
    limit: RateLimit
    remaining: int
    reset_at: float  # UNIX time the caller's current window ends
    retry_after: int  # whole seconds to wait, at least 1


@dataclass
class _Window:
    started: float
    used: int = 0


class RateLimiter:
    """Fixed windows per caller; a caller's window opens with their first request after the previous one ended.

    Opening windows at the first request (rather than on the clock's hour) makes a test's 429 deterministic:
    with ``1/1`` the second immediate request is always refused with ``Retry-After: 1``.
    """

    def __init__(self, limit: RateLimit, clock: Clock = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def admit(self, caller: str) -> RateDecision:
        """Count one request of ``caller`` if the window has room; refused requests are not counted."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(caller)
            if window is None or now >= window.started + self.limit.window_seconds:
                window = self._windows[caller] = _Window(started=now)
            reset_at = window.started + self.limit.window_seconds
            allowed = window.used < self.limit.requests
            if allowed:
                window.used += 1
            return RateDecision(
                allowed=allowed,
                limit=self.limit,
                remaining=self.limit.requests - window.used,
                reset_at=reset_at,
                retry_after=max(1, math.ceil(reset_at - now)),
            )


# -- dialects: how each emulator answers ---------------------------------------------------


class FaultDialect(ABC):
    """What one emulator's injected faults look like: the paths they touch and the words of each refusal."""

    @abstractmethod
    def guards(self, path: str) -> bool:
        """Whether faults apply to ``path`` (the emulator's API, never its control endpoints)."""

    @abstractmethod
    def caller(self, scope: Scope) -> str:
        """Whom a rate limit counts ('' for anonymous calls)."""

    @abstractmethod
    async def send_throttled(self, scope: Scope, send: Send, decision: RateDecision) -> None:
        """Answer a request refused by the rate limit (429 with ``Retry-After``)."""

    @abstractmethod
    async def send_error(self, scope: Scope, send: Send, status: int, retry_after_s: int) -> None:
        """Answer an injected 5xx as this emulator (or the load balancer in front of it) would."""

    def admitted_headers(self, decision: RateDecision) -> Sequence[tuple[str, str]]:
        """Headers added to a request the rate limit let through (none unless the emulator sends some)."""
        return ()


GRAPH_PATH_PREFIXES = ("/v1.0/",)
# Graph's error code and message for each injected status ({s}: the Retry-After seconds).
GRAPH_ERROR_CODES = {
    429: ("TooManyRequests", "Too many requests. Retry after {s} seconds."),
    500: ("generalException", "General exception while processing."),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable. Retry after {s} seconds."),
    504: ("GatewayTimeout", "The gateway timed out. Retry after {s} seconds."),
}
# The statuses msgraph-sdk's retry handler retries, honouring Retry-After.
GRAPH_RETRYABLE = frozenset({429, 503, 504})


class GraphDialect(FaultDialect):
    """Microsoft Graph: faults under ``/v1.0/``, refusals as ``{"error": {"code", "message", "innerError"}}``.

    Graph throttles per app and tenant; the token in the request stands for the app here. 503 and 504 carry
    ``Retry-After`` as Graph sends it, which the SDK's retry handler honours.
    """

    def guards(self, path: str) -> bool:
        """Graph's resources; the token service and ``/__emu`` stay reachable."""
        return path.startswith(GRAPH_PATH_PREFIXES)

    def caller(self, scope: Scope) -> str:
        """The bearer token (one per app registration)."""
        return bearer_token(scope) or ""

    async def send_throttled(self, scope: Scope, send: Send, decision: RateDecision) -> None:
        """Graph's 429 ``TooManyRequests`` with ``Retry-After``."""
        await self._send(scope, send, 429, decision.retry_after)

    async def send_error(self, scope: Scope, send: Send, status: int, retry_after_s: int) -> None:
        """Graph's 5xx error JSON; ``Retry-After`` on 503 and 504."""
        await self._send(scope, send, status, retry_after_s)

    async def _send(self, scope: Scope, send: Send, status: int, retry_after_s: int) -> None:
        code, message = GRAPH_ERROR_CODES[status]
        request_id = str(uuid.uuid4())
        client_request_id = header(scope, b"client-request-id") or request_id
        inner = {
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id,
        }
        body = {"error": {"code": code, "message": message.format(s=retry_after_s), "innerError": inner}}
        headers = [("request-id", request_id), ("client-request-id", client_request_id)]
        if status in GRAPH_RETRYABLE:
            headers.insert(0, ("Retry-After", str(retry_after_s)))
        await send_json(send, status, body, headers, content_type="application/json")


# -- the middleware ----------------------------------------------------------------------------


@dataclass
class _Injection:
    """A plan with its rate-limit windows and random source, swapped as one so requests never see a mix."""

    plan: FaultPlan
    limiter: RateLimiter | None
    # A fresh generator per plan, so a seed replays the same faults from the moment the plan is set.
    rng: random.Random
    lock: threading.Lock = field(default_factory=threading.Lock)


class FaultMiddleware:
    """Wraps an emulator and injects the current ``FaultPlan`` in its ``dialect``; serves ``GET/PUT /__emu/faults``."""

    def __init__(
        self,
        app: ASGIApp,
        plan: FaultPlan | None = None,
        *,
        dialect: FaultDialect,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.app = app
        self.dialect = dialect
        self._clock = clock
        self._sleep = sleep
        self.set_plan(plan or FaultPlan())

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._injection.plan

    def set_plan(self, plan: FaultPlan) -> None:
        """Replace the plan; rate-limit windows and the random sequence start over."""
        limiter = RateLimiter(plan.rate_limit, self._clock) if plan.rate_limit else None
        self._injection = _Injection(plan, limiter, random.Random(plan.seed))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == FAULTS_PATH:
            await self._control(scope, receive, send)
            return
        injection = self._injection
        if not injection.plan.enabled or path.startswith(EMU_PREFIX) or not self.dialect.guards(path):
            await self.app(scope, receive, send)
            return
        delay_ms, error_status = _draw(injection)
        if delay_ms > 0:
            await self._sleep(delay_ms / 1000)
        extra_headers: Sequence[tuple[str, str]] = ()
        if injection.limiter is not None:
            decision = injection.limiter.admit(self.dialect.caller(scope))
            if not decision.allowed:
                await self.dialect.send_throttled(scope, send, decision)
                return
            extra_headers = self.dialect.admitted_headers(decision)
        if error_status is not None:
            await self.dialect.send_error(scope, send, error_status, injection.plan.error_retry_after_s)
            return
        await self.app(scope, receive, _adding_headers(send, extra_headers) if extra_headers else send)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await refuse_remote(scope, send):
            return
        method = scope["method"]
        if method == "PUT":
            try:
                document = json.loads(await read_body(receive) or b"{}")
                if not isinstance(document, dict):
                    raise FaultPlanError("the body must be a JSON object of fault settings")
                self.set_plan(FaultPlan.from_json(document))
            except (json.JSONDecodeError, UnicodeDecodeError, FaultPlanError, TypeError) as exc:
                await send_json(send, 400, control_failure("Invalid fault plan", str(exc)))
                return
        elif method != "GET":
            detail = f"{method} is not supported on {FAULTS_PATH}"
            await send_json(send, 405, control_failure("Method not Supported", detail))
            return
        await send_json(send, 200, {"result": self.plan.to_json()})


def _draw(injection: _Injection) -> tuple[float, int | None]:
    """This request's delay (ms) and injected error status, drawn in a fixed order for reproducibility."""
    plan, rng = injection.plan, injection.rng
    with injection.lock:
        delay = plan.latency_ms
        low, high = plan.latency_jitter_ms
        if high > 0:
            delay += rng.uniform(low, high)
        if plan.slow_rate and rng.random() < plan.slow_rate:
            delay += plan.slow_ms
        error = None
        if plan.error_rate and rng.random() < plan.error_rate:
            error = rng.choice(plan.error_statuses)
        return delay, error


def _adding_headers(send: Send, headers: Sequence[tuple[str, str]]) -> Send:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *raw]}
        await send(message)

    return wrapped
