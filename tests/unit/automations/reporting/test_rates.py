"""Rates split by channel, intent, partner and playbook, and hand-over reasons, per period."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction

import pytest

from automations.ledger import AUTOMATED, DONE, HANDED_OVER, RECEIVED
from automations.reporting.figures import RequestFact
from automations.reporting.rates import handover_reasons_by_period, split_rates


def _fact(key: str, created: str, *, automated: bool = False, handed: str | None = None, channel: str = "email",
          intent: str | None = "unlock", partner: str | None = "ml-lyon", playbook: str | None = "unlock",
          status: str = DONE) -> RequestFact:
    decision = AUTOMATED if automated else HANDED_OVER if handed else None
    return RequestFact(key=key, channel=channel, status=status, decision=decision, reason=handed, intent=intent,
                       partner_id=partner, playbook=playbook if automated else None,
                       ticket_number=f"INC{key}" if decision else None, ticket_sys_id=None,
                       created_at=datetime.fromisoformat(created), finished_at=None)


FACTS = [
    _fact("1", "2026-03-09T08:00", automated=True),
    _fact("2", "2026-03-09T09:00", automated=True, partner="cap-emploi-13"),
    _fact("3", "2026-03-10T09:00", handed="vip_account", partner="cap-emploi-13"),
    _fact("4", "2026-03-10T10:00", handed="low_confidence", channel="selfservice", intent=None, partner=None),
    _fact("5", "2026-03-10T11:00", handed="vip_account"),
    _fact("6", "2026-03-16T08:00", automated=True, playbook="reset_password", intent="reset_password"),
    _fact("7", "2026-03-16T09:00", status=RECEIVED),  # still in the queue: counted, not automated
    _fact("8", "2026-03-31T22:30", automated=True),  # 1 April in Paris (UTC+2)
]


def test_rates_by_partner_per_week() -> None:
    rows = split_rates(FACTS, "partner", "week")
    table = [(r.period.label, r.value, len(r.requests), len(r.automated), r.rate_pct, r.share_pct) for r in rows]
    assert table == [
        ("2026-W11", "cap-emploi-13", 2, 1, 50, 20),
        ("2026-W11", "ml-lyon", 2, 1, 50, 20),
        ("2026-W11", "non précisé", 1, 0, 0, 0),
        ("2026-W12", "ml-lyon", 2, 1, 50, 50),
        ("2026-W14", "ml-lyon", 1, 1, 100, 100),
    ]
    assert rows[0].tickets == ["INC2"]


def test_shares_add_up_to_the_period_rate() -> None:
    for dimension in ("channel", "intent", "partner", "playbook"):
        week = [r for r in split_rates(FACTS, dimension, "week") if r.period.label == "2026-W11"]  # type: ignore[arg-type]
        assert sum((r.share_pct for r in week), Fraction(0)) == 40  # 2 automated of 5 requests


def test_rates_by_playbook_per_month_and_contract_year() -> None:
    months = {(r.period.label, r.value): r.rate_pct for r in split_rates(FACTS, "playbook", "month")}
    assert months == {("2026-03", "non précisé"): 0, ("2026-03", "unlock"): 100,
                      ("2026-03", "reset_password"): 100, ("2026-04", "unlock"): 100}
    years = split_rates(FACTS, "channel", "contract_year", contract_start=date(2026, 3, 10))
    assert [(r.period.label, r.value, len(r.requests)) for r in years] == [("Y1", "email", 5), ("Y1", "selfservice", 1)]
    assert split_rates(FACTS, "channel", "contract_year") == []  # no contract start: no contract year


def test_handover_reasons_per_day() -> None:
    rows = handover_reasons_by_period(FACTS, "day")
    assert [(r.period.label, r.reason, len(r.requests), r.share_pct) for r in rows] == [
        ("2026-03-10", "vip_account", 2, Fraction(200, 3)),
        ("2026-03-10", "low_confidence", 1, Fraction(100, 3)),
    ]


def test_unknown_dimension() -> None:
    with pytest.raises(ValueError, match="channel, intent, partner, playbook"):
        split_rates(FACTS, "colour", "day")  # type: ignore[arg-type]
