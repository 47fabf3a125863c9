"""The ledger: every request, its decision with reasons, the actions taken and the ticket, in one database.

SQLite by default, any SQLAlchemy URL in production. The managers' figures are computed from it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from automations import audit, ledger_migrations
from automations.audit_record import build_record
from automations.request import Request

RECEIVED, DONE, FAILED = "received", "done", "failed"
AUTOMATED, HANDED_OVER = "automated", "handed_over"
# A message that needed nothing (auto-reply, thanks attached to its ticket…): not a service-desk request
# (automations.playbooks.conversation.IGNORED is this value).
IGNORED = "ignored"
# Journal entry states: a write was about to be sent (outcome unknown until "done"), or the step completed.
WRITING, STEP_DONE = "writing", "done"


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
    # The worker handling the request now ("host:pid:nonce") and until when; a dead one's request is resumed.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column()
    # UO-TR1.1 and its evidence (automations.closure): does the ticket count, who created and who closed it. The
    # closing playbook is ``playbook`` above. NULL: no ticket, or recorded before provenance was kept.
    uo_tr11: Mapped[bool | None] = mapped_column(index=True)
    ticket_created_by_automation: Mapped[bool | None] = mapped_column()
    ticket_created_by: Mapped[str | None] = mapped_column(String(200))
    ticket_created_at: Mapped[datetime | None] = mapped_column()
    ticket_closed_by_automation: Mapped[bool | None] = mapped_column()
    ticket_closed_by: Mapped[str | None] = mapped_column(String(200))
    ticket_closed_at: Mapped[datetime | None] = mapped_column()
    automation_user: Mapped[str | None] = mapped_column(String(200))
    ticket_tag: Mapped[str | None] = mapped_column(String(64))


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


class JournalRow(Base):
    """One step of a playbook run, written before the next step starts, so an interrupted run resumes."""

    __tablename__ = "journal"
    __table_args__ = (UniqueConstraint("request_key", "step", name="uq_journal_request_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_key: Mapped[str] = mapped_column(String(512), index=True)
    step: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    playbook_id: Mapped[str] = mapped_column(String(128))
    playbook_version: Mapped[int] = mapped_column(Integer)
    playbook_hash: Mapped[str] = mapped_column(String(64))
    # The run's state after the step (plain data, never a secret) and whether the step wrote anything.
    result: Mapped[str] = mapped_column(Text, default="{}")
    wrote: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowRow(Base):
    """What a playbook in shadow mode would have done for one request, to compare with what people did."""

    __tablename__ = "shadow_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_key: Mapped[str] = mapped_column(String(512), unique=True)
    ticket_sys_id: Mapped[str | None] = mapped_column(String(64))
    ticket_number: Mapped[str | None] = mapped_column(String(40))
    intent: Mapped[str | None] = mapped_column(String(64))
    playbook_id: Mapped[str] = mapped_column(String(128))
    playbook_version: Mapped[int] = mapped_column(Integer)
    playbook_hash: Mapped[str] = mapped_column(String(64))
    # "automated" (it would have acted and closed) or "handed_over" (it would have refused, with ``reason``).
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    close_code: Mapped[str | None] = mapped_column(String(128))
    kb_article: Mapped[str | None] = mapped_column(String(64))
    actions: Mapped[str] = mapped_column(Text, default="[]")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


@dataclass(frozen=True)
class JournalEntry:
    """One journaled step as a run reads it back."""

    step: str
    action: str
    status: str
    playbook_id: str
    playbook_version: int
    playbook_hash: str
    result: dict[str, Any]
    wrote: bool


@dataclass(frozen=True)
class ShadowPlan:
    """A shadow-mode plan as recorded."""

    request_key: str
    ticket_sys_id: str | None
    ticket_number: str | None
    intent: str | None
    playbook_id: str
    playbook_version: int
    playbook_hash: str
    outcome: str
    reason: str | None = None
    detail: str | None = None
    close_code: str | None = None
    kb_article: str | None = None
    actions: tuple[dict[str, Any], ...] = ()
    at: datetime | None = None


class FlashRow(Base):
    """The daily 9:00 flash as computed by the scheduled task (workers.tasks.daily_flash), one per Paris day."""

    __tablename__ = "flash_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    # Which count was the rate's denominator: "servicenow" (the contract's) or "ledger".
    denominator: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)  # reporting.flash.Flash.as_dict(), as JSON
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PollRow(Base):
    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(320))
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    new_requests: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class TicketProvenance:
    """Who created and who closed a request's ticket, as the UO-TR1.1 evidence (rules: ``automations.closure``).

    ``created_by``/``closed_by`` name the automation's worker (``host:pid``) or, for a ticket a person opened, that
    person's ServiceNow user; ``automation_user`` is the ServiceNow account the automation acts as; ``tag`` the tag
    the closure applied (None: closed without one, e.g. an out-of-scope answer).
    """

    created_by_automation: bool
    created_by: str | None = None
    created_at: datetime | None = None
    closed_by_automation: bool = False
    closed_by: str | None = None
    closed_at: datetime | None = None
    automation_user: str | None = None
    tag: str | None = None


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
    provenance: TicketProvenance | None = None
    # Counts for the bonus: decided by ``automations.closure.counts_as_uo_tr11`` on the provenance, nowhere else.
    uo_tr11: bool = False


_WAL_ATTEMPTS = 100  # 10 s


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        # The busy timeout first: switching to WAL takes a lock too, and workers starting together must wait for
        # it, not fail with "database is locked". WAL lets the pollers read while a worker writes.
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite answers the switch to WAL with "database is locked" at once, without the busy timeout, while
        # another connection creates the database: wait for it here.
        for attempt in range(_WAL_ATTEMPTS):
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or attempt == _WAL_ATTEMPTS - 1:
                    raise
                time.sleep(0.1)
        cursor.close()


def _record_provenance(row: RequestRow, outcome: Outcome) -> None:
    found = outcome.provenance
    if found is None:
        if outcome.uo_tr11:
            raise ValueError("a UO-TR1.1 claim needs its provenance (who created and who closed the ticket)")
        row.uo_tr11 = None  # judged as before provenance was kept (reporting.figures.is_uo_tr11)
        return
    row.uo_tr11 = outcome.uo_tr11
    row.ticket_created_by_automation, row.ticket_created_by = found.created_by_automation, found.created_by
    row.ticket_created_at = found.created_at
    row.ticket_closed_by_automation, row.ticket_closed_by = found.closed_by_automation, found.closed_by
    row.ticket_closed_at, row.automation_user, row.ticket_tag = found.closed_at, found.automation_user, found.tag


class Ledger:
    """Record requests, outcomes, actions and polls; answer the fleet's and the managers' questions.

    With an ``audit_key``, every ``finish`` also appends the request's decision record to the hash-chained audit
    trail (``automations.audit``) in the same transaction: a request is never finished without its record.
    """

    def __init__(self, url: str, *, audit_key: audit.AuditKey | None = None) -> None:
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        # The schema is Alembic's (automations/ledger_migrations): a new or older database is brought to the
        # newest revision here, so upgrading Sésame upgrades its ledger (docs/runbook.md, "Ledger database").
        ledger_migrations.upgrade(self.engine)
        audit.create_tables(self.engine)  # the tables exist by now: this only adds the chain's head row
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.audit_key = audit_key

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
            _record_provenance(row, outcome)
            row.finished_at = utcnow()
            if self.audit_key is not None:
                record = build_record(key=key, channel=row.channel, correspondent=row.sender, at=row.finished_at,
                                      status=status, outcome=outcome, changes=changes, request=request)
                # Flushing the request row first takes SQLite's write lock before the head is read.
                session.flush()
                audit.append(session.connection(), self.audit_key, record)
            session.commit()

    # --- leases: which worker handles a request now (so a dead worker's request is resumed, and only once) ---

    def claim(self, key: str, owner: str, ttl: timedelta, *,
              stale: Callable[[str], bool] = lambda _owner: False) -> bool:
        """Take the lease of a request still being received for ``owner``; False when another live worker holds it.

        A lease is free when nobody holds it, it expired, or ``stale(holder)`` says its holder is gone (a dead
        process on this host). The update is a compare-and-set on the previous holder: two workers never both win.
        """
        now = utcnow()
        with self.engine.begin() as connection:
            row = connection.execute(select(RequestRow.status, RequestRow.lease_owner, RequestRow.lease_until)
                                     .where(RequestRow.key == key)).first()
            if row is None or row.status != RECEIVED:
                return False
            holder, until = row.lease_owner, row.lease_until
            if holder not in (None, owner) and until is not None and until > now and not stale(holder):
                return False
            same_holder = RequestRow.lease_owner.is_(None) if holder is None else RequestRow.lease_owner == holder
            done = connection.execute(update(RequestRow)
                                      .where(RequestRow.key == key, RequestRow.status == RECEIVED, same_holder)
                                      .values(lease_owner=owner, lease_until=now + ttl))
            return done.rowcount == 1

    def renew(self, key: str, owner: str, ttl: timedelta) -> None:
        """Extend ``owner``'s lease (each journaled step does, so a long run keeps it)."""
        with self.engine.begin() as connection:
            connection.execute(update(RequestRow).where(RequestRow.key == key, RequestRow.lease_owner == owner)
                               .values(lease_until=utcnow() + ttl))

    def release(self, key: str, owner: str) -> None:
        """Give the lease back (before a retry): the next attempt may run in any worker."""
        with self.engine.begin() as connection:
            connection.execute(update(RequestRow).where(RequestRow.key == key, RequestRow.lease_owner == owner)
                               .values(lease_owner=None, lease_until=None))

    def resumable(self, *, stale: Callable[[str], bool], unclaimed_for: timedelta,
                  registered_before: datetime | None = None) -> list[str]:
        """Requests still being received whose worker is gone (lease expired or holder dead), or that nobody
        claimed for ``unclaimed_for`` or since before ``registered_before`` (naive UTC; their queue message may
        have been lost with a stopped process): to be queued again."""
        now = utcnow()
        with self._session() as session:
            rows = session.execute(select(RequestRow.key, RequestRow.lease_owner, RequestRow.lease_until,
                                          RequestRow.created_at).where(RequestRow.status == RECEIVED)).all()
        keys = []
        for key, owner, until, created in rows:
            if owner is None:
                if created < now - unclaimed_for or (registered_before is not None and created < registered_before):
                    keys.append(key)
            elif until is None or until < now or stale(owner):
                keys.append(key)
        return keys

    # --- the step journal of playbook runs ---

    def journal(self, key: str) -> list[JournalEntry]:
        """The journaled steps of request ``key``, in the order they were first written."""
        with self._session() as session:
            rows = session.scalars(select(JournalRow).where(JournalRow.request_key == key).order_by(JournalRow.id))
            return [JournalEntry(r.step, r.action, r.status, r.playbook_id, r.playbook_version, r.playbook_hash,
                                 json.loads(r.result), r.wrote) for r in rows]

    def journal_step(self, key: str, step: str, *, action: str, status: str, playbook: tuple[str, int, str],
                     result: dict[str, Any] | None = None, wrote: bool = False) -> None:
        """Write (or move forward) one step's entry, committed before this returns."""
        playbook_id, version, content_hash = playbook
        with self._session() as session:
            row = session.scalar(select(JournalRow).where(JournalRow.request_key == key, JournalRow.step == step))
            if row is None:
                row = JournalRow(request_key=key, step=step)
                session.add(row)
            row.action, row.status, row.wrote = action, status, wrote or bool(row.wrote)
            row.playbook_id, row.playbook_version, row.playbook_hash = playbook_id, version, content_hash
            row.result = json.dumps(result or {}, sort_keys=True, ensure_ascii=False)
            row.at = utcnow()
            session.commit()

    def discard_journal(self, key: str) -> None:
        """Forget the journal of ``key`` (a restart from scratch, allowed only when nothing was written)."""
        with self.engine.begin() as connection:
            connection.execute(delete(JournalRow).where(JournalRow.request_key == key))

    # --- shadow mode ---

    def record_shadow(self, plan: ShadowPlan) -> None:
        """Keep what a shadow playbook would have done; a request handled again keeps its first plan."""
        with self._session() as session:
            session.add(ShadowRow(
                request_key=plan.request_key, ticket_sys_id=plan.ticket_sys_id, ticket_number=plan.ticket_number,
                intent=plan.intent, playbook_id=plan.playbook_id, playbook_version=plan.playbook_version,
                playbook_hash=plan.playbook_hash, outcome=plan.outcome, reason=plan.reason, detail=plan.detail,
                close_code=plan.close_code, kb_article=plan.kb_article,
                actions=json.dumps(list(plan.actions), sort_keys=True, ensure_ascii=False),
            ))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()

    def shadow_plans(self, since: datetime | None = None) -> list[ShadowPlan]:
        """Shadow plans recorded since ``since`` (naive UTC), oldest first."""
        with self._session() as session:
            query = select(ShadowRow).order_by(ShadowRow.id)
            if since is not None:
                query = query.where(ShadowRow.at >= since)
            rows = session.scalars(query).all()
        return [ShadowPlan(r.request_key, r.ticket_sys_id, r.ticket_number, r.intent, r.playbook_id,
                           r.playbook_version, r.playbook_hash, r.outcome, r.reason, r.detail, r.close_code,
                           r.kb_article, tuple(json.loads(r.actions)), r.at) for r in rows]

    def record_flash(self, day: date, denominator: str, body: dict[str, Any]) -> None:
        """Keep the flash of ``day`` (computed again, it replaces the earlier one)."""
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
        with self._session() as session:
            row = session.scalar(select(FlashRow).where(FlashRow.day == day))
            if row is None:
                row = FlashRow(day=day)
                session.add(row)
            row.denominator, row.body, row.at = denominator, text, utcnow()
            session.commit()

    def flash_report(self, day: date) -> tuple[str, dict[str, Any]] | None:
        """The stored flash of ``day``: its denominator's kind and its figures; None when none was computed."""
        with self._session() as session:
            row = session.scalar(select(FlashRow).where(FlashRow.day == day))
        return (row.denominator, json.loads(row.body)) if row is not None else None

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
        """Requests seen, automated (UO-TR1.1 or not), handed over with their reasons, and the automated share,
        since ``since``. Messages that needed nothing (auto-replies, thanks) are not service-desk requests: they are
        counted apart (``ignored``) and left out of the share."""
        with self._session() as session:
            query = select(RequestRow)
            if since is not None:
                query = query.where(RequestRow.created_at >= since)
            rows = session.scalars(query).all()
        requests = [r for r in rows if r.decision != IGNORED]
        ignored = [r for r in rows if r.decision == IGNORED]
        automated = [r for r in requests if r.decision == AUTOMATED]
        # The flag is NULL only on rows recorded before provenance was kept: judged then as automated and done.
        counted = [r for r in automated if r.status == DONE and (r.uo_tr11 is None or r.uo_tr11)]
        handed = [r for r in requests if r.decision == HANDED_OVER]
        return {
            "requests_seen": len(requests),
            "automated": len(automated),
            "uo_tr11": len(counted),
            "automated_not_counted": len(automated) - len(counted),
            "handed_to_humans": len(handed),
            "ignored": len(ignored),
            "ignored_reasons": dict(Counter(r.reason or "unspecified" for r in ignored).most_common()),
            "pending": sum(1 for r in requests if r.status == RECEIVED),
            "failed": sum(1 for r in requests if r.status == FAILED),
            "reasons": dict(Counter(r.reason or "unspecified" for r in handed).most_common()),
            # The contract's share: UO-TR1.1 tickets ÷ requests (the reports use ServiceNow's count as denominator).
            "automated_pct": round(100.0 * len(counted) / len(requests), 1) if requests else 0.0,
            "requests": [
                {"key": r.key, "sender": r.sender, "subject": r.subject, "decision": r.decision, "reason": r.reason,
                 "ticket": r.ticket_number, "intent": r.intent, "uo_tr11": r.uo_tr11,
                 "understanding": json.loads(r.understanding) if r.understanding else None}
                for r in rows
            ],
        }

    def provenance(self, key: str) -> TicketProvenance | None:
        """Who created and who closed the ticket of request ``key`` (None: not recorded)."""
        with self._session() as session:
            row = session.scalar(select(RequestRow).where(RequestRow.key == key))
        if row is None or row.ticket_created_by_automation is None:
            return None
        return TicketProvenance(
            created_by_automation=row.ticket_created_by_automation, created_by=row.ticket_created_by,
            created_at=row.ticket_created_at, closed_by_automation=bool(row.ticket_closed_by_automation),
            closed_by=row.ticket_closed_by, closed_at=row.ticket_closed_at, automation_user=row.automation_user,
            tag=row.ticket_tag)

    def actions(self, key: str) -> list[dict[str, Any]]:
        """The actions recorded for one request, oldest first."""
        with self._session() as session:
            rows = session.execute(
                select(ActionRow).join(RequestRow, ActionRow.request_id == RequestRow.id)
                .where(RequestRow.key == key).order_by(ActionRow.id)
            ).scalars().all()
        return [{"step": a.step, "action": a.action, "target": a.target, "before": json.loads(a.before),
                 "after": json.loads(a.after), "dry_run": a.dry_run} for a in rows]
