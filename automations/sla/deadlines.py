"""SLA deadlines of a ticket: pick-up (GAP03, §7.3.3.2.1) and treatment (GSP04), in business time.

Pick-up: « Délais ≤ 2 heures », counted in business hours (GAP03); the tender's examples (§7.3.3.2.1):
opened 14:00 → before 16:00; 18:50 → before 08:50 the next morning; 22:00 (metropole) → before 09:00;
21:30 (DROM) → before 23:30. Self-service submissions are to be picked up « dans l'heure ouvrée qui suit »
(``SELF_SERVICE_PICKUP_WITHIN``), which the stricter callers may use instead.

Treatment (GSP04, « SLA de traitement », business hours), by contract year (« Année, Année+1, Année+2,
Année≥3 »):

=================================================  =====  ======  ======  =======
request                                            Année  Année+1 Année+2 Année≥3
=================================================  =====  ======  ======  =======
connection to France Travail's systems (password,  0h30   0h30    0h30    0h30
VPN…), level 1
every other level-1 request                        2h     1h40    1h20    1h
every level-2 request                              2h     2h      2h      2h
=================================================  =====  ======  ======  =======

Treatment time runs from the ticket's opening to its resolution (the tender gives no other start).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from automations.sla.calendars import BusinessCalendar

RequestKind = Literal["connection", "other", "n2"]
REQUEST_KINDS: tuple[RequestKind, ...] = ("connection", "other", "n2")

PICKUP_WITHIN = timedelta(hours=2)
SELF_SERVICE_PICKUP_WITHIN = timedelta(hours=1)
_TREATMENT: dict[RequestKind, tuple[timedelta, ...]] = {
    "connection": (timedelta(minutes=30),),
    "other": (timedelta(hours=2), timedelta(hours=1, minutes=40), timedelta(hours=1, minutes=20), timedelta(hours=1)),
    "n2": (timedelta(hours=2),),
}


def treatment_within(kind: RequestKind, contract_year: int) -> timedelta:
    """GSP04's treatment time for ``kind`` in contract year ``contract_year`` (0 = the first year)."""
    if kind not in _TREATMENT:
        raise ValueError(f"unknown request kind {kind!r}; choose one of: {', '.join(REQUEST_KINDS)}")
    if contract_year < 0:
        raise ValueError(f"contract year {contract_year} is before the contract started")
    steps = _TREATMENT[kind]
    return steps[min(contract_year, len(steps) - 1)]  # « Année≥3 » holds for every later year


def pickup_deadline(calendar: BusinessCalendar, opened: datetime, within: timedelta = PICKUP_WITHIN) -> datetime:
    """Latest pick-up instant of a ticket opened at ``opened``."""
    return calendar.add(opened, within)


def treatment_deadline(calendar: BusinessCalendar, opened: datetime, kind: RequestKind,
                       contract_year: int) -> datetime:
    """Latest resolution instant of a ticket opened at ``opened``."""
    return calendar.add(opened, treatment_within(kind, contract_year))
