"""ServiceNow tables: records of strings in memory, sys_* bookkeeping, queries, written through to SQLite."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sandbox.servicenow import business_rules
from sandbox.servicenow.display import field_value
from sandbox.servicenow.encoded_query import FieldLookup, QueryContext, matches, parse, tags_by_record
from sandbox.servicenow.errors import (
    InvalidTableError,
    MalformedRequestError,
    OperationFailedError,
    RecordNotFoundError,
)
from sandbox.servicenow.persistence import Changes, SqliteTables, StoreFileError, write_snapshot
from sandbox.servicenow.query import SortKey
from sandbox.servicenow.schema import SYSTEM_FIELDS, TABLES, FieldKind, TableSchema

Record = dict[str, str]
Clock = Callable[[], datetime]

_FIRST_NUMBER = 10001  # a fresh instance numbers INC0010001, KB0010001...
_PASSWORD_SCHEME = "sha256"


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
    """The emulator's tables; every public method is atomic under one lock.

    Queries read the in-memory working set; with ``persist_to`` every change is also written, in the same
    operation, to that SQLite file, and a store built on an existing file starts from what it holds.
    """

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
        self._disk: SqliteTables | None = None
        if self.persist_to is not None:
            self._disk = SqliteTables(self.persist_to)
            snapshot = self._disk.read()
            for table, rows in snapshot.tables.items():
                if table in self._rows:  # tables this emulator no longer knows stay on disk, unread
                    self._rows[table] = rows
            self._counters = snapshot.counters

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

    def select(
        self, table: str, query: str = "", *, limit: int | None = None, offset: int = 0, user: str = ""
    ) -> Selection:
        """Rows matching an encoded query (``javascript:`` helpers answer for ``user``), sorted, then paged."""
        schema = self.schema(table)
        parsed = parse(query, self.query_context(user))
        with self._lock:
            entries = self._rows.get("label_entry", {}).values()
            tags = tags_by_record(entries, table)  # sys_tags.<label sys_id> conditions
            found = [r for r in self._rows[table].values() if matches(parsed, self._lookup(schema, r), tags=tags)]
            # Stable sorts applied last-key-first give a multi-key order.
            for order in reversed(parsed.order):
                if schema.spec(order.field) is None and "." not in order.field:
                    continue
                found.sort(key=_order_key(self, schema, order.field), reverse=order.descending)
            total = len(found)
            page = found[offset:] if limit is None else found[offset : offset + limit]
            return Selection([dict(r) for r in page], total)

    def query_context(self, user: str = "") -> QueryContext:
        """What a query's ``javascript:`` helpers see: this store's clock and the requesting user."""
        account = self.user_by_name(user) if user else None
        return QueryContext(clock=self.clock, user_name=user, user_id=account["sys_id"] if account else "")

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
            changes = Changes()
            if schema.number_prefix and not record.get("number"):
                record["number"] = self._next_number(schema.number_prefix, changes)
            business_rules.before_write(self, schema, None, record, user=user, now=now)
            self._rows[table][sys_id.lower()] = record
            changes.put.append((table, record))
            self._write_journal(schema, record, journal, changes, user=user, now=now)
            self._persist(changes)
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
            changes = Changes(put=[(table, record)])
            self._write_journal(schema, record, journal, changes, user=user, now=now)
            self._persist(changes)
            return dict(record)

    def delete(self, table: str, sys_id: str) -> None:
        """Remove a record; ``RecordNotFoundError`` when absent."""
        self.schema(table)
        with self._lock:
            if self._rows[table].pop(sys_id.lower(), None) is None:
                raise RecordNotFoundError(table, sys_id)
            self._persist(Changes(dropped=[(table, sys_id.lower())]))

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
            if spec.kind is FieldKind.PASSWORD and value:
                value = hash_password(value)
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
        self,
        schema: TableSchema,
        record: Record,
        journal: Mapping[str, str],
        changes: Changes,
        *,
        user: str,
        now: str,
    ) -> None:
        if not journal or "sys_journal_field" not in self.schemas:
            return
        for element, text in journal.items():
            entry_id = uuid.uuid4().hex
            entry = self._rows["sys_journal_field"][entry_id] = {
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
            changes.put.append(("sys_journal_field", entry))

    def _next_number(self, prefix: str, changes: Changes) -> str:
        number = self._counters.get(prefix, _FIRST_NUMBER)
        # Numbers given explicitly (seeded KB articles, loaded records) are skipped, not reused.
        numbered = [name for name, schema in self.schemas.items() if schema.number_prefix == prefix]
        taken = {r.get("number") for name in numbered for r in self._rows[name].values()}
        while f"{prefix}{number:07d}" in taken:
            number += 1
        self._counters[prefix] = changes.counters[prefix] = number + 1
        return f"{prefix}{number:07d}"

    def _persist(self, changes: Changes) -> None:
        """Write one operation through to disk (called under the lock, after memory was changed)."""
        if self._disk is not None:
            self._disk.apply(changes)

    # -- persistence ---------------------------------------------------------------------------

    def save(self, path: str | Path | None = None) -> None:
        """Make the data durable at ``path`` (default ``persist_to``): a SQLite copy, written atomically.

        Saving to the store's own file does nothing: every change was already written through.
        """
        target = Path(path) if path is not None else self.persist_to
        if target is None:
            raise ValueError("TableStore.save needs a path: none given and the store has no persist_to")
        if self.persist_to is not None and _same_file(target, self.persist_to):
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        os.close(handle)
        try:
            with self._lock:
                if self._disk is not None:
                    self._disk.copy_to(Path(temporary))
                else:
                    write_snapshot(Path(temporary), self._rows, self._counters)
            os.replace(temporary, target)
        finally:
            Path(temporary).unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(temporary + suffix).unlink(missing_ok=True)

    def save_if_persistent(self) -> None:
        """Kept for callers that save after each write: a no-op, writes are durable when they return."""

    def close(self) -> None:
        """Close the data file (the store must not be written to afterwards)."""
        with self._lock:
            if self._disk is not None:
                self._disk.close()
                self._disk = None

    @classmethod
    def load(cls, path: str | Path, *, clock: Clock = _utc_now) -> TableStore:
        """Open an existing data file; the loaded store keeps writing through to it."""
        source = Path(path)
        if not source.is_file():
            raise StoreFileError(f"{source}: no ServiceNow emulator data there (start a fresh sandbox to seed one)")
        return cls(persist_to=source, clock=clock)


def hash_password(clear: str) -> str:
    """A salted hash for password2 fields, so neither the API nor the data file ever holds the password."""
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((salt + clear).encode("utf-8")).hexdigest()
    return f"{_PASSWORD_SCHEME}${salt}${digest}"


def password_matches(stored: str, candidate: str) -> bool:
    """Whether ``candidate`` is the password whose hash (``hash_password``) is ``stored``."""
    scheme, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != _PASSWORD_SCHEME or not digest:
        return False
    expected = hashlib.sha256((salt + candidate).encode("utf-8")).hexdigest()
    return hmac.compare_digest(expected, digest)


def _same_file(one: Path, other: Path) -> bool:
    return one.resolve() == other.resolve()


def _order_key(store: TableStore, schema: TableSchema, name: str) -> Callable[[Record], SortKey]:
    """Sort key for one ORDERBY field: numbers numerically, references by display, empty first."""

    def key(record: Record) -> SortKey:
        seen = field_value(store, schema, record, name)
        if seen is None:
            return SortKey("")
        return SortKey(seen.display if seen.is_reference else seen.value)

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
