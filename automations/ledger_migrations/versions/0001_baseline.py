"""Baseline: the ledger and audit tables of the first release with migrations.

Creates every table on an empty database. On a database made by an earlier Sésame (before migrations: the
tables exist, no ``alembic_version``) it only completes the layout — missing tables, missing nullable columns,
missing indexes — and keeps every row. The schema below is frozen as it was at this revision: never import the
models here, they move on.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

layout = sa.MetaData()

sa.Table(
    "requests", layout,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(512), nullable=False, unique=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("intent", sa.String(64)),
    sa.Column("targets", sa.Text, nullable=False),
    sa.Column("decision", sa.String(16)),
    sa.Column("reason", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Column("understanding", sa.Text),
    sa.Column("partner_id", sa.String(128)),
    sa.Column("ticket_sys_id", sa.String(64)),
    sa.Column("ticket_number", sa.String(40)),
    sa.Column("playbook", sa.String(200)),
    sa.Column("created_at", sa.DateTime, nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("lease_owner", sa.String(200)),
    sa.Column("lease_until", sa.DateTime),
)
sa.Table(
    "actions", layout,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("step", sa.String(128), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("before", sa.Text, nullable=False),
    sa.Column("after", sa.Text, nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("server", sa.String(255)),
    sa.Column("at", sa.DateTime, nullable=False),
)
sa.Table(
    "journal", layout,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_key", sa.String(512), nullable=False, index=True),
    sa.Column("step", sa.String(128), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("playbook_id", sa.String(128), nullable=False),
    sa.Column("playbook_version", sa.Integer, nullable=False),
    sa.Column("playbook_hash", sa.String(64), nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("wrote", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("request_key", "step", name="uq_journal_request_step"),
)
sa.Table(
    "shadow_plans", layout,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("request_key", sa.String(512), nullable=False, unique=True),
    sa.Column("ticket_sys_id", sa.String(64)),
    sa.Column("ticket_number", sa.String(40)),
    sa.Column("intent", sa.String(64)),
    sa.Column("playbook_id", sa.String(128), nullable=False),
    sa.Column("playbook_version", sa.Integer, nullable=False),
    sa.Column("playbook_hash", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Column("close_code", sa.String(128)),
    sa.Column("kb_article", sa.String(64)),
    sa.Column("actions", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
)
sa.Table(
    "polls", layout,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(320), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime, nullable=False),
    sa.Column("new_requests", sa.Integer, nullable=False),
)
sa.Table(
    "audit_records", layout,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("request_key", sa.String(512), nullable=False, index=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
sa.Table(
    "audit_head", layout,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("key_check", sa.String(64)),
)
sa.Table(
    "audit_anchors", layout,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("purged_through", sa.Integer, nullable=False, unique=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("mac", sa.String(64), nullable=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in layout.sorted_tables:
        if table.name not in existing:
            table.create(bind)
        else:
            _complete(table)


def _complete(table: sa.Table) -> None:
    """Add what an earlier Sésame's table lacks. Its only additions since the first release were nullable columns
    and indexes; anything else would need a person, so it stops the upgrade with the reason."""
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns(table.name)}
    for column in table.columns:
        if column.name in columns:
            continue
        if not column.nullable:
            raise RuntimeError(f"ledger table {table.name!r} lacks the required column {column.name!r}: this "
                               "database was not made by Sésame, or by a version this one cannot upgrade")
        op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes:
            op.create_index(index.name, table.name, [c.name for c in index.columns], unique=bool(index.unique))


def downgrade() -> None:
    for table in reversed(layout.sorted_tables):
        op.drop_table(table.name)
