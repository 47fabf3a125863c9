"""The ledger keeps working on a file created by an earlier version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from automations.ledger import AUTOMATED, Ledger, Outcome
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
