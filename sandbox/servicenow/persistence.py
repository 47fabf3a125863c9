"""The emulator's tables on disk: one SQLite file (WAL) that every change is written through to."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

Record = dict[str, str]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    tbl TEXT NOT NULL,
    sys_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (tbl, sys_id)
);
CREATE TABLE IF NOT EXISTS counters (
    prefix TEXT PRIMARY KEY,
    next_number INTEGER NOT NULL
);
"""


class StoreFileError(ValueError):
    """The emulator's data file is missing, unreadable or not one the emulator wrote."""


@dataclass
class Changes:
    """Writes of one store operation, applied to disk in a single transaction."""

    put: list[tuple[str, Record]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.put or self.dropped or self.counters)


@dataclass(frozen=True)
class Snapshot:
    """Everything a data file holds: records by table then lower-cased sys_id, and number counters."""

    tables: dict[str, dict[str, Record]]
    counters: dict[str, int]


class SqliteTables:
    """One SQLite connection; callers serialise access (the store's lock), hence ``check_same_thread=False``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _refuse_foreign_file(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Autocommit mode: transactions are opened explicitly in ``apply``.
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a process crash; only a power cut may lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreFileError(f"{self.path}: cannot open the ServiceNow emulator data: {exc}") from exc

    def read(self) -> Snapshot:
        """Every stored record and counter."""
        tables: dict[str, dict[str, Record]] = {}
        try:
            # rowid order is insertion order (updates keep their row), as the in-memory tables iterate.
            for table, sys_id, data in self._db.execute("SELECT tbl, sys_id, data FROM records ORDER BY rowid"):
                tables.setdefault(table, {})[sys_id] = {str(k): str(v) for k, v in json.loads(data).items()}
            counters = {prefix: int(n) for prefix, n in self._db.execute("SELECT prefix, next_number FROM counters")}
        except (sqlite3.Error, ValueError, AttributeError) as exc:
            raise StoreFileError(f"{self.path}: the ServiceNow emulator data is damaged: {exc}") from exc
        return Snapshot(tables, counters)

    def apply(self, changes: Changes) -> None:
        """Write one operation's changes atomically."""
        if not changes:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT INTO records (tbl, sys_id, data) VALUES (?, ?, ?)"
                " ON CONFLICT (tbl, sys_id) DO UPDATE SET data = excluded.data",
                [(table, record["sys_id"].lower(), _encode(record)) for table, record in changes.put],
            )
            self._db.executemany("DELETE FROM records WHERE tbl = ? AND sys_id = ?", changes.dropped)
            self._db.executemany(
                "INSERT OR REPLACE INTO counters (prefix, next_number) VALUES (?, ?)", list(changes.counters.items())
            )

    def replace_all(self, tables: Mapping[str, Mapping[str, Record]], counters: Mapping[str, int]) -> None:
        """Make the file hold exactly these records and counters."""
        with self._transaction():
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM counters")
            self._db.executemany(
                "INSERT INTO records (tbl, sys_id, data) VALUES (?, ?, ?)",
                _rows_of(tables),
            )
            self._db.executemany("INSERT INTO counters (prefix, next_number) VALUES (?, ?)", list(counters.items()))

    def copy_to(self, target: Path) -> None:
        """A consistent copy of the whole file (SQLite's online backup), e.g. for ``save(other_path)``."""
        destination = sqlite3.connect(target)
        try:
            self._db.backup(destination)
        finally:
            destination.close()

    def close(self) -> None:
        """Close the connection; the file stays."""
        self._db.close()

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def write_snapshot(target: Path, tables: Mapping[str, Mapping[str, Record]], counters: Mapping[str, int]) -> None:
    """Write a fresh data file holding exactly these records (for stores that have no file of their own)."""
    files = SqliteTables(target)
    try:
        files.replace_all(tables, counters)
    finally:
        files.close()


def _rows_of(tables: Mapping[str, Mapping[str, Record]]) -> Iterable[tuple[str, str, str]]:
    for table, rows in tables.items():
        for key, record in rows.items():
            yield table, key, _encode(record)


def _encode(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _refuse_foreign_file(path: Path) -> None:
    """Never turn someone else's file (e.g. the JSON of older sandboxes) into a SQLite database."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_MAGIC))
    if header != _SQLITE_MAGIC:
        hint = " (the JSON format of older sandboxes: delete it to reseed)" if header[:1] in (b"{", b"[") else ""
        raise StoreFileError(f"{path}: not a ServiceNow emulator SQLite file{hint}")
