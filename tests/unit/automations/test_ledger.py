"""The ledger: its behaviours on SQLite and PostgreSQL, and a file created by an earlier version keeps working."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from automations.ledger import AUTOMATED, HANDED_OVER, RECEIVED, Ledger, Outcome, ShadowPlan
from automations.request import Request


def test_a_ledger_created_before_the_understanding_column_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, key VARCHAR(512) UNIQUE, channel VARCHAR(32),"
                   " sender VARCHAR(320), subject TEXT, status VARCHAR(16), intent VARCHAR(64), targets TEXT,"
                   " decision VARCHAR(16), reason VARCHAR(64), detail TEXT, partner_id VARCHAR(128),"
                   " ticket_sys_id VARCHAR(64), ticket_number VARCHAR(40), playbook VARCHAR(200),"
                   " created_at DATETIME, finished_at DATETIME)")
    ledger = Ledger(f"sqlite:///{path}")
    request = Request(key="<k@x>", channel="email", sender_address="a@b.fr", sender_name="", subject="s", text="t",
                      headers=())
    assert ledger.register(request)
    ledger.finish("<k@x>", Outcome(decision=AUTOMATED, understanding={"intent": "unlock"}))
    assert ledger.summary()["requests"][0]["understanding"] == {"intent": "unlock"}


def _request(key: str) -> Request:
    return Request(key=key, channel="email", sender_address="a@ml.fr", sender_name="", subject="s", text="t",
                   headers=())


def test_requests_actions_polls_and_shadow_plans_round_trip(database_url: str) -> None:
    """The ledger's behaviours on a SQLite file and on PostgreSQL (tests/fixtures/postgres.py)."""
    ledger = Ledger(database_url)
    try:
        start = datetime(2026, 1, 1)
        assert ledger.register(_request("<a@x>")) and not ledger.register(_request("<a@x>")), "a duplicate key"
        assert ledger.register(_request("<b@x>"))
        assert (ledger.status("<a@x>"), ledger.status("<nope@x>"), ledger.pending()) == (RECEIVED, None, 2)
        ledger.record_action("<a@x>", step="unlock", action="unlock", target="CN=j", before={"locked": True},
                             after={"locked": False}, dry_run=False, server="dc1")
        with pytest.raises(KeyError):
            ledger.record_action("<nope@x>", step="s", action="a", target="t", before={}, after={}, dry_run=False)
        ledger.finish("<a@x>", Outcome(decision=AUTOMATED, intent="unlock", targets=("j",), ticket_number="INC1"))
        ledger.finish("<b@x>", Outcome(decision=HANDED_OVER, reason="unknown_sender"))
        assert ledger.actions("<a@x>") == [{"step": "unlock", "action": "unlock", "target": "CN=j",
                                            "before": {"locked": True}, "after": {"locked": False}, "dry_run": False}]
        assert ledger.pending() == 0 and not ledger.is_idle(start)
        ledger.record_poll("inbox", datetime.now(UTC).replace(tzinfo=None), 0)
        assert ledger.is_idle(start)
        summary = ledger.summary()
        assert (summary["requests_seen"], summary["automated"], summary["handed_to_humans"]) == (2, 1, 1)
        assert summary["reasons"] == {"unknown_sender": 1} and summary["automated_pct"] == 50.0
        plan = ShadowPlan("<b@x>", "sys1", "INC2", "unlock", "account_unlock", 3, "abc", HANDED_OVER,
                          reason="not_locked", actions=({"action": "unlock", "target": "CN=j"},))
        ledger.record_shadow(plan)
        ledger.record_shadow(plan)  # a request handled again keeps its first plan
        [kept] = ledger.shadow_plans()
        assert kept.actions == plan.actions and (kept.request_key, kept.reason) == ("<b@x>", "not_locked")
    finally:
        ledger.engine.dispose()
