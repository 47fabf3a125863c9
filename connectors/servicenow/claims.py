"""Claiming a ticket although the Table API has no optimistic concurrency: a Redis lease, a token, a re-read.

1. ``SET sesame:sn:claim:<sys_id> <token> NX PX <ttl>``: one worker of the fleet at a time tries a ticket.
2. One PATCH: ``assigned_to`` = the integration user, ``state`` = In Progress, the claim field = the token, and a
   work note naming the worker and the token (the audit trail on the ticket itself).
3. Re-read: the claim holds only if the ticket still carries our token and our user; anyone else writing the
   ticket in between (a human, another system) wins and we let go. ``still_ours`` repeats that check right
   before an action with side effects, because the last writer wins on ServiceNow.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TypeVar

import redis

from connectors.errors import TransientError

T = TypeVar("T")
LEASE_PREFIX = "sesame:sn:claim:"
# Delete or extend the lease only while it still holds our token (compare-and-act in one Redis step).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
)


class Leases:
    """Short Redis leases on tickets, held by a random token."""

    def __init__(self, client: redis.Redis, *, ttl_ms: int, prefix: str = LEASE_PREFIX) -> None:
        self._redis = client
        self.ttl_ms = ttl_ms
        self._prefix = prefix

    def take(self, sys_id: str, worker_id: str) -> tuple[str, float] | None:
        """A new token and the lease's end (UNIX time), or None when another worker holds the ticket."""
        token = f"{worker_id}:{secrets.token_hex(8)}"
        taken = self._call(lambda: self._redis.set(self._prefix + sys_id, token, nx=True, px=self.ttl_ms))
        return (token, time.time() + self.ttl_ms / 1000) if taken else None

    def give_back(self, sys_id: str, token: str) -> bool:
        """Drop the lease if it is still ours; True when it was."""
        return bool(self._call(lambda: self._redis.eval(_RELEASE, 1, self._prefix + sys_id, token)))

    def renew(self, sys_id: str, token: str) -> float | None:
        """Extend the lease if it is still ours: its new end, else None."""
        renewed = self._call(lambda: self._redis.eval(_RENEW, 1, self._prefix + sys_id, token, self.ttl_ms))
        return time.time() + self.ttl_ms / 1000 if renewed else None

    def holder(self, sys_id: str) -> str | None:
        """The token holding the lease, if any."""
        value = self._call(lambda: self._redis.get(self._prefix + sys_id))
        return value.decode() if isinstance(value, bytes) else (str(value) if value is not None else None)

    @staticmethod
    def _call(step: Callable[[], T]) -> T:
        try:
            return step()
        except redis.RedisError as exc:
            raise TransientError(f"Redis unavailable while leasing a ticket: {exc}", system="redis") from exc


def claim_note(worker_id: str, token: str) -> str:
    """The work note that records a claim on the ticket."""
    return f"[sesame:claim {token}] Pris en charge par l'automate Sésame (worker {worker_id})."
