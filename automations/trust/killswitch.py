"""The kill switch (security.md DET-02): one flag in Redis that stops every directory write within a second.

``sesame pause --reason`` sets it and ``sesame resume --reason`` clears it; both are appended, with who and when,
to a list kept in Redis. Any value under the flag key counts as paused, so the security team can also pause with
``redis-cli SET sesame:killswitch 1``. When the flag cannot be read, writes are treated as paused (fail closed).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

KILL_SWITCH = "KILL_SWITCH"
MAX_CACHE_SECONDS = 1.0
MAX_REASON = 500
HISTORY_KEPT = 10_000

log = logging.getLogger(__name__)


class FlagStore(Protocol):
    """The calls the kill switch makes (``redis.Redis`` has them)."""

    def get(self, name: str) -> Any: ...

    def lrange(self, name: str, start: int, end: int) -> Any: ...

    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any: ...


class WritesPaused(Exception):
    """A directory write was refused because the kill switch is on (or unreadable); hand over with ``reason``."""

    reason = KILL_SWITCH

    def __init__(self, detail: str) -> None:
        super().__init__(f"{KILL_SWITCH}: {detail}")
        self.detail = detail


@dataclass(frozen=True)
class SwitchEvent:
    """One pause or resume: ``at`` is an ISO-8601 UTC time."""

    action: Literal["pause", "resume"]
    who: str
    reason: str
    at: str

    def describe(self) -> str:
        """E.g. ``paused by alice@host at 2025-01-02T10:00:00+00:00: spray on partner X``."""
        verb = "paused" if self.action == "pause" else "resumed"
        return f"{verb} by {self.who} at {self.at}: {self.reason}"


# KEYS[1] = flag, KEYS[2] = history list; ARGV[1] = event JSON, ARGV[2] = 'set' | 'clear', ARGV[3] = kept.
_SWITCH = """
if ARGV[2] == 'set' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('DEL', KEYS[1]) end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1
"""


class KillSwitch:
    """Reads and flips the flag; ``engaged()`` answers from a cache of at most one second."""

    def __init__(self, redis: FlagStore, *, prefix: str = "sesame:", cache_seconds: float = MAX_CACHE_SECONDS,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"cache_seconds must be between 0 and {MAX_CACHE_SECONDS}: a pause must act at once")
        self._redis = redis
        self._flag = prefix + "killswitch"
        self._history = prefix + "killswitch:log"
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cached: tuple[float, str | None] | None = None  # (read at, why paused or None)

    @property
    def flag_key(self) -> str:
        return self._flag

    def engaged(self) -> bool:
        """True when writes are paused, or when the flag cannot be read."""
        return self._why_paused() is not None

    def guard(self) -> None:
        """Raise ``WritesPaused`` unless directory writes may go on; call it right before every write."""
        why = self._why_paused()
        if why is not None:
            raise WritesPaused(why)

    def state(self) -> SwitchEvent | None:
        """The pause in force (a flag set by hand reads as a pause by 'unknown'), or None; raises the client's
        error when the flag cannot be read."""
        raw = self._redis.get(self._flag)
        if raw is None:
            return None
        return _event(raw) or SwitchEvent("pause", "unknown", f"flag {self._flag} set outside sesame pause", "")

    def pause(self, reason: str, who: str) -> SwitchEvent:
        """Stop all directory writes until ``resume``; logged with who, when and why."""
        return self._switch("pause", reason, who)

    def resume(self, reason: str, who: str) -> SwitchEvent:
        """Let directory writes go on again; logged with who, when and why."""
        return self._switch("resume", reason, who)

    def history(self, limit: int = 20) -> list[SwitchEvent]:
        """The last ``limit`` pauses and resumes, newest first."""
        events = (_event(raw) for raw in self._redis.lrange(self._history, 0, max(limit, 1) - 1))
        return [event for event in events if event is not None]

    def _switch(self, action: Literal["pause", "resume"], reason: str, who: str) -> SwitchEvent:
        event = SwitchEvent(action, _clean(who, 200) or "unknown", _clean(reason, MAX_REASON),
                            datetime.now(UTC).isoformat(timespec="seconds"))
        if not event.reason:
            raise ValueError(f"a {action} needs a reason a person can read later")
        self._redis.eval(_SWITCH, 2, self._flag, self._history, json.dumps(asdict(event)),
                         "set" if action == "pause" else "clear", str(HISTORY_KEPT))
        self._cached = None
        log.warning("kill switch %s", event.describe())
        return event

    def _why_paused(self) -> str | None:
        now = self._monotonic()
        if self._cached is not None and now - self._cached[0] < self._cache_seconds:
            return self._cached[1]
        try:
            raw = self._redis.get(self._flag)
        except Exception as exc:  # unreadable means paused: no write without positive evidence it is allowed
            why: str | None = (f"the kill switch cannot be read ({type(exc).__name__}), so writes are treated as "
                               "paused; check Redis — nothing was changed")
            log.error("kill switch unreadable (%s): writes paused", type(exc).__name__)
        else:
            if raw is None:
                why = None
            else:
                event = _event(raw)
                by = event.describe() if event is not None else f"flag {self._flag} set by hand"
                why = f"directory writes are paused ({by}); nothing was changed — `sesame resume` lifts it"
        self._cached = (now, why)
        return why


def _event(raw: object) -> SwitchEvent | None:
    try:
        data = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
        if data["action"] not in ("pause", "resume"):
            return None
        return SwitchEvent(data["action"], str(data["who"]), str(data["reason"]), str(data["at"]))
    except (ValueError, KeyError, TypeError):
        return None


def _clean(text: str, limit: int) -> str:
    """One line of printable text (no CR/LF or control characters to forge log lines), at most ``limit`` long."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()[:limit]
