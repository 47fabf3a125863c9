"""The daily flash: the day's volumes and rate, and its anomalies against the seven days before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.orm import Session

from automations.ledger import AUTOMATED, DONE, HANDED_OVER, RECEIVED, Ledger, RequestRow
from automations.reporting.figures import RequestFact
from automations.reporting.flash import compute_flash, format_flash
from automations.reporting.periods import Period
from workers.report_cli import report

DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 11, 8, 0)  # 9:00 in Paris the next morning


def _fact(n: int, day: date, *, automated: bool = False, reason: str | None = None, status: str = DONE,
          hour: int = 9) -> RequestFact:
    decision = AUTOMATED if automated else HANDED_OVER if reason else None
    return RequestFact(key=f"<{n}@x>", channel="email", status=status, decision=decision, reason=reason,
                       intent="unlock", partner_id="ml", playbook=None, ticket_number=f"INC{n:07d}",
                       ticket_sys_id=None, finished_at=None,
                       created_at=datetime.combine(day, datetime.min.time()) + timedelta(hours=hour))


def _week_before(per_day_automated: int, per_day_handed: int, reason: str = "unknown_sender") -> list[RequestFact]:
    facts, n = [], 1000
    for back in range(1, 8):
        day = DAY - timedelta(days=back)
        for _ in range(per_day_automated):
            facts.append(_fact(n := n + 1, day, automated=True))
        for _ in range(per_day_handed):
            facts.append(_fact(n := n + 1, day, reason=reason))
    return facts


def test_a_normal_day_has_volumes_rate_and_no_anomaly() -> None:
    today = [_fact(1, DAY, automated=True), _fact(2, DAY, automated=True), _fact(3, DAY, reason="unknown_sender")]
    flash = compute_flash(_week_before(2, 1) + today, DAY, NOW)
    data = flash.as_dict()
    assert (data["requests"], data["automated"], data["handed_over"], data["rate_pct"]) == (3, 2, 1, 66.7)
    assert data["previous_7_days_rate_pct"] == 66.7 and data["anomalies"] == []
    assert data["reasons"] == {"unknown_sender": 1} and data["channels"] == {"email": 3}
    assert "anomalies: none" in format_flash(flash)


def test_rate_drop_against_the_previous_week() -> None:
    today = [_fact(1, DAY, automated=True), _fact(2, DAY, reason="unsure_understanding"),
             _fact(3, DAY, reason="unsure_understanding")]
    flash = compute_flash(_week_before(3, 1) + today, DAY, NOW)  # 33.3 % against 75 %
    kinds = {a.kind: a for a in flash.anomalies}
    assert "rate_drop" in kinds
    assert kinds["rate_drop"].tickets == ("INC0000002", "INC0000003")
    assert "ANOMALY rate_drop" in format_flash(flash)


def test_a_small_drop_is_not_an_anomaly() -> None:
    today = [_fact(n, DAY, automated=n <= 7, reason=None if n <= 7 else "x") for n in range(1, 11)]  # 70 %
    flash = compute_flash(_week_before(3, 1) + today, DAY, NOW)  # 75 % before: 5 points
    assert "rate_drop" not in [a.kind for a in flash.anomalies]


def test_spike_of_a_handover_reason() -> None:
    today = [_fact(n, DAY, reason="account_disabled") for n in range(1, 5)] + [_fact(9, DAY, automated=True)]
    flash = compute_flash(_week_before(1, 0) + today, DAY, NOW)
    spikes = [a for a in flash.anomalies if a.kind == "reason_spike"]
    assert len(spikes) == 1 and "account_disabled" in spikes[0].message and len(spikes[0].tickets) == 4


def test_a_usual_reason_at_its_usual_level_is_no_spike() -> None:
    today = [_fact(n, DAY, reason="unknown_sender") for n in range(1, 4)] + [
        _fact(n, DAY, automated=True) for n in range(4, 10)]
    flash = compute_flash(_week_before(6, 3) + today, DAY, NOW)
    assert flash.anomalies == ()


def test_stuck_requests_whatever_their_day() -> None:
    old = _fact(1, DAY - timedelta(days=3), status=RECEIVED)
    recent = RequestFact(**{**_fact(2, DAY, status=RECEIVED).__dict__, "created_at": NOW - timedelta(minutes=10)})
    flash = compute_flash([old, recent], DAY, NOW)
    stuck = [a for a in flash.anomalies if a.kind == "stuck"]
    assert len(stuck) == 1 and stuck[0].tickets == ("INC0000001",)


def test_the_denominator_is_pluggable() -> None:
    asked: list[Period] = []

    def servicenow(period: Period, requests: Sequence[RequestFact]) -> int:
        asked.append(period)
        return 10

    flash = compute_flash([_fact(1, DAY, automated=True)], DAY, NOW, denominator=servicenow)
    assert flash.as_dict()["rate_pct"] == 10.0 and flash.as_dict()["denominator"] == 10
    assert asked[0].first == asked[0].last == DAY


def test_cli_flash_from_the_ledger(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    with Session(ledger.engine) as session:
        session.add_all([RequestRow(key="<1@x>", channel="email", sender="a@b", status=DONE, decision=AUTOMATED,
                                    ticket_number="INC1", created_at=datetime(2026, 3, 10, 8)),
                         RequestRow(key="<2@x>", channel="email", sender="a@b", status=DONE, decision=HANDED_OVER,
                                    reason="unknown_sender", ticket_number="INC2",
                                    created_at=datetime(2026, 3, 10, 9))])
        session.commit()
    config = tmp_path / "sesame.yaml"
    config.write_text(f"ledger_url: {ledger.engine.url}\n", encoding="utf-8")
    result = CliRunner().invoke(report, ["flash", "--date", "2026-03-10", "--denominator", "ledger", "--json",
                                         "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert '"rate_pct": 50.0' in result.output and '"requests": 2' in result.output
    needs_config = CliRunner().invoke(report, ["flash", "--date", "2026-03-10"], env={"SESAME_CONFIG": ""})
    assert needs_config.exit_code != 0 and "--config" in needs_config.output
