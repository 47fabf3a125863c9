"""Unlock safety (security note ACT-02, TC-19): no automatic unlock while accounts lock together, or for an
account that keeps locking.

A password spray tries one or two passwords on many accounts: many accounts lock within minutes. Unlocking them
on request would hand the attacker fresh attempts. ``SprayDetector`` keeps the lockouts it has seen (account and
``lockoutTime``) in a store shared by the fleet (Redis) or in memory (tests, a single process), and refuses:

- ``SPRAY_SUSPECTED`` (alert) when at least ``threshold`` distinct accounts locked within ``window``;
- ``REPEATED_LOCKOUTS`` (alert) when this account locked more than ``max_lockouts`` times in ``repeat_window``,
  or its ``badPwdCount`` is at least ``max_bad_password_count`` (far above a lockout threshold: a tool, not a
  person who forgot);
- ``SPRAY_CHECK_UNAVAILABLE`` when the store cannot be read (fail closed).

A lockout is identified by its ``lockoutTime``, so observing the same lockout twice counts once. The detector
sees what it is shown: feed it every locked account a request names, and, better, a periodic scan of the locked
accounts of the partner OUs. Failures from unusual sources (events 4625/4771, Entra sign-in errors) are not read
here; they need the DC security log or Entra sign-in logs.

Only a hash of the DN goes to the store (no login or name in Redis).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from automations.trust import Refusal
from connectors.directory import Account

SPRAY_SUSPECTED = "SPRAY_SUSPECTED"
REPEATED_LOCKOUTS = "REPEATED_LOCKOUTS"
SPRAY_CHECK_UNAVAILABLE = "SPRAY_CHECK_UNAVAILABLE"
DEFAULT_KEY = "sesame:lockouts"


class LockoutStore(Protocol):
    """Where observed lockouts are kept: (account hash, lockout time) pairs, kept at least ``keep`` long."""

    def record(self, account: str, when: datetime, *, keep: timedelta) -> None:
        """Remember one lockout of ``account`` (a hash) at ``when``; forget those older than ``when - keep``."""
        ...

    def since(self, start: datetime) -> list[tuple[str, datetime]]:
        """Every remembered lockout at or after ``start``."""
        ...


class MemoryLockoutStore:
    """Lockouts in this process's memory: for tests and single-process runs."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, datetime]] = set()
        self._lock = threading.Lock()

    def record(self, account: str, when: datetime, *, keep: timedelta) -> None:
        """Remember one lockout; forget those older than ``when - keep``."""
        with self._lock:
            self._seen.add((account, when))
            horizon = when - keep
            self._seen = {item for item in self._seen if item[1] >= horizon}

    def since(self, start: datetime) -> list[tuple[str, datetime]]:
        """Every remembered lockout at or after ``start``."""
        with self._lock:
            return sorted(item for item in self._seen if item[1] >= start)


class ScriptRunner(Protocol):
    """The one call the Redis store makes (``redis.Redis`` has it): run a Lua script atomically."""

    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


# KEYS[1] sorted set; ARGV member, score (epoch seconds), forget-before score, key time-to-live in seconds.
_RECORD = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""
_SINCE = "return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')"


class RedisLockoutStore:
    """Lockouts in one Redis sorted set shared by every worker: member ``hash:epoch``, score the epoch."""

    def __init__(self, redis: ScriptRunner, key: str = DEFAULT_KEY) -> None:
        self._redis, self._key = redis, key

    def record(self, account: str, when: datetime, *, keep: timedelta) -> None:
        """Remember one lockout; forget those older than ``when - keep``."""
        epoch = int(when.timestamp())
        horizon = int((when - keep).timestamp())
        ttl = max(1, int(keep.total_seconds()) + 3600)
        self._redis.eval(_RECORD, 1, self._key, f"{account}:{epoch}", epoch, horizon, ttl)

    def since(self, start: datetime) -> list[tuple[str, datetime]]:
        """Every remembered lockout at or after ``start``."""
        members = self._redis.eval(_SINCE, 1, self._key, int(start.timestamp())) or []
        found: list[tuple[str, datetime]] = []
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            account, _, epoch = text.rpartition(":")
            found.append((account, datetime.fromtimestamp(int(epoch), UTC)))
        return found


