"""Server-side side effects of writes, as an instance's business rules and data policies apply them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.servicenow.errors import DataPolicyError
from sandbox.servicenow.schema import TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Record, TableStore

Rule = Callable[["TableStore", TableSchema, "Record | None", "Record", str, str], None]

NEW, IN_PROGRESS, ON_HOLD, RESOLVED, CLOSED, CANCELED = "1", "2", "3", "6", "7", "8"

# The data policies: fields an incident must carry to be in a state.
_MANDATORY_IN_STATE: dict[str, tuple[str, ...]] = {
    ON_HOLD: ("hold_reason",),
    RESOLVED: ("close_code", "close_notes"),
    CLOSED: ("close_code", "close_notes"),
}

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

# Catalog task states that end a requested item: 3 Closed Complete, 4 Closed Incomplete, 7 Closed Skipped.
_ITEM_CLOSED_STATES = frozenset({"3", "4", "7"})


def before_write(
    store: TableStore, schema: TableSchema, old: Record | None, record: Record, *, user: str, now: str
) -> None:
    """Run the table's rules on ``record`` (``old`` is None on insert); may raise a 403-type error."""
    rule = _RULES.get(schema.name)
    if rule is not None:
        rule(store, schema, old, record, user, now)


def _author_id(store: TableStore, user: str) -> str:
    author = store.user_by_name(user)
    return author["sys_id"] if author else ""


def _opened(record: Record, author_id: str, now: str) -> None:
    """Insert defaults of every task: who opened it and when."""
    record["opened_at"] = record.get("opened_at") or now
    record["opened_by"] = record.get("opened_by") or author_id


def _incident(store: TableStore, schema: TableSchema, old: Record | None, record: Record, user: str, now: str) -> None:
    author_id = _author_id(store, user)
    if old is None:
        _opened(record, author_id, now)
        record["state"] = record.get("state") or NEW
    state = record.get("state", "")
    previous = old.get("state", "") if old else ""
    missing = [
        schema.fields[name].label or name
        for name in _MANDATORY_IN_STATE.get(state, ())
        if not record.get(name, "").strip()
    ]
    if missing:
        raise DataPolicyError(missing)
    record["incident_state"] = state
    record["priority"] = _PRIORITY.get(
        (record.get("impact", ""), record.get("urgency", "")), record.get("priority", "")
    )
    if old is not None and old.get("assignment_group") != record.get("assignment_group"):
        record["reassignment_count"] = _plus_one(old.get("reassignment_count"))
    if state != previous:
        if state == RESOLVED or (state == CLOSED and not record.get("resolved_at")):
            record["resolved_at"], record["resolved_by"] = now, author_id
        if state == CLOSED:
            record["closed_at"], record["closed_by"] = now, author_id
        if (previous, state) == (RESOLVED, IN_PROGRESS):
            record["reopen_count"] = _plus_one(old.get("reopen_count") if old else None)
    record["active"] = "false" if state in (CLOSED, CANCELED) else "true"


def _requested_item(
    store: TableStore, schema: TableSchema, old: Record | None, record: Record, user: str, now: str
) -> None:
    if old is None:
        _opened(record, _author_id(store, user), now)
    record["active"] = "false" if record.get("state") in _ITEM_CLOSED_STATES else "true"


def _request(store: TableStore, schema: TableSchema, old: Record | None, record: Record, user: str, now: str) -> None:
    if old is None:
        _opened(record, _author_id(store, user), now)


def _plus_one(count: str | None) -> str:
    return str(int(count or "0") + 1)


_RULES: dict[str, Rule] = {"incident": _incident, "sc_req_item": _requested_item, "sc_request": _request}
