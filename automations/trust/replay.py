"""Replay guard (VER-09, TC-18): a message whose Message-ID or DKIM signature was already seen is a replay.

Each message claims its keys with ``SET NX`` and an expiry, all in one atomic script: the hash of its
Message-ID and the hash of each DKIM ``b=`` value (a DKIM replay re-sends a signed message, often under a new
Message-ID when that header is not signed). The value stored is a fingerprint of the delivery (the mailbox's
message id, else all headers), so handling the same delivered message again after a crash is not a replay,
while a second delivery is. A message with neither Message-ID nor DKIM signature cannot be recognised.

Only hashes are stored. The expiry must outlast the ``Date`` window of ``SenderPolicy`` (24 h + 15 min by
default): older messages are refused on their ``Date`` anyway. The guard cannot answer without its store:
``ReplayStoreUnavailable`` then, and ``replay_refusal`` turns that into a refusal (fail closed).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from automations.request import Request
from automations.trust import Refusal

REPLAY = "REPLAY"
REPLAY_CHECK_UNAVAILABLE = "REPLAY_CHECK_UNAVAILABLE"
DEFAULT_TTL_SECONDS = 2 * 86400
PREFIX = "sesame:replay:"

_DKIM_B = re.compile(r"(?:^|;)\s*b\s*=\s*([^;]*)", re.IGNORECASE)


class ReplayStoreUnavailable(RuntimeError):
    """The replay store cannot be read or written; the message must not be trusted."""


class SeenBefore(Protocol):
    """Anything that tells whether a request's message was already delivered."""

    def seen_before(self, request: Request) -> bool:
        """True when the message (its Message-ID or a DKIM signature) was seen in another delivery."""
        ...


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def replay_keys(request: Request) -> list[str]:
    """The hashed keys a message claims: ``mid:`` its Message-ID, ``dkim:`` each DKIM ``b=`` signature value."""
    keys = []
    ids = [value.strip() for value in request.header("Message-ID") if value.strip()]
    if not ids and request.key and not request.key.startswith("mailbox:"):
        ids = [request.key.strip()]
    keys += [f"mid:{_digest(value)}" for value in ids]
    for signature in request.header("DKIM-Signature"):
        match = _DKIM_B.search(signature)
        value = re.sub(r"\s+", "", match.group(1)) if match else ""
        if value:
            keys.append(f"dkim:{_digest(value)}")
    return list(dict.fromkeys(keys))


def delivery_token(request: Request) -> str:
    """A fingerprint of this delivery: the mailbox's message id, else every header in order."""
    if request.source_id:
        return _digest(f"source:{request.channel}:{request.source_id}")
    return _digest("headers:" + "\n".join(f"{name}:{value}" for name, value in request.headers))


# All keys at once, atomically: a replay when any key is held by another delivery (nothing claimed then),
# else each key is claimed with SET NX EX. Two concurrent deliveries cannot each win one of the keys.
_CLAIM = """
for _, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and holder ~= ARGV[1] then return 1 end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'NX', 'EX', ARGV[2])
end
return 0
"""


class ReplayGuard:
    """Replay detection over Redis: the message's keys are claimed with ``SET NX EX`` in one script; a key
    already held by another delivery is a replay."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int = DEFAULT_TTL_SECONDS, prefix: str = PREFIX) -> None:
        if ttl_seconds <= 0:
            raise ValueError("the replay guard's expiry must be a positive number of seconds")
        self._redis, self.ttl_seconds, self._prefix = client, ttl_seconds, prefix

    def seen_before(self, request: Request) -> bool:
        """Claim the message's keys for this delivery; True when any is already held by another delivery."""
        keys = [self._prefix + key for key in replay_keys(request)]
        if not keys:
            return False
        try:
            answer = self._redis.eval(_CLAIM, len(keys), *keys, delivery_token(request), str(self.ttl_seconds))
        except redis.RedisError as exc:
            raise ReplayStoreUnavailable(f"the replay store (Redis) cannot be used: {type(exc).__name__}") from None
        return int(answer) == 1


class MemoryReplayGuard:
    """The same rules in memory, for unit tests and single-process trials; ``clock`` returns seconds."""

    def __init__(self, *, ttl_seconds: int = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds, self._clock = ttl_seconds, clock
        self._held: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def seen_before(self, request: Request) -> bool:
        """Claim the message's keys for this delivery; True when any is already held by another delivery."""
        token, now, keys = delivery_token(request), self._clock(), replay_keys(request)
        with self._lock:
            live = {key: self._held[key] for key in keys if key in self._held and self._held[key][1] > now}
            if any(holder != token for holder, _ in live.values()):
                return True
            for key in keys:
                if key not in live:
                    self._held[key] = (token, now + self.ttl_seconds)
        return False


def replay_refusal(request: Request, guard: SeenBefore) -> Refusal | None:
    """``REPLAY`` for a message already delivered, ``REPLAY_CHECK_UNAVAILABLE`` when the guard cannot tell."""
    try:
        if guard.seen_before(request):
            return Refusal(REPLAY, "this message (same Message-ID or DKIM signature) was already received in "
                                   "another delivery: a replay or a duplicate, not acted on again")
    except ReplayStoreUnavailable as exc:
        return Refusal(REPLAY_CHECK_UNAVAILABLE, f"{exc}; whether the message is a replay is unknown")
    return None
