"""Run the fleet in this process: a Celery worker (thread pool), the beat scheduler and, optionally, idle watch.

Production runs one ``sesame run`` with beat per deployment and as many ``sesame run --no-beat`` (or plain
``celery -A workers.celery_app worker``) as the load needs, all on the same Redis broker.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import structlog
from celery.beat import EmbeddedService
from celery.worker import WorkController
from celery.worker import state as worker_state

from automations.ledger import Ledger, utcnow
from workers.celery_app import configure
from workers.config import Settings
from workers.runtime import current_fleet, reset_fleet
from workers.tasks import poll_mailbox

log = structlog.get_logger(__name__)


class FleetTimeout(RuntimeError):
    """``--until-idle`` waited longer than its limit; the summary so far is attached."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def run_fleet(
    settings: Settings,
    config_path: str | Path,
    *,
    until_idle: bool = False,
    beat: bool = True,
    concurrency: int = 4,
    timeout: float | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Serve until ``stop`` is set (or, with ``until_idle``, every request seen is finished); return the summary."""
    app = configure(settings, config_path)
    current_fleet(settings)  # fail at start, not at the first request, on a bad playbook or registry
    app.finalize()
    app.set_current()
    started_at = utcnow()
    stop = stop or threading.Event()
    worker = WorkController(
        app=app, hostname=f"sesame@{socket.gethostname()}-{os.getpid()}", pool="threads",
        concurrency=concurrency, loglevel=settings.log_level, ready_callback=None,
        without_heartbeat=True, without_mingle=True, without_gossip=True,
    )
    worker_thread = threading.Thread(target=worker.start, name="sesame-worker", daemon=True)
    worker_thread.start()
    beat_service = None
    if beat:
        beat_service = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler", max_interval=1.0)
        beat_service.start()
        poll_mailbox.delay()  # beat's first tick only comes after one interval; start at once
    ledger = Ledger(settings.ledger_url)
    deadline = time.monotonic() + timeout if timeout else None
    timed_out = False
    try:
        while not stop.wait(0.5):
            if until_idle and ledger.is_idle(started_at):
                break
            if deadline and time.monotonic() > deadline:
                timed_out = True
                break
            if not worker_thread.is_alive():
                raise RuntimeError("the Celery worker stopped unexpectedly; see the log above")
    finally:
        if beat_service is not None:
            beat_service.stop()
        worker_state.should_terminate = 0
        worker_thread.join(30)
        worker_state.should_terminate = None
        reset_fleet()
    summary = ledger.summary(since=started_at)
    ledger.engine.dispose()
    if timed_out:
        raise FleetTimeout(f"not idle after {timeout:.0f} s: {summary['pending']} request(s) still pending", summary)
    return summary
