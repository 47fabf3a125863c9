"""The tamper-evident audit trail (AUD-03): decision records chained by HMAC, and their verification.

``h_i = HMAC-SHA256(K, h_{i-1} || canonical(record_i))`` with ``h_0`` = 32 zero bytes. The records live in
``audit_records`` next to the ledger; ``audit_head`` holds the last (seq, hash) and is the lock that serialises
appends across workers (an ``UPDATE`` of that one row comes first in the appending transaction: SQLite takes its
write lock there, PostgreSQL a row lock). Retention purges leave a signed anchor ("purged through seq N whose
hash is H") so verification starts from it; checkpoints (head, count, time, signed) go to a JSON-lines file meant
for WORM storage and let a later verification notice records cut off the end.

Every problem verification finds starts with a stable code: ``wrong_key``, ``record_modified``, ``record_missing``,
``chain_broken``, ``column_mismatch``, ``record_unreadable``, ``head_mismatch``, ``anchor_invalid``,
``checkpoint_invalid``, ``checkpoint_mismatch``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, Text, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from automations.audit_record import DecisionRecord, canonical_json, iso_utc

GENESIS = "0" * 64
HEAD_ID = 1
MAX_PROBLEMS = 50
# Passes along a chain that keeps growing while it is verified, before the head is compared as it stands.
MAX_PASSES = 100
_KEY_CHECK = b"sesame-audit/key-check/1"
_ANCHOR = b"sesame-audit/anchor/1|"
_CHECKPOINT = b"sesame-audit/checkpoint/1|"


class AuditError(Exception):
    """The audit trail cannot be written or changed safely; the message says what to fix."""


class AuditKey:
    """The chain's HMAC key; its repr and str never show it (AUD-02)."""

    MIN_LENGTH = 32

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(raw) < self.MIN_LENGTH:
            raise AuditError(f"audit.key is too short: use at least {self.MIN_LENGTH} random characters "
                             "(e.g. `openssl rand -hex 32`) in SESAME_AUDIT_KEY")  # fmt: skip
        self._raw = raw

    def mac(self, *parts: bytes) -> str:
        """Hex HMAC-SHA256 of the concatenated ``parts``."""
        return hmac.new(self._raw, b"".join(parts), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "AuditKey(***)"

    __str__ = __repr__


class AuditBase(DeclarativeBase):
    pass


class AuditRecordRow(AuditBase):
    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    request_key: Mapped[str] = mapped_column(String(512), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # The canonical JSON exactly as signed (text, not a JSON column, so no database re-encodes it).
    record: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(AuditBase):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)
    key_check: Mapped[str | None] = mapped_column(String(64))


class AuditAnchorRow(AuditBase):
    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purged_through: Mapped[int] = mapped_column(Integer, unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()
    mac: Mapped[str] = mapped_column(String(64))


def create_tables(engine: Engine) -> None:
    """Create the audit tables and the head row if missing (safe to call from several workers at once)."""
    AuditBase.metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            if connection.scalar(select(AuditHeadRow.id).where(AuditHeadRow.id == HEAD_ID)) is None:
                connection.execute(insert(AuditHeadRow).values(id=HEAD_ID, seq=0, hash=GENESIS))
    except IntegrityError:
        pass  # another worker created it first


def key_matches(engine: Engine, key: AuditKey) -> bool:
    """True when ``key`` is the key the trail was written with (or nothing was written yet): check it at start-up."""
    with engine.connect() as connection:
        check = connection.scalar(select(AuditHeadRow.key_check).where(AuditHeadRow.id == HEAD_ID))
    return check is None or hmac.compare_digest(check, key.mac(_KEY_CHECK))


def chain_hash(key: AuditKey, prev_hash: str, canonical: bytes) -> str:
    """``HMAC-SHA256(K, h_{i-1} || canonical(record_i))`` in hex."""
    return key.mac(bytes.fromhex(prev_hash), canonical)


def anchor_mac(key: AuditKey, purged_through: int, hash_: str, at: datetime) -> str:
    """The signature of a purge anchor."""
    return key.mac(_ANCHOR, f"{purged_through}|{hash_}|{iso_utc(at)}".encode())


def lock_head(connection: Connection) -> None:
    """Take the append lock: the first write of the transaction, held until it commits."""
    locked = connection.execute(
        update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).values(seq=AuditHeadRow.seq)
    ).rowcount  # fmt: skip
    if locked != 1:
        raise AuditError("audit_head row is missing: the audit tables were not created or were tampered with; "
                         "run `sesame audit verify`")  # fmt: skip


def append(connection: Connection, key: AuditKey, record: DecisionRecord) -> int:
    """Chain ``record`` after the head inside the caller's transaction; return its seq.

    The caller commits; until then other appenders wait on the head row, so the chain never forks.
    """
    lock_head(connection)
    head = connection.execute(
        select(AuditHeadRow.seq, AuditHeadRow.hash, AuditHeadRow.key_check).where(AuditHeadRow.id == HEAD_ID)
    ).one()  # fmt: skip
    check = key.mac(_KEY_CHECK)
    if head.key_check is not None and not hmac.compare_digest(head.key_check, check):
        raise AuditError("the configured audit.key is not the key this audit trail was written with; "
                         "restore the right key before processing requests")  # fmt: skip
    canonical = canonical_json(record)
    seq, digest = head.seq + 1, chain_hash(key, head.hash, canonical)
    at = datetime.fromisoformat(record.at.removesuffix("Z"))
    connection.execute(insert(AuditRecordRow).values(
        seq=seq, request_key=record.key, at=at, record=canonical.decode("utf-8"), prev_hash=head.hash, hash=digest
    ))  # fmt: skip
    connection.execute(
        update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).values(seq=seq, hash=digest, key_check=check)
    )  # fmt: skip
    return int(seq)


