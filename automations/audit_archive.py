"""The audit trail leaving the ledger: JSON-lines export for the SIEM (AUD-03) and retention purges (AUD-05).

A purge never breaks verification: it first verifies the chain (a broken chain is not purged, so tampering is
not erased), then, in one transaction holding the append lock, records a signed anchor "purged through seq N,
whose hash is H" and deletes records 1..N; verification then starts from the anchor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from automations.audit import (
    AuditAnchorRow,
    AuditError,
    AuditKey,
    AuditRecordRow,
    anchor_mac,
    lock_head,
    naive_utc,
    verify,
)
from automations.audit_record import iso_utc


def export(engine: Engine, since: datetime | None, until: datetime | None, out: TextIO) -> int:
    """Write the records with ``since <= at < until`` to ``out`` as JSON lines, oldest first; return how many.

    Each line carries seq, time, request key, the record and both hashes, so the SIEM copy can be checked too.
    """
    query = select(AuditRecordRow).order_by(AuditRecordRow.seq)
    if since is not None:
        query = query.where(AuditRecordRow.at >= naive_utc(since))
    if until is not None:
        query = query.where(AuditRecordRow.at < naive_utc(until))
    written = 0
    with engine.connect() as connection:
        for row in connection.execution_options(yield_per=500).execute(query):
            line = {"seq": row.seq, "at": iso_utc(row.at), "request_key": row.request_key,
                    "record": json.loads(row.record), "prev_hash": row.prev_hash, "hash": row.hash}  # fmt: skip
            out.write(json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
            written += 1
    return written


@dataclass(frozen=True)
class PurgeReport:
    """What a retention purge removed: ``purged`` records, through seq ``through`` (None when nothing)."""

    purged: int
    through: int | None


def purge_older_than(engine: Engine, key: AuditKey, days: int, *, now: datetime | None = None) -> PurgeReport:
    """Delete the records older than ``days`` days, leaving a signed anchor so the chain still verifies.

    Raises ``AuditError`` when the chain does not verify: evidence of tampering is kept for a person to look at.
    """
    if days < 1:
        raise AuditError(f"audit.retention_days must be at least 1 (got {days})")
    report = verify(engine, key)
    if not report.ok:
        raise AuditError("refusing to purge: the audit chain does not verify ("
                         + "; ".join(report.problems[:3]) + "); run `sesame audit verify`")  # fmt: skip
    cutoff = naive_utc(now or datetime.now(UTC)) - timedelta(days=days)
    with engine.begin() as connection:
        lock_head(connection)
        through = connection.scalar(select(func.max(AuditRecordRow.seq)).where(AuditRecordRow.at < cutoff))
        if through is None:
            return PurgeReport(0, None)
        # Records are appended in time order, so everything up to ``through`` is older than the cutoff.
        last_hash = connection.scalar(select(AuditRecordRow.hash).where(AuditRecordRow.seq == through))
        if last_hash is None:  # pragma: no cover - the max seq was just read under the lock
            raise AuditError(f"record seq {through} vanished during the purge")
        at = naive_utc(now or datetime.now(UTC))
        connection.execute(insert(AuditAnchorRow).values(
            purged_through=through, hash=last_hash, at=at, mac=anchor_mac(key, through, last_hash, at)
        ))  # fmt: skip
        purged = connection.execute(delete(AuditRecordRow).where(AuditRecordRow.seq <= through)).rowcount
    return PurgeReport(int(purged), int(through))
