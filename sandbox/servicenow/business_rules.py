"""Server-side side effects of writes, as an instance's business rules and data policies apply them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.servicenow.errors import DataPolicyError
from sandbox.servicenow.schema import TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Record, TableStore

Rule = Callable[["TableStore", TableSchema, "Record | None", "Record", str, str], None]

RESOLVED, CLOSED, CANCELED = "6", "7", "8"

# impact x urgency -> priority, as the OOB priority lookup
_PRIORITY = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("1", "3"): "3",
    ("2", "2"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}


def before_write(
    store: TableStore, schema: TableSchema, old: Record | None, record: Record, *, user: str, now: str
) -> None:
    """Run the table's rules on ``record`` (``old`` is None on insert); may raise a 403-type error."""
    rule = _RULES.get(schema.name)
    if rule is not None:
        rule(store, schema, old, record, user, now)


def _incident(store: TableStore, schema: TableSchema, old: Record | None, record: Record, user: str, now: str) -> None:
    author = store.user_by_name(user)
    author_id = author["sys_id"] if author else ""
    if old is None:
        record["opened_at"] = record.get("opened_at") or now
        record["opened_by"] = record.get("opened_by") or author_id
        record["state"] = record.get("state") or "1"
    state = record.get("state", "")
    previous = old.get("state", "") if old else ""
    record["incident_state"] = state
    record["priority"] = _PRIORITY.get(
        (record.get("impact", ""), record.get("urgency", "")), record.get("priority", "")
    )
    if old is not None and old.get("assignment_group") != record.get("assignment_group"):
        record["reassignment_count"] = str(int(old.get("reassignment_count") or "0") + 1)
    if state in (RESOLVED, CLOSED):
        missing = [
            schema.fields[name].label or name
            for name in ("close_code", "close_notes")
            if not record.get(name, "").strip()
        ]
        if missing:
            raise DataPolicyError(missing)
    if state != previous:
        if state in (RESOLVED, CLOSED) and not record.get("resolved_at"):
            record["resolved_at"], record["resolved_by"] = now, author_id
        if state == CLOSED:
            record["closed_at"], record["closed_by"] = now, author_id
    record["active"] = "false" if state in (CLOSED, CANCELED) else "true"


_RULES: dict[str, Rule] = {"incident": _incident}
