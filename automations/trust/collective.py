"""Collective incidents (tender §7.3.3.2.3): a burst of similar requests goes to humans as one parent incident.

Requests are similar when they share the intent and the partner (internal tickets share the partner ``none``), or
when they name the same application. Each group is a sliding window in Redis (a sorted set of request keys scored
by arrival time); once a group holds ``threshold`` requests within ``window_seconds``, every request of it is
collective until the burst has left the window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

COLLECTIVE_INCIDENT = "COLLECTIVE_INCIDENT"


class CollectiveStore(Protocol):
    """The calls the detector makes (``redis.Redis`` has them)."""

    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...

    def zrangebyscore(self, name: str, min: float | str, max: float | str) -> Any: ...

    def get(self, name: str) -> Any: ...


@dataclass(frozen=True)
class CollectiveVerdict:
    """``collective`` when the request belongs to a burst; ``group_key`` names the group (the largest one the
    request belongs to) and ``count`` how many requests of it arrived within the window, this one included."""

    collective: bool
    group_key: str | None
    count: int


# KEYS: one sorted set per group, then the parent key of each group. ARGV[1] = request key, ARGV[2] = now,
# ARGV[3] = window seconds. A request observed again (a retry) keeps its first arrival time and is counted once;
# a group's parent incident is remembered as long as its requests keep coming.
_OBSERVE = """
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local groups = #KEYS / 2
local out = {}
for i = 1, groups do
  local key = KEYS[i]
  redis.call('ZADD', key, 'NX', ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (now - window))
  redis.call('EXPIRE', key, window + 60)
  redis.call('EXPIRE', KEYS[groups + i], window)
  out[i] = redis.call('ZCOUNT', key, '(' .. (now - window), '+inf')
end
return out
"""

# KEYS[1] = parent key; ARGV[1] = incident number, ARGV[2] = seconds to keep it. The first number stored wins.
_PARENT = """
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', tonumber(ARGV[2]))
return redis.call('GET', KEYS[1])
"""


class CollectiveDetector:
    """Counts similar requests in sliding windows; ``clock`` (Unix seconds) is injectable for tests."""

    def __init__(self, redis: CollectiveStore, threshold: int, window_seconds: int, *, prefix: str = "sesame:",
                 clock: Callable[[], float] = time.time) -> None:
        if threshold < 2:
            raise ValueError(f"collective threshold must be at least 2 similar requests, not {threshold}")
        if window_seconds < 1:
            raise ValueError(f"collective window must be at least 1 second, not {window_seconds}")
        self._redis = redis
        self.threshold = threshold
        self.window_seconds = window_seconds
        self._prefix = prefix + "collective:"
        self._clock = clock

    @staticmethod
    def groups(*, intent: str, partner: str | None, application: str | None) -> list[str]:
        """The group keys of a request: intent and partner, and the application when one is named."""
        keys = [f"intent={_norm(intent) or 'unknown'};partner={_norm(partner) or 'none'}"]
        if _norm(application):
            keys.append(f"application={_norm(application)}")
        return keys

    def observe(self, request_key: str, *, intent: str, partner: str | None,
                application: str | None) -> CollectiveVerdict:
        """Count this request in its groups and say whether it is part of a burst; raises the client's error
        (the caller hands the request over: no automation without the count)."""
        if not request_key:
            raise ValueError("observe needs the request key, so a retried request is counted once")
        groups = self.groups(intent=intent, partner=partner, application=application)
        keys = [self._prefix + g for g in groups] + [self._parent_key(g) for g in groups]
        counts = self._redis.eval(_OBSERVE, len(keys), *keys, request_key, f"{self._clock():.6f}",
                                  str(self.window_seconds))
        best = max(zip(groups, (int(c) for c in counts), strict=True), key=lambda pair: pair[1])
        return CollectiveVerdict(best[1] >= self.threshold, best[0], best[1])

    def members(self, group_key: str) -> list[str]:
        """The request keys of ``group_key`` still within the window, oldest first: those the parent links."""
        lower = self._clock() - self.window_seconds
        raw = self._redis.zrangebyscore(self._prefix + group_key, f"({lower:.6f}", "+inf")
        return [item.decode() if isinstance(item, bytes) else str(item) for item in raw]

    def parent(self, group_key: str) -> str | None:
        """The parent incident remembered for ``group_key``, if any."""
        raw = self._redis.get(self._parent_key(group_key))
        return raw.decode() if isinstance(raw, bytes) else raw

    def remember_parent(self, group_key: str, incident: str) -> str:
        """Remember ``incident`` as the parent of ``group_key`` for one window unless another worker stored one
        first; return the parent in force (link to it, and close a duplicate you just opened). It is forgotten
        once no request of the group arrived for a window, so a later burst opens a new parent."""
        raw = self._redis.eval(_PARENT, 1, self._parent_key(group_key), incident,
                               str(self.window_seconds))
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def _parent_key(self, group_key: str) -> str:
        return self._prefix + "parent:" + group_key


def _norm(value: str | None) -> str:
    return " ".join((value or "").split()).lower().replace(";", ",").replace("=", "-")
