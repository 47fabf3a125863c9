"""Turn stored records into Table API JSON per ``sysparm_display_value``/``exclude_reference_link``/``fields``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from enum import Enum
from typing import TYPE_CHECKING

from sandbox.servicenow.display import PASSWORD_MASK, display_value, is_password
from sandbox.servicenow.schema import FieldKind, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.store import Record, TableStore

Cell = str | dict[str, str]


class DisplayMode(Enum):
    """``sysparm_display_value``."""

    VALUE = "false"
    DISPLAY = "true"
    ALL = "all"

    @classmethod
    def from_param(cls, raw: str | None) -> DisplayMode:
        """Read the parameter as the instance does: anything but true/all means raw values."""
        text = (raw or "false").strip().lower()
        return cls.ALL if text == "all" else cls.DISPLAY if text == "true" else cls.VALUE


@dataclass(frozen=True)
class RenderOptions:
    """How to render: display mode, reference links left out or not, which fields, links' API root, the time zone."""

    display: DisplayMode = DisplayMode.VALUE
    exclude_reference_link: bool = False
    fields: tuple[str, ...] | None = None
    api_root: str = ""  # e.g. "https://127.0.0.1:8443/api/now" or ".../api/now/v1"
    zone: tzinfo = UTC  # the app passes the caller's zone; UTC shows stored times unchanged


def parse_fields(raw: str | None) -> tuple[str, ...] | None:
    """``sysparm_fields`` as a tuple of names, or None for every field."""
    if raw is None or not raw.strip():
        return None
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def render(store: TableStore, schema: TableSchema, record: Record, options: RenderOptions) -> dict[str, Cell]:
    """One record as the Table API returns it; unknown requested fields are left out."""
    names = options.fields if options.fields is not None else tuple(schema.fields)
    rendered: dict[str, Cell] = {}
    for name in names:
        located = _locate(store, schema, record, name)
        if located is not None:
            rendered[name] = _cell(store, *located, options)
    return rendered


def _locate(
    store: TableStore, schema: TableSchema, record: Record | None, path: str
) -> tuple[TableSchema, Record | None, str] | None:
    """Follow a dotted path through references: the table, record (None if a link is empty) and leaf."""
    head, _, rest = path.partition(".")
    spec = schema.spec(head)
    if spec is None:
        return None
    if not rest:
        return schema, record, head
    target_schema = store.schemas.get(spec.reference or "")
    if spec.kind is not FieldKind.REFERENCE or target_schema is None:
        return None
    target_id = record.get(head, "") if record is not None else ""
    target = store.get(target_schema.name, target_id) if target_id else None
    return _locate(store, target_schema, target, rest)


def _cell(store: TableStore, schema: TableSchema, record: Record | None, name: str, options: RenderOptions) -> Cell:
    spec = schema.fields[name]
    if record is None:
        return {"display_value": "", "value": ""} if options.display is DisplayMode.ALL else ""
    value = "" if spec.kind is FieldKind.JOURNAL else record.get(name, "")
    if is_password(spec) and value:
        value = PASSWORD_MASK  # the clear text never leaves the instance, in either form
    wants_display = options.display is not DisplayMode.VALUE
    shown = display_value(store, schema, record, name, zone=options.zone) if wants_display else value
    is_reference = spec.kind is FieldKind.REFERENCE
    link = f"{options.api_root}/table/{spec.reference}/{value}"
    with_link = is_reference and bool(value) and not options.exclude_reference_link
    if options.display is DisplayMode.ALL:
        cell = {"display_value": shown, "value": value}
        return {**cell, "link": link} if with_link else cell
    if options.display is DisplayMode.DISPLAY:
        return {"display_value": shown, "link": link} if with_link else shown
    return {"link": link, "value": value} if with_link else value
