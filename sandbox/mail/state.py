"""The mailbox contents as plain data, and their JSON file in the state directory.

A folder keeps its UIDVALIDITY and next UID with each message's UID, flags, arrival time and raw bytes,
so a restarted sandbox hands out the same UIDs: a client's remembered UIDs stay valid.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

STATE_FORMAT = 1
STATE_FILE = "imap-mailbox.json"


class MailStateError(ValueError):
    """The mailbox state file cannot be read; the message names it and what to do."""


@dataclass(frozen=True)
class StoredMessage:
    """One message of a folder as IMAP sees it."""

    uid: int
    flags: tuple[str, ...]
    internal_date: datetime
    raw: bytes


@dataclass
class StoredFolder:
    """A folder with the UID numbering a client relies on."""

    uid_validity: int
    next_uid: int
    messages: list[StoredMessage] = field(default_factory=list)


MailState = dict[str, StoredFolder]


def save_state(path: Path, state: MailState) -> None:
    """Write ``state`` to ``path`` atomically (a crash never leaves half a file)."""
    data = {
        "format": STATE_FORMAT,
        "folders": {
            name: {
                "uid_validity": folder.uid_validity,
                "next_uid": folder.next_uid,
                "messages": [_message_json(m) for m in folder.messages],
            }
            for name, folder in state.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def load_state(path: Path) -> MailState:
    """Read a file written by ``save_state``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != STATE_FORMAT:
            raise MailStateError(f"{path}: format {data.get('format')!r}, expected {STATE_FORMAT}")
        return {
            name: StoredFolder(
                uid_validity=int(folder["uid_validity"]),
                next_uid=int(folder["next_uid"]),
                messages=[_message(m) for m in folder["messages"]],
            )
            for name, folder in data["folders"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, MailStateError):
            raise
        raise MailStateError(f"{path}: cannot read the sandbox IMAP mailbox ({exc}); delete it to re-seed") from exc


def _message_json(message: StoredMessage) -> dict[str, Any]:
    record: dict[str, Any] = {
        "uid": message.uid,
        "flags": list(message.flags),
        "internal_date": message.internal_date.isoformat(),
    }
    try:
        # Readable when it can be: most messages are 7-bit or UTF-8 text.
        record["raw"] = message.raw.decode("utf-8")
    except UnicodeDecodeError:
        record["raw_base64"] = base64.b64encode(message.raw).decode("ascii")
    return record


def _message(record: dict[str, Any]) -> StoredMessage:
    raw = record["raw"].encode("utf-8") if "raw" in record else base64.b64decode(record["raw_base64"])
    return StoredMessage(
        uid=int(record["uid"]),
        flags=tuple(str(f) for f in record["flags"]),
        internal_date=datetime.fromisoformat(record["internal_date"]),
        raw=raw,
    )
