"""Alembic's entry point: migrate the connection Sésame hands over, or a URL given on the command line."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from automations.ledger_migrations import target_metadata

config = context.config


def run(connection: Connection) -> None:
    # Batch mode: SQLite changes a table by copying it, so later revisions can alter columns on both databases.
    context.configure(connection=connection, target_metadata=target_metadata(), render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if context.is_offline_mode():
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata(), literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
elif given is not None:
    run(given)
else:  # the `alembic` command line: -x url=... or sqlalchemy.url of the ini file
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -c automations/ledger_migrations/alembic.ini -x url=URL ...")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()
