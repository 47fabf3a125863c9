"""Automated-resolution rates split by channel, intent, partner or playbook, per period; hand-over reasons per period.

Pure functions over the ledger's requests as ``automations.reporting.figures`` reads them (``RequestFact``), with
its definition of a UO-TR1.1 request (``is_uo_tr11``) and its Paris-calendar periods, so the dashboard and these
tables can never disagree on what "automated" means.

Two different rates, both exact (``Fraction``):

- ``share_pct`` of a split value: the UO-TR1.1 requests of that value ÷ all requests of the period (the value's
  contribution to the contract rate; the shares of a period add up to the period's rate);
- ``rate_pct`` of a split value: the UO-TR1.1 requests of that value ÷ the requests of that value (how well the
  automation does on, say, the e-mail channel or one partner).

The denominators here are the requests known to the ledger; the contract's denominator (all service-desk
requests, counted in ServiceNow) only exists per period as a whole, not per channel or partner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Literal

from automations.ledger import HANDED_OVER
from automations.reporting.figures import UNSPECIFIED, RequestFact, is_uo_tr11
from automations.reporting.periods import Granularity, Period, period_of

Dimension = Literal["channel", "intent", "partner", "playbook"]
DIMENSIONS: dict[Dimension, Callable[[RequestFact], str | None]] = {
    "channel": lambda r: r.channel,
    "intent": lambda r: r.intent,
    "partner": lambda r: r.partner_id,
    "playbook": lambda r: r.playbook,
}


@dataclass(frozen=True)
class SplitRate:
    """One value of a dimension in one period: its requests, the automated ones, and the two rates."""

    period: Period
    dimension: Dimension
    value: str
    requests: tuple[RequestFact, ...]
    automated: tuple[RequestFact, ...]
    period_total: int

    @property
    def rate_pct(self) -> Fraction:
        return Fraction(len(self.automated) * 100, len(self.requests))

    @property
    def share_pct(self) -> Fraction:
        return Fraction(len(self.automated) * 100, self.period_total)

    @property
    def tickets(self) -> list[str]:
        """Ticket numbers (or request keys when no ticket exists yet) of the automated requests."""
        return [r.ticket_number or r.key for r in self.automated]


@dataclass(frozen=True)
class ReasonCount:
    """How many requests of a period went to people for one reason, and their share of the hand-overs."""

    period: Period
    reason: str
    requests: tuple[RequestFact, ...]
    handed_over: int

    @property
    def share_pct(self) -> Fraction:
        return Fraction(len(self.requests) * 100, self.handed_over)


def _periods(facts: Iterable[RequestFact], granularity: Granularity,
             contract_start: date | None) -> dict[Period, list[RequestFact]]:
    grouped: dict[Period, list[RequestFact]] = {}
    for fact in facts:
        day = fact.paris_day
        if granularity == "contract_year" and (contract_start is None or day < contract_start):
            continue  # no contract year before the contract (nor without one)
        grouped.setdefault(period_of(day, granularity, contract_start), []).append(fact)
    return dict(sorted(grouped.items()))


def split_rates(facts: Iterable[RequestFact], dimension: Dimension, granularity: Granularity, *,
                contract_start: date | None = None) -> list[SplitRate]:
    """Per period (oldest first) and per value of ``dimension`` (most requests first, then by name)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; choose one of: {', '.join(DIMENSIONS)}")
    value_of = DIMENSIONS[dimension]
    result = []
    for period, rows in _periods(facts, granularity, contract_start).items():
        by_value: dict[str, list[RequestFact]] = {}
        for row in rows:
            by_value.setdefault(value_of(row) or UNSPECIFIED, []).append(row)
        for value, members in sorted(by_value.items(), key=lambda item: (-len(item[1]), item[0])):
            result.append(SplitRate(period, dimension, value, tuple(members),
                                    tuple(m for m in members if is_uo_tr11(m)), len(rows)))
    return result


def handover_reasons_by_period(facts: Iterable[RequestFact], granularity: Granularity, *,
                               contract_start: date | None = None) -> list[ReasonCount]:
    """Hand-overs to people per period and reason (most frequent first): where the next gains are."""
    result = []
    for period, rows in _periods(facts, granularity, contract_start).items():
        handed = [row for row in rows if row.decision == HANDED_OVER]
        by_reason: dict[str, list[RequestFact]] = {}
        for row in handed:
            by_reason.setdefault(row.reason or UNSPECIFIED, []).append(row)
        for reason, members in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
            result.append(ReasonCount(period, reason, tuple(members), len(handed)))
    return result
