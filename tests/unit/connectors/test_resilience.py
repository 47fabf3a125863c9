"""The retry policy: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from connectors.errors import NotFoundError, ThrottledError, TransientError
from connectors.observability import Metrics, observed
from connectors.resilience import RetryPolicy, call_with_retries


class Flaky:
    """Fails with the given errors, then returns "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def run(call: Flaky, *, write: bool = False, policy: RetryPolicy | None = None) -> tuple[str, list[float]]:
    waits: list[float] = []
    result = call_with_retries(call, policy=policy or RetryPolicy(), system="test", operation="op", write=write,
                               sleep=waits.append)
    return result, waits


def test_transient_errors_are_retried_with_growing_jittered_waits() -> None:
    call = Flaky(TransientError("a"), TransientError("b"), TransientError("c"))
    result, waits = run(call, policy=RetryPolicy(attempts=4, base_delay=1.0))
    assert result == "done" and call.calls == 4
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0


def test_retry_after_is_honoured() -> None:
    _, waits = run(Flaky(ThrottledError("slow down", retry_after=3.0)))
    assert waits == [3.0]


def test_writes_are_retried_only_when_throttled() -> None:
    with pytest.raises(TransientError):
        run(Flaky(TransientError("maybe applied")), write=True)
    result, _ = run(Flaky(ThrottledError("refused", retry_after=0.0)), write=True)
    assert result == "done"


def test_permanent_errors_are_not_retried_and_attempts_are_bounded() -> None:
    call = Flaky(NotFoundError("gone"))
    with pytest.raises(NotFoundError):
        run(call)
    assert call.calls == 1
    storm = Flaky(*[TransientError(str(i)) for i in range(10)])
    with pytest.raises(TransientError):
        run(storm, policy=RetryPolicy(attempts=3, base_delay=0.01))
    assert storm.calls == 3


def test_observed_records_calls_and_errors() -> None:
    metrics = Metrics()
    with observed("sys", "read", metrics):
        pass
    with pytest.raises(NotFoundError), observed("sys", "read", metrics):
        raise NotFoundError("x", request_id="r-1")
    stats = metrics.snapshot()["sys"]["read"]
    assert stats.calls == 2 and stats.errors == {"NotFoundError": 1} and stats.total_seconds >= 0


def test_retry_after_reads_seconds_and_http_dates_of_any_zone() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from connectors.resilience import retry_after_seconds

    assert retry_after_seconds("3") == 3.0 and retry_after_seconds("-2") == 0.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = datetime.now(UTC) + timedelta(seconds=30)
    for text in (format_datetime(later, usegmt=True), format_datetime(later.replace(tzinfo=None))):  # GMT, -0000
        wait = retry_after_seconds(text)
        assert wait is not None and 25 <= wait <= 31
