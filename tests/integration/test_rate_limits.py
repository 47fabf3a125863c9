"""Rate limits (security.md RATE) on real Redis: each scope, sliding windows, retries counted once, fail closed."""

from __future__ import annotations

import uuid

import pytest
import redis

from automations.trust import Refusal
from automations.trust.limits import (
    DAY,
    DEFAULT_LIMITS,
    RATE_LIMIT_UNAVAILABLE,
    RATE_LIMITED,
    Limit,
    RateLimits,
)
from tests.fixtures.services import free_port
from workers.pause import trust_redis

pytestmark = pytest.mark.integration

T0 = 1_750_000_000.0


class Clock:
    """A Unix clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _limits(redis_client: redis.Redis, clock: Clock, *limits: Limit) -> RateLimits:
    return RateLimits(redis_client, limits or DEFAULT_LIMITS, prefix=f"test-{uuid.uuid4().hex}:", clock=clock)


def _do(limits: RateLimits, action: str, key: str, *, target: str | None = "jdupont",
        correspondent: str | None = "rh@ml-lyon.fr", partner: str | None = "ml-lyon") -> list[Refusal]:
    """Check, and record when allowed: what the playbook does around one directory action."""
    refusals = limits.check(action, target=target, correspondent=correspondent, partner=partner, request_key=key)
    if not refusals:
        assert limits.record(action, request_key=key, target=target, correspondent=correspondent, partner=partner)
    return refusals


def test_target_unlock_two_per_day_then_refused_with_alert(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock)
    assert _do(limits, "unlock", "m1", correspondent="a@ml.fr") == []
    clock.advance(3600)
    assert _do(limits, "unlock", "m2", correspondent="b@ml.fr") == []
    clock.advance(3600)
    [refusal] = _do(limits, "unlock", "m3", correspondent="c@ml.fr")
    assert refusal.reason == RATE_LIMITED
    assert refusal.alert is True
    assert "target rate limit" in refusal.detail and "at most 2 unlock per target account in 24 h" in refusal.detail
    assert "2 already in the window" in refusal.detail
    assert "2025-06-16 15:06 UTC" in refusal.detail  # the first unlock (T0) leaves the window 24 h later
    # Another account is not affected, nor is the same account case-folded differently.
    assert _do(limits, "unlock", "m4", target="mmartin", correspondent="d@ml.fr") == []
    assert _do(limits, "unlock", "m5", target="JDupont ", correspondent="e@ml.fr")[0].reason == RATE_LIMITED


def test_target_reset_one_per_day_and_three_per_thirty_days(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock)
    for day in range(3):
        assert _do(limits, "reset", f"r{day}", correspondent=f"c{day}@ml.fr") == [], day
        clock.advance(3600)
        refusals = _do(limits, "reset", f"again{day}", correspondent=f"c{day}@ml.fr")
        assert "at most 1 reset per target account in 24 h" in refusals[0].detail
        assert refusals[0].alert is False  # security.md: a second reset goes to a human, no SOC signal
        assert len(refusals) == (2 if day == 2 else 1)  # the third reset also fills the 30-day window
        clock.advance(DAY)
    [refusal] = _do(limits, "reset", "r4", correspondent="c9@ml.fr")
    assert "at most 3 reset per target account in 30 days" in refusal.detail
    # Unlocks are another kind: the reset windows do not count them.
    assert _do(limits, "unlock", "u1", correspondent="c10@ml.fr") == []


def test_correspondent_three_per_ten_minutes_slides(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock)
    for index in range(3):
        assert _do(limits, "unlock", f"m{index}", target=f"user{index}") == []
        clock.advance(120)
    [refusal] = _do(limits, "reset", "m3", target="user3")  # any action kind counts for the correspondent
    assert refusal.reason == RATE_LIMITED and "per correspondent in 10 min" in refusal.detail
    assert refusal.alert is True
    assert _do(limits, "unlock", "other", target="user3", correspondent="someone@ml.fr") == []
    clock.advance(600 - 360 + 1)  # the first request (at T0) has just left the 10-minute window
    assert _do(limits, "unlock", "m4", target="user4") == []


def test_correspondent_ten_per_day(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock)
    for index in range(10):
        assert _do(limits, "unlock", f"m{index}", target=f"user{index}") == [], index
        clock.advance(601)
    [refusal] = _do(limits, "unlock", "m10", target="user10")
    assert "at most 10 actions per correspondent in 24 h" in refusal.detail


def test_partner_and_global_scopes(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock, Limit("partner", "unlock", 2, 3600),
                     Limit("global", "*", 3, 3600, alert=True))
    assert _do(limits, "unlock", "a1", target="u1", correspondent="x@a.fr", partner="a") == []
    assert _do(limits, "unlock", "a2", target="u2", correspondent="y@a.fr", partner="a") == []
    [partner] = _do(limits, "unlock", "a3", target="u3", correspondent="z@a.fr", partner="a")
    assert "partner rate limit" in partner.detail and partner.alert is False
    assert _do(limits, "reset", "b1", target="u4", correspondent="x@b.fr", partner="b") == []
    [overall] = _do(limits, "unlock", "c1", target="u5", correspondent="x@c.fr", partner="c")
    assert "global rate limit" in overall.detail and "for the whole deployment in 1 h" in overall.detail
    assert overall.alert is True
    exceeded = limits.exceeded("unlock", target="u5", correspondent="x@c.fr", partner="a")
    assert sorted(item.limit.scope for item in exceeded) == ["global", "partner"]


def test_global_default_fifty_per_hour(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock)
    for index in range(50):
        assert _do(limits, "unlock", f"m{index}", target=f"u{index}", correspondent=f"c{index}@x.fr") == []
    [refusal] = _do(limits, "unlock", "m50", target="u50", correspondent="c50@x.fr")
    assert "at most 50 actions for the whole deployment in 1 h" in refusal.detail
    clock.advance(3601)
    assert _do(limits, "unlock", "m51", target="u51", correspondent="c51@x.fr") == []


def test_a_retried_request_is_counted_once_and_not_against_itself(redis_client: redis.Redis, clock: Clock) -> None:
    limits = _limits(redis_client, clock, Limit("target", "reset", 1, DAY))
    args = {"target": "jdupont", "correspondent": "rh@ml-lyon.fr", "partner": "ml-lyon"}
    assert limits.check("reset", request_key="msg-1", **args) == []
    assert limits.record("reset", request_key="msg-1", **args)
    clock.advance(60)
    # The worker crashed after the reset and the request comes back: its own record does not refuse it...
    assert limits.check("reset", request_key="msg-1", **args) == []
    assert limits.record("reset", request_key="msg-1", **args)
    # ...nor does it count twice, and it keeps its first time (the window ends 24 h after the real reset).
    [exceeded] = limits.exceeded("reset", request_key="msg-2", **args)
    assert exceeded.count == 1 and exceeded.frees_at == pytest.approx(T0 + DAY)
    clock.advance(DAY - 60 + 1)
    assert limits.check("reset", request_key="msg-2", **args) == []


def test_scopes_without_subject_are_skipped_and_subjects_are_not_in_key_names(redis_client: redis.Redis,
                                                                                clock: Clock) -> None:
    prefix = f"test-{uuid.uuid4().hex}:"
    limits = RateLimits(redis_client, [Limit("correspondent", "*", 1, 600), Limit("partner", "*", 1, 600)],
                        prefix=prefix, clock=clock)
    # A ServiceNow ticket has no partner correspondent: only the scopes it has are counted.
    assert _do(limits, "unlock", "t1", correspondent=None, partner=None) == []
    assert _do(limits, "unlock", "t2", correspondent=None, partner=None) == []
    assert _do(limits, "unlock", "m1") == []
    assert len(_do(limits, "unlock", "m2")) == 2
    names = " ".join(key.decode() if isinstance(key, bytes) else key for key in redis_client.keys(prefix + "*"))
    assert names.count(prefix) == 2
    assert "rh@ml-lyon.fr" not in names and "jdupont" not in names and "ml-lyon" not in names


def test_unreachable_store_refuses_and_record_reports_failure(clock: Clock) -> None:
    closed = trust_redis(f"redis://127.0.0.1:{free_port()}/0")
    limits = RateLimits(closed, DEFAULT_LIMITS, clock=clock)
    [refusal] = limits.check("unlock", target="jdupont", correspondent="rh@ml.fr", partner="ml", request_key="m")
    assert refusal.reason == RATE_LIMIT_UNAVAILABLE and refusal.alert is True
    assert "ConnectionError" in refusal.detail
    assert limits.record("unlock", request_key="m", target="jdupont", correspondent="rh@ml.fr", partner="ml") is False


@pytest.mark.parametrize(
    ("scope", "action", "count", "window", "message"),
    [("tenant", "unlock", 1, 60, "scope"), ("target", " ", 1, 60, "action"), ("target", "unlock", 0, 60, "count"),
     ("target", "unlock", 1, 0, "window")],
)
def test_invalid_limits_are_refused(scope: str, action: str, count: int, window: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Limit(scope, action, count, window)  # type: ignore[arg-type]
