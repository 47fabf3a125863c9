"""Load arbitrary records into any emulated table (``sesame sandbox load --table T --file records.json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.servicenow.errors import TableApiError
from sandbox.servicenow.store import TableStore

LOADER_USER = "admin"


class RecordsFileError(ValueError):
    """A records file cannot be read; the message names the file and line."""


class RecordLoadError(ValueError):
    """A record was refused by the table (duplicate sys_id, data policy...); names its index in the input."""


def load_records(store: TableStore, table: str, records: Sequence[object]) -> int:
    """Insert each record into ``table`` as the admin user; returns how many were loaded.

    Every row is checked before any is inserted. A given ``sys_id`` is kept; references may be sys_ids or
    display values (a user's name, a group's name...); values may be plain or ``{"value": ...}`` cells as
    the Table API returns them, so a saved API response can be loaded back.
    """
    store.schema(table)  # an unknown table raises the store's InvalidTableError
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise ValueError(f"record {index}: expected a JSON object, got {_kind(record)}")
        rows.append(record)
    for index, row in enumerate(rows):
        try:
            store.insert(table, row, user=LOADER_USER)
        except TableApiError as exc:
            raise RecordLoadError(f"record {index}: {exc} ({_loaded_before(index)})") from exc
    return len(rows)


def read_records_file(path: str | Path) -> list[dict[str, Any]]:
    """Records from a JSON list, ``{"records": [...]}`` (or a Table API ``{"result": [...]}``), or JSON lines."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordsFileError(f"{source}: cannot read the records file: {exc}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if _looks_like_json_lines(text):
            return _json_lines(source, text)
        raise RecordsFileError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    return _records_of(source, text, document)


def _records_of(source: Path, text: str, document: object) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        for key in ("records", "result"):
            if key in document:
                return _object_list(source, text, document[key], f"{key!r}")
        if len(text.strip().splitlines()) == 1:
            return [document]  # JSON lines holding one record
        raise RecordsFileError(
            f'{source}:1: expected a JSON list of records, an object with a "records" list, or JSON lines'
        )
    return _object_list(source, text, document, "the document")


def _object_list(source: Path, text: str, items: object, what: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise RecordsFileError(f"{source}:1: {what} must be a JSON list of records, got {_kind(items)}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            line = _line_of_item(text, index)
            raise RecordsFileError(f"{source}:{line}: record {index} must be a JSON object, got {_kind(item)}")
    return list(items)


def _looks_like_json_lines(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and lines[0].lstrip().startswith("{")


def _json_lines(source: Path, text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordsFileError(f"{source}:{number}:{exc.colno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise RecordsFileError(f"{source}:{number}: each line must be a JSON object, got {_kind(record)}")
        records.append(record)
    return records


def _line_of_item(text: str, index: int) -> int:
    """The line where the index-th element of the file's list starts (best effort, for error messages)."""
    decoder = json.JSONDecoder()
    start = text.find("[")
    position, seen = start + 1, 0
    while 0 <= start < position < len(text):
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if seen == index:
            return text.count("\n", 0, position) + 1
        try:
            _, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            break
        seen += 1
    return 1


def _loaded_before(index: int) -> str:
    if index == 0:
        return "nothing was loaded"
    return "record 0 was loaded" if index == 1 else f"records 0-{index - 1} were loaded"


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
