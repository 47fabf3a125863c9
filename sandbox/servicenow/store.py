"""In-memory ServiceNow tables: records of strings, sys_* bookkeeping, queries, JSON persistence."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sandbox.servicenow import business_rules
from sandbox.servicenow.display import field_value
from sandbox.servicenow.encoded_query import FieldLookup, compare, matches, parse
from sandbox.servicenow.errors import (
    InvalidTableError,
    MalformedRequestError,
    OperationFailedError,
    RecordNotFoundError,
)
from sandbox.servicenow.schema import SYSTEM_FIELDS, TABLES, FieldKind, TableSchema

Record = dict[str, str]
Clock = Callable[[], datetime]

_FIRST_NUMBER = 10001  # a fresh instance numbers INC0010001, KB0010001...
_FILE_FORMAT = 1


def format_time(moment: datetime) -> str:
    """ServiceNow's stored date-time: UTC ``YYYY-MM-DD HH:MM:SS``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Selection:
    """One page of a query and the number of matches ignoring paging (``X-Total-Count``)."""

    rows: list[Record]
    total: int


class TableStore:
    """The emulator's tables; every public method is atomic under one lock."""

    def __init__(
        self,
        *,
        persist_to: str | Path | None = None,
        schemas: Mapping[str, TableSchema] | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self.persist_to = Path(persist_to) if persist_to is not None else None
        self.schemas: dict[str, TableSchema] = dict(schemas or TABLES)
        self.clock = clock
        self._rows: dict[str, dict[str, Record]] = {name: {} for name in self.schemas}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()

    # -- reading -------------------------------------------------------------------------------

    def schema(self, table: str) -> TableSchema:
        """The table's schema; ``InvalidTableError`` when the emulator has no such table."""
        schema = self.schemas.get(table)
        if schema is None:
            raise InvalidTableError(table)
        return schema

    def rows(self, table: str) -> Iterator[Record]:
        """The stored records of a table in insertion order (do not mutate them)."""
        self.schema(table)
        return iter(list(self._rows[table].values()))

    def get(self, table: str, sys_id: str) -> Record | None:
        """A copy of one record, or None; sys_ids match case-insensitively."""
        self.schema(table)
        with self._lock:
            record = self._rows[table].get(sys_id.lower())
            return dict(record) if record is not None else None

    def find(self, table: str, **equals: str) -> list[Record]:
        """Records whose fields equal the given values exactly (a convenience for seeding and rules)."""
        return [dict(r) for r in self.rows(table) if all(r.get(k) == v for k, v in equals.items())]

    def user_by_name(self, user_name: str) -> Record | None:
        """The sys_user row with this user_name, if any."""
        found = self.find("sys_user", user_name=user_name) if "sys_user" in self.schemas else []
        return found[0] if found else None

    def select(self, table: str, query: str = "", *, limit: int | None = None, offset: int = 0) -> Selection:
        """Rows matching an encoded query, sorted by its ORDERBY terms, then paged."""
        schema = self.schema(table)
        parsed = parse(query)
        with self._lock:
            found = [record for record in self._rows[table].values() if matches(parsed, self._lookup(schema, record))]
            # Stable sorts applied last-key-first give a multi-key order.
            for order in reversed(parsed.order):
                if schema.spec(order.field) is None and "." not in order.field:
                    continue
                found.sort(key=_SortKey.factory(self, schema, order.field), reverse=order.descending)
            total = len(found)
            page = found[offset:] if limit is None else found[offset : offset + limit]
            return Selection([dict(r) for r in page], total)

    def _lookup(self, schema: TableSchema, record: Record) -> FieldLookup:
        return lambda name: field_value(self, schema, record, name)

    # -- writing -------------------------------------------------------------------------------

    def insert(self, table: str, values: Mapping[str, object], *, user: str) -> Record:
        """Create a record (unknown fields ignored, sys_* set, business rules run); returns it."""
        schema = self.schema(table)
        with self._lock:
            now = format_time(self.clock())
            sys_id = _requested_sys_id(values) or uuid.uuid4().hex
            if sys_id.lower() in self._rows[table]:
                raise OperationFailedError(f"A record with sys_id {sys_id} already exists in {table}")
            record: Record = {name: spec.default for name, spec in schema.fields.items()}
            journal = self._merge(schema, record, values)
            record.update(
                sys_id=sys_id,
                sys_created_on=now,
                sys_updated_on=now,
                sys_created_by=user,
                sys_updated_by=user,
                sys_mod_count="0",
            )
            if schema.number_prefix and not record.get("number"):
                record["number"] = self._next_number(schema.number_prefix)
            business_rules.before_write(self, schema, None, record, user=user, now=now)
            self._rows[table][sys_id.lower()] = record
            self._write_journal(schema, record, journal, user=user, now=now)
            return dict(record)

    def update(self, table: str, sys_id: str, values: Mapping[str, object], *, user: str) -> Record:
        """Apply a partial change (PATCH and PUT alike); a no-op change leaves sys_* untouched."""
        schema = self.schema(table)
        with self._lock:
            old = self._rows[table].get(sys_id.lower())
            if old is None:
                raise RecordNotFoundError(table, sys_id)
            record = dict(old)
            journal = self._merge(schema, record, values)
            if record == old and not journal:
                return dict(old)
            now = format_time(self.clock())
            business_rules.before_write(self, schema, old, record, user=user, now=now)
            record.update(
                sys_updated_on=now,
                sys_updated_by=user,
                sys_mod_count=str(int(old.get("sys_mod_count") or "0") + 1),
            )
            self._rows[table][sys_id.lower()] = record
            self._write_journal(schema, record, journal, user=user, now=now)
            return dict(record)

    def delete(self, table: str, sys_id: str) -> None:
        """Remove a record; ``RecordNotFoundError`` when absent."""
        self.schema(table)
        with self._lock:
            if self._rows[table].pop(sys_id.lower(), None) is None:
                raise RecordNotFoundError(table, sys_id)

    def _merge(self, schema: TableSchema, record: Record, values: Mapping[str, object]) -> dict[str, str]:
        """Copy known, writable fields into ``record``; return the journal entries to append."""
        journal: dict[str, str] = {}
        for name, raw in values.items():
            spec = schema.spec(name)
            if spec is None or name in SYSTEM_FIELDS:
                continue  # ServiceNow ignores unknown fields and sys_* fields on write
            value = _as_text(name, raw)
            if spec.kind is FieldKind.JOURNAL:
                if value.strip():
                    journal[name] = value
                continue
            if spec.kind is FieldKind.REFERENCE and spec.reference and value:
                value = self._resolve_reference(spec.reference, value)
            record[name] = value
        return journal

    def _resolve_reference(self, table: str, value: str) -> str:
        """Accept a sys_id or, as ServiceNow does, the target's unique display value."""
        rows = self._rows.get(table)
        if rows is None:
            return value
        if value.lower() in rows:
            return rows[value.lower()]["sys_id"]
        display_field = self.schemas[table].display_field
        if display_field:
            hits = [r["sys_id"] for r in rows.values() if r.get(display_field, "").casefold() == value.casefold()]
            if len(hits) == 1:
                return hits[0]
        return value

    def _write_journal(
        self, schema: TableSchema, record: Record, journal: Mapping[str, str], *, user: str, now: str
    ) -> None:
        if not journal or "sys_journal_field" not in self.schemas:
            return
        for element, text in journal.items():
            entry_id = uuid.uuid4().hex
            self._rows["sys_journal_field"][entry_id] = {
                **{name: spec.default for name, spec in self.schemas["sys_journal_field"].fields.items()},
                "sys_id": entry_id,
                "element": element,
                "element_id": record["sys_id"],
                "name": schema.name,
                "value": text,
                "sys_created_on": now,
                "sys_created_by": user,
                "sys_updated_on": now,
                "sys_updated_by": user,
            }

    def _next_number(self, prefix: str) -> str:
        number = self._counters.get(prefix, _FIRST_NUMBER)
        taken = {r.get("number") for rows in self._rows.values() for r in rows.values()}
        while f"{prefix}{number:07d}" in taken:
            number += 1
        self._counters[prefix] = number + 1
        return f"{prefix}{number:07d}"

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: str | Path | None = None) -> None:
        """Write every table to one JSON file, atomically (temp file + rename)."""
        target = Path(path) if path is not None else self.persist_to
        if target is None:
            raise ValueError("TableStore.save needs a path: none given and the store has no persist_to")
        with self._lock:
            document = {"format": _FILE_FORMAT, "counters": self._counters, "tables": self._rows}
            text = json.dumps(document, ensure_ascii=False, indent=1)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, target)

    def save_if_persistent(self) -> None:
        """Save to ``persist_to`` when the store was built with one."""
        if self.persist_to is not None:
            self.save(self.persist_to)

    @classmethod
    def load(cls, path: str | Path) -> TableStore:
        """Read a file written by ``save``; the loaded store keeps persisting to the same file."""
        source = Path(path)
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{source}: cannot read the ServiceNow emulator data: {exc}") from exc
        if not isinstance(document, dict) or document.get("format") != _FILE_FORMAT:
            raise ValueError(f"{source}: not a ServiceNow emulator data file (format {_FILE_FORMAT})")
        store = cls(persist_to=source)
        for table, rows in document.get("tables", {}).items():
            if table in store._rows:
                store._rows[table] = {key: {k: str(v) for k, v in row.items()} for key, row in rows.items()}
        store._counters = {str(k): int(v) for k, v in document.get("counters", {}).items()}
        return store


class _SortKey:
    """Sort key for one ORDERBY field: numbers numerically, references by display, empty first."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _SortKey) -> bool:
        return compare(self.text, other.text) < 0

    @staticmethod
    def factory(store: TableStore, schema: TableSchema, name: str) -> Callable[[Record], _SortKey]:
        def key(record: Record) -> _SortKey:
            seen = field_value(store, schema, record, name)
            if seen is None:
                return _SortKey("")
            return _SortKey(seen.display if seen.is_reference else seen.value)

        return key


def _requested_sys_id(values: Mapping[str, object]) -> str | None:
    requested = values.get("sys_id")
    return str(requested) if isinstance(requested, str) and requested.strip() else None


def _as_text(name: str, raw: object) -> str:
    """Every stored value is a string, as the Table API returns them."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float | str):
        return str(raw)
    if isinstance(raw, dict) and "value" in raw:
        return _as_text(name, raw["value"])
    raise MalformedRequestError("Exception while reading request", f"field {name!r}: unsupported value {raw!r}")
