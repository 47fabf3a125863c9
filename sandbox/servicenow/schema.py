"""The tables the emulator knows: field kinds, references, choices, display field and number prefix."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class FieldKind(Enum):
    """How a field is stored, compared and displayed."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATE_TIME = "glide_date_time"
    REFERENCE = "reference"
    CHOICE = "choice"
    JOURNAL = "journal_input"
    PASSWORD = "password2"  # stored hashed, never returned in clear


@dataclass(frozen=True)
class FieldSpec:
    """One column: kind, referenced table, the sys_choice element its labels come from, default, label."""

    kind: FieldKind = FieldKind.STRING
    reference: str | None = None
    choice_element: str | None = None
    default: str = ""
    label: str = ""


@dataclass(frozen=True)
class TableSchema:
    """A table: its columns (``sys_*`` included), the column shown for references, the number prefix."""

    name: str
    fields: dict[str, FieldSpec]
    display_field: str | None = None
    number_prefix: str | None = None
    journal_labels: dict[str, str] = field(default_factory=dict)

    def spec(self, name: str) -> FieldSpec | None:
        """The column's spec, or None when the table has no such column."""
        return self.fields.get(name)

    def references(self, name: str) -> str | None:
        """The table a reference column points to, or None."""
        spec = self.fields.get(name)
        return spec.reference if spec is not None and spec.kind is FieldKind.REFERENCE else None


SYSTEM_FIELDS: dict[str, FieldSpec] = {
    "sys_id": FieldSpec(),
    "sys_created_on": FieldSpec(FieldKind.DATE_TIME),
    "sys_created_by": FieldSpec(),
    "sys_updated_on": FieldSpec(FieldKind.DATE_TIME),
    "sys_updated_by": FieldSpec(),
    "sys_mod_count": FieldSpec(FieldKind.INTEGER, default="0"),
}

_STRING = FieldSpec()
_BOOL_TRUE = FieldSpec(FieldKind.BOOLEAN, default="true")
_BOOL_FALSE = FieldSpec(FieldKind.BOOLEAN, default="false")
_WHEN = FieldSpec(FieldKind.DATE_TIME)
_USER = FieldSpec(FieldKind.REFERENCE, reference="sys_user")
_GROUP = FieldSpec(FieldKind.REFERENCE, reference="sys_user_group")
_COUNT = FieldSpec(FieldKind.INTEGER, default="0")
_JOURNAL = FieldSpec(FieldKind.JOURNAL)
_TASK_JOURNALS = {"work_notes": "Work notes", "comments": "Additional comments"}


def _table(
    name: str,
    columns: dict[str, FieldSpec],
    *,
    display_field: str | None = None,
    number_prefix: str | None = None,
    journal_labels: dict[str, str] | None = None,
) -> TableSchema:
    return TableSchema(
        name=name,
        fields={**SYSTEM_FIELDS, **columns},
        display_field=display_field,
        number_prefix=number_prefix,
        journal_labels=journal_labels or {},
    )


def _choice(element: str, default: str = "", label: str = "") -> FieldSpec:
    return FieldSpec(FieldKind.CHOICE, choice_element=element, default=default, label=label)


INCIDENT = _table(
    "incident",
    {
        "number": _STRING,
        "short_description": _STRING,
        "description": _STRING,
        "caller_id": _USER,
        "opened_by": _USER,
        "opened_at": _WHEN,
        "state": _choice("state", default="1"),
        "incident_state": _choice("state", default="1"),  # mirrors state, same labels
        "hold_reason": _choice("hold_reason", label="On hold reason"),
        "impact": _choice("impact", default="3"),
        "urgency": _choice("urgency", default="3"),
        "priority": _choice("priority", default="5"),  # computed from impact x urgency
        "category": _choice("category", default="inquiry"),
        "contact_type": _choice("contact_type"),
        "assignment_group": _GROUP,
        "assigned_to": _USER,
        "correlation_id": _STRING,
        "correlation_display": _STRING,
        "close_code": _choice("close_code", label="Resolution code"),
        "close_notes": FieldSpec(label="Resolution notes"),
        "resolved_at": _WHEN,
        "resolved_by": _USER,
        "closed_at": _WHEN,
        "closed_by": _USER,
        "active": _BOOL_TRUE,
        "reassignment_count": _COUNT,
        "reopen_count": _COUNT,
        "work_notes": _JOURNAL,
        "comments": _JOURNAL,
        "sys_class_name": FieldSpec(default="incident"),
    },
    display_field="number",
    number_prefix="INC",
    journal_labels=_TASK_JOURNALS,
)

