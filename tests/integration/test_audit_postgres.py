"""The audit chain on a real PostgreSQL: concurrent workers serialise on the head row, tampering is detected.

Runs on the test session's private PostgreSQL cluster (tests/fixtures/postgres.py), each test in a new database
dropped afterwards; without PostgreSQL installed the tests fail with the reason, they are never skipped.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from automations.audit import AuditKey, verify
from automations.audit_archive import purge_older_than
from automations.ledger import AUTOMATED, Ledger, Outcome
from automations.request import Request

pytestmark = pytest.mark.integration

KEY = AuditKey("p" * 32 + "-postgres-audit-test")


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    return postgres_url


def finish(ledger: Ledger, n: int) -> None:
    req = Request(key=f"<pg{n}@partner.fr>", channel="email", sender_address="a@partner.fr", sender_name="",
                  subject="s", text="merci de débloquer jdupont",
                  headers=(("Authentication-Results", "mx; dmarc=pass"),))
    assert ledger.register(req)
    ledger.finish(req.key, Outcome(decision=AUTOMATED, intent="unlock", targets=("jdupont",)), request=req)


def test_concurrent_workers_build_one_verifiable_chain(pg_url: str) -> None:
    Ledger(pg_url, audit_key=KEY).engine.dispose()
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        mine = Ledger(pg_url, audit_key=KEY)
        try:
            for n in range(15):
                finish(mine, 1000 * w + n)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            mine.engine.dispose()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ledger = Ledger(pg_url)
    report = verify(ledger.engine, KEY)
    ledger.engine.dispose()
    assert report.ok and report.checked == 90 and report.head_seq == 90


def test_tampering_and_purge_on_postgres(pg_url: str) -> None:
    ledger = Ledger(pg_url, audit_key=KEY)
    try:
        for n in range(1, 6):
            finish(ledger, n)
        assert verify(ledger.engine, KEY).ok
        with ledger.engine.begin() as connection:
            connection.execute(text("UPDATE audit_records SET record = replace(record, 'jdupont', 'root') "
                                    "WHERE seq = 2"))  # fmt: skip
            connection.execute(text("DELETE FROM audit_records WHERE seq = 4"))
        problems = verify(ledger.engine, KEY).problems
        assert any(p.startswith("record_modified: seq 2") for p in problems)
        assert any(p.startswith("record_missing: seq 4..4") for p in problems)
        assert verify(ledger.engine, AuditKey("w" * 32)).problems[0].startswith("wrong_key")
        with ledger.engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_records"))
            connection.execute(text("UPDATE audit_head SET seq = 0, hash = :g, key_check = NULL"), {"g": "0" * 64})
        for n in range(6, 9):
            finish(ledger, n)
        report = purge_older_than(ledger.engine, KEY, 1, now=datetime.now(UTC) + timedelta(days=2))
        assert report.purged == 3 and verify(ledger.engine, KEY).ok
    finally:
        ledger.engine.dispose()
