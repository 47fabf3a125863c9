"""The daily flash: a beat entry at 09:00 Paris time, and a task that computes yesterday's flash and keeps it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, Outcome, TicketProvenance
from automations.request import Request
from workers import celery_app
from workers.config import Settings, load_settings

PARIS = ZoneInfo("Europe/Paris")
CONFIG = {
    "servicenow": {"url": "https://sn.example.test", "user": "bot", "password": "in-file"},
    "graph": {"tenant": "t", "client_id": "c", "client_secret": "s"},
    "mailbox": {"address": "support@agence.test"},
    "directory": {"url": "ldaps://dc:636", "bind_dn": "svc", "password": "p", "base_dn": "DC=a,DC=b"},
    "partners_file": "partners.json",
    "trust": {"authserv_ids": ["mx.agence.test"]},
}


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    (tmp_path / "partners.json").write_text("[]")
    path = tmp_path / "sesame.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "ledger_url": f"sqlite:///{tmp_path / 'ledger.db'}"}))
    monkeypatch.setenv("SESAME_CONFIG", str(path))  # configure() sets it; restored after the test
    previous = celery_app._settings
    settings = load_settings(path, environ={})
    celery_app.configure(settings, path)
    yield settings
    celery_app._settings = previous


def test_beat_runs_the_flash_at_nine_paris_time(configured: Settings) -> None:
    entry = celery_app.app.conf.beat_schedule["daily-flash"]
    assert entry["task"] == "sesame.daily_flash"
    schedule = entry["schedule"]
    assert (schedule.hour, schedule.minute) == ({9}, {0}) and schedule.tz == PARIS
    # Run at 09:00 Paris on the last Saturday of March, next due at 09:00 Paris on Sunday (after the clocks change).
    last = datetime(2026, 3, 28, 9, 0, tzinfo=PARIS)
    _start, delta, _now = schedule.remaining_delta(last)
    assert (last + delta).astimezone(PARIS) == datetime(2026, 3, 29, 9, 0, tzinfo=PARIS)


def test_the_task_computes_yesterdays_flash_and_keeps_it_in_the_ledger(configured: Settings) -> None:
    from workers.tasks import daily_flash

    ledger = Ledger(configured.ledger_url)
    for key, decision in (("<a@x>", AUTOMATED), ("<b@x>", HANDED_OVER)):
        ledger.register(Request(key=key, channel="email", sender_address="c@ml.fr", sender_name="", subject="s",
                                text="t", headers=()))
        counted = decision == AUTOMATED
        ledger.finish(key, Outcome(decision=decision, reason=None if counted else "unknown_sender",
                                   ticket_number=f"INC-{key}", uo_tr11=counted,
                                   provenance=TicketProvenance(True, closed_by_automation=counted,
                                                               tag="UO-TR1.1" if counted else None)))
    today = datetime.now(PARIS).date()
    body = daily_flash.run(day=today.isoformat(), denominator="ledger")
    assert ledger.flash_report(today) == ("ledger", body)
    assert ledger.flash_report(today - timedelta(days=1)) is None
    assert (body["automated"], body["requests"], body["rate_pct"]) == (1, 2, 50.0), body
    ledger.engine.dispose()


def test_without_a_day_the_flash_is_yesterdays_in_paris(configured: Settings) -> None:
    from workers.tasks import daily_flash

    daily_flash.run(denominator="ledger")
    ledger = Ledger(configured.ledger_url)
    yesterday: date = datetime.now(PARIS).date() - timedelta(days=1)
    assert ledger.flash_report(yesterday) is not None
    ledger.engine.dispose()
