"""The daily raw-data export for the customer's BI tool (tender §7.2.5): one row per request of a Paris day.

Columns are facts the ledger holds about a request, never a secret nor a message: no body, no subject, no sender
address (the partner organisation stands for the requester). CSV is always available (UTF-8, comma-separated,
header row, ISO 8601 times in UTC with a ``Z``); Parquet needs the optional extra ``sesame[parquet]`` (pyarrow,
tens of megabytes, so not a base dependency) and keeps the types (timestamps in UTC, booleans, integers).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import Engine

from automations.reporting.figures import RequestFact, is_uo_tr11, load_requests
from automations.reporting.reconcile import utc_bounds

ExportFormat = Literal["csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")
# The export's columns, in order; the BI tool relies on these names (docs/reporting.md).
COLUMNS = ("request_key", "ticket_number", "ticket_sys_id", "channel", "intent", "partner_id", "playbook", "status",
           "outcome", "reason", "created_at", "finished_at", "duration_seconds", "uo_tr11")


class ExportError(RuntimeError):
    """The export cannot be written (a missing optional dependency, an unwritable directory)."""


@dataclass(frozen=True)
class ExportRow:
    """One request as exported."""

    request_key: str
    ticket_number: str | None
    ticket_sys_id: str | None
    channel: str
    intent: str | None
    partner_id: str | None
    playbook: str | None
    status: str
    outcome: str | None
    reason: str | None
    created_at: datetime  # naive UTC
    finished_at: datetime | None
    duration_seconds: int | None
    uo_tr11: bool

    @classmethod
    def of(cls, fact: RequestFact) -> ExportRow:
        duration = None if fact.finished_at is None else int((fact.finished_at - fact.created_at).total_seconds())
        return cls(fact.key, fact.ticket_number, fact.ticket_sys_id, fact.channel, fact.intent, fact.partner_id,
                   fact.playbook, fact.status, fact.decision, fact.reason, fact.created_at, fact.finished_at,
                   duration, is_uo_tr11(fact))


def day_rows(engine: Engine, day: date) -> list[ExportRow]:
    """The requests created on the Paris day ``day``, oldest first."""
    start, end = utc_bounds(day, day)
    return [ExportRow.of(f) for f in load_requests(engine, start) if start <= f.created_at < end]


def _iso(instant: datetime | None) -> str:
    return "" if instant is None else instant.isoformat(timespec="seconds") + "Z"


def _csv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso(value)
    return "" if value is None else str(value)


def write_csv(rows: Sequence[ExportRow], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_csv_value(getattr(row, column)) for column in COLUMNS])
    return path


def write_parquet(rows: Sequence[ExportRow], path: Path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("Parquet export needs the optional extra: pip install 'sesame[parquet]' (pyarrow); "
                          "CSV needs nothing: --format csv") from None
    text, stamp = pa.string(), pa.timestamp("s", tz="UTC")
    schema = pa.schema([(c, text) for c in COLUMNS[:10]] + [("created_at", stamp), ("finished_at", stamp),
                                                           ("duration_seconds", pa.int64()), ("uo_tr11", pa.bool_())])
    columns = {column: [getattr(row, column) for row in rows] for column in COLUMNS}
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)
    return path


def export_day(engine: Engine, day: date, fmt: ExportFormat, directory: Path) -> tuple[Path, int]:
    """Write ``sesame-requests-<day>.<fmt>`` into ``directory`` (created if needed); the file and its row count."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"{directory}: cannot create the export directory: {error}") from None
    rows = day_rows(engine, day)
    path = directory / f"sesame-requests-{day.isoformat()}.{fmt}"
    writer = write_csv if fmt == "csv" else write_parquet
    return writer(rows, path), len(rows)
