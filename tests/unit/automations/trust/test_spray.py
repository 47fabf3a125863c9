"""Unlock safety (ACT-02, TC-19): spray-like lockout bursts and accounts that keep locking are not unlocked.

Each rule runs on the in-memory store and on real Redis (the store the fleet shares).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import redis

from automations.trust.spray import (
    REPEATED_LOCKOUTS,
    SPRAY_CHECK_UNAVAILABLE,
    SPRAY_SUSPECTED,
    LockoutStore,
    MemoryLockoutStore,
    RedisLockoutStore,
    SprayDetector,
)
from connectors.directory import Account

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
ACCOUNT = Account(
    dn=f"CN=Jean Dupont,{OU}",
    sam="jdupont",
    upn="jdupont@agence.local",
    mail=None,
    display_name="Jean Dupont",
    enabled=True,
    locked=True,
    bad_password_count=5,
    lockout_time=NOW - timedelta(minutes=2),
)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest) -> Iterator[LockoutStore]:
    if request.param == "memory":
        yield MemoryLockoutStore()
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    key = f"test:lockouts:{uuid.uuid4().hex}"
    yield RedisLockoutStore(client, key)
    client.delete(key)
    client.close()


def _lock_others(detector: SprayDetector, count: int, at: datetime) -> None:
    for n in range(count):
        detector.observe_lockout(f"CN=user{n},{OU}", at - timedelta(seconds=n))


def test_a_lone_lockout_may_be_unlocked(store: LockoutStore) -> None:
    detector = SprayDetector(store)
    assert detector.unlock_refusals(ACCOUNT, now=NOW) == []
    assert not detector.looks_like_spray(NOW)


def test_many_accounts_locked_together_look_like_a_spray(store: LockoutStore) -> None:
    detector = SprayDetector(store, threshold=10, window=timedelta(minutes=15))
    _lock_others(detector, 9, NOW - timedelta(minutes=1))
    assert not detector.looks_like_spray(NOW)
    [refusal] = detector.unlock_refusals(ACCOUNT, now=NOW)  # the tenth: this account's own lockout
    assert refusal.reason == SPRAY_SUSPECTED and refusal.alert
    assert "10 accounts locked in the last 15 min" in refusal.detail
    assert detector.looks_like_spray(NOW)


def test_the_same_lockout_seen_twice_counts_once(store: LockoutStore) -> None:
    detector = SprayDetector(store, threshold=2)
    for _ in range(3):
        detector.observe_lockout(ACCOUNT.dn, NOW - timedelta(minutes=1))
    assert detector.locked_accounts(NOW) == 1 and not detector.looks_like_spray(NOW)


def test_a_burst_outside_the_window_is_forgotten(store: LockoutStore) -> None:
    detector = SprayDetector(store, threshold=10, window=timedelta(minutes=15))
    _lock_others(detector, 20, NOW - timedelta(minutes=40))
    assert detector.unlock_refusals(ACCOUNT, now=NOW) == []


def test_an_account_locked_three_times_in_a_day_is_not_unlocked(store: LockoutStore) -> None:
    detector = SprayDetector(store, max_lockouts=2)
    detector.observe_lockout(ACCOUNT.dn, NOW - timedelta(hours=20))
    assert detector.unlock_refusals(ACCOUNT, now=NOW) == []  # two lockouts: allowed
    detector.observe_lockout(ACCOUNT.dn, NOW - timedelta(hours=5))
    [refusal] = detector.unlock_refusals(ACCOUNT, now=NOW)
    assert refusal.reason == REPEATED_LOCKOUTS and refusal.alert and "locked 3 times in 24 h" in refusal.detail
    # DN compared without case, as AD does.
    assert detector.lockouts_of(ACCOUNT.dn.upper(), NOW) == 3


def test_lockouts_older_than_a_day_do_not_count(store: LockoutStore) -> None:
    detector = SprayDetector(store, max_lockouts=2)
    detector.observe_lockout(ACCOUNT.dn, NOW - timedelta(hours=30))
    detector.observe_lockout(ACCOUNT.dn, NOW - timedelta(hours=26))
    assert detector.unlock_refusals(ACCOUNT, now=NOW) == []


def test_a_bad_password_count_far_above_the_threshold_is_not_unlocked(store: LockoutStore) -> None:
    detector = SprayDetector(store, max_bad_password_count=15)
    [refusal] = detector.unlock_refusals(replace(ACCOUNT, bad_password_count=40), now=NOW)
    assert refusal.reason == REPEATED_LOCKOUTS and "badPwdCount is 40" in refusal.detail


def test_both_reasons_together(store: LockoutStore) -> None:
    detector = SprayDetector(store, threshold=3)
    _lock_others(detector, 5, NOW)
    refusals = detector.unlock_refusals(replace(ACCOUNT, bad_password_count=99), now=NOW)
    assert [r.reason for r in refusals] == [SPRAY_SUSPECTED, REPEATED_LOCKOUTS]


class BrokenRedis:
    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        raise redis.ConnectionError("Connection refused")


def test_an_unreadable_history_refuses_the_unlock() -> None:
    [refusal] = SprayDetector(RedisLockoutStore(BrokenRedis())).unlock_refusals(ACCOUNT, now=NOW)
    assert refusal.reason == SPRAY_CHECK_UNAVAILABLE and "ConnectionError" in refusal.detail


@pytest.mark.integration
def test_redis_holds_no_account_name(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    key = f"test:lockouts:{uuid.uuid4().hex}"
    SprayDetector(RedisLockoutStore(client, key)).observe_lockout(ACCOUNT.dn, NOW)
    members = cast(list[bytes], client.zrange(key, 0, -1))
    assert len(members) == 1 and b"jean" not in members[0].lower() and b"dupont" not in members[0].lower()
    assert 0 < client.ttl(key) <= 25 * 3600
    client.delete(key)
    client.close()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        SprayDetector(MemoryLockoutStore(), threshold=1)
    with pytest.raises(ValueError):
        SprayDetector(MemoryLockoutStore(), window=timedelta(0))