@dataclass(frozen=True)
class Checkpoint:
    """The signed state of the chain at one moment, for WORM storage."""

    at: str
    seq: int
    hash: str
    count: int
    mac: str = ""

    def signed(self, key: AuditKey) -> Checkpoint:
        return Checkpoint(self.at, self.seq, self.hash, self.count, self._mac(key))

    def _mac(self, key: AuditKey) -> str:
        return key.mac(_CHECKPOINT, f"{self.at}|{self.seq}|{self.hash}|{self.count}".encode())

    def is_valid(self, key: AuditKey) -> bool:
        return hmac.compare_digest(self.mac, self._mac(key))

    def to_json(self) -> str:
        return json.dumps({"at": self.at, "seq": self.seq, "hash": self.hash, "count": self.count, "mac": self.mac},
                          sort_keys=True, separators=(",", ":"))  # fmt: skip


@dataclass
class VerifyReport:
    """The result of recomputing the chain: ``ok`` only when no problem was found."""

    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    first_seq: int | None = None
    head_seq: int = 0
    head_hash: str = GENESIS


def naive_utc(moment: datetime) -> datetime:
    """``moment`` as the naive UTC datetime the ledger stores; naive input is taken as UTC already."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _rows(connection: Connection, after: int) -> Iterator[Any]:
    result = connection.execution_options(yield_per=500).execute(
        select(AuditRecordRow.seq, AuditRecordRow.request_key, AuditRecordRow.at, AuditRecordRow.record,
               AuditRecordRow.prev_hash, AuditRecordRow.hash)
        .where(AuditRecordRow.seq > after).order_by(AuditRecordRow.seq)
    )  # fmt: skip
    yield from result


def _check_record(key: AuditKey, row: Any, problems: list[str]) -> bool:
    """Check one record against its own hash and columns; True when its MAC matches."""
    canonical = row.record.encode("utf-8")
    matches = hmac.compare_digest(chain_hash(key, row.prev_hash, canonical), row.hash)
    if not matches:
        problems.append(f"record_modified: seq {row.seq} ({row.request_key}): the record does not match its hash")
    try:
        data = json.loads(row.record)
    except ValueError:
        problems.append(f"record_unreadable: seq {row.seq}: the record is not JSON")
        return matches
    if data.get("key") != row.request_key or data.get("at") != iso_utc(row.at):
        problems.append(f"column_mismatch: seq {row.seq}: request_key/at columns differ from the signed record")
    return matches


def _start(first_seq: int, anchors: dict[int, str], problems: list[str]) -> str | None:
    if first_seq == 1:
        return GENESIS
    anchored = anchors.get(first_seq - 1)
    if anchored is not None:
        return anchored
    problems.append(f"record_missing: seq 1..{first_seq - 1}: deleted, and no purge anchor covers them")
    return None


@dataclass
class _Walk:
    """The state of one pass along the chain."""

    key: AuditKey
    anchors: dict[int, str]
    problems: list[str] = field(default_factory=list)
    checked: int = 0
    matching: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    last_hash: str = GENESIS
    expected_prev: str | None = None

    def step(self, row: Any) -> None:
        if self.first_seq is None:
            self.first_seq = row.seq
            self.expected_prev = _start(row.seq, self.anchors, self.problems)
        elif row.seq != self.last_seq + 1:
            self.problems.append(f"record_missing: seq {self.last_seq + 1}..{row.seq - 1}: deleted")
        if self.expected_prev is not None and row.prev_hash != self.expected_prev:
            self.problems.append(f"chain_broken: seq {row.seq} ({row.request_key}): its prev_hash is not the hash "
                                 "before it (a record was deleted or inserted here)")  # fmt: skip
        self.checked += 1
        self.matching += _check_record(self.key, row, self.problems)
        self.last_seq, self.last_hash, self.expected_prev = row.seq, row.hash, row.hash


def _anchors(connection: Connection, key: AuditKey, problems: list[str]) -> dict[int, str]:
    anchors: dict[int, str] = {}
    for anchor in connection.execute(select(AuditAnchorRow).order_by(AuditAnchorRow.purged_through)):
        if hmac.compare_digest(anchor.mac, anchor_mac(key, anchor.purged_through, anchor.hash, anchor.at)):
            anchors[anchor.purged_through] = anchor.hash
        else:
            problems.append(f"anchor_invalid: purge anchor through seq {anchor.purged_through}: bad signature")
    return anchors


def verify(engine: Engine, key: AuditKey, *, checkpoint_file: Path | None = None) -> VerifyReport:
    """Recompute the whole chain: find modified, deleted and inserted records, a wrong key, a cut-off end.

    Safe while workers append: the head is read after the records, and records appended meanwhile are
    walked too until the head stops moving.
    """
    problems: list[str] = []
    with engine.connect() as connection:
        walk = _Walk(key, _anchors(connection, key, problems), problems)
        seen_head = -1
        for _ in range(MAX_PASSES):
            before = walk.checked
            for row in _rows(connection, walk.last_seq):
                walk.step(row)
            head = connection.execute(select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID)).one_or_none()
            # Done when the head is reached, or when it points past records that do not come (it stands still).
            if head is None or head.seq <= walk.last_seq or (walk.checked == before and head.seq == seen_head):
                break
            seen_head = head.seq
    if walk.first_seq is None:
        # No record left: legitimate only when nothing was ever written or a purge anchor covers the head.
        walk.last_seq = max(walk.anchors, default=0)
        walk.last_hash = walk.anchors[walk.last_seq] if walk.last_seq else GENESIS
    first, checked, last_seq, last_hash = walk.first_seq, walk.checked, walk.last_seq, walk.last_hash
    key_ok = head is None or head.key_check is None or hmac.compare_digest(head.key_check, key.mac(_KEY_CHECK))
    if not key_ok and not walk.matching:
        problems = [f"wrong_key: neither the head's key check nor any of the {checked} records matches this key: "
                    "audit.key is not the key the trail was written with"]  # fmt: skip
        return VerifyReport(False, checked, problems, first, last_seq, last_hash)
    if head is None:
        problems.append("head_mismatch: the audit_head row is missing")
    elif (head.seq, head.hash) != (last_seq, last_hash):
        problems.append(f"head_mismatch: the head says seq {head.seq} but the chain ends at seq {last_seq} "
                        "(records at the end deleted or forged, or the head altered)")  # fmt: skip
    elif not key_ok or (head.key_check is None and last_seq > 0):
        problems.append("head_mismatch: the head's key check was altered or removed")
    if checkpoint_file is not None:
        problems.extend(_check_checkpoints(engine, key, checkpoint_file, last_seq))
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"… and {len(problems) - MAX_PROBLEMS} more problems"]
    return VerifyReport(not problems, checked, problems, first, last_seq, last_hash)


def read_checkpoints(path: Path) -> list[Checkpoint | None]:
    """The checkpoints of ``path`` in order; None for a line that is not a checkpoint."""
    if not path.exists():
        return []
    found: list[Checkpoint | None] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            found.append(Checkpoint(str(data["at"]), int(data["seq"]), str(data["hash"]), int(data["count"]),
                                    str(data["mac"])))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            found.append(None)
    return found


def _check_checkpoints(engine: Engine, key: AuditKey, path: Path, last_seq: int) -> list[str]:
    problems: list[str] = []
    with engine.connect() as connection:
        for number, checkpoint in enumerate(read_checkpoints(path), start=1):
            if checkpoint is None or not checkpoint.is_valid(key):
                problems.append(f"checkpoint_invalid: {path.name} line {number}: unreadable or bad signature")
                continue
            if checkpoint.seq > last_seq:
                problems.append(f"checkpoint_mismatch: checkpoint of {checkpoint.at} saw seq {checkpoint.seq} but "
                                f"the chain ends at seq {last_seq} (records deleted or the ledger rolled back)")
                continue
            stored = connection.scalar(select(AuditRecordRow.hash).where(AuditRecordRow.seq == checkpoint.seq))
            if stored is None:
                stored = connection.scalar(
                    select(AuditAnchorRow.hash).where(AuditAnchorRow.purged_through == checkpoint.seq)
                )  # fmt: skip
            if stored is not None and stored != checkpoint.hash:
                problems.append(f"checkpoint_mismatch: checkpoint of {checkpoint.at}: seq {checkpoint.seq} had "
                                "another hash then (the chain was rewritten)")  # fmt: skip
    return problems


def write_checkpoint(engine: Engine, key: AuditKey, path: Path, *, now: datetime | None = None) -> Checkpoint:
    """Append a signed checkpoint (head seq and hash, record count, time) as one JSON line to ``path``."""
    with engine.connect() as connection:
        head = connection.execute(select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == HEAD_ID)).one()
        count = connection.scalar(select(func.count()).select_from(AuditRecordRow)) or 0
    moment = now or datetime.now(UTC)
    checkpoint = Checkpoint(iso_utc(moment), head.seq, head.hash, int(count)).signed(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(checkpoint.to_json() + "\n")
    return checkpoint

