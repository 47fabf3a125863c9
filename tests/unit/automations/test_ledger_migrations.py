"""The ledger's schema is Alembic's: the migrations build exactly the models, on SQLite and on PostgreSQL, and a
database made before migrations is brought to head with its rows."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from automations import ledger_migrations
from automations.ledger import AUTOMATED, Ledger, Outcome, TicketProvenance
from automations.request import Request


def _request(key: str) -> Request:
    return Request(key=key, channel="email", sender_address="a@ml.fr", sender_name="", subject="s", text="t",
                   headers=())


def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    ledger = Ledger(database_url)
    try:
        with ledger.engine.connect() as connection:
            assert ledger_migrations.current(connection) == ledger_migrations.head()
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            # Several MetaData at once, as env.py gives them (alembic accepts a sequence; its stub says one).
            assert compare_metadata(context, ledger_migrations.target_metadata()) == []  # type: ignore[arg-type]
    finally:
        ledger.engine.dispose()


def test_workers_starting_together_on_an_empty_database_upgrade_it_once(database_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            Ledger(database_url).engine.dispose()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
            assert connection.scalar(text("SELECT count(*) FROM audit_head")) == 1
    finally:
        engine.dispose()


def test_the_provenance_revision_goes_down_and_up_again(database_url: str) -> None:
    ledger = Ledger(database_url)
    try:
        assert ledger.register(_request("<kept@x>"))
        cfg = ledger_migrations.config()
        with ledger.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0001")
        assert "uo_tr11" not in {c["name"] for c in inspect(ledger.engine).get_columns("requests")}
        ledger_migrations.upgrade(ledger.engine)
        assert ledger_migrations.is_current(ledger.engine)
        assert ledger.status("<kept@x>") == "received"
    finally:
        ledger.engine.dispose()


def test_a_sqlite_file_from_before_migrations_is_brought_to_head_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "first-release.db"
    with sqlite3.connect(path) as old:  # the layout of the first releases: no lease, no journal, no audit tables
        old.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, key VARCHAR(512) UNIQUE, channel VARCHAR(32), "
                    "sender VARCHAR(320), subject TEXT, status VARCHAR(16), intent VARCHAR(64), targets TEXT, "
                    "decision VARCHAR(16), reason VARCHAR(64), detail TEXT, partner_id VARCHAR(128), "
                    "ticket_sys_id VARCHAR(64), ticket_number VARCHAR(40), playbook VARCHAR(200), "
                    "created_at DATETIME, finished_at DATETIME)")
        old.execute("CREATE TABLE actions (id INTEGER PRIMARY KEY, request_id INTEGER REFERENCES requests(id), "
                    "step VARCHAR(128), action VARCHAR(128), target TEXT, before TEXT, after TEXT, dry_run BOOLEAN, "
                    "at DATETIME)")
        old.execute("CREATE TABLE polls (id INTEGER PRIMARY KEY, source VARCHAR(320), started_at DATETIME, "
                    "finished_at DATETIME, new_requests INTEGER)")
        old.execute("INSERT INTO requests (key, channel, sender, subject, status, targets, decision, ticket_number, "
                    "playbook, created_at, finished_at) VALUES ('<old@x>', 'email', 'a@ml.fr', 'Compte bloqué', "
                    "'done', '[\"jdupont\"]', 'automated', 'INC0010001', 'account_unlock@1#abc', "
                    "'2026-01-05 08:00:00', '2026-01-05 08:01:00')")
        old.execute("INSERT INTO actions (request_id, step, action, target, before, after, dry_run, at) "
                    "VALUES (1, 'unlock', 'unlock', 'CN=jdupont', '{}', '{}', 0, '2026-01-05 08:00:30')")

    ledger = Ledger(f"sqlite:///{path}")
    try:
        assert ledger_migrations.is_current(ledger.engine)
        [row] = ledger.summary()["requests"]
        assert (row["key"], row["decision"], row["ticket"]) == ("<old@x>", AUTOMATED, "INC0010001")
        assert [a["step"] for a in ledger.actions("<old@x>")] == ["unlock"]
        with ledger.engine.connect() as connection:
            assert connection.scalar(text("SELECT uo_tr11 FROM requests")) is None  # judged as it was recorded
        # The new columns and tables work on the upgraded file.
        assert ledger.register(_request("<new@x>"))
        provenance = TicketProvenance(created_by_automation=True, created_by="h:1", closed_by_automation=True,
                                      closed_by="h:1", tag="UO-TR1.1")
        ledger.finish("<new@x>", Outcome(decision=AUTOMATED, ticket_number="INC0010002", provenance=provenance,
                                          uo_tr11=True))
        ledger.journal_step("<new@x>", "s", action="a", status="done", playbook=("p", 1, "h"))
        assert [e.step for e in ledger.journal("<new@x>")] == ["s"]
    finally:
        ledger.engine.dispose()
    # Started again, nothing more to do.
    again = Ledger(f"sqlite:///{path}")
    assert len(again.summary()["requests"]) == 2
    again.engine.dispose()
