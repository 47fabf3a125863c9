"""The messages an SMS gateway accepted: validation, segment count, in-memory list with optional JSON file."""

from __future__ import annotations

import json
import math
import os
import re
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

MAX_SEGMENTS = 6
# GSM 03.38: the default alphabet (one septet each) and its extension table (escape + one septet).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
# Single message, then per part of a concatenated message (the user data header takes the rest).
_GSM7_SEPTETS = (160, 153)
_UCS2_UNITS = (70, 67)
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ._-]{1,11}")
STORE_FORMAT = 1


class SmsError(ValueError):
    """A send was refused; ``code`` is the gateway's error code, the message says how to fix it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SmsMessage:
    """One accepted SMS. ``text`` is kept out of ``repr`` so it cannot reach a log by accident."""

    id: str
    to: str
    sender: str
    text: str = field(repr=False)
    segments: int
    encoding: str
    status: str
    created_at: datetime

    def to_json(self) -> dict[str, object]:
        """The inspection view, as ``GET /sms/v1/messages`` returns it."""
        return {
            "id": self.id,
            "to": self.to,
            "from": self.sender,
            "text": self.text,
            "segments": self.segments,
            "encoding": self.encoding,
            "status": self.status,
            "createdAt": self.created_at.isoformat().replace("+00:00", "Z"),
        }


def encoding_of(text: str) -> str:
    """``GSM-7`` when every character is in the GSM default alphabet or its extension, else ``UCS-2``."""
    allowed = GSM7_BASIC + GSM7_EXTENSION
    return "GSM-7" if all(c in allowed for c in text) else "UCS-2"


def segment_count(text: str) -> int:
    """How many SMS parts ``text`` takes, as operators bill it."""
    if encoding_of(text) == "GSM-7":
        units, (single, part) = sum(2 if c in GSM7_EXTENSION else 1 for c in text), _GSM7_SEPTETS
    else:
        # UTF-16 code units: characters outside the BMP take two.
        units, (single, part) = len(text.encode("utf-16-le")) // 2, _UCS2_UNITS
    return 1 if units <= single else math.ceil(units / part)


def _shown(value: object) -> str:
    """A refused value as an error may quote it: short ones only, as a swapped text field would leak a secret."""
    if isinstance(value, str) and len(value) > 20:
        return f"a value of {len(value)} characters"
    return repr(value)


def check_number(number: str) -> str:
    """The number if it is E.164 (``+`` country code and subscriber number, 8 to 15 digits); else SmsError."""
    if not isinstance(number, str) or not _E164.fullmatch(number):
        raise SmsError(
            "invalid_number",
            f"'to' must be an E.164 number such as +33612345678 (a '+', the country code, then 7 to 14 digits, "
            f"no spaces), got {_shown(number)}.",
        )
    return number


def check_sender(sender: str) -> str:
    """An alphanumeric sender id (at most 11 characters) or an E.164 number; else SmsError."""
    if isinstance(sender, str) and (_ALPHANUMERIC_SENDER.fullmatch(sender) or _E164.fullmatch(sender)):
        return sender
    raise SmsError(
        "invalid_sender", f"'from' must be 1 to 11 letters, digits, spaces, '.', '_' or '-', or an E.164 number, "
        f"got {_shown(sender)}."
    )


def check_text(text: str) -> int:
    """The segment count of ``text``; SmsError when it is empty or longer than six segments."""
    if not isinstance(text, str) or not text:
        raise SmsError("invalid_text", "'text' must be a non-empty string.")
    segments = segment_count(text)
    if segments > MAX_SEGMENTS:
        # Never echo the text: it carries a secret.
        limit = MAX_SEGMENTS * (_GSM7_SEPTETS[1] if encoding_of(text) == "GSM-7" else _UCS2_UNITS[1])
        raise SmsError(
            "text_too_long",
            f"'text' needs {segments} segments in {encoding_of(text)}; at most {MAX_SEGMENTS} are accepted "
            f"({limit} characters in {encoding_of(text)}; GSM-7 allows 918). Shorten the message.",
        )
    return segments


class SmsSink:
    """Accepted messages, oldest first; thread-safe. With ``persist_to`` the list is read from and saved to JSON."""

    def __init__(self, *, persist_to: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._messages: list[SmsMessage] = []
        self._persist_to = Path(persist_to) if persist_to else None
        if self._persist_to is not None and self._persist_to.exists():
            self._messages = _load(self._persist_to)

    def send(self, *, to: str, text: str, sender: str = "SESAME") -> SmsMessage:
        """Validate and keep one message; raise SmsError with a fixable message when it is refused."""
        segments = check_text(text)
        message = SmsMessage(
            id=str(uuid.uuid4()),
            to=check_number(to),
            sender=check_sender(sender),
            text=text,
            segments=segments,
            encoding=encoding_of(text),
            status="queued",
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self._messages.append(message)
            self._save()
        return message

    def messages(self, *, to: str | None = None, since: datetime | None = None) -> list[SmsMessage]:
        """Messages sent to ``to`` (if given) at or after ``since`` (if given), oldest first."""
        with self._lock:
            return [
                m for m in self._messages
                if (to is None or m.to == to) and (since is None or m.created_at >= since)
            ]

    def get(self, message_id: str) -> SmsMessage | None:
        """One message by id, or None."""
        with self._lock:
            return next((m for m in self._messages if m.id == message_id), None)

    def clear(self) -> None:
        """Forget every message (between rehearsals)."""
        with self._lock:
            self._messages.clear()
            self._save()

    def _save(self) -> None:
        if self._persist_to is None:
            return
        rows = [{**asdict(m), "created_at": m.created_at.isoformat()} for m in self._messages]
        self._persist_to.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._persist_to.with_name(self._persist_to.name + ".tmp")
        temporary.write_text(json.dumps({"format": STORE_FORMAT, "messages": rows}, ensure_ascii=False), "utf-8")
        os.replace(temporary, self._persist_to)


def _load(path: Path) -> list[SmsMessage]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != STORE_FORMAT:
            raise ValueError(f"format {STORE_FORMAT} expected")
        return [
            SmsMessage(**{**row, "created_at": datetime.fromisoformat(row["created_at"])})
            for row in data["messages"]
        ]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SmsError("unreadable_store", f"{path}: cannot read the SMS sink file: {exc}") from exc
