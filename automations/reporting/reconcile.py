"""Reconciliation of the ledger's UO-TR1.1 claims with ServiceNow, ticket by ticket, in both directions.

A UO-TR1.1 ticket is one *created and closed in ServiceNow by an automation* (tender §7.3.3.4.2) and tagged so
(``desk.automation_tag``). The ledger claims a request as UO-TR1.1 by ``figures.is_uo_tr11``; this module checks
every claim of a period against what ServiceNow holds, and every ServiceNow ticket of the period carrying the tag
against the ledger:

- claimed by the ledger but, in ServiceNow, missing, not closed, not tagged, not created or not closed by the
  automation user → a mismatch (``claimed_*`` kinds);
- tagged in ServiceNow but claimed by no request of the ledger → a mismatch (``tagged_not_claimed``);
- tickets created by people and closed by the automation are legitimate work but not UO-TR1.1: listed apart and
  counted apart, never mixed with the claims (``human_created``).

Periods are Paris days ``first``..``last`` inclusive, like every figure (``figures.paris_time``). The ledger dates
a request when it arrived, ServiceNow a ticket when it was opened, a few seconds later: a claim is looked for
among the ledger's claims from one day before the period, so a request at 23:59:59 whose ticket opened at
00:00:01 is not reported as unclaimed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from automations.reporting.figures import PARIS, RequestFact, is_uo_tr11

# Kinds of mismatch, stable strings for the JSON output and the runbook.
NO_TICKET = "claimed_without_ticket"
MISSING = "claimed_missing_in_servicenow"
NOT_CLOSED = "claimed_not_closed"
NOT_TAGGED = "claimed_not_tagged"
NOT_CREATED_BY_BOT = "claimed_not_created_by_automation"
NOT_CLOSED_BY_BOT = "claimed_not_closed_by_automation"
UNCLAIMED = "tagged_not_claimed"


class TicketFacts(Protocol):
    """What ServiceNow says about one ticket (``connectors.servicenow.stats.SnTicket`` satisfies it)."""

    @property
    def number(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def created_by(self) -> str: ...
    @property
    def closed_by(self) -> str: ...
    @property
    def opened_at(self) -> str: ...
    @property
    def closed_at(self) -> str: ...
    @property
    def tagged(self) -> bool: ...
    @property
    def closed(self) -> bool: ...


class TicketSource(Protocol):
    """The ServiceNow reads the reconciliation needs (``ServiceDeskStats`` implements them)."""

    @property
    def user(self) -> str: ...
    def tickets(self, numbers: Sequence[str]) -> Mapping[str, TicketFacts]: ...
    def tagged(self, since: datetime) -> Mapping[str, TicketFacts]: ...
    def closed_by_automation(self, start: datetime, end: datetime) -> Mapping[str, TicketFacts]: ...


def utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The Paris days ``first``..``last`` as naive UTC instants ``[start, end)`` (the ledger's and ServiceNow's)."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    start = datetime.combine(first, time.min, PARIS).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(last + timedelta(days=1), time.min, PARIS).astimezone(UTC).replace(tzinfo=None)
    return start, end


@dataclass(frozen=True)
class Mismatch:
    """One disagreement between the ledger and ServiceNow about one ticket."""

    kind: str
    ticket: str
    detail: str
    request_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ticket": self.ticket, "detail": self.detail, "request_key": self.request_key}


@dataclass(frozen=True)
class ClaimCheck:
    """One UO-TR1.1 claim of the ledger and what ServiceNow says about its ticket."""

    fact: RequestFact
    ticket: TicketFacts | None
    problems: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        sn = self.ticket
        return {
            "request_key": self.fact.key, "ticket": self.fact.ticket_number, "channel": self.fact.channel,
            "intent": self.fact.intent, "playbook": self.fact.playbook, "ok": self.ok,
            "servicenow": None if sn is None else {
                "state": sn.state, "created_by": sn.created_by, "closed_by": sn.closed_by, "tagged": sn.tagged,
                "opened_at": sn.opened_at, "closed_at": sn.closed_at},
            "problems": [p.kind for p in self.problems],
        }


@dataclass(frozen=True)
class Reconciliation:
    """The result for one period: every claim checked, the unclaimed tags, and the people's tickets apart."""

    first: date
    last: date
    automation_user: str
    claims: tuple[ClaimCheck, ...]
    unclaimed: tuple[Mismatch, ...]
    human_created: tuple[TicketFacts, ...] = field(default=())

    @property
    def mismatches(self) -> list[Mismatch]:
        return [p for check in self.claims for p in check.problems] + list(self.unclaimed)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(), "to": self.last.isoformat(), "automation_user": self.automation_user,
            "claims": [c.as_dict() for c in self.claims],
            "claimed": len(self.claims),
            "confirmed": sum(1 for c in self.claims if c.ok),
            "mismatches": [m.as_dict() for m in self.mismatches],
            "human_created_closed_by_automation": [
                {"ticket": t.number, "created_by": t.created_by, "closed_at": t.closed_at}
                for t in self.human_created],
        }


