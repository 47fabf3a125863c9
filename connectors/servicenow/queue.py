"""Queue polling: the tickets waiting in an assignment group, by ``sys_updated_on`` watermark, de-duplicated.

A poll asks for ``sys_updated_on >= watermark - overlap`` (the field has a one-second resolution and a record
committed in the same second as the last poll could be missed without the overlap), ordered by
``sys_updated_on`` then ``sys_id``; tickets already seen in the same version (``sys_id``, ``sys_mod_count``) are
dropped, so the overlap never hands a ticket out twice. A ticket changed since (a new ``sys_mod_count``) comes back.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis

from connectors.errors import InvalidRequestError, TransientError
from connectors.servicenow.client import SYSTEM

SN_TIME = "%Y-%m-%d %H:%M:%S"
# Only what a queued ticket needs (sysparm_fields).
QUEUE_FIELDS = [
    "number", "short_description", "description", "caller_id", "contact_type", "state", "correlation_id",
    "sys_updated_on", "sys_mod_count",
]  # fmt: skip
WAITING_STATES = ("1", "2")  # New, In Progress


class SeenTickets(Protocol):
    """Versions of tickets already handed out by a poll: ``first_time`` answers and remembers in one step."""

    def first_time(self, sys_id: str, mod_count: int) -> bool:
        """True the first time this (sys_id, sys_mod_count) is offered, False afterwards."""
        ...


class InMemorySeenTickets:
    """The last ``capacity`` ticket versions seen by this process."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, sys_id: str, mod_count: int) -> bool:
        """True the first time this (sys_id, sys_mod_count) is offered, False afterwards."""
        key = (sys_id, mod_count)
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            return True


class RedisSeenTickets:
    """Ticket versions seen by any worker of the fleet (``SET NX EX``), forgotten after ``ttl_seconds``.

    The expiry lets a ticket nobody finished come back on a reconciliation poll (``since_watermark=None``).
    """

    def __init__(self, client: redis.Redis, *, prefix: str = "sesame:sn:seen:", ttl_seconds: int = 3600) -> None:
        self._redis = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    def first_time(self, sys_id: str, mod_count: int) -> bool:
        """True the first time this (sys_id, sys_mod_count) is offered, False afterwards."""
        try:
            return bool(self._redis.set(f"{self._prefix}{sys_id}:{mod_count}", "1", nx=True, ex=self._ttl))
        except redis.RedisError as exc:
            raise TransientError(
                f"Redis unavailable while de-duplicating queued tickets: {exc}", system="redis"
            ) from exc


def queue_query(group_id: str, since: str | None, overlap_seconds: float) -> str:
    """The encoded query of a poll: waiting, unassigned tickets of the group, from the watermark minus overlap."""
    conditions = ["active=true", f"assignment_group={group_id}", f"stateIN{','.join(WAITING_STATES)}",
                  "assigned_toISEMPTY"]  # fmt: skip
    if since:
        conditions.append(f"sys_updated_on>={shifted(since, -overlap_seconds)}")
    return "^".join([*conditions, "ORDERBYsys_updated_on", "ORDERBYsys_id"])


def shifted(watermark: str, seconds: float) -> str:
    """A ``sys_updated_on`` value moved by ``seconds``; refuses anything but ServiceNow's UTC format."""
    try:
        moment = datetime.strptime(watermark, SN_TIME).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequestError(
            f"watermark {watermark!r} is not a ServiceNow time (YYYY-MM-DD HH:MM:SS, UTC)", system=SYSTEM
        ) from None
    return (moment + timedelta(seconds=seconds)).strftime(SN_TIME)
