"""Messages that open no ticket of their own: auto-replies (``ticket: none``) and thanks or closure messages
attached to the ticket of the conversation they answer (``ticket: existing``).

The conversation's ticket is found through the message's ``In-Reply-To`` and ``References`` headers: every
request's ticket carries the correlation id of the Message-ID that opened it, so a reply quoting that id finds
it. Nothing from the e-mail's text is copied into the note; the note says who wrote and when.
"""

from __future__ import annotations

import re

from automations.request import Request
from connectors.tickets import TicketRef, TicketSystem

IGNORED = "ignored"  # the ledger's decision for a message that needed nothing (not counted as automated)
IGNORED_BY_PLAYBOOK = "ignored_by_playbook"
ATTACHED = "attached_to_existing_ticket"
NO_EXISTING_TICKET = "no_existing_ticket"
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def thread_message_ids(request: Request) -> list[str]:
    """The Message-IDs this message answers, nearest first (``In-Reply-To``, then ``References`` backwards)."""
    ids: list[str] = []
    for header in ("In-Reply-To", "References"):
        found = [m for value in request.header(header) for m in _MESSAGE_ID.findall(value)]
        ids.extend(found if header == "In-Reply-To" else reversed(found))
    return list(dict.fromkeys(i for i in ids if i != request.key))


def thread_ticket(tickets: TicketSystem, request: Request) -> TicketRef | None:
    """The ticket a request of this conversation opened, or None."""
    for message_id in thread_message_ids(request):
        probe = Request(key=message_id, channel=request.channel, sender_address="", sender_name="", subject="",
                        text="", headers=())
        ticket = tickets.find_by_correlation(probe.correlation_id)
        if ticket is not None:
            return ticket
    return None
