"""Fault injection and the request log of the ServiceNow emulator, in-process (no sockets).

The middlewares wrap a stand-in app here; ``tests/integration/test_sn_faults_pysnc.py`` puts them around the
real emulator and drives it with pysnc.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from sandbox.servicenow.faults import (
    RATE_LIMIT_RULE,
    FaultMiddleware,
    FaultPlan,
    FaultPlanError,
    RateLimit,
    RateLimiter,
)
from sandbox.servicenow.request_log import (
    LoggedRequest,
    RequestLog,
    RequestLogMiddleware,
    masked_query,
    parse_since,
)

AUTH = ("svc-sesame", "secret-for-tests")
BASE = "https://testserver"
LOOPBACK = ("127.0.0.1", 50000)
INCIDENTS = "/api/now/table/incident"


class FakeClock:
    """A settable UNIX clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordedSleeps:
    """Stands in for asyncio.sleep and remembers the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def _table(request: Request) -> Response:
    """A stand-in Table API: 401 without Basic credentials, 201 on POST, 200 otherwise."""
    if not request.headers.get("authorization", "").startswith("Basic "):
        return JSONResponse({"error": {"message": "User Not Authenticated"}, "status": "failure"}, 401)
    return JSONResponse({"result": []}, 201 if request.method == "POST" else 200)


def stand_in_instance() -> Starlette:
    """Routes where the emulator has them; the middlewares are what these tests exercise."""
    return Starlette(routes=[Route("/api/now/table/{table}", _table, methods=["GET", "POST"]),
                             Route("/oauth_token.do", _table, methods=["POST"])])  # fmt: skip


def emulator(
    plan: FaultPlan | None = None, *, clock: Callable[[], float] | None = None, sleep: RecordedSleeps | None = None
) -> tuple[TestClient, FaultMiddleware, RequestLog]:
    """The Table API wrapped the way the sandbox serves it: log outside, faults inside."""
    faults = FaultMiddleware(
        stand_in_instance(),
        plan,
        clock=clock or FakeClock(),
        sleep=sleep or RecordedSleeps(),
    )
    log = RequestLog()
    return TestClient(RequestLogMiddleware(faults, log), base_url=BASE, client=LOOPBACK), faults, log


# -- plan parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], FaultPlan()),
        (["--latency-ms", "20"], FaultPlan(latency_ms=20)),
        (["--latency-jitter-ms", "0-50"], FaultPlan(latency_jitter_ms=(0, 50))),
        (["--latency-jitter-ms", " 5 - 7.5 "], FaultPlan(latency_jitter_ms=(5, 7.5))),
        (["--rate-limit", "100/3600"], FaultPlan(rate_limit=RateLimit(100, 3600))),
        (["--error-rate", "0.05"], FaultPlan(error_rate=0.05)),
        (["--error-rate", "1", "--error-statuses", "503"], FaultPlan(error_rate=1, error_statuses=(503,))),
        (["--slow-rate", "0.1", "--slow-ms", "2000"], FaultPlan(slow_rate=0.1, slow_ms=2000)),
        (["--seed", "7", "--error-retry-after-s", "2"], FaultPlan(seed=7, error_retry_after_s=2)),
    ],
)
def test_flags_build_the_plan(argv: list[str], expected: FaultPlan) -> None:
    assert FaultPlan.parse(argv) == expected


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--rate-limit", "100"], "REQUESTS/SECONDS"),
        (["--rate-limit", "0/60"], "at least 1"),
        (["--latency-jitter-ms", "50"], "LOW-HIGH"),
        (["--latency-jitter-ms", "50-10"], "LOW <= HIGH"),
        (["--error-rate", "1.5"], "between 0 and 1"),
        (["--error-rate", "often"], "expected a number"),
        (["--error-statuses", "404"], "among (500, 502, 503)"),
        (["--latency-ms", "-1"], ">= 0"),
        (["--no-such-flag", "1"], "bad fault options"),
    ],
)
def test_malformed_flags_are_refused_with_the_expected_form(argv: list[str], complaint: str) -> None:
    with pytest.raises(FaultPlanError, match=None) as refused:
        FaultPlan.parse(argv)
    assert complaint in str(refused.value)


def test_default_plan_is_off_and_any_fault_turns_it_on() -> None:
    assert not FaultPlan().enabled
    assert all(
        plan.enabled
        for plan in (
            FaultPlan(latency_ms=1),
            FaultPlan(latency_jitter_ms=(0, 1)),
            FaultPlan(rate_limit=RateLimit(1, 1)),
            FaultPlan(error_rate=0.1),
            FaultPlan(slow_rate=0.1, slow_ms=5),
        )
    )


def test_plan_json_round_trips_and_rejects_unknown_settings() -> None:
    plan = FaultPlan.parse(["--latency-ms", "20", "--rate-limit", "5/60", "--error-rate", "0.2", "--seed", "3"])
    assert FaultPlan.from_json(plan.to_json()) == plan
    assert FaultPlan.from_json({"rate_limit": {"requests": 5, "window_seconds": 60}}).rate_limit == RateLimit(5, 60)
    with pytest.raises(FaultPlanError, match="unknown fault settings"):
        FaultPlan.from_json({"latency": 20})


# -- rate limiter window ------------------------------------------------------------------------


def test_rate_limiter_counts_per_user_inside_a_window_then_reopens() -> None:
    clock = FakeClock(1000.0)
    limiter = RateLimiter(RateLimit(2, 10), clock)
    first = limiter.admit("alice")
    assert (first.allowed, first.remaining, first.reset_at) == (True, 1, 1010.0)
    clock.now = 1001.0
    assert limiter.admit("alice").remaining == 0
    clock.now = 1002.4
    refused = limiter.admit("alice")
    assert (refused.allowed, refused.remaining, refused.retry_after) == (False, 0, 8)
    assert limiter.admit("bob").allowed  # another user has a window of their own
    clock.now = 1009.9
    assert limiter.admit("alice").retry_after == 1  # never below one second
    clock.now = 1010.0
    reopened = limiter.admit("alice")
    assert (reopened.allowed, reopened.remaining, reopened.reset_at) == (True, 1, 1020.0)


# -- middleware ---------------------------------------------------------------------------------


def test_rate_limited_request_gets_servicenow_429() -> None:
    http, _, _ = emulator(FaultPlan(rate_limit=RateLimit(2, 3600)), clock=FakeClock(1_700_000_000.0))
    allowed = [http.get(INCIDENTS, auth=AUTH) for _ in range(2)]
    assert [r.status_code for r in allowed] == [200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in allowed] == ["1", "0"]
    refused = http.get(INCIDENTS, auth=AUTH)
    assert refused.status_code == 429
    assert refused.json() == {
        "error": {
            "message": "Rate limit exceeded",
            "detail": "Rate limit of 2 requests per 3600 seconds for Table API exceeded",
        },
        "status": "failure",
    }
    assert refused.headers["Retry-After"] == "3600"
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["X-RateLimit-Reset"] == str(1_700_000_000 + 3600)
    assert refused.headers["X-RateLimit-Rule"] == RATE_LIMIT_RULE
    # Another user, and a bearer token, count separately.
    assert http.get(INCIDENTS, auth=("someone", "x")).status_code == 200
    assert http.get(INCIDENTS, headers={"Authorization": "Bearer abc"}).status_code == 401
    assert http.get(INCIDENTS, headers={"Authorization": "Bearer abc"}).status_code == 401
    assert http.get(INCIDENTS, headers={"Authorization": "Bearer abc"}).status_code == 429


def test_control_endpoints_and_unrelated_paths_never_get_faults() -> None:
    http, _, _ = emulator(FaultPlan(error_rate=1.0, error_statuses=(500,)))
    assert http.get(INCIDENTS, auth=AUTH).status_code == 500
    assert http.post("/oauth_token.do", data={"grant_type": "password"}).status_code == 500
    assert http.get("/__emu/faults").status_code == 200
    assert http.get("/__emu/requests").status_code == 200
    assert http.get("/favicon.ico").status_code != 500


@pytest.mark.parametrize(
    ("status", "content_type", "retry_after"),
    [(500, "application/json;charset=UTF-8", None), (502, "text/html; charset=utf-8", None),
     (503, "text/html; charset=utf-8", "1")],
)  # fmt: skip
def test_injected_errors_look_like_the_instance_or_its_load_balancer(
    status: int, content_type: str, retry_after: str | None
) -> None:
    http, _, _ = emulator(FaultPlan(error_rate=1.0, error_statuses=(status,)))
    response = http.get(INCIDENTS, auth=AUTH)
    assert response.status_code == status
    assert response.headers["content-type"] == content_type
    assert response.headers.get("Retry-After") == retry_after


def test_seeded_error_rate_replays_the_same_failures() -> None:
    def statuses() -> list[int]:
        http, _, _ = emulator(FaultPlan(error_rate=0.5, error_statuses=(500,), seed=42))
        return [http.get(INCIDENTS, auth=AUTH).status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert 5 < first.count(500) < 25  # about half, not all or nothing


def test_latency_jitter_and_slow_responses_are_slept_without_blocking() -> None:
    sleeps = RecordedSleeps()
    http, _, _ = emulator(
        FaultPlan(latency_ms=20, latency_jitter_ms=(0, 10), slow_rate=1.0, slow_ms=2000, seed=1), sleep=sleeps
    )
    http.get(INCIDENTS, auth=AUTH)
    http.get("/__emu/requests")
    (delay,) = sleeps.delays
    assert 2.020 <= delay <= 2.030


def test_faults_endpoint_reads_and_replaces_the_plan() -> None:
    http, faults, _ = emulator()
    assert http.get("/__emu/faults").json()["result"] == FaultPlan().to_json()
    replaced = http.put("/__emu/faults", json={"rate_limit": "1/60", "latency_ms": 5})
    assert replaced.status_code == 200
    assert faults.plan == FaultPlan(rate_limit=RateLimit(1, 60), latency_ms=5)
    assert http.get("/__emu/faults").json()["result"]["rate_limit"] == "1/60"
    assert [http.get(INCIDENTS, auth=AUTH).status_code for _ in range(2)] == [200, 429]
    bad = http.put("/__emu/faults", json={"error_rate": 3})
    assert bad.status_code == 400 and "between 0 and 1" in bad.json()["error"]["detail"]
    assert faults.plan.rate_limit == RateLimit(1, 60)  # a refused plan leaves the old one in force
    assert http.put("/__emu/faults", json={}).status_code == 200
    assert not faults.plan.enabled


def test_control_endpoints_refuse_remote_clients() -> None:
    remote = TestClient(
        RequestLogMiddleware(FaultMiddleware(stand_in_instance())), base_url=BASE, client=("192.0.2.7", 4000)
    )
    for method, path in (("GET", "/__emu/faults"), ("PUT", "/__emu/faults"), ("GET", "/__emu/requests"),
                         ("DELETE", "/__emu/requests")):  # fmt: skip
        assert remote.request(method, path).status_code == 403


# -- request log ----------------------------------------------------------------------------------


def test_log_records_each_call_without_credentials() -> None:
    http, _, log = emulator()
    http.get(INCIDENTS, params={"sysparm_limit": "2"}, auth=AUTH)
    http.post(INCIDENTS, json={"short_description": "noted"}, auth=AUTH)
    http.get(INCIDENTS, headers={"Authorization": "Bearer tok-SECRET-123"})
    http.get("/__emu/faults")
    entries = log.entries()
    assert [(e.method, e.path, e.query, e.status) for e in entries] == [
        ("GET", INCIDENTS, "sysparm_limit=2", 200),
        ("POST", INCIDENTS, "", 201),
        ("GET", INCIDENTS, "", 401),
    ]
    assert [e.user for e in entries[:2]] == [AUTH[0], AUTH[0]]
    assert entries[2].user.startswith("bearer:")
    dumped = repr(entries) + http.get("/__emu/requests").text
    for secret in (AUTH[1], "tok-SECRET-123", "noted", base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()):
        assert secret not in dumped


def test_log_masks_secret_query_parameters() -> None:
    assert masked_query(b"grant_type=password&password=hunter2&username=bob") == (
        "grant_type=password&password=%2A%2A%2A&username=bob"
    )
    assert masked_query(b"sysparm_query=active%3Dtrue%5EORDERBYsys_id") == "sysparm_query=active%3Dtrue%5EORDERBYsys_id"


def test_log_is_a_bounded_ring_with_filters() -> None:
    log = RequestLog(capacity=3)
    for n, (method, path) in enumerate([("GET", "/api/a"), ("POST", "/api/a"), ("GET", "/api/b"), ("GET", "/x")]):
        log.record(LoggedRequest(float(n), method, path, "", 200, 1.0, "u"))
    assert [e.time for e in log.entries()] == [1.0, 2.0, 3.0]  # the oldest fell off
    assert log.count(method="get") == 2
    assert log.count(path_prefix="/api/") == 2
    assert log.count(method="GET", path_prefix="/api/b") == 1
    assert [e.time for e in log.entries(since=2.0)] == [2.0, 3.0]
    log.clear()
    assert log.count() == 0


def test_requests_endpoint_filters_and_clears() -> None:
    http, _, log = emulator()
    http.get(INCIDENTS, auth=AUTH)
    http.post(INCIDENTS, json={}, auth=AUTH)
    http.get("/api/now/table/sys_user", auth=AUTH)
    listed = http.get("/__emu/requests", params={"method": "GET", "path_prefix": INCIDENTS}).json()
    assert [(e["method"], e["path"]) for e in listed] == [("GET", INCIDENTS)]
    assert set(listed[0]) == {"time", "method", "path", "query", "status", "latency_ms", "user"}
    assert len(http.get("/__emu/requests", params={"since": "2000-01-01T00:00:00Z"}).json()) == 3
    assert http.get("/__emu/requests", params={"since": "2999-01-01T00:00:00Z"}).json() == []
    assert http.get("/__emu/requests", params={"since": "yesterday"}).status_code == 400
    assert http.delete("/__emu/requests").status_code == 204
    assert log.count() == 0


def test_since_accepts_unix_seconds_and_zoned_iso_times() -> None:
    assert parse_since("1718000000.5") == 1718000000.5
    assert parse_since("1970-01-01T00:01:00Z") == 60.0
    with pytest.raises(ValueError, match="time zone"):
        parse_since("2024-06-10T08:00:00")
