"""The ledger's schema migrations (Alembic), shipped inside the package so every deployment can upgrade itself.

``upgrade(engine)`` brings a database to the newest revision; ``Ledger`` calls it on start, so an operator
upgrades Sésame and the ledger follows (docs/runbook.md, "Ledger database"). Workers starting together are
serialised (a PostgreSQL advisory lock; a lock file beside a SQLite database), and a database already at head
costs one query. A database made by a Sésame from before migrations (tables present, no ``alembic_version``,
maybe without the newer columns) is completed in place by the baseline revision, rows kept.

New revision (developers): ``alembic -c automations/ledger_migrations/alembic.ini -x url=sqlite:///dev.db
revision --autogenerate -m "what changes"``, then read and edit what it wrote.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, Engine

HERE = Path(__file__).resolve().parent
# Any constant shared by every Sésame process: the advisory lock serialising upgrades on PostgreSQL.
_PG_LOCK_ID = 0x5E5A_4E1E


def target_metadata() -> list[MetaData]:
    """The models the migrations must produce: the ledger's tables and the audit trail's."""
    from automations.audit import AuditBase
    from automations.ledger import Base

    return [Base.metadata, AuditBase.metadata]


def config() -> Config:
    """Alembic's configuration for this package (no ini file needed at run time)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def head() -> str:
    """The newest revision shipped with this Sésame."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None, "the migrations package has no revision"
    return revision


def current(connection: Connection) -> str | None:
    """The revision the database is at (None: empty, or made before migrations)."""
    return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    with engine.connect() as connection:
        return current(connection) == head()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision, once even when several processes start at the same time."""
    if is_current(engine):
        return
    with _serialised(engine) as connection:
        cfg = config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


@contextlib.contextmanager
def _serialised(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only one process at a time holds for migrating."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            # Transaction-scoped: released at commit or rollback; PostgreSQL's DDL is transactional, so a failed
            # upgrade leaves the database as it was.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
            yield connection
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        with engine.begin() as connection:
            yield connection
        return
    with open(f"{database}.migrate.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
