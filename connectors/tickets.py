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
