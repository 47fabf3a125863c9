"""In-memory Exchange mailboxes holding messages as Microsoft Graph ``message`` JSON, per folder.

Messages are kept in the wire shape (camelCase names from the v1.0 CSDL) so the routes only project
and filter them. Every change gets a number from one counter so ``messages/delta()`` can tell what
changed since a delta token; messages leaving a folder leave a tombstone there. Writes can be saved
to a JSON file after each change so a sandbox, and its delta tokens, survive restarts.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.scenario import Scenario

Message = dict[str, Any]

# Well-known folder names Graph accepts in place of a folder id (matched case-insensitively).
WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "deleteditems": "Deleted Items",
    "archive": "Archive",
    "junkemail": "Junk Email",
}
# The hidden root every well-known folder hangs under (their ``parentFolderId``).
ROOT_FOLDER = "msgfolderroot"
STORE_FORMAT = 1
FILE_ATTACHMENT_TYPE = "#microsoft.graph.fileAttachment"
# Where in a message the store keeps its attachments: the ``attachments`` navigation property of the CSDL,
# never served inline (routes strip it, ``/attachments`` serves it).
ATTACHMENTS_KEY = "attachments"


class MailStoreError(ValueError):
    """The mailbox file cannot be read, or a message was described wrongly."""


@dataclass(frozen=True)
class AttachmentFile:
    """A file attached to a message: what a scenario or a ``sendMail`` body gives."""

    name: str
    content_type: str
    content: bytes
    is_inline: bool = False


@dataclass(frozen=True)
class Changes:
    """What a delta round reports for a folder: messages new or changed, and ids that left it."""

    created: list[Message]
    updated: list[Message]
    removed: list[str]


def graph_id(*parts: str) -> str:
    """A stable opaque id shaped like Exchange's (``AAMk…``), URL-safe so it survives a path segment."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return "AAMk" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def recipient(address: str, name: str = "") -> dict[str, Any]:
    """The Graph ``recipient`` shape."""
    return {"emailAddress": {"name": name or address, "address": address}}


