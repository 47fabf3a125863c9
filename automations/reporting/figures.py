"""The managers' figures, read from the ledger, each with the list of requests (tickets) behind it.

A pure read: one SELECT of the ``requests`` table through SQLAlchemy, then plain functions over the rows, so every
figure can be justified down to the ticket (« justifier à tout moment chaque calcul »).

Definitions (they are what the dashboard, ``/metrics`` and ``docs/runbook.md`` show):

- A request counts for UO-TR1.1 when the ledger records that its ticket counts (``is_uo_tr11``): the automation
  created and closed it and tagged it so (the rule: ``automations.closure.counts_as_uo_tr11``). An answer closed
  without the tag (out of scope) is automated work but not UO-TR1.1. Rows recorded before the ledger kept this
  provenance are judged as they were then: automated and done.
- Periods are days, ISO weeks, months and contract years of the **Paris calendar**: the ledger stores naive UTC
  instants, which are converted to Europe/Paris before taking the date (a request at 23:30 UTC on 31 March is a
  request of 1 April in Paris).
- The automated-resolution rate of a period = UO-TR1.1 requests ÷ the period's denominator. The denominator is
  pluggable (``Denominator``): by default all requests of the period known to the ledger
  (``ledger_denominator``); the contract's denominator (all service-desk requests, counted in ServiceNow) plugs in
  the same way. A denominator may answer ``None`` (unknown): the rate is then unknown, never 0 % or 100 %.
- The live queue is every request not finished (status ``received``), oldest first.
- SLA compliance (GAP03, GSP04) is that of the automated tickets opened in the current Paris month.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from automations.ledger import AUTOMATED, DONE, HANDED_OVER, IGNORED, RECEIVED, RequestRow
from automations.reporting.bonus import TENDER_BANDS, BonusBand, BonusError, compute_bonus, to_decimal
from automations.reporting.periods import Granularity, Period, contract_year, period_of

PARIS = ZoneInfo("Europe/Paris")
# The rate lines the managers compare the curve with: the two bonus thresholds and the customer's target.
REFERENCE_LINES_PCT = (30, 50, 70)
# Intents that are « connexion » requests for the SLAs (GSP04: 30 business minutes); others are « autres ».
CONNECTION_INTENTS = frozenset({"unlock", "reset_password"})
UNSPECIFIED = "non précisé"


@dataclass(frozen=True)
class RequestFact:
    """One request as the ledger holds it, reduced to what the figures need (never the message text)."""

    key: str
    channel: str
    status: str
    decision: str | None
    reason: str | None
    intent: str | None
    partner_id: str | None
    playbook: str | None
    ticket_number: str | None
    ticket_sys_id: str | None
    created_at: datetime  # naive UTC, as the ledger stores it
    finished_at: datetime | None
    # The ledger's UO-TR1.1 flag (None: recorded before the ledger kept the tickets' provenance).
    uo_tr11: bool | None = None

    @cached_property
    def paris_day(self) -> date:
        # Computed once per request: every figure groups by it.
        return paris_date(self.created_at)


def paris_time(instant: datetime) -> datetime:
    """A naive UTC instant of the ledger as an aware Paris time."""
    return instant.replace(tzinfo=UTC).astimezone(PARIS)


@lru_cache(maxsize=100_000)
def _paris_offset(hour: datetime) -> timedelta:
    offset = paris_time(hour).utcoffset()
    assert offset is not None
    return offset


def paris_date(instant: datetime) -> date:
    """The Paris calendar day of a naive UTC instant; Paris' offset only changes on the hour, so it is memoised
    per hour (the figures convert hundreds of thousands of instants)."""
    return (instant + _paris_offset(instant.replace(minute=0, second=0, microsecond=0))).date()


def is_uo_tr11(fact: RequestFact) -> bool:
    """The automation created and closed this request's ticket, tagged UO-TR1.1."""
    if fact.uo_tr11 is not None:
        return fact.uo_tr11 and fact.status == DONE
    return fact.decision == AUTOMATED and fact.status == DONE


