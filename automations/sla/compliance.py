"""Compliance rates GAP03 (pick-up) and GSP04 (treatment) over a list of tickets, justified ticket by ticket.

GAP03 (« Taux de prise en compte du backlog entrant dans les délais N1 », target ≥ 99 %):
tickets picked up within 2 business hours ÷ incoming tickets. A ticket not yet picked up counts as missed
once its deadline has passed at ``as_of``, and is left out (pending) before that.

GSP04 (« Taux de respect des SLA de traitement », target ≥ 95 %): tickets treated within their SLA ÷ tickets
treated — the tender's formula counts treated (resolved) tickets only, so unresolved ones are left out. The
SLA depends on the request kind and on the contract year the ticket was opened in
(``automations.sla.deadlines``).

"The contractor must be able to justify every calculation at any time": each result lists every ticket with
its deadline, the instant compared with it, and the verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from automations.reporting.periods import contract_year_index
from automations.sla.calendars import PARIS, BusinessCalendar, CalendarError, to_utc
from automations.sla.deadlines import PICKUP_WITHIN, RequestKind, pickup_deadline, treatment_deadline

GAP03_TARGET = Decimal(99)
GSP04_TARGET = Decimal(95)


@dataclass(frozen=True)
class SlaTicket:
    """What the SLAs need of a ticket; naive times are Paris wall-clock time."""

    number: str
    opened: datetime
    picked_up: datetime | None = None
    resolved: datetime | None = None
    kind: RequestKind = "other"
    calendar: str = "metropole"


@dataclass(frozen=True)
class Verdict:
    """One ticket against one SLA: met, missed, or pending (``met`` is None) with the figures behind it."""

    number: str
    deadline: datetime
    at: datetime | None
    met: bool | None


@dataclass(frozen=True)
class Compliance:
    """An SLA indicator over a set of tickets."""

    indicator: str
    target_pct: Decimal
    verdicts: tuple[Verdict, ...]

    @property
    def counted(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict.met is not None)

    @property
    def met(self) -> int:
        return sum(1 for verdict in self.verdicts if verdict.met)

    @property
    def rate_pct(self) -> Fraction | None:
        """Met ÷ counted × 100, exact; None when nothing is counted (no rate, not 100 %)."""
        return Fraction(self.met * 100, self.counted) if self.counted else None

    @property
    def meets_target(self) -> bool | None:
        rate = self.rate_pct
        return None if rate is None else rate >= Fraction(self.target_pct)

    def missed(self) -> list[Verdict]:
        return [verdict for verdict in self.verdicts if verdict.met is False]


def _calendar(calendars: Mapping[str, BusinessCalendar], ticket: SlaTicket) -> BusinessCalendar:
    try:
        return calendars[ticket.calendar]
    except KeyError:
        raise CalendarError(f"ticket {ticket.number}: unknown calendar {ticket.calendar!r}; "
                            f"known: {', '.join(calendars)}") from None


def gap03(tickets: Iterable[SlaTicket], calendars: Mapping[str, BusinessCalendar], as_of: datetime,
          within: timedelta = PICKUP_WITHIN) -> Compliance:
    """Pick-up compliance (GAP03) of incoming ``tickets`` as known at ``as_of``."""
    now = to_utc(as_of)
    verdicts = []
    for ticket in tickets:
        deadline = pickup_deadline(_calendar(calendars, ticket), ticket.opened, within)
        if ticket.picked_up is not None:
            met: bool | None = to_utc(ticket.picked_up) <= deadline
        else:
            met = False if now > deadline else None
        verdicts.append(Verdict(ticket.number, deadline, _paris(ticket.picked_up), met))
    return Compliance("GAP03", GAP03_TARGET, tuple(verdicts))


def gsp04(tickets: Iterable[SlaTicket], calendars: Mapping[str, BusinessCalendar], contract_start: date) -> Compliance:
    """Treatment compliance (GSP04) of the resolved ``tickets``; the SLA follows each ticket's contract year."""
    verdicts = []
    for ticket in tickets:
        if ticket.resolved is None:
            continue  # the formula divides by treated tickets only
        opened_day = to_utc(ticket.opened).astimezone(PARIS).date()
        year = contract_year_index(contract_start, opened_day)
        deadline = treatment_deadline(_calendar(calendars, ticket), ticket.opened, ticket.kind, year)
        verdicts.append(Verdict(ticket.number, deadline, _paris(ticket.resolved),
                                to_utc(ticket.resolved) <= deadline))
    return Compliance("GSP04", GSP04_TARGET, tuple(verdicts))


def _paris(instant: datetime | None) -> datetime | None:
    return None if instant is None else to_utc(instant).astimezone(PARIS)
