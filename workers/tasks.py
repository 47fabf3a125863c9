"""Celery tasks: the mailbox poller (scheduled by beat) and the handling of one e-mail."""

from __future__ import annotations

from typing import Any

import structlog

from automations.intake import request_from_message
from automations.ledger import FAILED, HANDED_OVER, RECEIVED, Outcome, utcnow
from connectors.errors import ConnectorError
from workers.celery_app import app, settings
from workers.runtime import current_fleet

log = structlog.get_logger(__name__)

MAX_RETRIES = 3


@app.task(name="sesame.poll_mailbox")
def poll_mailbox() -> int:
    """Register every unread message not seen before and queue its handling; returns how many were new."""
    fleet = current_fleet(settings())
    started, new = utcnow(), 0
    for message_id in fleet.mailbox.list_unread(limit=fleet.settings.mailbox.batch_size):
        request = request_from_message(fleet.mailbox.get(message_id))
        if fleet.ledger.register(request):
            new += 1
            handle_email.delay(message_id)
    fleet.ledger.record_poll(fleet.settings.mailbox.address, started, new)
    if new:
        log.info("mailbox.polled", mailbox=fleet.settings.mailbox.address, new=new)
    return new


@app.task(name="sesame.handle_email", bind=True, max_retries=MAX_RETRIES)
def handle_email(self: Any, message_id: str) -> str | None:
    """Handle one e-mail to its end; transient failures retry, anything else is recorded and left for people."""
    fleet = current_fleet(settings())
    message = fleet.mailbox.get(message_id)
    request = request_from_message(message)
    status = fleet.ledger.status(request.key)
    if status not in (RECEIVED, None):
        fleet.mailbox.mark_read(message_id)
        return None
    if status is None:
        fleet.ledger.register(request)
    try:
        outcome = fleet.handler.handle(request)
    except ConnectorError as error:
        if error.retryable and self.request.retries < MAX_RETRIES:
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
