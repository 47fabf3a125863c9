"""Celery tasks: the mailbox poller (scheduled by beat), the handling of one e-mail, and the daily flash (beat,
09:00 Paris)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

import structlog

from automations.intake import request_from_message
from automations.ledger import FAILED, HANDED_OVER, RECEIVED, Ledger, Outcome, utcnow
from automations.reporting.denominator import ServiceNowDenominator
from automations.reporting.figures import PARIS, Denominator, ledger_denominator, load_requests
from automations.reporting.flash import BASELINE_DAYS, compute_flash, format_flash
from automations.reporting.reconcile import utc_bounds
from connectors.errors import ConnectorError
from workers.celery_app import app, settings
from workers.leases import LEASE, begin_task, holder_is_gone
from workers.runtime import current_fleet

log = structlog.get_logger(__name__)

MAX_RETRIES = 3
# Requests registered before this process started and never claimed may have lost their queue message with the
# process that queued them (in-memory broker): this process queues them again, once.
_PROCESS_STARTED = utcnow()
_requeued: set[str] = set()


@app.task(name="sesame.poll_mailbox")
def poll_mailbox() -> int:
    """Register every unread message not seen before and queue its handling; returns how many were new.

    A message seen before whose handling was abandoned (its worker died mid-run, or its queue message was lost)
    is queued again: the step journal makes that a resume, and the lease lets only one worker take it.
    """
    fleet = current_fleet(settings())
    started, new, resumed = utcnow(), 0, 0
    abandoned = set(fleet.ledger.resumable(stale=holder_is_gone, unclaimed_for=LEASE,
                                           registered_before=_PROCESS_STARTED)) - _requeued
    for message_id in fleet.mailbox.list_unread(limit=fleet.settings.mailbox.batch_size):
        request = request_from_message(fleet.mailbox.get(message_id))
        if fleet.ledger.register(request):
            new += 1
            handle_email.delay(message_id)
        elif request.key in abandoned:
            resumed += 1
            _requeued.add(request.key)  # once per process: a queued duplicate is harmless, a flood is not
            handle_email.delay(message_id)
    fleet.ledger.record_poll(fleet.settings.mailbox.address, started, new)
    if new or resumed:
        log.info("mailbox.polled", mailbox=fleet.settings.mailbox.address, new=new, resumed=resumed)
    return new


@app.task(name="sesame.handle_email", bind=True, max_retries=MAX_RETRIES)
def handle_email(self: Any, message_id: str) -> str | None:
    """Handle one e-mail to its end; transient failures retry, anything else is recorded and left for people."""
    fleet = current_fleet(settings())
    fleet.refresh_playbooks()  # an edited playbook takes effect from this request on
    message = fleet.mailbox.get(message_id)
    request = request_from_message(message)
    status = fleet.ledger.status(request.key)
    if status not in (RECEIVED, None):
        fleet.mailbox.mark_read(message_id)
        return None
    if status is None:
        fleet.ledger.register(request)
    holder = begin_task()
    if not fleet.ledger.claim(request.key, holder, LEASE, stale=holder_is_gone):
        log.info("request.handled_elsewhere", key=request.key)  # a live worker holds it; it finishes the job
        return None
    try:
        outcome = fleet.handler.handle(request)
    except ConnectorError as error:
        if error.retryable and self.request.retries < MAX_RETRIES:
            fleet.ledger.release(request.key, holder)  # the retry, wherever it runs, takes it again
            raise self.retry(exc=error, countdown=2 ** self.request.retries) from error
        _record_failure(request.key, f"{type(error).__name__}: {error}")
        return None
    except Exception as error:  # an unexpected bug must not lose the request: record it, leave the mail unread
        log.exception("request.failed", key=request.key)
        _record_failure(request.key, f"{type(error).__name__}: {str(error)[:300]}")
        return None
    fleet.mailbox.mark_read(message_id)
    return outcome.decision


def _record_failure(key: str, detail: str) -> None:
    fleet = current_fleet(settings())
    fleet.ledger.finish(key, Outcome(decision=HANDED_OVER, reason="processing_failed", detail=detail), status=FAILED)
    log.error("request.processing_failed", key=key, detail=detail)


@app.task(name="sesame.daily_flash")
def daily_flash(day: str | None = None, denominator: Literal["servicenow", "ledger"] = "servicenow") -> dict[str, Any]:
    """The flash of ``day`` (ISO date; default yesterday in Paris), as `sesame report flash` computes it: logged
    and kept in the ledger (``flash_reports``). The rate's denominator is ServiceNow's count, like the command's
    default; when ServiceNow cannot count, the task fails and says so (never a rate over a made-up total)."""
    current = settings()
    the_day = date.fromisoformat(day) if day else datetime.now(PARIS).date() - timedelta(days=1)
    ledger = Ledger(current.ledger_url)
    try:
        facts = load_requests(ledger.engine, utc_bounds(the_day - timedelta(days=BASELINE_DAYS), the_day)[0])
        if denominator == "ledger":
            flash = compute_flash(facts, the_day, utcnow(), denominator=ledger_denominator)
        else:
            from workers.report_cli import _desk_stats  # the same ServiceNow reader as `sesame report flash`

            stats = _desk_stats(current)
            try:
                count: Denominator = ServiceNowDenominator(stats)
                flash = compute_flash(facts, the_day, utcnow(), denominator=count)
            except ConnectorError as error:
                log.error("report.flash_failed", day=the_day.isoformat(), error=str(error))
                raise
            finally:
                stats.close()
        body = flash.as_dict()
        ledger.record_flash(the_day, denominator, body)
    finally:
        ledger.engine.dispose()
    log.info("report.flash", day=the_day.isoformat(), denominator=denominator, text=format_flash(flash))
    return body
