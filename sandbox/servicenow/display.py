"""What a field shows people (choice labels, referenced names, local times, journal history) and the way back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.servicenow.encoded_query import FieldValue
from sandbox.servicenow.schema import FieldKind, FieldSpec, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Record, TableStore

INSTANCE_ZONE_NAME = "America/Los_Angeles"  # a PDI's system time zone, used for users without their own
INSTANCE_ZONE: tzinfo = ZoneInfo(INSTANCE_ZONE_NAME)
PASSWORD_MASK = "********"
STORED_TIME = "%Y-%m-%d %H:%M:%S"


def zone_of(store: TableStore, user_name: str) -> tzinfo:
    """The user's ``sys_user.time_zone`` (an IANA name), or the instance zone when unset or unknown."""
    user = store.user_by_name(user_name) if user_name else None
    name = (user or {}).get("time_zone", "").strip()
    if not name:
        return INSTANCE_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return INSTANCE_ZONE


def local_time(stored: str, zone: tzinfo) -> str:
    """A stored UTC date-time shown in ``zone``; text that is not a date-time is shown as it is."""
    try:
        moment = datetime.strptime(stored, STORED_TIME).replace(tzinfo=UTC)
    except ValueError:
        return stored
    return moment.astimezone(zone).strftime(STORED_TIME)


def utc_time(shown: str, zone: tzinfo) -> str:
    """A date-time typed in ``zone`` as stored (UTC); text that is not a date-time is kept as it is."""
    try:
        moment = datetime.strptime(shown.strip(), STORED_TIME).replace(tzinfo=zone)
    except ValueError:
        return shown
    return moment.astimezone(UTC).strftime(STORED_TIME)


def is_password(spec: FieldSpec) -> bool:
    """True for password2 columns, whose clear value never leaves the instance."""
    return spec.kind.value == "password2"


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
    return FieldValue(value, value, kind=spec.kind)


def _path_exists(store: TableStore, schema: TableSchema, path: str) -> bool:
    head, _, rest = path.partition(".")
    spec = schema.spec(head)
    if spec is None:
        return False
    if not rest:
        return True
    target = store.schemas.get(spec.reference or "")
    return target is not None and _path_exists(store, target, rest)


def display_value(store: TableStore, schema: TableSchema, record: Record, name: str, *, zone: tzinfo = UTC) -> str:
    """The display value of one (non dotted) field of ``record``, date-times in ``zone``."""
    spec = schema.spec(name)
    value = record.get(name, "")
    if spec is None:
        return value
    if is_password(spec):
        return PASSWORD_MASK if value else ""
    if spec.kind is FieldKind.DATE_TIME:
        return local_time(value, zone) if value else ""
    if spec.kind is FieldKind.REFERENCE:
        return reference_display(store, spec.reference or "", value)
    if spec.kind is FieldKind.CHOICE:
        return choice_label(store, schema.name, spec.choice_element or name, value)
    if spec.kind is FieldKind.JOURNAL:
        return journal_history(store, schema, record.get("sys_id", ""), name, zone=zone)
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


def journal_history(store: TableStore, schema: TableSchema, sys_id: str, element: str, *, zone: tzinfo = UTC) -> str:
    """Entries of a journal field, newest first, formatted as the instance displays them (times in ``zone``)."""
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
        when = local_time(entry.get("sys_created_on", ""), zone)
        parts.append(f"{when} - {who} ({label})\n{entry.get('value', '')}\n\n")
    return "".join(parts)


def without_masked_passwords(schema: TableSchema, values: Mapping[str, object]) -> dict[str, object]:
    """Drop password2 values that are the mask we showed, so echoing a record back keeps the password."""
    return {
        name: raw
        for name, raw in values.items()
        if not (raw == PASSWORD_MASK and (spec := schema.spec(name)) is not None and is_password(spec))
    }


def values_from_display(
    store: TableStore, schema: TableSchema, values: Mapping[str, object], zone: tzinfo
) -> dict[str, object]:
    """Writes sent with ``sysparm_input_display_value=true``: choice labels, referenced names, local times -> values."""
    converted: dict[str, object] = {}
    for name, raw in values.items():
        spec = schema.spec(name)
        if spec is None or not isinstance(raw, str) or not raw:
            converted[name] = raw
        elif spec.kind is FieldKind.CHOICE:
            converted[name] = choice_value(store, schema.name, spec.choice_element or name, raw)
        elif spec.kind is FieldKind.REFERENCE:
            converted[name] = reference_sys_id(store, spec.reference or "", raw)
        elif spec.kind is FieldKind.DATE_TIME:
            converted[name] = utc_time(raw, zone)
        else:
            converted[name] = raw
    return converted


def choice_value(store: TableStore, table: str, element: str, label: str) -> str:
    """The value whose sys_choice label is ``label``; ``label`` itself when none is (it may already be a value)."""
    if "sys_choice" not in store.schemas:
        return label
    for choice in store.find("sys_choice", name=table, element=element):
        if choice.get("label", "").casefold() == label.casefold():
            return choice.get("value", label)
    return label


def reference_sys_id(store: TableStore, table: str, shown: str) -> str:
    """The sys_id of the one record of ``table`` displayed as ``shown``; ``shown`` itself otherwise."""
    if table not in store.schemas or store.get(table, shown) is not None:
        return shown
    display_field = store.schemas[table].display_field
    hits = store.find(table, **{display_field: shown}) if display_field else []
    return hits[0]["sys_id"] if len(hits) == 1 else shown