def load_requests(engine: Engine, since: datetime | None = None) -> list[RequestFact]:
    """Requests created since ``since`` (naive UTC), plus every unfinished one whatever its age, oldest first."""
    query = select(RequestRow.key, RequestRow.channel, RequestRow.status, RequestRow.decision, RequestRow.reason,
                   RequestRow.intent, RequestRow.partner_id, RequestRow.playbook, RequestRow.ticket_number,
                   RequestRow.ticket_sys_id, RequestRow.created_at, RequestRow.finished_at, RequestRow.uo_tr11)
    if since is not None:
        query = query.where(or_(RequestRow.created_at >= since, RequestRow.status == RECEIVED))
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(RequestRow.created_at, RequestRow.id)).all()
    return [RequestFact(key, channel, status, decision, reason, intent, partner_id, playbook, number, sys_id, created,
                        finished, uo_tr11)
            for key, channel, status, decision, reason, intent, partner_id, playbook, number, sys_id, created, finished,
            uo_tr11 in rows]


class Denominator(Protocol):
    """How many service-desk requests a period had; None when unknown (the rate is then unknown)."""

    def __call__(self, period: Period, requests: Sequence[RequestFact]) -> int | None: ...


def ledger_denominator(period: Period, requests: Sequence[RequestFact]) -> int | None:
    """All requests of the period known to the ledger; messages that needed nothing (auto-replies, thanks attached
    to their ticket: ``IGNORED``) are not service-desk requests."""
    return sum(1 for r in requests if r.decision != IGNORED)


def rate_pct(automated: int, total: int | None) -> Fraction | None:
    """Exact percentage; None when the total is unknown or zero."""
    if not total:
        return None
    return Fraction(automated * 100, total)


def pct_number(value: Fraction | None, places: int = 1) -> float | None:
    """A percentage for display and JSON (half-even rounding at ``places``)."""
    if value is None:
        return None
    return float(to_decimal(value, Decimal(1).scaleb(-places)))


@dataclass(frozen=True)
class RatePoint:
    """The automated-resolution rate of one period, with the requests behind it."""

    granularity: Granularity
    period: Period
    requests: tuple[RequestFact, ...]
    automated: tuple[RequestFact, ...]
    total: int | None

    @property
    def rate(self) -> Fraction | None:
        return rate_pct(len(self.automated), self.total)

    @property
    def figure_id(self) -> str:
        return f"rate/{self.granularity}/{self.period.label}"


def rate_series(facts: Iterable[RequestFact], granularity: Granularity, *, contract_start: date | None = None,
                denominator: Denominator = ledger_denominator, last: int | None = None) -> list[RatePoint]:
    """The rate of every period holding at least one request, oldest first (the ``last`` ones only if given)."""
    # Keyed by the period's first day (a date hashes fast; hundreds of thousands of requests go through here).
    by_first: dict[date, list[RequestFact]] = {}
    periods: dict[date, Period] = {}
    for fact in facts:
        day = fact.paris_day
        if granularity == "contract_year" and (contract_start is None or day < contract_start):
            continue  # before the contract (or no contract): no contract year to put it in
        period = periods.get(day)
        if period is None:
            period = periods[day] = period_of(day, granularity, contract_start)
        by_first.setdefault(period.first, []).append(fact)
    first_to_period = {period.first: period for period in periods.values()}
    points = [RatePoint(granularity, first_to_period[first], tuple(rows), tuple(r for r in rows if is_uo_tr11(r)),
                        denominator(first_to_period[first], rows))
              for first, rows in sorted(by_first.items())]
    return points[-last:] if last else points


@dataclass(frozen=True)
class Bucket:
    """The requests sharing one value (a channel, an intent, a reason)."""

    dimension: str
    value: str
    requests: tuple[RequestFact, ...]

    @property
    def count(self) -> int:
        return len(self.requests)

    @property
    def automated(self) -> int:
        return sum(1 for r in self.requests if is_uo_tr11(r))

    @property
    def figure_id(self) -> str:
        return f"{self.dimension}/{self.value}"


def breakdown(facts: Iterable[RequestFact], dimension: str,
              value: Callable[[RequestFact], str | None]) -> list[Bucket]:
    """Requests grouped by ``value(request)``, the largest group first (ties by name, for a stable order)."""
    groups: dict[str, list[RequestFact]] = {}
    for fact in facts:
        groups.setdefault(value(fact) or UNSPECIFIED, []).append(fact)
    return sorted((Bucket(dimension, name, tuple(rows)) for name, rows in groups.items()),
                  key=lambda bucket: (-bucket.count, bucket.value))


def by_channel(facts: Iterable[RequestFact]) -> list[Bucket]:
    return breakdown(facts, "channel", lambda r: r.channel)


def by_intent(facts: Iterable[RequestFact]) -> list[Bucket]:
    return breakdown(facts, "intent", lambda r: r.intent)


