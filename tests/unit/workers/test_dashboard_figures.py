"""The dashboard's figures (automations/reporting/figures.py) on a real SQLite ledger with known rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import update

from automations.ledger import Ledger, Outcome, RequestRow
from automations.reporting.figures import (
    RequestFact,
    compute_figures,
    contract_year_figure,
    is_uo_tr11,
    load_requests,
    rate_series,
)
from automations.reporting.periods import Period
from automations.request import Request

NOW = datetime(2026, 3, 31, 12, 0)  # naive UTC, as the ledger stores instants


def add(ledger: Ledger, key: str, created: datetime, *, decision: str | None = "automated", reason: str | None = None,
        intent: str | None = "unlock", channel: str = "email", finished: datetime | None = None) -> None:
    """One request through the real Ledger API, then its timestamps set to the scenario's (the API stamps now)."""
    ledger.register(Request(key=key, channel=channel, sender_address="agent@ml.fr", sender_name="Agent",
                            subject="Compte bloqué", text="", headers=()))
    values: dict[str, object] = {"created_at": created}
    if decision is not None:
        ledger.finish(key, Outcome(decision=decision, reason=reason, intent=intent, ticket_number=f"INC-{key}",
                                   ticket_sys_id=f"sys-{key}"))
        values["finished_at"] = finished or created + timedelta(minutes=5)
    with ledger.engine.begin() as connection:
        connection.execute(update(RequestRow).where(RequestRow.key == key).values(**values))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    # 30 March (Paris): 2 automated of 3. 23:30 UTC on 30 March is 1:30 on 31 March in Paris (summer time).
    add(ledger, "a1", datetime(2026, 3, 30, 8, 0))
    add(ledger, "a2", datetime(2026, 3, 30, 9, 0), channel="servicenow", intent="reset_password")
    add(ledger, "h1", datetime(2026, 3, 30, 10, 0), decision="handed_over", reason="LOW_CONFIDENCE", intent=None)
    # 31 March (Paris): 1 automated of 4 (one still waiting, one handed over, one failed-automation counted as not).
    add(ledger, "a3", datetime(2026, 3, 30, 23, 30))
    add(ledger, "h2", datetime(2026, 3, 31, 7, 0), decision="handed_over", reason="PROTECTED_ACCOUNT")
    add(ledger, "h3", datetime(2026, 3, 31, 8, 0), decision="handed_over", reason="LOW_CONFIDENCE")
    add(ledger, "w1", datetime(2026, 3, 31, 9, 0), decision=None)
    # Long ago (before the 12-month window), still waiting: it is in the queue, not in the volumes.
    add(ledger, "w0", datetime(2024, 1, 2, 9, 0), decision=None)
    return ledger


def test_rates_are_per_paris_day_with_the_requests_behind_them(ledger: Ledger) -> None:
    figures = compute_figures(ledger.engine, now=NOW, contract_start=date(2025, 9, 1))
    days = {p.period.label: p for p in figures.rates["day"]}
    assert list(days) == ["2026-03-30", "2026-03-31"]
    assert (len(days["2026-03-30"].automated), days["2026-03-30"].total) == (2, 3)
    assert (len(days["2026-03-31"].automated), days["2026-03-31"].total) == (1, 4)
    assert days["2026-03-31"].rate == Fraction(25)
    assert {r.key for r in days["2026-03-31"].requests} == {"a3", "h2", "h3", "w1"}
    assert figures.tickets("rate/day/2026-03-30") == ("Demandes de la période 2026-03-30",
                                                      days["2026-03-30"].requests)
    (week,) = figures.rates["week"]
    assert week.period.label == "2026-W14" and (len(week.automated), week.total) == (3, 7)


