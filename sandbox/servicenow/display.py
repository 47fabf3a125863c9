"""What a field shows people: choice labels, the referenced record's name or number, journal history."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.servicenow.encoded_query import FieldValue
from sandbox.servicenow.schema import FieldKind, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Record, TableStore


def field_value(store: TableStore, schema: TableSchema, record: Record, path: str) -> FieldValue | None:
    """The field at ``path`` (dot-walks references: ``caller_id.email``), or None if the path is unknown.

    Only references carry a display value here (queries match them by display text); other fields
    repeat their value, so that filtering never pays for journal or choice look-ups.
    """
    head, _, rest = path.partition(".")
    spec = schema.spec(head)
    if spec is None:
        return None
    if rest:
        target_schema = store.schemas.get(spec.reference or "")
        if spec.kind is not FieldKind.REFERENCE or target_schema is None:
            return None
        target = store.get(target_schema.name, record.get(head, "")) if record.get(head) else None
        if target is None:
            return FieldValue("", "") if _path_exists(store, target_schema, rest) else None
        return field_value(store, target_schema, target, rest)
    value = record.get(head, "")
    if spec.kind is FieldKind.REFERENCE:
        return FieldValue(value, display_value(store, schema, record, head), is_reference=True)
    return FieldValue(value, value)


def _path_exists(store: TableStore, schema: TableSchema, path: str) -> bool:
    head, _, rest = path.partition(".")
    spec = schema.spec(head)
    if spec is None:
        return False
    if not rest:
        return True
    target = store.schemas.get(spec.reference or "")
    return target is not None and _path_exists(store, target, rest)


def display_value(store: TableStore, schema: TableSchema, record: Record, name: str) -> str:
    """The display value of one (non dotted) field of ``record``."""
    spec = schema.spec(name)
    value = record.get(name, "")
    if spec is None:
        return value
    if spec.kind is FieldKind.REFERENCE:
        return reference_display(store, spec.reference or "", value)
    if spec.kind is FieldKind.CHOICE:
        return choice_label(store, schema.name, spec.choice_element or name, value)
    if spec.kind is FieldKind.JOURNAL:
        return journal_history(store, schema, record.get("sys_id", ""), name)
    return value


def reference_display(store: TableStore, table: str, sys_id: str) -> str:
    """The referenced record's display field (``name``, ``number``...); empty when it does not exist."""
    if not sys_id or table not in store.schemas:
        return ""
    target = store.get(table, sys_id)
    if target is None:
        return ""
    display_field = store.schemas[table].display_field
    return target.get(display_field, "") if display_field else target.get("sys_id", "")


def choice_label(store: TableStore, table: str, element: str, value: str) -> str:
    """The sys_choice label of a value; the value itself when no choice row lists it."""
    if not value or "sys_choice" not in store.schemas:
        return value
    for choice in store.rows("sys_choice"):
        if choice.get("name") == table and choice.get("element") == element and choice.get("value") == value:
            return choice.get("label", value)
    return value


def journal_history(store: TableStore, schema: TableSchema, sys_id: str, element: str) -> str:
    """Entries of a journal field, newest first, formatted as the instance displays them."""
    if not sys_id or "sys_journal_field" not in store.schemas:
        return ""
    label = schema.journal_labels.get(element, element)
    entries = [
        entry
        for entry in store.rows("sys_journal_field")
        if entry.get("element_id") == sys_id and entry.get("element") == element and entry.get("name") == schema.name
    ]
    parts = []
    for entry in reversed(entries):
        author = entry.get("sys_created_by", "")
        user = store.user_by_name(author)
        who = user.get("name") or author if user else author
        parts.append(f"{entry.get('sys_created_on', '')} - {who} ({label})\n{entry.get('value', '')}\n\n")
    return "".join(parts)