def handover_reasons(facts: Iterable[RequestFact]) -> list[Bucket]:
    """Why requests went to people: finished requests handed over, by reason, the most frequent first."""
    return breakdown((f for f in facts if f.decision == HANDED_OVER), "reason", lambda r: r.reason)


@dataclass(frozen=True)
class Queue:
    """Requests seen and not finished, oldest first."""

    requests: tuple[RequestFact, ...]
    now: datetime  # naive UTC

    @property
    def oldest(self) -> RequestFact | None:
        return self.requests[0] if self.requests else None

    @property
    def oldest_wait(self) -> timedelta | None:
        oldest = self.oldest
        return None if oldest is None else max(self.now - oldest.created_at, timedelta(0))


def live_queue(facts: Iterable[RequestFact], now: datetime) -> Queue:
    waiting = sorted((f for f in facts if f.status == RECEIVED), key=lambda f: f.created_at)
    return Queue(tuple(waiting), now)


@dataclass(frozen=True)
class ContractYearFigure:
    """The contract year so far: its rate, the bonus band it reaches, and the bonus by band if it ended today."""

    period: Period
    requests: tuple[RequestFact, ...]
    automated: tuple[RequestFact, ...]
    total: int | None
    bands: tuple[BonusBand, ...]

    @property
    def rate(self) -> Fraction | None:
        return rate_pct(len(self.automated), self.total)

    @property
    def band(self) -> BonusBand | None:
        """The highest band whose lower bound the rate passes (None: below every band, no bonus)."""
        rate = self.rate
        reached = [b for b in self.bands if rate is not None and rate > Fraction(b.from_pct)]
        return reached[-1] if reached else None

    def bonus(self) -> dict[str, object] | None:
        """``sesame report bonus``'s JSON for the year so far (None without a known total)."""
        if not self.total:
            return None
        try:
            return compute_bonus(len(self.automated), self.total, bands=self.bands).as_dict()
        except BonusError:
            return None  # more automated than the denominator counts: shown as unknown, not as a bonus


def contract_year_figure(facts: Iterable[RequestFact], contract_start: date, today: date, *,
                         bands: tuple[BonusBand, ...] = TENDER_BANDS,
                         denominator: Denominator = ledger_denominator) -> ContractYearFigure:
    """The contract year holding ``today`` (Paris date), up to now."""
    period = contract_year(contract_start, today)
    rows = tuple(f for f in facts if f.paris_day in period)
    return ContractYearFigure(period, rows, tuple(r for r in rows if is_uo_tr11(r)), denominator(period, rows), bands)


@dataclass(frozen=True)
class SlaFigure:
    """One SLA indicator over the automated tickets, with each ticket's verdict."""

    indicator: str
    target_pct: Decimal
    rate: Fraction | None
    met: tuple[RequestFact, ...]
    missed: tuple[RequestFact, ...]
    pending: tuple[RequestFact, ...]

    @property
    def requests(self) -> tuple[RequestFact, ...]:
        return self.missed + self.met + self.pending

    @property
    def figure_id(self) -> str:
        return f"sla/{self.indicator}"


def sla_figures(facts: Iterable[RequestFact], now: datetime, contract_start: date | None,
                calendars: Mapping[str, Any] | None = None) -> list[SlaFigure] | None:
    """GAP03 and GSP04 (the latter needs the contract start) of the UO-TR1.1 tickets; None without the SLA module.

    The ledger does not record the pick-up instant separately: an automated ticket is taken as picked up when the
    automation finished it, an upper bound, so GAP03 can only be understated, never flattered. Every automated
    ticket is on the metropolitan calendar (the mailbox and the automation serve the metropolitan desk).
    """
    try:
        from automations.sla.calendars import build_calendars
        from automations.sla.compliance import SlaTicket, gap03, gsp04
    except ImportError:
        return None
    automated = [f for f in facts if is_uo_tr11(f)]
    by_number = {(f.ticket_number or f.key): f for f in automated}
    tickets = [SlaTicket(number=number, opened=fact.created_at.replace(tzinfo=UTC),
                         picked_up=_utc(fact.finished_at), resolved=_utc(fact.finished_at),
                         kind="connection" if fact.intent in CONNECTION_INTENTS else "other")
               for number, fact in by_number.items()]
    calendars = calendars if calendars is not None else build_calendars()
    results = [gap03(tickets, calendars, now.replace(tzinfo=UTC))]
    if contract_start is not None:
        results.append(gsp04([t for t in tickets if t.opened.astimezone(PARIS).date() >= contract_start],
                             calendars, contract_start))
    figures = []
    for result in results:
        verdicts = {v.number: v.met for v in result.verdicts}
        figures.append(SlaFigure(
            result.indicator, result.target_pct, result.rate_pct,
            met=tuple(by_number[n] for n, met in verdicts.items() if met is True),
            missed=tuple(by_number[n] for n, met in verdicts.items() if met is False),
            pending=tuple(by_number[n] for n, met in verdicts.items() if met is None)))
    return figures


