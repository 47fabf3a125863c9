"""Intake: turn what a channel delivered into one immutable ``Request``."""

from __future__ import annotations

from automations.request import Request
from connectors.mailbox import InboundMessage


def request_from_message(message: InboundMessage) -> Request:
    """An e-mail becomes a request keyed by its Internet Message-ID (the mailbox id when it has none)."""
    key = message.internet_message_id.strip() or f"mailbox:{message.id}"
    return Request(
        key=key,
        channel="email",
        sender_address=message.from_address.strip().lower(),
        sender_name=message.from_name,
        subject=message.subject,
        text=message.body_text,
        headers=message.headers,
        received_at=message.received_at,
        source_id=message.id,
    )
