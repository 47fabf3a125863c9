"""One retry policy per connector, declared once: transient and throttled errors only, Retry-After honoured,
jittered exponential backoff, a total deadline. Writes are never retried blindly.

A write is retried only on ``ThrottledError`` — the system refused it before doing anything — never on a timeout
or a 5xx after which it may have been applied: the caller re-reads the state and decides instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

from connectors.errors import ThrottledError, TransientError

T = TypeVar("T")
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How a connector retries: attempts, backoff and the deadline of the whole call."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    deadline: float = 60.0
    # Waiting longer than this on a Retry-After gives up instead: the caller (a Celery task) reschedules.
    max_retry_after: float = 120.0

    def wait(self, attempt: int, error: BaseException | None) -> float:
        """Seconds before retry number ``attempt`` (1-based): the server's Retry-After, else full jitter backoff."""
        if isinstance(error, ThrottledError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


NO_RETRY = RetryPolicy(attempts=1)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive: they are UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _retryable(write: bool) -> Callable[[BaseException], bool]:
    def decide(error: BaseException) -> bool:
        if isinstance(error, ThrottledError):
            return True
        return isinstance(error, TransientError) and not write

    return decide


def call_with_retries(
    call: Callable[[], T], *, policy: RetryPolicy, system: str, operation: str, write: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call`` under ``policy``; the last error is raised unchanged when retries are exhausted."""

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return policy.wait(state.attempt_number, error)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning("connector.retry", system=system, operation=operation, attempt=state.attempt_number,
                    error=type(error).__name__, wait_s=round(state.upcoming_sleep, 2))

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.deadline),
        wait=wait,
        retry=retry_if_exception(_retryable(write)),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)