def _utc(instant: datetime | None) -> datetime | None:
    return None if instant is None else instant.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Figures:
    """Every figure of the dashboard at one instant."""

    now: datetime  # naive UTC
    requests: tuple[RequestFact, ...]
    rates: Mapping[Granularity, list[RatePoint]]
    channels: list[Bucket]
    intents: list[Bucket]
    reasons: list[Bucket]
    queue: Queue
    contract_year: ContractYearFigure | None
    sla: list[SlaFigure] | None
    automated: tuple[RequestFact, ...] = field(default=())

    def tickets(self, figure_id: str) -> tuple[str, tuple[RequestFact, ...]] | None:
        """The title and requests behind ``figure_id`` (as the figures name it), or None if no such figure."""
        for points in self.rates.values():
            for point in points:
                if point.figure_id == figure_id:
                    return f"Demandes de la période {point.period.label}", point.requests
        for title, buckets in (("Canal", self.channels), ("Intention", self.intents),
                               ("Motif de transfert", self.reasons)):
            for bucket in buckets:
                if bucket.figure_id == figure_id:
                    return f"{title} : {bucket.value}", bucket.requests
        for sla in self.sla or []:
            if sla.figure_id == figure_id:
                return f"Tickets automatisés comptés pour {sla.indicator}", sla.requests
        if figure_id == "queue":
            return "File d'attente : demandes non terminées", self.queue.requests
        if figure_id == "all":
            return "Toutes les demandes des 12 derniers mois", self.requests
        if figure_id == "automated":
            return "Demandes résolues automatiquement (UO-TR1.1)", self.automated
        if figure_id == "contract-year" and self.contract_year is not None:
            return f"Année de contrat {self.contract_year.period.label}", self.contract_year.requests
        return None


def window_start(today: date, contract_start: date | None, months: int = 12) -> date:
    """First day the dashboard reads: 12 months of history (the tender's rolling history) and the contract year."""
    month_index = today.year * 12 + today.month - 1 - (months - 1)
    first = date(month_index // 12, month_index % 12 + 1, 1)
    if contract_start is not None and contract_start <= today:
        first = min(first, contract_year(contract_start, today).first)
    return first


def compute_figures(engine: Engine, *, now: datetime | None = None, contract_start: date | None = None,
                    bands: tuple[BonusBand, ...] = TENDER_BANDS, denominator: Denominator = ledger_denominator,
                    series_length: Mapping[Granularity, int] | None = None) -> Figures:
    """Every figure of the dashboard from the ledger behind ``engine``, as of ``now`` (naive UTC)."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    today = paris_time(now).date()
    first_day = window_start(today, contract_start)
    since = datetime.combine(first_day, datetime.min.time(), PARIS).astimezone(UTC).replace(tzinfo=None)
    facts = load_requests(engine, since)
    in_window = tuple(f for f in facts if f.created_at >= since)
    lengths = {"day": 31, "week": 13, "month": 12, **(series_length or {})}
    rates: dict[Granularity, list[RatePoint]] = {
        granularity: rate_series(in_window, granularity, denominator=denominator, last=lengths[granularity])
        for granularity in ("day", "week", "month")
    }
    # SLAs are reported per month (and checking each ticket against a business calendar is the costly figure).
    month_start = today.replace(day=1)
    year = None
    if contract_start is not None and contract_start <= today:
        year = contract_year_figure(in_window, contract_start, today, bands=bands, denominator=denominator)
    return Figures(now=now, requests=in_window, rates=rates, channels=by_channel(in_window),
                   intents=by_intent(in_window), reasons=handover_reasons(in_window), queue=live_queue(facts, now),
                   contract_year=year, sla=sla_figures([f for f in in_window if f.paris_day >= month_start], now,
                                                       contract_start),
                   automated=tuple(f for f in in_window if is_uo_tr11(f)))
