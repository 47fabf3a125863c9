"""``sesame pause`` / ``sesame resume`` / ``sesame pause --status``: the operator's side of the kill switch.

Each function returns the text to print, or raises ``PauseError`` with what to do when the flag cannot be
changed (the command must then exit non-zero: an operator who believes writes are stopped when they are not is
the worst outcome).
"""

from __future__ import annotations

import getpass
import socket
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from automations.trust.killswitch import KillSwitch
from workers.config import Settings

TIMEOUT_SECONDS = 2.0


class PauseError(RuntimeError):
    """The kill switch could not be changed or read; the message says why and what to do."""


def kill_switch_url(settings: Settings) -> str:
    """The Redis holding the flag: ``trust.redis_url`` (e.g. a SOC-controlled one), else the fleet's broker."""
    return settings.trust.redis_url or settings.broker_url


def trust_redis(url: str) -> redis.Redis:
    """A client for the trust stores (kill switch, rate limits, collective incidents): short timeouts and one
    immediate retry, so an unreachable Redis reads as "paused" / "refused" within seconds instead of blocking."""
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS,
                                retry=Retry(NoBackoff(), 1))


def kill_switch(settings: Settings) -> KillSwitch:
    """A ``KillSwitch`` on the configured Redis."""
    url = kill_switch_url(settings)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise PauseError(f"the kill switch lives in Redis, but broker_url is {_safe(url)!r}: configure a Redis "
                         "broker (with 'memory://' there is nothing the fleet and this command share)")
    return KillSwitch(trust_redis(url))


def default_who() -> str:
    """``user@host`` of the operator running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def pause(settings: Settings, reason: str, who: str | None = None) -> str:
    """Stop all directory writes of the fleet; triage and hand-overs go on."""
    switch = kill_switch(settings)
    try:
        event = switch.pause(reason, who or default_who())
    except ValueError as exc:
        raise PauseError(str(exc)) from None
    except redis.RedisError as exc:
        raise PauseError(f"writes are NOT paused: Redis at {_safe(kill_switch_url(settings))} cannot be written "
                         f"({type(exc).__name__}). Workers that cannot read it treat writes as paused, but to be "
                         "sure use the second kill (disable the directory service account)") from None
    return (f"Directory writes paused ({event.describe()}).\n"
            "Workers stop writing within seconds; requests are still triaged and handed to humans.\n"
            "Resume with: sesame resume --reason TEXT")


def resume(settings: Settings, reason: str, who: str | None = None) -> str:
    """Let directory writes go on again."""
    switch = kill_switch(settings)
    try:
        was = switch.state()
        event = switch.resume(reason, who or default_who())
    except ValueError as exc:
        raise PauseError(str(exc)) from None
    except redis.RedisError as exc:
        raise PauseError(f"cannot resume: Redis at {_safe(kill_switch_url(settings))} is unreachable "
                         f"({type(exc).__name__}); workers keep writes paused until they can read it") from None
    before = f"It had been {was.describe()}." if was is not None else "Writes were not paused."
    return f"Directory writes resumed ({event.describe()}).\n{before}"


def status(settings: Settings, history: int = 5) -> str:
    """Whether writes are paused, since when, by whom and why, and the last pauses and resumes."""
    switch = kill_switch(settings)
    try:
        current = switch.state()
        events = switch.history(history)
    except redis.RedisError as exc:
        return (f"Directory writes are PAUSED: the kill switch at {_safe(kill_switch_url(settings))} cannot be read "
                f"({type(exc).__name__}), and workers treat that as paused.")
    lines = [f"Directory writes are PAUSED: {current.describe()}." if current is not None
             else "Directory writes are allowed (kill switch off)."]
    if events:
        lines.append("Recent changes (newest first):")
        lines += [f"  - {event.describe()}" for event in events]
    return "\n".join(lines)


def _safe(url: str) -> str:
    """The URL without user or password, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unparsable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "(unparsable URL)"
