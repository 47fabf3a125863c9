"""The ticketing interface (ServiceNow incidents), in the service desk's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TicketRef:
    """A ticket we created or found: ``sys_id`` for calls, ``number`` for people."""

    sys_id: str
    number: str


@dataclass(frozen=True)
class NewIncident:
    """What an incident is opened with."""

    short_description: str
    description: str
    contact_type: str
    caller_email: str | None
    assignment_group: str
    correlation_id: str


@dataclass(frozen=True)
class Closure:
    """How the automation resolves and closes a ticket it handled."""

    close_code: str
    close_notes: str
    kb_article: str | None
    tag: str | None
    comment: str | None = None


class TicketSystem(Protocol):
    """What the domain needs from ServiceNow."""

    def find_by_correlation(self, correlation_id: str) -> TicketRef | None:
        """The incident opened earlier for this request, so a retry never opens a second one."""
        ...

    def create_incident(self, incident: NewIncident) -> TicketRef:
        """Open an incident; the caller is looked up by e-mail (left empty when unknown)."""
        ...

    def add_work_note(self, ticket: TicketRef, note: str) -> None:
        """Append an internal work note."""
        ...

    def hand_to_humans(self, ticket: TicketRef, group: str, note: str) -> None:
        """Assign the ticket to a human group with a work note that says why."""
        ...

    def resolve_and_close(self, ticket: TicketRef, closure: Closure) -> None:
        """Resolve then close with close code and notes, link the KB article, add the tag."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class TicketChange:
    """A write the connector made, or would make in dry run; ``before``/``after`` feed the audit."""

    action: str
    target: str
    before: dict[str, str]
    after: dict[str, str]
    dry_run: bool = False


@dataclass(frozen=True)
class QueuedTicket:
    """A ticket waiting in an assignment group, with only what intake needs."""

    ref: TicketRef
    short_description: str
    description: str
    caller_id: str
    contact_type: str
    state: str
    correlation_id: str
    updated_on: str  # sys_updated_on, UTC 'YYYY-MM-DD HH:MM:SS'
    mod_count: int  # sys_mod_count: with sys_id, the version de-duplicated across polls


@dataclass(frozen=True)
class QueueBatch:
    """One poll: the tickets new to us, and the watermark to give the next poll."""

    tickets: tuple[QueuedTicket, ...]
    watermark: str | None


@dataclass(frozen=True)
class Claim:
    """A ticket this worker holds: the lease token, also written on the ticket, and when the lease ends."""

    ticket: TicketRef
    worker_id: str
    token: str
    expires_at: float  # UNIX time


class TicketQueue(Protocol):
    """Tickets opened by people in ServiceNow and assigned to the automation's group."""

    def poll_queue(self, group: str, *, since_watermark: str | None) -> QueueBatch:
        """Waiting, unassigned tickets of ``group`` changed since the watermark, each version handed out once."""
        ...

    def claim(self, ticket: TicketRef, worker_id: str) -> Claim | None:
        """Take the ticket for this worker, or None when someone else has it."""
        ...

    def still_ours(self, claim: Claim) -> bool:
        """Re-read the ticket: True while it carries our claim token; check before every side effect."""
        ...

    def release(self, claim: Claim) -> None:
        """Give the lease back (the ticket stays as it is)."""
        ...
