"""The ledger: every request, its decision with reasons, the actions taken and the ticket, in one database.

SQLite by default, any SQLAlchemy URL in production. The managers' figures are computed from it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from automations import audit
from automations.audit_record import build_record
from automations.request import Request

RECEIVED, DONE, FAILED = "received", "done", "failed"
AUTOMATED, HANDED_OVER = "automated", "handed_over"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class RequestRow(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=RECEIVED, index=True)
    intent: Mapped[str | None] = mapped_column(String(64))
    targets: Mapped[str] = mapped_column(Text, default="[]")
    decision: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    # What the understanding backend concluded and why (rule names and scores, never message text).
    understanding: Mapped[str | None] = mapped_column(Text)
    partner_id: Mapped[str | None] = mapped_column(String(128))
    ticket_sys_id: Mapped[str | None] = mapped_column(String(64))
    ticket_number: Mapped[str | None] = mapped_column(String(40))
    playbook: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()


class ActionRow(Base):
    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    step: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(Text)
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(default=False)
    # The domain controller or endpoint that took the write (for the audit trail).
    server: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PollRow(Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(320))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    new_requests: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Outcome:
    """How one request ended, as the ledger records it."""

    decision: str
    reason: str | None = None
    detail: str | None = None
    intent: str | None = None
    targets: tuple[str, ...] = ()
    partner_id: str | None = None
    ticket_sys_id: str | None = None
    ticket_number: str | None = None
    playbook: str | None = None
    understanding: dict[str, Any] | None = None
    # Ids the remote systems gave the calls made for this request (Graph request-id, ServiceNow transaction…).
    request_ids: tuple[str, ...] = ()


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # WAL lets the pollers read while a worker writes; the busy timeout absorbs short write contention.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


class Ledger:
    """Record requests, outcomes, actions and polls; answer the fleet's and the managers' questions.

    With an ``audit_key``, every ``finish`` also appends the request's decision record to the hash-chained audit
    trail (``automations.audit``) in the same transaction: a request is never finished without its record.
    """

    def __init__(self, url: str, *, audit_key: audit.AuditKey | None = None) -> None:
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        Base.metadata.create_all(self.engine)
        audit.create_tables(self.engine)
        self._add_missing_columns()
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.audit_key = audit_key

    def _add_missing_columns(self) -> None:
        """Columns added since a ledger was created (nullable ones only) are added in place.

        A stop-gap until Alembic migrations: it never drops or changes a column.
        """
        with self.engine.begin() as connection:
            for model in (RequestRow, ActionRow):
                table = model.__tablename__
                existing = {c["name"] for c in inspect(connection).get_columns(table)}
                for column in model.__table__.columns:
                    if column.name not in existing and column.nullable:
                        kind = column.type.compile(dialect=self.engine.dialect)
                        connection.execute(text(f'ALTER TABLE {table} ADD COLUMN "{column.name}" {kind}'))

    def register(self, request: Request) -> bool:
        """Record a newly seen request; False when its key was seen before (the request is a duplicate)."""
        with self._session() as session:
            session.add(
                RequestRow(key=request.key, channel=request.channel, sender=request.sender_address,
                           subject=request.subject[:1000])
            )
            try:
                session.commit()
            except IntegrityError:
                return False
        return True

    def status(self, key: str) -> str | None:
        """The status of the request with ``key``, or None if never seen."""
        with self._session() as session:
            return session.scalar(select(RequestRow.status).where(RequestRow.key == key))

    def record_action(self, key: str, *, step: str, action: str, target: str,
                      before: dict[str, Any], after: dict[str, Any], dry_run: bool, server: str = "") -> None:
        """Append one directory or system action with its before/after state."""
        with self._session() as session:
            request_id = session.scalar(select(RequestRow.id).where(RequestRow.key == key))
            if request_id is None:
                raise KeyError(f"request {key!r} is not in the ledger")
            session.add(ActionRow(request_id=request_id, step=step, action=action, target=target,
                                  before=json.dumps(before, sort_keys=True), after=json.dumps(after, sort_keys=True),
                                  dry_run=dry_run, server=server or None))
            session.commit()

    def finish(self, key: str, outcome: Outcome, *, status: str = DONE, request: Request | None = None) -> None:
        """Record how the request ended, and its decision record when auditing is on.

        Pass ``request`` when it is at hand: the audit record then holds the body's SHA-256, a masked excerpt
        and the ``Authentication-Results`` evidence.
        """
        with self._session() as session:
            row = session.scalar(select(RequestRow).where(RequestRow.key == key))
            if row is None:
                raise KeyError(f"request {key!r} is not in the ledger")
            changes = [
                {"step": a.step, "action": a.action, "target": a.target, "before": json.loads(a.before),
                 "after": json.loads(a.after), "dry_run": a.dry_run, "server": a.server}
                for a in session.scalars(select(ActionRow).where(ActionRow.request_id == row.id).order_by(ActionRow.id))
            ] if self.audit_key is not None else []  # fmt: skip
            row.status = status
            row.decision, row.reason, row.detail = outcome.decision, outcome.reason, outcome.detail
            row.intent, row.targets = outcome.intent, json.dumps(list(outcome.targets))
            row.partner_id, row.playbook = outcome.partner_id, outcome.playbook
            row.understanding = json.dumps(outcome.understanding, ensure_ascii=False) if outcome.understanding else None
            row.ticket_sys_id, row.ticket_number = outcome.ticket_sys_id, outcome.ticket_number
            row.finished_at = utcnow()
            if self.audit_key is not None:
                record = build_record(key=key, channel=row.channel, correspondent=row.sender, at=row.finished_at,
                                      status=status, outcome=outcome, changes=changes, request=request)
                # Flushing the request row first takes SQLite's write lock before the head is read.
                session.flush()
                audit.append(session.connection(), self.audit_key, record)
            session.commit()

    def record_poll(self, source: str, started_at: datetime, new_requests: int) -> None:
        """Remember a completed poll: the fleet is idle only after a poll that found nothing new."""
        with self._session() as session:
            session.add(PollRow(source=source, started_at=started_at, new_requests=new_requests))
            session.commit()

    def pending(self) -> int:
        """Requests seen but not finished."""
        with self._session() as session:
            return session.scalar(select(func.count()).where(RequestRow.status == RECEIVED)) or 0

    def is_idle(self, since: datetime) -> bool:
        """True when nothing is pending and a poll started after the last finish found nothing new."""
        with self._session() as session:
            if session.scalar(select(func.count()).where(RequestRow.status == RECEIVED)):
                return False
            last_finish = session.scalar(select(func.max(RequestRow.finished_at))) or since
            quiet_poll = session.scalar(
                select(func.count()).where(PollRow.started_at > max(last_finish, since), PollRow.new_requests == 0)
            )
            return bool(quiet_poll)

    def summary(self, since: datetime | None = None) -> dict[str, Any]:
        """Requests seen, automated, handed over with their reasons, and the automated share, since ``since``."""
        with self._session() as session:
            query = select(RequestRow)
            if since is not None:
                query = query.where(RequestRow.created_at >= since)
            rows = session.scalars(query).all()
        automated = [r for r in rows if r.decision == AUTOMATED]
        handed = [r for r in rows if r.decision == HANDED_OVER]
        return {
            "requests_seen": len(rows),
            "automated": len(automated),
            "handed_to_humans": len(handed),
            "pending": sum(1 for r in rows if r.status == RECEIVED),
            "failed": sum(1 for r in rows if r.status == FAILED),
            "reasons": dict(Counter(r.reason or "unspecified" for r in handed).most_common()),
            "automated_pct": round(100.0 * len(automated) / len(rows), 1) if rows else 0.0,
            "requests": [
                {"key": r.key, "sender": r.sender, "subject": r.subject, "decision": r.decision, "reason": r.reason,
                 "ticket": r.ticket_number, "intent": r.intent,
                 "understanding": json.loads(r.understanding) if r.understanding else None}
                for r in rows
            ],
        }

    def actions(self, key: str) -> list[dict[str, Any]]:
        """The actions recorded for one request, oldest first."""
        with self._session() as session:
            rows = session.execute(
                select(ActionRow).join(RequestRow, ActionRow.request_id == RequestRow.id)
                .where(RequestRow.key == key).order_by(ActionRow.id)
            ).scalars().all()
        return [{"step": a.step, "action": a.action, "target": a.target, "before": json.loads(a.before),
                 "after": json.loads(a.after), "dry_run": a.dry_run} for a in rows]