def graph_time(moment: datetime) -> str:
    """Format a moment as Graph does (UTC, seconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def header_value(message: Message, name: str) -> str | None:
    """First value of an Internet header of ``message``, matched case-insensitively."""
    for header in message.get("internetMessageHeaders", []):
        if header["name"].lower() == name.lower():
            return str(header["value"])
    return None


class MailboxStore:
    """Messages per mailbox per folder; every public method is thread-safe (uvicorn runs in a thread)."""

    def __init__(self, *, persist_to: Path | None = None) -> None:
        self._lock = threading.RLock()
        # mailbox address (lower case) -> folder well-known name -> messages in arrival order
        self._folders: dict[str, dict[str, list[Message]]] = {}
        self._persist_to = Path(persist_to) if persist_to else None
        self._sequence = 0
        # mailbox -> message id -> [change number when it arrived in its folder, number of its last change]
        self._stamps: dict[str, dict[str, list[int]]] = {}
        # mailbox -> folder -> [change number, id] of messages that left the folder
        self._removed: dict[str, dict[str, list[list[Any]]]] = {}

    # ----- construction and persistence -------------------------------------------------------

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, *, persist_to: Path | None = None
    ) -> MailboxStore:
        """A store whose shared mailbox inbox holds the scenario's e-mails, unread, in file order."""
        store = cls(persist_to=None)
        mailbox = scenario.mailbox
        store.ensure_mailbox(mailbox)
        start = datetime.now(UTC) - timedelta(hours=1)
        for index, email in enumerate(scenario.emails):
            store.add_message(
                mailbox,
                from_address=email.from_address,
                from_name=email.from_name,
                to=[email.to or mailbox],
                subject=email.subject,
                body=email.body,
                headers=list(email.headers.items()),
                received_at=_date_header(email.headers) or start + timedelta(seconds=index),
                message_id=graph_id(mailbox, "scenario", email.id),
                attachments=[AttachmentFile(a.name, a.content_type, a.content, a.is_inline) for a in email.attachments],
            )
        store._persist_to = Path(persist_to) if persist_to else None
        store._autosave()
        return store

    @classmethod
    def load(cls, path: Path, *, persist_to: Path | None = None) -> MailboxStore:
        """Read a store written by ``save``; ``persist_to`` (often the same path) enables autosave."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise MailStoreError(f"{path}: cannot read the sandbox mailbox file: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != STORE_FORMAT:
            raise MailStoreError(f"{path}: not a sandbox mailbox file (format {STORE_FORMAT} expected)")
        store = cls(persist_to=persist_to)
        for mailbox, folders in data.get("mailboxes", {}).items():
            store.ensure_mailbox(mailbox)
            for folder, messages in folders.items():
                store._folders[mailbox.lower()].setdefault(folder, []).extend(messages)
        # Older files have no change log: their messages count as present since the start.
        changes = data.get("changes", {})
        store._sequence = int(changes.get("sequence", 0))
        store._stamps = changes.get("stamps", {})
        store._removed = changes.get("removed", {})
        return store

    def save(self, path: Path) -> None:
        """Write every mailbox to ``path`` as JSON, atomically."""
        with self._lock:
            changes = {"sequence": self._sequence, "stamps": self._stamps, "removed": self._removed}
            text = json.dumps({"format": STORE_FORMAT, "mailboxes": self._folders, "changes": changes},
                              ensure_ascii=False, indent=1)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def _autosave(self) -> None:
        if self._persist_to is not None:
            self.save(self._persist_to)

    # ----- inspection -------------------------------------------------------------------------

    def mailboxes(self) -> list[str]:
        """Addresses of the mailboxes held."""
        with self._lock:
            return sorted(self._folders)

    def has_mailbox(self, mailbox: str) -> bool:
        """Whether ``mailbox`` exists (case-insensitive)."""
        with self._lock:
            return mailbox.lower() in self._folders

    def folder_name(self, mailbox: str, folder: str) -> str | None:
        """The well-known name of ``folder`` given by well-known name or by id; None when unknown."""
        wanted = folder.lower()
        if wanted in WELL_KNOWN_FOLDERS:
            return wanted
        for name in WELL_KNOWN_FOLDERS:
            if folder == self.folder_id(mailbox, name):
                return name
        return None

    @staticmethod
    def folder_id(mailbox: str, folder: str) -> str:
        """The opaque id Graph would show as ``parentFolderId`` for a well-known folder."""
        return graph_id(mailbox.lower(), "folder", folder.lower())

    def folder(self, mailbox: str, name: str) -> dict[str, Any]:
        """The Graph ``mailFolder`` JSON of a well-known folder, with its item counts."""
        with self._lock:
            messages = self._folders.get(mailbox.lower(), {}).get(name, [])
            return {
                "id": self.folder_id(mailbox, name),
                "displayName": WELL_KNOWN_FOLDERS[name],
                "parentFolderId": self.folder_id(mailbox, ROOT_FOLDER),
                "childFolderCount": 0,
                "unreadItemCount": sum(1 for m in messages if not m.get("isRead")),
                "totalItemCount": len(messages),
                "isHidden": False,
            }

    def messages(self, mailbox: str, folder: str = "inbox") -> list[Message]:
        """Copies of the messages of a folder in arrival order (for tests and the demo)."""
        with self._lock:
            name = self.folder_name(mailbox, folder) or folder.lower()
            return copy.deepcopy(self._folders.get(mailbox.lower(), {}).get(name, []))

    def find(self, mailbox: str, message_id: str, folder: str | None = None) -> Message | None:
        """A copy of one message, searched in ``folder`` or in every folder."""
        with self._lock:
            found = self._locate(mailbox, message_id, folder)
            return copy.deepcopy(found[1]) if found is not None else None

    def attachments(self, mailbox: str, message_id: str) -> list[dict[str, Any]]:
        """Copies of the ``fileAttachment`` JSON of a message (with ``contentBytes``); KeyError if no message."""
        with self._lock:
            found = self._locate(mailbox, message_id, None)
            if found is None:
                raise KeyError(message_id)
            return copy.deepcopy(found[1].get(ATTACHMENTS_KEY, []))

    def sequence(self) -> int:
        """The number of the latest change: what a delta token remembers."""
        with self._lock:
            return self._sequence

    def changes(self, mailbox: str, folder: str, *, since: int | None, upto: int) -> Changes:
        """Messages of ``folder`` changed in ``(since, upto]`` and ids that left it; all present when since is None."""
        with self._lock:
            stamps = self._stamps.get(mailbox.lower(), {})
            created: list[Message] = []
            updated: list[Message] = []
            present = set()
            for message in self._folders.get(mailbox.lower(), {}).get(folder, []):
                present.add(message["id"])
                arrived, changed = stamps.get(message["id"], [0, 0])
                if changed > upto:
                    continue  # reported by the next round
                if since is None or arrived > since:
                    created.append(copy.deepcopy(message))
                elif changed > since:
                    updated.append(copy.deepcopy(message))
            removed: list[str] = []
            if since is not None:
                for number, message_id in self._removed.get(mailbox.lower(), {}).get(folder, []):
                    if since < number <= upto and message_id not in present and message_id not in removed:
                        removed.append(message_id)
            return Changes(created, updated, removed)

    def _locate(self, mailbox: str, message_id: str, folder: str | None) -> tuple[str, Message] | None:
        folders = self._folders.get(mailbox.lower(), {})
        names = [folder] if folder is not None else list(folders)
        for name in names:
            for message in folders.get(name, []):
                if message["id"] == message_id:
                    return name, message
        return None

    # ----- change log -------------------------------------------------------------------------

    def _stamp(self, mailbox: str, message_id: str, *, arrived: bool) -> None:
        self._sequence += 1
        stamps = self._stamps.setdefault(mailbox.lower(), {})
        first = self._sequence if arrived else stamps.get(message_id, [0, 0])[0]
        stamps[message_id] = [first, self._sequence]

    def _tombstone(self, mailbox: str, folder: str, message_id: str) -> None:
        self._sequence += 1
        self._stamps.get(mailbox.lower(), {}).pop(message_id, None)
        self._removed.setdefault(mailbox.lower(), {}).setdefault(folder, []).append([self._sequence, message_id])

    # ----- writes -----------------------------------------------------------------------------

    def ensure_mailbox(self, mailbox: str) -> None:
        """Create an empty mailbox with the well-known folders if it does not exist."""
        with self._lock:
            folders = self._folders.setdefault(mailbox.lower(), {})
            for name in WELL_KNOWN_FOLDERS:
                folders.setdefault(name, [])

    def add_message(
        self,
        mailbox: str,
        *,
        from_address: str,
        from_name: str = "",
        to: Sequence[str] = (),
        cc: Sequence[str] = (),
        bcc: Sequence[str] = (),
        subject: str = "",
        body: str = "",
        body_type: str = "text",
        headers: Iterable[tuple[str, str]] = (),
        folder: str = "inbox",
        is_read: bool = False,
        received_at: datetime | None = None,
        message_id: str | None = None,
        conversation_id: str | None = None,
        attachments: Sequence[AttachmentFile] = (),
    ) -> str:
        """Deliver a message (``body_type`` ``text`` or ``html``) to a folder and return its Graph id."""
        name = folder.lower()
        if name not in WELL_KNOWN_FOLDERS:
            raise MailStoreError(f"unknown folder {folder!r}; use one of {sorted(WELL_KNOWN_FOLDERS)}")
        received = received_at or datetime.now(UTC)
        recipients = list(to) or ([] if cc or bcc else [mailbox])
        new_id = message_id or graph_id(mailbox.lower(), "message", uuid.uuid4().hex)
        header_list = [{"name": str(k), "value": str(v)} for k, v in headers]
        present = {h["name"].lower() for h in header_list}
        defaults = {
            "From": formataddr((from_name, from_address)) if from_name else from_address,
            "To": ", ".join(recipients),
            "Subject": subject,
            "Message-ID": f"<{new_id[4:20]}@sandbox.test>",
            "Date": received.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        if cc:
            defaults["Cc"] = ", ".join(cc)
        # Exchange's internetMessageHeaders show the MIME structure: attachments make the message
        # multipart/mixed (X-MS-Has-Attach: yes), inline-only parts (an image in the body) multipart/related.
        if attachments:
            attached = any(not f.is_inline for f in attachments)
            boundary = f"_000_{new_id[-16:]}_"
            defaults["Content-Type"] = f'multipart/{"mixed" if attached else "related"}; boundary="{boundary}"'
            defaults["X-MS-Has-Attach"] = "yes" if attached else ""
        header_list += [{"name": k, "value": v} for k, v in defaults.items() if k.lower() not in present]
        message: Message = {"internetMessageHeaders": header_list}
        internet_id = header_value(message, "Message-ID") or defaults["Message-ID"]
        stamp = graph_time(received)
        files = [_attachment_json(new_id, index, f, stamp) for index, f in enumerate(attachments)]
        message.update(
            {
                "@odata.etag": f'W/"{new_id[-12:]}"',
                "id": new_id,
                "createdDateTime": stamp,
                "lastModifiedDateTime": stamp,
                "changeKey": new_id[-12:],
                "categories": [],
                "receivedDateTime": stamp,
                "sentDateTime": stamp,
                "hasAttachments": any(not f.is_inline for f in attachments),
                "internetMessageId": internet_id,
                "subject": subject,
                "bodyPreview": body[:255],
                "importance": "normal",
                "parentFolderId": self.folder_id(mailbox, name),
                "conversationId": conversation_id or graph_id(mailbox.lower(), "conversation", internet_id),
                "isDeliveryReceiptRequested": False,
                "isReadReceiptRequested": False,
                "isRead": is_read,
                "isDraft": False,
                "inferenceClassification": "focused",
                "body": {"contentType": body_type, "content": body},
                "sender": recipient(from_address, from_name),
                "from": recipient(from_address, from_name),
                "toRecipients": [recipient(address) for address in recipients],
                "ccRecipients": [recipient(address) for address in cc],
                "bccRecipients": [recipient(address) for address in bcc],
                # Exchange fills replyTo from the Reply-To header; clients must not answer there blindly.
                "replyTo": [recipient(a, n) for n, a in getaddresses([header_value(message, "Reply-To") or ""]) if a],
                ATTACHMENTS_KEY: files,
            }
        )
        with self._lock:
            self.ensure_mailbox(mailbox)
            self._folders[mailbox.lower()][name].append(message)
            self._stamp(mailbox, new_id, arrived=True)
            self._autosave()
        return new_id

    def update(self, mailbox: str, message_id: str, changes: dict[str, Any], folder: str | None = None) -> Message:
        """Apply property changes to a message and return a copy of it; KeyError when it does not exist."""
        with self._lock:
            found = self._locate(mailbox, message_id, folder)
            if found is None:
                raise KeyError(message_id)
            message = found[1]
            message.update(copy.deepcopy(changes))
            message["lastModifiedDateTime"] = graph_time(datetime.now(UTC))
            self._stamp(mailbox, message_id, arrived=False)
            self._autosave()
            return copy.deepcopy(message)

    def move(self, mailbox: str, message_id: str, destination: str) -> Message:
        """Move a message to a well-known folder; like Exchange it gets a new id. KeyError when it does not exist."""
        if destination not in WELL_KNOWN_FOLDERS:
            raise MailStoreError(f"unknown folder {destination!r}; use one of {sorted(WELL_KNOWN_FOLDERS)}")
        with self._lock:
            found = self._locate(mailbox, message_id, None)
            if found is None:
                raise KeyError(message_id)
            source, message = found
            self._folders[mailbox.lower()][source].remove(message)
            self._tombstone(mailbox, source, message_id)
            new_id = graph_id(mailbox.lower(), "message", uuid.uuid4().hex)
            message.update({
                "id": new_id,
                "@odata.etag": f'W/"{new_id[-12:]}"',
                "changeKey": new_id[-12:],
                "parentFolderId": self.folder_id(mailbox, destination),
                "lastModifiedDateTime": graph_time(datetime.now(UTC)),
            })
            self._folders[mailbox.lower()][destination].append(message)
            self._stamp(mailbox, new_id, arrived=True)
            self._autosave()
            return copy.deepcopy(message)

    def delete(self, mailbox: str, message_id: str) -> None:
        """Delete as Exchange does: to Deleted Items, or for good from there. KeyError when it does not exist."""
        with self._lock:
            found = self._locate(mailbox, message_id, None)
            if found is None:
                raise KeyError(message_id)
            folder, message = found
            if folder != "deleteditems":
                self.move(mailbox, message_id, "deleteditems")
                return
            self._folders[mailbox.lower()][folder].remove(message)
            self._tombstone(mailbox, folder, message_id)
            self._autosave()


def _attachment_json(message_id: str, index: int, file: AttachmentFile, stamp: str) -> dict[str, Any]:
    return {
        "@odata.type": FILE_ATTACHMENT_TYPE,
        "id": graph_id(message_id, "attachment", str(index)),
        "lastModifiedDateTime": stamp,
        "name": file.name,
        "contentType": file.content_type,
        "size": len(file.content),
        "isInline": file.is_inline,
        "contentId": None,
        "contentLocation": None,
        "contentBytes": base64.b64encode(file.content).decode("ascii"),
    }


def _date_header(headers: dict[str, str]) -> datetime | None:
    for name, value in headers.items():
        if name.lower() == "date":
            try:
                return parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
    return None