# A requested catalog item (RITM); ``state`` uses the catalog task states (1 Open ... 3 Closed Complete).
REQUESTED_ITEM = _table(
    "sc_req_item",
    {
        "number": _STRING,
        "request": FieldSpec(FieldKind.REFERENCE, reference="sc_request"),
        "cat_item": FieldSpec(FieldKind.REFERENCE, reference="sc_cat_item"),
        "stage": _choice("stage", default="waiting_for_approval"),
        "approval": _choice("approval", default="not requested"),
        "state": _choice("state", default="1"),
        "short_description": _STRING,
        "description": _STRING,
        "requested_for": _USER,
        "opened_by": _USER,
        "opened_at": _WHEN,
        "assignment_group": _GROUP,
        "assigned_to": _USER,
        "active": _BOOL_TRUE,
        "work_notes": _JOURNAL,
        "comments": _JOURNAL,
        "sys_class_name": FieldSpec(default="sc_req_item"),
    },
    display_field="number",
    number_prefix="RITM",
    journal_labels=_TASK_JOURNALS,
)

TABLES: dict[str, TableSchema] = {
    schema.name: schema
    for schema in (
        _table(
            "sys_user",
            {
                "user_name": _STRING,
                "first_name": _STRING,
                "last_name": _STRING,
                "name": _STRING,
                "email": _STRING,
                "title": _STRING,
                "mobile_phone": _STRING,
                "roles": _STRING,
                "time_zone": _STRING,  # "" means the instance's default time zone
                "user_password": FieldSpec(FieldKind.PASSWORD),
                "active": _BOOL_TRUE,
                "locked_out": _BOOL_FALSE,
            },
            display_field="name",
        ),
        _table("sys_user_role", {"name": _STRING, "description": _STRING}, display_field="name"),
        _table(
            "sys_user_has_role",
            {
                "user": _USER,
                "role": FieldSpec(FieldKind.REFERENCE, reference="sys_user_role"),
                "state": FieldSpec(default="active"),
                "inherited": _BOOL_FALSE,
            },
        ),
        _table(
            "sys_user_group",
            {"name": _STRING, "description": _STRING, "email": _STRING, "manager": _USER, "active": _BOOL_TRUE},
            display_field="name",
        ),
        _table("sys_user_grmember", {"user": _USER, "group": _GROUP}),
        INCIDENT,
        _table(
            "sc_request",
            {
                "number": _STRING,
                "short_description": _STRING,
                "requested_for": _USER,
                "opened_by": _USER,
                "opened_at": _WHEN,
                "request_state": FieldSpec(default="requested"),
                "active": _BOOL_TRUE,
            },
            display_field="number",
            number_prefix="REQ",
        ),
        _table(
            "sc_cat_item",
            {"name": _STRING, "short_description": _STRING, "category": _STRING, "active": _BOOL_TRUE},
            display_field="name",
        ),
        REQUESTED_ITEM,
        _table(
            "kb_knowledge",
            {
                "number": _STRING,
                "short_description": _STRING,
                "text": _STRING,
                "workflow_state": FieldSpec(default="draft"),
                "active": _BOOL_TRUE,
            },
            display_field="number",
            number_prefix="KB",
        ),
        _table(
            "m2m_kb_task",
            {
                "kb_knowledge": FieldSpec(FieldKind.REFERENCE, reference="kb_knowledge"),
                "task": FieldSpec(FieldKind.REFERENCE, reference="incident"),
            },
        ),
        _table(
            "label",
            {"name": _STRING, "viewable_by": FieldSpec(default="me"), "active": _BOOL_TRUE, "owner": _USER},
            display_field="name",
        ),
        _table(
            "label_entry",
            {
                "label": FieldSpec(FieldKind.REFERENCE, reference="label"),
                "table": _STRING,
                "table_key": _STRING,
                "title": _STRING,
            },
            display_field="title",
        ),
        _table(
            "sys_choice",
            {
                "name": _STRING,
                "element": _STRING,
                "value": _STRING,
                "label": _STRING,
                "sequence": FieldSpec(FieldKind.INTEGER, default="0"),
                "inactive": _BOOL_FALSE,
                "language": FieldSpec(default="en"),
                "dependent_value": _STRING,
            },
            display_field="label",
        ),
        _table(
            "sys_journal_field",
            {"element": _STRING, "element_id": _STRING, "name": _STRING, "value": _STRING},
        ),
        # E-mails the instance received or sent; an inbound e-mail action links the one that created a record by
        # ``instance`` (the record's sys_id) and ``target_table``; ``headers`` is the raw header block.
        _table(
            "sys_email",
            {
                "type": _STRING,  # received, received-ignored, sent, send-ready…
                "instance": _STRING,
                "target_table": _STRING,
                "headers": _STRING,
                "subject": _STRING,
                "body": _STRING,
                "body_text": _STRING,
                "user": _STRING,  # the sender as the From header gave it
                "user_id": _USER,  # the sys_user the inbound action impersonated (the sender's match)
                "recipients": _STRING,
                "message_id": _STRING,
                "content_type": _STRING,
            },
            display_field="subject",
        ),
    )
}
