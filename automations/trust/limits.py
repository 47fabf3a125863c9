"""Rate limits (security.md RATE): sliding windows in Redis per target account, correspondent, partner and overall.

Each window is a sorted set of request keys scored by the time of the action, one set per scope, action kind and
subject (the subject hashed: no login or address in Redis key names). ``check`` before acting counts what is in
each window; ``record`` after a successful action adds the request key, so a retried request is counted once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, get_args

from automations.trust import Refusal

RATE_LIMITED = "RATE_LIMITED"
RATE_LIMIT_UNAVAILABLE = "RATE_LIMIT_UNAVAILABLE"
ANY_ACTION = "*"
HOUR = 3600
DAY = 24 * HOUR

Scope = Literal["target", "correspondent", "partner", "global"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
_SCOPE_WORDS = {"target": "per target account", "correspondent": "per correspondent", "partner": "per partner",
                "global": "for the whole deployment"}

log = logging.getLogger(__name__)


class ScriptRunner(Protocol):
    """The one call the trust stores make (``redis.Redis`` has it): run a Lua script atomically."""

    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


@dataclass(frozen=True)
class Limit:
    """At most ``count`` actions of kind ``action`` (``"*"`` = any kind) per ``scope`` subject in ``window_seconds``;
    ``alert`` when going past it must also reach the security team."""

    scope: Scope
    action: str
    count: int
    window_seconds: int
    alert: bool = False

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"limit scope {self.scope!r} is not one of {', '.join(SCOPES)}")
        if not self.action.strip():
            raise ValueError("limit action must name an action kind (unlock, reset) or '*' for all")
        if self.count < 1:
            raise ValueError(f"limit count must be at least 1, not {self.count}")
        if self.window_seconds < 1:
            raise ValueError(f"limit window must be at least 1 second, not {self.window_seconds}")

    def describe(self) -> str:
        """E.g. ``at most 2 unlock per target account in 24 h``."""
        what = "actions" if self.action == ANY_ACTION else self.action
        return f"at most {self.count} {what} {_SCOPE_WORDS[self.scope]} in {_duration(self.window_seconds)}"


# Starting values of security.md §2.4, to calibrate on 90 days of real use. The partner limit there is relative to a
# baseline (3x the rolling 30-day hourly p95), so it has no default: configure one per deployment.
DEFAULT_LIMITS: tuple[Limit, ...] = (
    Limit("target", "unlock", 2, DAY, alert=True),
    Limit("target", "reset", 1, DAY),
    Limit("target", "reset", 3, 30 * DAY),
    Limit("correspondent", ANY_ACTION, 10, DAY, alert=True),
    Limit("correspondent", ANY_ACTION, 3, 10 * 60, alert=True),
    Limit("global", ANY_ACTION, 50, HOUR, alert=True),
)


@dataclass(frozen=True)
class Exceeded:
    """A limit the next action would go past: ``count`` actions already in its window; the oldest of them leaves
    the window at ``frees_at`` (Unix time)."""

    limit: Limit
    count: int
    frees_at: float

    def refusal(self) -> Refusal:
        """The refusal a person reads on the hand-over."""
        when = datetime.fromtimestamp(self.frees_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return Refusal(
            RATE_LIMITED,
            f"{self.limit.scope} rate limit: {self.limit.describe()}, and {self.count} already in the window "
            f"(the oldest leaves it at {when}); check the request with the requester before acting by hand",
            alert=self.limit.alert,
        )


# KEYS: one sorted set per limit. ARGV[1] = request key; then, per key, the lower bound of its window.
# Returns, per key, the number of entries in the window other than this request, and the oldest such score.
_CHECK = """
local out = {}
for i, key in ipairs(KEYS) do
  local lower = ARGV[i + 1]
  local count = redis.call('ZCOUNT', key, '(' .. lower, '+inf')
  local own = redis.call('ZSCORE', key, ARGV[1])
  if own and tonumber(own) > tonumber(lower) then count = count - 1 end
  local oldest = '0'
  if count > 0 then
    local first = redis.call('ZRANGEBYSCORE', key, '(' .. lower, '+inf', 'WITHSCORES', 'LIMIT', 0, 2)
    oldest = first[2]
    if first[1] == ARGV[1] and first[4] then oldest = first[4] end
  end
  out[#out + 1] = count
  out[#out + 1] = oldest
end
return out
"""

# KEYS: the sorted sets to add to. ARGV[1] = request key, ARGV[2] = now; then, per key, the longest window in
# seconds. The first record of a request wins (NX): a retry neither moves nor adds an entry.
_RECORD = """
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[i + 2])
  redis.call('ZADD', key, 'NX', ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (tonumber(ARGV[2]) - window))
  redis.call('EXPIRE', key, window + 60)
end
return #KEYS
"""


class RateLimits:
    """Sliding-window limits in Redis; ``clock`` (Unix seconds) is injectable for tests."""

    def __init__(self, redis: ScriptRunner, limits: Sequence[Limit] = DEFAULT_LIMITS, *, prefix: str = "sesame:",
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._limits = tuple(limits)
        self._prefix = prefix + "rate:"
        self._clock = clock

    @property
    def limits(self) -> tuple[Limit, ...]:
        return self._limits

    def exceeded(self, action: str, *, target: str | None, correspondent: str | None, partner: str | None,
                 request_key: str = "") -> list[Exceeded]:
        """The limits one more ``action`` would go past. Scopes whose subject is None are not checked; the
        request's own earlier record (a retry) is not counted against it. Raises the client's error."""
        applicable = self._applicable(action, target=target, correspondent=correspondent, partner=partner)
        if not applicable:
            return []
        now = self._clock()
        keys = [key for _limit, key in applicable]
        lowers = [_score(now - limit.window_seconds) for limit, _key in applicable]
        answer = self._redis.eval(_CHECK, len(keys), *keys, request_key, *lowers)
        found = []
        for index, (limit, _key) in enumerate(applicable):
            count, oldest = int(answer[2 * index]), float(answer[2 * index + 1])
            if count >= limit.count:
                found.append(Exceeded(limit, count, oldest + limit.window_seconds))
        return found

    def check(self, action: str, *, target: str | None, correspondent: str | None, partner: str | None,
              request_key: str = "") -> list[Refusal]:
        """One ``RATE_LIMITED`` refusal per limit one more ``action`` would go past; a single
        ``RATE_LIMIT_UNAVAILABLE`` refusal when the counts cannot be read (fail closed)."""
        try:
            found = self.exceeded(action, target=target, correspondent=correspondent, partner=partner,
                                  request_key=request_key)
        except Exception as exc:  # any failure to read the counts means no positive evidence: refuse
            log.warning("rate limits unreadable (%s): refusing %s", type(exc).__name__, action)
            return [Refusal(RATE_LIMIT_UNAVAILABLE,
                            f"the rate-limit store cannot be read ({type(exc).__name__}); nothing was done — "
                            "check Redis, then handle the request by hand", alert=True)]
        return [item.refusal() for item in found]

    def record(self, action: str, *, request_key: str, target: str | None, correspondent: str | None,
               partner: str | None) -> bool:
        """Count a successful ``action`` of ``request_key`` in every window it belongs to; recording the same
        request again changes nothing. False (and a logged error) when the store cannot be written."""
        if not request_key:
            raise ValueError("record needs the request key, so a retried request is counted once")
        applicable = self._applicable(action, target=target, correspondent=correspondent, partner=partner)
        longest: dict[str, int] = {}
        for limit, key in applicable:
            longest[key] = max(longest.get(key, 0), limit.window_seconds)
        if not longest:
            return True
        try:
            self._redis.eval(_RECORD, len(longest), *longest, request_key, _score(self._clock()),
                             *(str(window) for window in longest.values()))
        except Exception as exc:  # the action already happened; the hand-over must not fail because of the count
            log.error("rate limits: could not record %s of %s (%s)", action, request_key, type(exc).__name__)
            return False
        return True

    def _applicable(self, action: str, *, target: str | None, correspondent: str | None,
                    partner: str | None) -> list[tuple[Limit, str]]:
        subjects: dict[Scope, str | None] = {"target": target, "correspondent": correspondent, "partner": partner,
                                              "global": "all"}
        applicable = []
        for limit in self._limits:
            subject = subjects[limit.scope]
            if subject is None or limit.action not in (action, ANY_ACTION):
                continue
            applicable.append((limit, f"{self._prefix}{limit.scope}:{limit.action}:{_digest(subject)}"))
        return applicable


def _digest(subject: str) -> str:
    return hashlib.sha256(subject.strip().lower().encode()).hexdigest()[:32]


def _score(value: float) -> str:
    return f"{value:.6f}"


def _duration(seconds: int) -> str:
    for unit, size in (("days", DAY), ("h", HOUR), ("min", 60)):
        if seconds % size == 0 and seconds >= size:
            amount = seconds // size
            return f"{amount} {unit}" if unit != "days" or amount != 1 else "24 h"
    return f"{seconds} s"
