"""The decision record (AUD-01): one canonical JSON document per finished request, minimised and secret-free.

It keeps what justifies the decision — evidence, reasons, versions, directory state before/after, ids to trace
the calls — and nothing a reader could abuse: the body only as a SHA-256 and a short masked excerpt, no password,
no token, phone numbers and address local parts masked in the excerpt (AUD-02, AUD-04).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from automations.request import Request

if TYPE_CHECKING:
    from automations.ledger import Outcome

RECORD_FORMAT = "sesame.decision/1"
EXCERPT_LENGTH = 80
MASK = "[masqué]"

# A word announcing a secret; everything after it is dropped from an excerpt (fail closed: over-masking is cheap).
_SECRET_WORD = re.compile(
    r"mots?[\s_-]*de[\s_-]*passe|\bmdp\b|pass\s*word|passwd|\bpwd\b|passphrase|\botp\b|\btoken\b|\bsecret\b"
    r"|code\s+(?:provisoire|temporaire|d['’]acc[eè]s)",
    re.IGNORECASE,
)
# The same word followed by a separator and a value: only the value is masked in details and reasons.
_SECRET_VALUE = re.compile(
    r"(?P<word>mots?[\s_-]*de[\s_-]*passe|\bmdp\b|pass\s*word|passwd|\bpwd\b|passphrase|\botp\b|\btoken\b)"
    r"(?P<sep>\s*(?:[:=]|\best\b|\bis\b|\bserait\b)\s*)(?P<value>\S+)",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<!\w)\+?\d(?:[\s.-]?\d){7,}(?!\w)")
_ADDRESS = re.compile(r"\b([A-Za-z0-9._%+-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_TOKEN = re.compile(r"\S{8,}")
# Keys of a directory before/after state that could carry a secret; state such as pwdLastSet stays.
_SECRET_KEY = re.compile(
    r"^(new|temp|temporary|initial|current|old)?(password|passwd|pwd|unicodepwd|userpassword|passphrase|secret"
    r"|clientsecret|token|accesstoken|refreshtoken|pickuptoken|otp|tap|temporaryaccesspass|pin)$"
)


def canonical_json(record: DecisionRecord | Mapping[str, Any]) -> bytes:
    """The record as canonical JSON: sorted keys, no whitespace, UTF-8; the bytes the hash chain signs."""
    data = asdict(record) if isinstance(record, DecisionRecord) else dict(record)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


@cache
def code_version() -> str:
    """The installed Sésame package version, recorded in every decision."""
    try:
        return metadata.version("sesame")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class DecisionRecord:
    """What the audit keeps of one finished request (format ``sesame.decision/1``)."""

    key: str
    channel: str
    at: str
    status: str
    correspondent: str
    partner_id: str | None = None
    received_at: str | None = None
    body_sha256: str | None = None
    excerpt: str | None = None
    authentication_results: tuple[str, ...] = ()
    understanding: dict[str, Any] | None = None
    intent: str | None = None
    targets: tuple[str, ...] = ()
    decision: str | None = None
    reason: str | None = None
    detail: str | None = None
    playbook: str | None = None
    changes: tuple[dict[str, Any], ...] = ()
    ticket_number: str | None = None
    ticket_sys_id: str | None = None
    connector_request_ids: tuple[str, ...] = ()
    code_version: str = field(default_factory=code_version)
    format: str = RECORD_FORMAT


def iso_utc(moment: datetime) -> str:
    """``moment`` as ISO 8601 UTC with a ``Z``; naive datetimes are taken as UTC (the ledger's convention)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def mask_secrets(text: str) -> str:
    """Mask the value after a word such as "mot de passe :", "mdp =", "password is" (details, reasons)."""
    return _SECRET_VALUE.sub(lambda m: f"{m['word']}{m['sep']}{MASK}", text)


def _looks_like_password(token: str) -> bool:
    return bool(re.search(r"[a-z]", token) and re.search(r"[A-Z]", token) and re.search(r"\d", token))


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """A minimal excerpt of a body: whitespace collapsed, nothing after a secret word, phones, address local
    parts and password-looking tokens masked, at most ``limit`` characters."""
    found = _SECRET_WORD.search(text)
    if found is not None:
        text = text[: found.end()] + " " + MASK
    text = " ".join(text.split())
    text = _PHONE.sub(lambda m: "…" + re.sub(r"\D", "", m.group())[-2:], text)
    text = _ADDRESS.sub(lambda m: f"{m[1][:1]}…@{m[2]}", text)
    text = _TOKEN.sub(lambda m: MASK if _looks_like_password(m.group()) else m.group(), text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """A directory before/after state without any key that could hold a secret; values masked as text."""
    kept: dict[str, Any] = {}
    for name, value in state.items():
        if _SECRET_KEY.match(re.sub(r"[^a-z]", "", name.lower())):
            continue
        kept[name] = mask_secrets(value) if isinstance(value, str) else value
    return kept


def _understanding(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    wanted = ("backend", "intent", "confidence", "decision", "reasons")
    kept = {name: data.get(name) for name in wanted if name in data}
    reasons = kept.get("reasons")
    if isinstance(reasons, list | tuple):
        kept["reasons"] = [mask_secrets(str(reason)) for reason in reasons]
    return kept


def build_record(
    *,
    key: str,
    channel: str,
    correspondent: str,
    at: datetime,
    status: str,
    outcome: Outcome,
    changes: Iterable[Mapping[str, Any]] = (),
    request: Request | None = None,
) -> DecisionRecord:
    """Assemble the decision record from the ledger's ``Outcome``, the recorded changes and, when the caller still
    has it, the ``Request`` (body hash, excerpt, authentication evidence)."""
    recorded = tuple(
        {"step": c.get("step"), "action": c.get("action"), "target": c.get("target"),
         "before": safe_state(c.get("before") or {}), "after": safe_state(c.get("after") or {}),
         "dry_run": bool(c.get("dry_run")), "server": c.get("server") or None}
        for c in changes
    )  # fmt: skip
    request_ids = tuple(outcome.request_ids)
    return DecisionRecord(
        key=key,
        channel=channel,
        at=iso_utc(at),
        status=status,
        correspondent=correspondent.lower(),
        partner_id=outcome.partner_id,
        received_at=iso_utc(request.received_at) if request is not None and request.received_at else None,
        body_sha256=hashlib.sha256(request.text.encode("utf-8")).hexdigest() if request is not None else None,
        excerpt=excerpt(request.text) if request is not None else None,
        authentication_results=tuple(request.header("Authentication-Results")) if request is not None else (),
        understanding=_understanding(outcome.understanding),
        intent=outcome.intent,
        targets=tuple(outcome.targets),
        decision=outcome.decision,
        reason=outcome.reason,
        detail=mask_secrets(outcome.detail) if outcome.detail else outcome.detail,
        playbook=outcome.playbook,
        changes=recorded,
        ticket_number=outcome.ticket_number,
        ticket_sys_id=outcome.ticket_sys_id,
        connector_request_ids=request_ids,
    )