def test_volumes_reasons_and_queue(ledger: Ledger) -> None:
    figures = compute_figures(ledger.engine, now=NOW, contract_start=date(2025, 9, 1))
    assert [(b.value, b.count, b.automated) for b in figures.channels] == [("email", 6, 2), ("servicenow", 1, 1)]
    assert [(b.value, b.count) for b in figures.intents] == [("unlock", 4), ("non précisé", 2),
                                                              ("reset_password", 1)]
    assert [(b.value, b.count) for b in figures.reasons] == [("LOW_CONFIDENCE", 2), ("PROTECTED_ACCOUNT", 1)]
    assert [r.key for r in figures.queue.requests] == ["w0", "w1"]
    assert figures.queue.oldest_wait == NOW - datetime(2024, 1, 2, 9, 0)
    assert "w0" not in {r.key for r in figures.requests}  # outside the 12-month window
    _title, rows = figures.tickets("reason/LOW_CONFIDENCE") or ("", ())
    assert {r.ticket_number for r in rows} == {"INC-h1", "INC-h3"}
    assert figures.tickets("channel/fax") is None


def test_contract_year_band_and_bonus(ledger: Ledger) -> None:
    figures = compute_figures(ledger.engine, now=NOW, contract_start=date(2025, 9, 1))
    year = figures.contract_year
    assert year is not None and year.period.label == "Y1"
    assert (len(year.automated), year.total) == (3, 7)  # w0 is before the contract
    assert year.rate == Fraction(300, 7)  # 42.857… %: the 30–49 band
    assert year.band is not None and year.band.bonus_pct == 10
    bonus = year.bonus()
    assert bonus is not None and bonus["bands"] == [{"from_pct": 30, "to_pct": 49, "points": 12.857143,
                                                     "bonus_pct": 10, "interactions": 0.9}]


def test_denominator_is_pluggable_and_unknown_means_no_rate(ledger: Ledger) -> None:
    facts = load_requests(ledger.engine)

    def servicenow_count(period: Period, requests: object) -> int | None:
        return {"2026-03-30": 10}.get(period.label)  # the other day: not counted yet

    points = {p.period.label: p for p in rate_series(facts, "day", denominator=servicenow_count)}
    assert points["2026-03-30"].rate == Fraction(20)
    assert points["2026-03-31"].total is None and points["2026-03-31"].rate is None
    year = contract_year_figure(facts, date(2025, 9, 1), date(2026, 3, 31),
                                denominator=lambda period, requests: 0)
    assert year.rate is None and year.band is None and year.bonus() is None


def test_only_automated_and_done_counts_for_uo_tr11() -> None:
    base = dict(key="k", channel="email", reason=None, intent=None, partner_id=None, playbook=None,
                ticket_number=None, ticket_sys_id=None, created_at=NOW, finished_at=None)
    assert is_uo_tr11(RequestFact(status="done", decision="automated", **base))  # type: ignore[arg-type]
    assert not is_uo_tr11(RequestFact(status="failed", decision="automated", **base))  # type: ignore[arg-type]
    assert not is_uo_tr11(RequestFact(status="done", decision="handed_over", **base))  # type: ignore[arg-type]


def test_sla_figures_of_automated_tickets(ledger: Ledger) -> None:
    figures = compute_figures(ledger.engine, now=NOW, contract_start=date(2025, 9, 1))
    assert figures.sla is not None
    sla = {s.indicator: s for s in figures.sla}
    # a1, a2 opened in business hours and finished 5 minutes later: met. a3 opened at 01:30 Paris: the clock
    # starts at 07:00, so 5 minutes later is within both SLAs.
    assert {r.key for r in sla["GAP03"].met} == {"a1", "a2", "a3"} and sla["GAP03"].rate == 100
    assert {r.key for r in sla["GSP04"].met} == {"a1", "a2", "a3"}


def test_sla_figure_counts_a_late_ticket_as_missed(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'late.db'}")
    # Opened Monday 30 March 08:00 UTC (10:00 Paris), finished 3 hours later: GSP04 (30 min) and GAP03 (2 h) missed.
    add(ledger, "late", datetime(2026, 3, 30, 8, 0), finished=datetime(2026, 3, 30, 11, 0))
    add(ledger, "fast", datetime(2026, 3, 30, 8, 0), finished=datetime(2026, 3, 30, 8, 10))
    figures = compute_figures(ledger.engine, now=NOW, contract_start=date(2025, 9, 1))
    assert figures.sla is not None
    for sla in figures.sla:
        assert [r.key for r in sla.missed] == ["late"] and sla.rate == 50, sla.indicator
