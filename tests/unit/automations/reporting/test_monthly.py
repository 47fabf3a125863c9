"""The monthly UO-TR1.1 report: counts, rate, bonus projection (tender bands) and the ticket list."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from automations.ledger import AUTOMATED, DONE, HANDED_OVER, Ledger, RequestRow
from automations.reporting.figures import RequestFact
from automations.reporting.monthly import format_monthly, monthly_report, parse_month
from automations.reporting.periods import Period
from workers.report_cli import report


def _fact(n: int, created: str, *, automated: bool) -> RequestFact:
    return RequestFact(key=f"<{n}@x>", channel="email", status=DONE, decision=AUTOMATED if automated else HANDED_OVER,
                       reason=None if automated else "unknown_sender", intent="unlock", partner_id="ml",
                       playbook="account_unlock@4" if automated else None, ticket_number=f"INC{n:07d}",
                       ticket_sys_id=None, created_at=datetime.fromisoformat(created),
                       finished_at=datetime.fromisoformat(created))


MARCH = [_fact(n, f"2026-03-{n + 1:02d}T09:00", automated=n != 28) for n in range(1, 29)]  # 27 automated of 28
FEBRUARY = [_fact(100 + n, f"2026-02-{n:02d}T09:00", automated=n <= 3) for n in range(1, 11)]


def test_parse_month() -> None:
    assert parse_month("2026-02") == Period(date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    for bad in ("2026-13", "March", "2026"):
        with pytest.raises(ValueError, match="YYYY-MM"):
            parse_month(bad)


def test_month_with_a_servicenow_denominator_projects_the_tender_bands() -> None:
    def servicenow(period: Period, requests: Sequence[RequestFact]) -> int:
        return {"2026-03": 37 + 63}.get(period.label, 1000)  # 27 + 10 more UO-TR1.1 of 100 below

    extra = [_fact(200 + n, "2026-03-20T10:00", automated=True) for n in range(10)]
    result = monthly_report(MARCH + extra + FEBRUARY, parse_month("2026-03"), denominator=servicenow,
                            unit_price=Decimal("20"))
    data = result.as_dict()
    month = data["month"]
    assert (month["uo_tr11"], month["denominator"], month["rate_pct"]) == (37, 100, 37.0)
    # The tender's example: 37 % → 7 points at 10 %, i.e. 7 interactions of 100 at +10 % of 20.
    assert month["bonus_projection"]["bands"] == [
        {"from_pct": 30, "to_pct": 49, "points": 7, "bonus_pct": 10, "interactions": 7}]
    assert month["bonus_projection"]["bonus_amount"] == 14
    assert len(data["tickets"]) == 37 and data["tickets"][0]["ticket"] == "INC0000001"
    assert data["contract_year_to_date"] is None
    text = format_monthly(result)
    assert "7 points at 10 %" in text and "INC0000001" in text


def test_contract_year_to_date_from_the_anniversary() -> None:
    result = monthly_report(MARCH + FEBRUARY, parse_month("2026-03"), contract_start=date(2026, 2, 15))
    year = result.as_dict()["contract_year_to_date"]
    assert year["period"] == "Y1 to 2026-03-31" and year["from"] == "2026-02-15"
    assert (year["uo_tr11"], year["denominator"]) == (27, 28)  # February's requests are before the 15th


def test_unknown_denominator_gives_no_projection() -> None:
    result = monthly_report(MARCH, parse_month("2026-04"))
    assert result.as_dict()["month"]["rate_pct"] is None
    assert result.as_dict()["month"]["bonus_projection"] is None
    assert "unknown" in format_monthly(result)


def test_cli_monthly_from_the_ledger(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    with Session(ledger.engine) as session:
        session.add_all([RequestRow(key=f"<{n}@x>", channel="email", sender="a@b", status=DONE,
                                    decision=AUTOMATED if n < 3 else HANDED_OVER, ticket_number=f"INC{n}",
                                    created_at=datetime(2026, 3, 10, 8)) for n in range(4)])
        session.commit()
    config = tmp_path / "sesame.yaml"
    config.write_text(f"ledger_url: {ledger.engine.url}\ncontract:\n  anniversary: 2026-01-01\n", encoding="utf-8")
    result = CliRunner().invoke(report, ["monthly", "--month", "2026-03", "--denominator", "ledger", "--json",
                                         "--unit-price", "10", "--config", str(config)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["month"]["uo_tr11"], data["month"]["denominator"], data["month"]["rate_pct"]) == (3, 4, 75.0)
    assert [b["points"] for b in data["month"]["bonus_projection"]["bands"]] == [19, 25]
    assert data["contract_year_to_date"]["period"] == "Y1 to 2026-03-31"
    bad = CliRunner().invoke(report, ["monthly", "--month", "03/2026", "--denominator", "ledger"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output
