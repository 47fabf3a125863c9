"""Turn the scenario's e-mails into RFC 5322 messages as an MTA would have stored them in the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parsedate_to_datetime

from sandbox.scenario import Email

# Headers an MTA prepends on receipt; they come first, as in a real inbox (order is evidence).
TRACE_HEADERS = ("return-path", "received", "authentication-results", "arc-authentication-results",
                 "arc-message-signature", "arc-seal", "dkim-signature", "received-spf")
# Written from the scenario's own fields; a scenario header of the same name overrides the value.
STRUCTURAL_HEADERS = ("from", "to", "subject", "date", "message-id")


def scenario_message(email: Email, mailbox: str, *, fallback_date: datetime) -> bytes:
    """The e-mail as CRLF wire bytes: trace headers, From with display name, To, Subject, Date, Message-ID, the rest."""
    headers = {name.lower(): (name, value) for name, value in email.headers.items()}
    message = EmailMessage(policy=policy.default)
    for name, value in email.headers.items():
        if name.lower() in TRACE_HEADERS:
            message[name] = value
    message["From"] = formataddr((email.from_name, email.from_address)) if email.from_name else email.from_address
    message["To"] = headers.get("to", ("", email.to or mailbox))[1]
    message["Subject"] = headers.get("subject", ("", email.subject))[1]
    message["Date"] = headers.get("date", ("", format_datetime(fallback_date)))[1]
    message["Message-ID"] = headers.get("message-id", ("", make_msgid(email.id, domain="sandbox.test")))[1]
    for name, value in email.headers.items():
        if name.lower() not in TRACE_HEADERS and name.lower() not in STRUCTURAL_HEADERS:
            message[name] = value
    message.set_content(email.body, charset="utf-8")
    return message.as_bytes(policy=policy.SMTP)


def arrival_time(email: Email, fallback: datetime) -> datetime:
    """When the message reached the inbox (IMAP INTERNALDATE): its Date header when it has a valid one."""
    for name, value in email.headers.items():
        if name.lower() == "date":
            try:
                moment = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return fallback
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return fallback


def seed_times(count: int, now: datetime | None = None) -> list[datetime]:
    """Arrival times for undated scenario e-mails: one second apart, ending an hour ago, in file order."""
    start = (now or datetime.now(UTC)) - timedelta(hours=1)
    return [start + timedelta(seconds=index) for index in range(count)]
