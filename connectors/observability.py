"""Per-call observability for connectors: a structured log event with duration and outcome, and metrics.

Log events carry the system, the operation, the outcome and the remote request id — never arguments or
results, so no secret can reach the logs through them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import structlog

from connectors.errors import ConnectorError

log = structlog.get_logger(__name__)


@dataclass
class CallStats:
    """Counts and latency of one (system, operation)."""

    calls: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    total_seconds: float = 0.0
    max_seconds: float = 0.0

    def add(self, seconds: float, error: str | None) -> None:
        self.calls += 1
        self.total_seconds += seconds
        self.max_seconds = max(self.max_seconds, seconds)
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1


class Metrics:
    """Latency and error counters per connector and operation, for the fleet's metrics endpoint and reports."""

    def __init__(self) -> None:
        self._stats: dict[tuple[str, str], CallStats] = {}
        self._lock = threading.Lock()

    def record(self, system: str, operation: str, seconds: float, error: str | None) -> None:
        """Add one call."""
        with self._lock:
            self._stats.setdefault((system, operation), CallStats()).add(seconds, error)

    def snapshot(self) -> dict[str, dict[str, CallStats]]:
        """A copy: system -> operation -> stats."""
        with self._lock:
            result: dict[str, dict[str, CallStats]] = {}
            for (system, operation), stats in self._stats.items():
                result.setdefault(system, {})[operation] = CallStats(
                    stats.calls, dict(stats.errors), stats.total_seconds, stats.max_seconds
                )
            return result


METRICS = Metrics()


@contextmanager
def observed(system: str, operation: str, metrics: Metrics = METRICS) -> Iterator[None]:
    """Time the enclosed call, log ``connector.call`` with its outcome and record it in ``metrics``."""
    started = time.perf_counter()
    error: str | None = None
    request_id: str | None = None
    try:
        yield
    except ConnectorError as exc:
        error, request_id = type(exc).__name__, exc.request_id
        raise
    except Exception as exc:
        error = type(exc).__name__
        raise
    finally:
        seconds = time.perf_counter() - started
        metrics.record(system, operation, seconds, error)
        log.info("connector.call", system=system, operation=operation, outcome=error or "ok",
                 duration_ms=round(seconds * 1000, 1), request_id=request_id)
