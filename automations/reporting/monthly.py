"""The monthly UO-TR1.1 report: the month's counts and rate, the bonus it projects, and every ticket behind it.

The rate is the contract's (UO-TR1.1 tickets ÷ all service-desk requests; the denominator is pluggable, see
``figures.Denominator``). The bonus projection applies ``bonus.compute_bonus`` to two rates: the month's, as if
the whole contract year ran at it, and the contract year's so far (when ``contract.anniversary`` is set). The
bonus is only due on the year's rate at the anniversary (§7.3.3.4.5): both are projections, named so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from automations.reporting.bonus import TENDER_BANDS, BonusBand, BonusError, compute_bonus
from automations.reporting.figures import (
    Denominator,
    RequestFact,
    by_channel,
    by_intent,
    handover_reasons,
    is_uo_tr11,
    ledger_denominator,
    pct_number,
    rate_pct,
)
from automations.reporting.periods import Period, contract_year, period_of


def parse_month(text: str) -> Period:
    """``YYYY-MM`` as the month's period."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return period_of(date(year, month, 1), "month")
    except ValueError:
        raise ValueError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-03") from None


@dataclass(frozen=True)
class PeriodCount:
    period: Period
    requests: tuple[RequestFact, ...]
    automated: tuple[RequestFact, ...]
    total: int | None

    @property
    def rate(self) -> Fraction | None:
        return rate_pct(len(self.automated), self.total)

    def bonus(self, unit_price: Decimal | None, bands: tuple[BonusBand, ...]) -> dict[str, object] | None:
        """``sesame report bonus``'s JSON for this period's counts (None when the total is unknown or too small)."""
        if not self.total:
            return None
        try:
            return compute_bonus(len(self.automated), self.total, unit_price, bands).as_dict()
        except BonusError:
            return None

    def as_dict(self, unit_price: Decimal | None, bands: tuple[BonusBand, ...]) -> dict[str, Any]:
        return {"period": self.period.label, "from": self.period.first.isoformat(),
                "to": self.period.last.isoformat(), "requests_in_ledger": len(self.requests),
                "uo_tr11": len(self.automated), "denominator": self.total, "rate_pct": pct_number(self.rate),
                "bonus_projection": self.bonus(unit_price, bands)}


def _count(facts: Sequence[RequestFact], period: Period, denominator: Denominator) -> PeriodCount:
    rows = tuple(f for f in facts if f.paris_day in period)
    return PeriodCount(period, rows, tuple(f for f in rows if is_uo_tr11(f)), denominator(period, rows))


@dataclass(frozen=True)
class MonthlyReport:
    month: PeriodCount
    year_to_date: PeriodCount | None
    unit_price: Decimal | None
    bands: tuple[BonusBand, ...]

    def as_dict(self) -> dict[str, Any]:
        rows = self.month.requests
        return {
            "month": self.month.as_dict(self.unit_price, self.bands),
            "contract_year_to_date": None if self.year_to_date is None
            else self.year_to_date.as_dict(self.unit_price, self.bands),
            "channels": {b.value: {"requests": b.count, "uo_tr11": b.automated} for b in by_channel(rows)},
            "intents": {b.value: {"requests": b.count, "uo_tr11": b.automated} for b in by_intent(rows)},
            "handover_reasons": {b.value: b.count for b in handover_reasons(rows)},
            "tickets": [{"ticket": f.ticket_number, "request_key": f.key, "channel": f.channel, "intent": f.intent,
                         "partner_id": f.partner_id, "playbook": f.playbook,
                         "created_at": f.created_at.isoformat(timespec="seconds") + "Z",
                         "finished_at": None if f.finished_at is None
                         else f.finished_at.isoformat(timespec="seconds") + "Z"}
                        for f in self.month.automated],
        }


def monthly_report(facts: Sequence[RequestFact], month: Period, *, denominator: Denominator = ledger_denominator,
                   contract_start: date | None = None, unit_price: Decimal | None = None,
                   bands: tuple[BonusBand, ...] = TENDER_BANDS) -> MonthlyReport:
    """The report of ``month`` from ``facts`` (the month, and the contract year up to its end for the projection)."""
    year = None
    if contract_start is not None and contract_start <= month.last:
        whole = contract_year(contract_start, month.last)
        year = _count(facts, Period(whole.first, month.last, f"{whole.label} to {month.last}"), denominator)
    return MonthlyReport(_count(facts, month, denominator), year, unit_price, bands)


def format_monthly(report: MonthlyReport) -> str:
    data = report.as_dict()
    month = data["month"]

    def rate(block: dict[str, Any]) -> str:
        return "unknown" if block["rate_pct"] is None else f"{block['rate_pct']} %"

    def projection(block: dict[str, Any]) -> list[str]:
        bonus = block["bonus_projection"]
        if bonus is None:
            return ["    bonus projection: unknown (no denominator)"]
        bands = bonus["bands"] or []
        lines = [f"    bonus projection: {b['points']} points at {b['bonus_pct']} % "
                 f"({b['from_pct']}–{b['to_pct'] if b['to_pct'] is not None else 100} %), "
                 f"{b['interactions']} interactions" for b in bands] or ["    bonus projection: no band reached"]
        if "bonus_amount" in bonus:
            lines.append(f"    bonus amount: {bonus['bonus_amount']}")
        return lines

    lines = [f"Monthly UO-TR1.1 report for {month['period']} (Paris days {month['from']} to {month['to']})",
             f"  UO-TR1.1 tickets {month['uo_tr11']}   service-desk requests {month['denominator']}   "
             f"rate {rate(month)}   (requests in the ledger {month['requests_in_ledger']})",
             *projection(month)]
    year = data["contract_year_to_date"]
    if year is not None:
        lines += [f"  contract year {year['period']}: UO-TR1.1 {year['uo_tr11']} / {year['denominator']} "
                  f"= {rate(year)}", *projection(year)]
    if data["channels"]:
        lines.append("  by channel: " + ", ".join(f"{k} {v['uo_tr11']}/{v['requests']}"
                                                   for k, v in data["channels"].items()))
    if data["intents"]:
        lines.append("  by intent: " + ", ".join(f"{k} {v['uo_tr11']}/{v['requests']}"
                                                  for k, v in data["intents"].items()))
    if data["handover_reasons"]:
        lines.append("  hand-over reasons: " + ", ".join(f"{k} {v}" for k, v in data["handover_reasons"].items()))
    lines.append(f"  UO-TR1.1 tickets ({len(data['tickets'])}):")
    lines += [f"    {t['ticket'] or '-':<12} {t['finished_at'] or '-':<21} {t['intent'] or '-':<16} "
              f"{t['playbook'] or '-'}" for t in data["tickets"]]
    return "\n".join(lines)
