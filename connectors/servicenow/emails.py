"""The e-mail a ServiceNow record was created from (``sys_email``), as the same ``InboundMessage`` a mailbox gives.

An inbound e-mail action creates the incident *impersonating the user that matches the sender* (SN-02): the caller
of such a ticket is only what the ``From`` header claimed. The ``sys_email`` record keeps the raw header block,
``Authentication-Results`` of the organisation's receiving server included, so the ticket can be verified exactly
like a message read from the mailbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses

from connectors.mailbox import InboundMessage

EMAIL_TABLE = "sys_email"
RECEIVED = "received"
EMAIL_FIELDS = ["type", "instance", "target_table", "headers", "subject", "body_text", "user", "recipients",
                "message_id", "sys_created_on"]  # fmt: skip
SN_TIME = "%Y-%m-%d %H:%M:%S"


def parse_headers(raw: str) -> tuple[tuple[str, str], ...]:
    """The header block as (name, value) pairs in order, repeats kept and folded lines unfolded."""
    parsed = HeaderParser(policy=compat32).parsestr(raw.replace("\r\n", "\n").strip("\n") + "\n\n")
    return tuple((name, " ".join(str(value).split())) for name, value in parsed.items())


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name.lower()), "")


def _received_at(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, SN_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def inbound_message(row: dict[str, str]) -> InboundMessage:
    """A ``sys_email`` row (``EMAIL_FIELDS``) as an ``InboundMessage``; sender and ids come from its headers.

    ``from_address`` is the first address of the ``From`` header, not the record's ``user`` field: sender
    verification compares it with every ``From`` the headers carry, and judges them all.
    """
    headers = parse_headers(row.get("headers", ""))
    senders = getaddresses([value for key, value in headers if key.lower() == "from"])
    name, address = senders[0] if senders else ("", row.get("user", ""))
    return InboundMessage(
        id=f"{EMAIL_TABLE}:{row.get('sys_id', '')}",
        internet_message_id=_header(headers, "Message-ID") or row.get("message_id", ""),
        from_address=address.strip().lower(),
        from_name=name,
        to=tuple(a.lower() for _, a in getaddresses([_header(headers, "To") or row.get("recipients", "")]) if a),
        subject=row.get("subject", "") or _header(headers, "Subject"),
        body_text=row.get("body_text", ""),
        headers=headers,
        received_at=_received_at(row.get("sys_created_on", "")),
    )