def account_key(dn: str) -> str:
    """The store's name for an account: a hash of its DN (case-insensitive, as AD compares DNs)."""
    return hashlib.sha256(dn.strip().lower().encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class SprayDetector:
    """Judges whether an unlock is safe from the lockouts observed across the fleet; thresholds from config."""

    store: LockoutStore
    threshold: int = 10
    window: timedelta = timedelta(minutes=15)
    max_lockouts: int = 2
    repeat_window: timedelta = timedelta(hours=24)
    max_bad_password_count: int | None = 15

    def __post_init__(self) -> None:
        if self.threshold < 2 or self.max_lockouts < 1:
            raise ValueError("threshold must be ≥ 2 accounts and max_lockouts ≥ 1")
        if self.window <= timedelta(0) or self.repeat_window <= timedelta(0):
            raise ValueError("window and repeat_window must be positive")

    def observe_lockout(self, dn: str, when: datetime) -> None:
        """Remember that ``dn`` locked at ``when`` (its ``lockoutTime``); the same lockout twice counts once."""
        self.store.record(account_key(dn), when, keep=max(self.window, self.repeat_window))

    def locked_accounts(self, now: datetime) -> int:
        """How many distinct accounts locked within ``window`` before ``now``."""
        return len({account for account, when in self.store.since(now - self.window) if when <= now})

    def looks_like_spray(self, now: datetime) -> bool:
        """Whether at least ``threshold`` distinct accounts locked within ``window`` before ``now``."""
        return self.locked_accounts(now) >= self.threshold

    def lockouts_of(self, dn: str, now: datetime) -> int:
        """How many distinct lockouts of ``dn`` were seen within ``repeat_window`` before ``now``."""
        key = account_key(dn)
        return sum(1 for account, when in self.store.since(now - self.repeat_window) if account == key and when <= now)

    def unlock_refusals(self, account: Account, *, now: datetime) -> list[Refusal]:
        """Why ``account`` must not be unlocked automatically now; records its own lockout first. Empty = safe."""
        try:
            if account.lockout_time is not None:
                self.observe_lockout(account.dn, account.lockout_time)
            locked = self.locked_accounts(now)
            repeats = self.lockouts_of(account.dn, now)
        except Exception as exc:  # no positive evidence that no spray is going on: refuse
            return [Refusal(SPRAY_CHECK_UNAVAILABLE, f"the lockout history could not be read "
                                                     f"({type(exc).__name__}); unlock by hand after checking "
                                                     "for a password spray")]  # fmt: skip
        refusals: list[Refusal] = []
        minutes = int(self.window.total_seconds() // 60)
        if locked >= self.threshold:
            refusals.append(Refusal(SPRAY_SUSPECTED, f"{locked} accounts locked in the last {minutes} min "
                                                     f"(threshold {self.threshold}): possible password spray; no "
                                                     "automatic unlock until the security team has looked",
                                    alert=True))  # fmt: skip
        hours = int(self.repeat_window.total_seconds() // 3600)
        why: list[str] = []
        if repeats > self.max_lockouts:
            why.append(f"locked {repeats} times in {hours} h (more than {self.max_lockouts})")
        if self.max_bad_password_count is not None and account.bad_password_count >= self.max_bad_password_count:
            why.append(f"badPwdCount is {account.bad_password_count} (at least {self.max_bad_password_count})")
        if why:
            refusals.append(Refusal(REPEATED_LOCKOUTS, f"{account.sam} {' and '.join(why)}: find the source of the "
                                                       "failed logons (stale device, attack) before unlocking",
                                    alert=True))  # fmt: skip
        return refusals
