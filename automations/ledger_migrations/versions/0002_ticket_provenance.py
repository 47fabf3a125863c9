"""UO-TR1.1 provenance per request: whether the ticket counts, who created it and who closed it.

Rows recorded before this revision keep NULL there: the figures judge them as they did when they were recorded
(automated and done), so no past figure changes on upgrade (``reporting.figures.is_uo_tr11``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

COLUMNS = (
    ("uo_tr11", sa.Boolean()),
    ("ticket_created_by_automation", sa.Boolean()),
    ("ticket_created_by", sa.String(200)),
    ("ticket_created_at", sa.DateTime()),
    ("ticket_closed_by_automation", sa.Boolean()),
    ("ticket_closed_by", sa.String(200)),
    ("ticket_closed_at", sa.DateTime()),
    ("automation_user", sa.String(200)),
    ("ticket_tag", sa.String(64)),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("requests", sa.Column(name, kind, nullable=True))
    op.create_index("ix_requests_uo_tr11", "requests", ["uo_tr11"])


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_uo_tr11")
        for name, _kind in reversed(COLUMNS):
            batch.drop_column(name)