def check_claim(fact: RequestFact, ticket: TicketFacts | None, automation_user: str) -> ClaimCheck:
    """Everything ServiceNow must show for this claim to stand."""
    number = fact.ticket_number or ""
    if not number:
        return ClaimCheck(fact, None, (Mismatch(NO_TICKET, "-", "the ledger claims it without a ticket number",
                                                fact.key),))
    if ticket is None:
        return ClaimCheck(fact, None, (Mismatch(MISSING, number, "no such incident in ServiceNow", fact.key),))
    problems = []
    if not ticket.closed:
        problems.append(Mismatch(NOT_CLOSED, number, f"state is {ticket.state!r}, not closed (7)", fact.key))
    if not ticket.tagged:
        problems.append(Mismatch(NOT_TAGGED, number, "no UO-TR1.1 tag (label_entry) on the incident", fact.key))
    if ticket.created_by != automation_user:
        problems.append(Mismatch(NOT_CREATED_BY_BOT, number,
                                 f"created by {ticket.created_by!r}, not {automation_user!r}", fact.key))
    if ticket.closed and ticket.closed_by != automation_user:
        problems.append(Mismatch(NOT_CLOSED_BY_BOT, number,
                                 f"closed by {ticket.closed_by!r}, not {automation_user!r}", fact.key))
    return ClaimCheck(fact, ticket, tuple(problems))


def reconcile(facts: Sequence[RequestFact], source: TicketSource, first: date, last: date) -> Reconciliation:
    """Check the ledger's requests (loaded from a day before ``first`` or earlier) against ServiceNow."""
    start, end = utc_bounds(first, last)
    claims = [f for f in facts if is_uo_tr11(f) and first <= f.paris_day <= last]
    claimed_anywhere = {f.ticket_number for f in facts if is_uo_tr11(f) and f.ticket_number}
    tickets = source.tickets([f.ticket_number for f in claims if f.ticket_number])
    user = source.user
    checks = tuple(check_claim(f, tickets.get(f.ticket_number or ""), user) for f in claims)

    def opened_in_period(ticket: TicketFacts) -> bool:
        opened = sn_instant(ticket.opened_at)
        return opened is not None and start <= opened < end

    unclaimed = tuple(
        Mismatch(UNCLAIMED, number, f"tagged UO-TR1.1 in ServiceNow (created by {ticket.created_by!r}, closed by "
                                    f"{ticket.closed_by or 'nobody'!r}) but claimed by no request of the ledger")
        for number, ticket in sorted(source.tagged(start).items())
        if number not in claimed_anywhere and opened_in_period(ticket))
    human = tuple(t for _, t in sorted(source.closed_by_automation(start, end).items()) if t.created_by != user)
    return Reconciliation(first, last, user, checks, unclaimed, human)


def sn_instant(value: str) -> datetime | None:
    """ServiceNow's UTC ``YYYY-MM-DD HH:MM:SS`` as a naive UTC datetime (None when empty or unreadable)."""
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def format_text(result: Reconciliation) -> str:
    """The reconciliation for a person: every claim, every mismatch, the people's tickets apart."""
    lines = [f"UO-TR1.1 reconciliation, ledger vs ServiceNow, {result.first} to {result.last} (Paris days)",
             f"  automation user in ServiceNow: {result.automation_user}",
             f"  UO-TR1.1 claims of the ledger: {len(result.claims)}"]
    for check in result.claims:
        verdict = "ok" if check.ok else "MISMATCH: " + "; ".join(p.detail for p in check.problems)
        lines.append(f"    {check.fact.ticket_number or '-':<12} {check.fact.playbook or '-':<32} {verdict}")
    lines.append(f"  tagged UO-TR1.1 in ServiceNow but not claimed by the ledger: {len(result.unclaimed)}")
    lines += [f"    {m.ticket:<12} MISMATCH: {m.detail}" for m in result.unclaimed]
    lines.append(f"  created by people, closed by the automation (counted apart, not UO-TR1.1): "
                 f"{len(result.human_created)}")
    lines += [f"    {t.number:<12} created by {t.created_by}, closed {t.closed_at} UTC" for t in result.human_created]
    count = len(result.mismatches)
    lines.append("  result: " + ("no mismatch" if not count else f"{count} mismatch{'es' if count > 1 else ''}"))
    return "\n".join(lines)
