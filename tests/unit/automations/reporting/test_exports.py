"""The daily raw-data export: one row per request of a Paris day, CSV always, Parquet with the optional extra."""

from __future__ import annotations

import csv
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from automations.ledger import AUTOMATED, DONE, HANDED_OVER, RECEIVED, Ledger, RequestRow
from automations.reporting.exports import COLUMNS, ExportError, day_rows, export_day
from workers.report_cli import report

DAY = date(2026, 3, 10)
SECRET_SUBJECT = "Mon mot de passe est Hunter2!"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    rows = [
        # 23:30 UTC on the 9th is 00:30 on the 10th in Paris: in the export.
        RequestRow(key="<a@x>", channel="email", sender="claire@ml.fr", subject=SECRET_SUBJECT, status=DONE,
                   decision=AUTOMATED, intent="unlock", partner_id="ml-lyon", playbook="account_unlock@4#abc",
                   ticket_number="INC0010001", ticket_sys_id="s1", created_at=datetime(2026, 3, 9, 23, 30),
                   finished_at=datetime(2026, 3, 9, 23, 31, 15), detail="compte jdupont"),
        RequestRow(key="<b@x>", channel="email", sender="x@evil.example", subject="hello", status=DONE,
                   decision=HANDED_OVER, reason="unknown_sender", intent="unlock", ticket_number="INC0010002",
                   created_at=datetime(2026, 3, 10, 9, 0), finished_at=datetime(2026, 3, 10, 9, 0, 30)),
        RequestRow(key="<c@x>", channel="email", sender="k@ml.fr", subject="?", status=RECEIVED,
                   created_at=datetime(2026, 3, 10, 22, 59, 59)),
        # Other days: 23:00 UTC on the 10th is already the 11th in Paris; the 9th at noon.
        RequestRow(key="<d@x>", channel="email", sender="k@ml.fr", subject="?", status=RECEIVED,
                   created_at=datetime(2026, 3, 10, 23, 0)),
        RequestRow(key="<e@x>", channel="email", sender="k@ml.fr", subject="?", status=DONE, decision=AUTOMATED,
                   created_at=datetime(2026, 3, 9, 12, 0)),
    ]
    with Session(ledger.engine) as session:
        session.add_all(rows)
        session.commit()
    return ledger


def test_rows_are_the_requests_of_the_paris_day(ledger: Ledger) -> None:
    rows = day_rows(ledger.engine, DAY)
    assert [r.request_key for r in rows] == ["<a@x>", "<b@x>", "<c@x>"]
    first = rows[0]
    assert (first.outcome, first.uo_tr11, first.duration_seconds) == (AUTOMATED, True, 75)
    assert (rows[1].uo_tr11, rows[1].reason, rows[2].finished_at, rows[2].duration_seconds) == (
        False, "unknown_sender", None, None)


def test_csv_has_the_documented_columns_and_no_message_content(ledger: Ledger, tmp_path: Path) -> None:
    path, count = export_day(ledger.engine, DAY, "csv", tmp_path / "out")
    assert (path.name, count) == ("sesame-requests-2026-03-10.csv", 3)
    text = path.read_text(encoding="utf-8")
    assert SECRET_SUBJECT not in text and "claire@ml.fr" not in text and "jdupont" not in text
    rows = list(csv.DictReader(text.splitlines()))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0] == {
        "request_key": "<a@x>", "ticket_number": "INC0010001", "ticket_sys_id": "s1", "channel": "email",
        "intent": "unlock", "partner_id": "ml-lyon", "playbook": "account_unlock@4#abc", "status": "done",
        "outcome": "automated", "reason": "", "created_at": "2026-03-09T23:30:00Z",
        "finished_at": "2026-03-09T23:31:15Z", "duration_seconds": "75", "uo_tr11": "true"}
    assert rows[2]["finished_at"] == "" and rows[2]["uo_tr11"] == "false"


def test_parquet_keeps_types(ledger: Ledger, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the optional extra sesame[parquet] is not installed")
    path, count = export_day(ledger.engine, DAY, "parquet", tmp_path)
    table = pq.read_table(path)
    assert table.column_names == list(COLUMNS) and table.num_rows == count == 3
    data = table.to_pylist()
    assert data[0]["uo_tr11"] is True and data[0]["duration_seconds"] == 75
    assert data[0]["created_at"].isoformat() == "2026-03-09T23:30:00+00:00"
    assert data[2]["finished_at"] is None


def test_parquet_without_pyarrow_says_how_to_install_it(ledger: Ledger, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    with pytest.raises(ExportError, match=r"sesame\[parquet\]"):
        export_day(ledger.engine, DAY, "parquet", tmp_path)


def test_cli_writes_the_file(ledger: Ledger, tmp_path: Path) -> None:
    config = tmp_path / "sesame.yaml"
    config.write_text(f"ledger_url: {ledger.engine.url}\n", encoding="utf-8")
    result = CliRunner().invoke(report, ["export", "--date", "2026-03-10", "--format", "csv",
                                         "--output", str(tmp_path / "bi"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "3 request(s)" in result.output
    assert (tmp_path / "bi" / "sesame-requests-2026-03-10.csv").is_file()
    bad = CliRunner().invoke(report, ["export", "--format", "xlsx", "--output", str(tmp_path)])
    assert bad.exit_code == 2


def test_cli_refuses_a_ledger_file_that_does_not_exist(tmp_path: Path) -> None:
    config = tmp_path / "sesame.yaml"
    config.write_text(f"ledger_url: sqlite:///{tmp_path / 'typo.db'}\n", encoding="utf-8")
    result = CliRunner().invoke(report, ["export", "--date", "2026-03-10", "--output", str(tmp_path / "bi"),
                                         "--config", str(config)])
    assert result.exit_code == 1 and "no such ledger file" in result.output
    assert not (tmp_path / "typo.db").exists()
