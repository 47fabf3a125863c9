"""The daily 9:00 flash (tender §7.2.4): yesterday's volumes, automated rate, and what looks wrong.

Computed from the ledger's requests (``figures.RequestFact``, ``figures.is_uo_tr11``) of one Paris day and of
the seven days before it; the rate's denominator is pluggable like every rate (``figures.Denominator``: the
ledger's requests, or ServiceNow's count for the contract's figure). Anomalies, each with the tickets behind it:

- ``rate_drop``: the day's rate is at least ``rate_drop_points`` below the rate of the previous seven days
  (their UO-TR1.1 tickets ÷ their requests, together);
- ``reason_spike``: a hand-over reason occurs at least ``spike_min`` times and at least ``spike_factor`` times its
  daily mean of the previous seven days (a new reason counts from a mean of ``1 / 7``);
- ``stuck``: requests still not finished ``stuck_after`` after they arrived, whatever their day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from automations.ledger import FAILED, HANDED_OVER, RECEIVED
from automations.reporting.figures import (
    UNSPECIFIED,
    Denominator,
    RequestFact,
    by_channel,
    by_intent,
    is_uo_tr11,
    ledger_denominator,
    pct_number,
    rate_pct,
)
from automations.reporting.periods import Period, period_of

BASELINE_DAYS = 7


@dataclass(frozen=True)
class FlashThresholds:
    rate_drop_points: Fraction = Fraction(10)
    spike_factor: Fraction = Fraction(2)
    spike_min: int = 3
    stuck_after: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Anomaly:
    kind: str  # rate_drop, reason_spike, stuck
    message: str
    tickets: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "tickets": list(self.tickets)}


@dataclass(frozen=True)
class Flash:
    day: date
    requests: tuple[RequestFact, ...]
    automated: tuple[RequestFact, ...]
    total: int | None
    baseline_rate: Fraction | None
    anomalies: tuple[Anomaly, ...] = field(default=())

    @property
    def rate(self) -> Fraction | None:
        return rate_pct(len(self.automated), self.total)

    def as_dict(self) -> dict[str, Any]:
        handed = [r for r in self.requests if r.decision == HANDED_OVER]
        return {
            "day": self.day.isoformat(),
            "requests": len(self.requests),
            "automated": len(self.automated),
            "handed_over": len(handed),
            "pending": sum(1 for r in self.requests if r.status == RECEIVED),
            "failed": sum(1 for r in self.requests if r.status == FAILED),
            "denominator": self.total,
            "rate_pct": pct_number(self.rate),
            "previous_7_days_rate_pct": pct_number(self.baseline_rate),
            "channels": {b.value: b.count for b in by_channel(self.requests)},
            "intents": {b.value: b.count for b in by_intent(self.requests)},
            "reasons": dict(Counter(r.reason or UNSPECIFIED for r in handed).most_common()),
            "anomalies": [a.as_dict() for a in self.anomalies],
        }


def _ticket(fact: RequestFact) -> str:
    return fact.ticket_number or fact.key


def compute_flash(facts: Sequence[RequestFact], day: date, now: datetime, *,
                  denominator: Denominator = ledger_denominator,
                  thresholds: FlashThresholds = FlashThresholds()) -> Flash:
    """The flash of the Paris day ``day`` from ``facts`` (at least that day and the 7 before, plus unfinished ones)
    as of ``now`` (naive UTC)."""
    today = [f for f in facts if f.paris_day == day]
    first = day - timedelta(days=BASELINE_DAYS)
    before = [f for f in facts if first <= f.paris_day < day]
    period = period_of(day, "day")
    total = denominator(period, today)
    automated = tuple(f for f in today if is_uo_tr11(f))
    baseline_total = denominator(Period(first, day - timedelta(days=1), f"{first}..{day - timedelta(days=1)}"),
                                 before) if before else None
    baseline = rate_pct(sum(1 for f in before if is_uo_tr11(f)), baseline_total)
    anomalies: list[Anomaly] = []
    rate = rate_pct(len(automated), total)
    if rate is not None and baseline is not None and baseline - rate >= thresholds.rate_drop_points:
        anomalies.append(Anomaly("rate_drop", f"automated rate {pct_number(rate)} % against "
                                              f"{pct_number(baseline)} % over the previous {BASELINE_DAYS} days",
                                 tuple(_ticket(f) for f in today if f.decision == HANDED_OVER)))
    handed_today = [f for f in today if f.decision == HANDED_OVER]
    previous = Counter(f.reason or UNSPECIFIED for f in before if f.decision == HANDED_OVER)
    for reason, count in Counter(f.reason or UNSPECIFIED for f in handed_today).most_common():
        mean = Fraction(previous.get(reason, 0), BASELINE_DAYS) or Fraction(1, BASELINE_DAYS)
        if count >= thresholds.spike_min and count >= thresholds.spike_factor * mean:
            anomalies.append(Anomaly("reason_spike", f"{count} hand-overs for {reason!r} against "
                                                     f"{float(mean):.1f} a day over the previous {BASELINE_DAYS} days",
                                     tuple(_ticket(f) for f in handed_today if (f.reason or UNSPECIFIED) == reason)))
    stuck = [f for f in facts if f.status == RECEIVED and now - f.created_at >= thresholds.stuck_after]
    if stuck:
        oldest = min(f.created_at for f in stuck)
        message = (f"{len(stuck)} request(s) unfinished for more than {_duration(thresholds.stuck_after)}, "
                   f"the oldest since {oldest:%Y-%m-%d %H:%M} UTC")
        anomalies.append(Anomaly("stuck", message,
                                 tuple(_ticket(f) for f in sorted(stuck, key=lambda f: f.created_at))))
    return Flash(day, tuple(today), automated, total, baseline, tuple(anomalies))


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d}" if minutes >= 60 else f"{minutes} min"


def format_flash(flash: Flash) -> str:
    data = flash.as_dict()
    rate = "unknown" if data["rate_pct"] is None else f"{data['rate_pct']} %"
    baseline = "unknown" if data["previous_7_days_rate_pct"] is None else f"{data['previous_7_days_rate_pct']} %"
    lines = [f"Sésame daily flash for {flash.day} (Paris)",
             f"  requests {data['requests']}   automated (UO-TR1.1) {data['automated']}   handed over "
             f"{data['handed_over']}   pending {data['pending']}   failed {data['failed']}",
             f"  automated rate {rate} (denominator {data['denominator'] if data['denominator'] is not None else '?'})"
             f"   previous {BASELINE_DAYS} days {baseline}"]
    if data["channels"]:
        lines.append("  by channel: " + ", ".join(f"{k} {v}" for k, v in data["channels"].items()))
    if data["intents"]:
        lines.append("  by intent: " + ", ".join(f"{k} {v}" for k, v in data["intents"].items()))
    if data["reasons"]:
        lines.append("  hand-over reasons: " + ", ".join(f"{k} {v}" for k, v in data["reasons"].items()))
    if not flash.anomalies:
        lines.append("  anomalies: none")
    for anomaly in flash.anomalies:
        tickets = f" — {', '.join(anomaly.tickets[:20])}" + (" …" if len(anomaly.tickets) > 20 else "")
        lines.append(f"  ANOMALY {anomaly.kind}: {anomaly.message}{tickets if anomaly.tickets else ''}")
    return "\n".join(lines)
