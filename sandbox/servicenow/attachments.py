"""The Attachment API (``/api/now/v1/attachment``): upload, list, metadata, download, delete.

Files live in an ``AttachmentStore`` (memory, optionally mirrored to a SQLite file so they survive a
restart); the application holds it as ``app.state.attachments``. Access is checked on
``sys_attachment`` and on the parent record's table: reading needs read on both, uploading or
deleting needs create/delete on ``sys_attachment`` and write on the parent table. A listing leaves out
attachments whose parent table the user may not read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.servicenow.asgi import json_response
from sandbox.servicenow.encoded_query import FieldValue, matches, parse
from sandbox.servicenow.errors import MalformedRequestError, RecordNotFoundError, TableApiError
from sandbox.servicenow.query import SortKey
from sandbox.servicenow.store import TableStore, format_time

ATTACHMENT_TABLE = "sys_attachment"  # the table whose ACLs govern attachments, besides the parent's
DEFAULT_LIMIT = 1000  # the instance's default page for sys_attachment
CHUNK_SIZE_BYTES = "700000"
Metadata = dict[str, str]
Clock = Callable[[], datetime]

METADATA_FIELDS = (
    "size_bytes",
    "file_name",
    "sys_mod_count",
    "average_image_color",
    "image_width",
    "sys_updated_on",
    "sys_tags",
    "table_name",
    "sys_id",
    "image_height",
    "sys_updated_by",
    "content_type",
    "sys_created_on",
    "size_compressed",
    "compressed",
    "state",
    "table_sys_id",
    "chunk_size_bytes",
    "hash",
    "sys_created_by",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS attachment (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    sys_id TEXT NOT NULL UNIQUE,
    metadata TEXT NOT NULL,
    content BLOB NOT NULL
)
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AttachmentStore:
    """Attachments in creation order; with ``persist_to`` every change is written through to SQLite."""

    def __init__(self, *, persist_to: str | Path | None = None, clock: Clock = _utc_now) -> None:
        self.persist_to = Path(persist_to) if persist_to is not None else None
        self.clock = clock
        self._metadata: dict[str, Metadata] = {}
        self._content: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        if self.persist_to is not None:
            self.persist_to.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.persist_to, check_same_thread=False)
            self._db.execute(_SCHEMA)
            for sys_id, metadata, content in self._db.execute(
                "SELECT sys_id, metadata, content FROM attachment ORDER BY position"
            ):
                self._metadata[sys_id] = json.loads(metadata)
                self._content[sys_id] = bytes(content)

    def add(
        self, *, table_name: str, table_sys_id: str, file_name: str, content_type: str, content: bytes, user: str
    ) -> Metadata:
        """Store a file attached to ``table_name``/``table_sys_id``; returns its metadata."""
        now = format_time(self.clock())
        sys_id = uuid.uuid4().hex
        metadata: Metadata = {name: "" for name in METADATA_FIELDS}
        metadata.update(
            sys_id=sys_id,
            file_name=file_name,
            content_type=content_type,
            table_name=table_name,
            table_sys_id=table_sys_id,
            size_bytes=str(len(content)),
            size_compressed=str(len(gzip.compress(content, mtime=0))),
            compressed="true",
            state="available",
            chunk_size_bytes=CHUNK_SIZE_BYTES,
            hash=hashlib.sha256(content).hexdigest(),
            sys_created_on=now,
            sys_updated_on=now,
            sys_created_by=user,
            sys_updated_by=user,
            sys_mod_count="0",
        )
        with self._lock:
            self._metadata[sys_id] = metadata
            self._content[sys_id] = bytes(content)
            if self._db is not None:
                with self._db:
                    self._db.execute(
                        "INSERT INTO attachment (sys_id, metadata, content) VALUES (?, ?, ?)",
                        (sys_id, json.dumps(metadata), sqlite3.Binary(content)),
                    )
        return dict(metadata)

    def metadata(self, sys_id: str) -> Metadata | None:
        """A copy of one attachment's metadata, or None."""
        with self._lock:
            found = self._metadata.get(sys_id.lower())
            return dict(found) if found is not None else None

    def content(self, sys_id: str) -> bytes | None:
        """The stored bytes of one attachment, or None."""
        with self._lock:
            return self._content.get(sys_id.lower())

    def all(self) -> list[Metadata]:
        """Every attachment's metadata, oldest first."""
        with self._lock:
            return [dict(metadata) for metadata in self._metadata.values()]

    def delete(self, sys_id: str) -> bool:
        """Remove one attachment; False when there was none."""
        key = sys_id.lower()
        with self._lock:
            if self._metadata.pop(key, None) is None:
                return False
            self._content.pop(key, None)
            if self._db is not None:
                with self._db:
                    self._db.execute("DELETE FROM attachment WHERE sys_id = ?", (key,))
            return True

    def close(self) -> None:
        """Close the SQLite file, if any."""
        if self._db is not None:
            self._db.close()
            self._db = None


def routes() -> list[Route]:
    """The Attachment API routes under ``/api/now/v1/attachment`` and ``/api/now/attachment``."""
    found: list[Route] = []
    for prefix in ("/api/now/v1/attachment", "/api/now/attachment"):
        found += [
            Route(prefix, list_attachments, methods=["GET"]),
            Route(prefix + "/file", upload_attachment, methods=["POST"]),
            Route(prefix + "/{sys_id}", attachment_metadata, methods=["GET", "DELETE"]),
            Route(prefix + "/{sys_id}/file", attachment_file, methods=["GET"]),
        ]
    return found


def attachment_store(request: Request) -> AttachmentStore:
    """``app.state.attachments``, created in memory on first use when the app was built without one."""
    state = request.app.state
    if getattr(state, "attachments", None) is None:
        state.attachments = AttachmentStore()
    store: AttachmentStore = state.attachments
    return store


async def upload_attachment(request: Request) -> Response:
    """``POST /attachment/file?file_name&table_name&table_sys_id``: the raw body becomes the file."""
    user = request.app.state.authenticate(request)
    params = request.query_params
    missing = [name for name in ("file_name", "table_name", "table_sys_id") if not params.get(name, "").strip()]
    if missing:
        raise MalformedRequestError(
            f"Missing parameter: {', '.join(missing)}",
            "POST /attachment/file needs file_name, table_name and table_sys_id query parameters",
        )
    table, record_id = params["table_name"], params["table_sys_id"]
    tables: TableStore = request.app.state.store
    tables.schema(table)  # an unknown table is a 400 before any access check
    request.app.state.authorize(user, ATTACHMENT_TABLE, "create")
    request.app.state.authorize(user, table, "write")
    if tables.get(table, record_id) is None:
        raise RecordNotFoundError(table, record_id)
    content_type = request.headers.get("content-type") or "application/octet-stream"
    metadata = attachment_store(request).add(
        table_name=table,
        table_sys_id=record_id,
        file_name=params["file_name"],
        content_type=content_type,
        content=await request.body(),
        user=user,
    )
    location = f"{_origin(request)}/api/now/v1/attachment/{metadata['sys_id']}/file"
    return json_response({"result": _with_link(request, metadata)}, 201, {"Location": location})


async def list_attachments(request: Request) -> Response:
    """``GET /attachment?sysparm_query&sysparm_limit&sysparm_offset``: readable attachments, one page."""
    user = request.app.state.authenticate(request)
    request.app.state.authorize(user, ATTACHMENT_TABLE, "read")
    params = request.query_params
    limit = _whole_number(params.get("sysparm_limit"), "sysparm_limit", DEFAULT_LIMIT)
    offset = _whole_number(params.get("sysparm_offset"), "sysparm_offset", 0)
    query = parse(params.get("sysparm_query", ""))
    readable = _readable_tables(request, user)
    found = [m for m in attachment_store(request).all() if readable(m["table_name"]) and matches(query, _lookup(m))]
    for order in reversed(query.order):
        if order.field in METADATA_FIELDS:
            found.sort(key=lambda metadata: SortKey(metadata.get(order.field, "")), reverse=order.descending)
    page = [_with_link(request, metadata) for metadata in found[offset : offset + limit]]
    return json_response({"result": page}, 200, {"X-Total-Count": str(len(found))})


async def attachment_metadata(request: Request) -> Response:
    """``GET /attachment/<id>`` gives the metadata, ``DELETE`` removes the file (204)."""
    user = request.app.state.authenticate(request)
    metadata = _existing(request)
    if request.method == "DELETE":
        request.app.state.authorize(user, ATTACHMENT_TABLE, "delete")
        request.app.state.authorize(user, metadata["table_name"], "write")
        attachment_store(request).delete(metadata["sys_id"])
        return Response(status_code=204)
    _authorize_read(request, user, metadata)
    return json_response({"result": _with_link(request, metadata)})


async def attachment_file(request: Request) -> Response:
    """``GET /attachment/<id>/file``: the bytes, typed as uploaded, metadata in ``X-Attachment-Metadata``."""
    user = request.app.state.authenticate(request)
    metadata = _existing(request)
    _authorize_read(request, user, metadata)
    content = attachment_store(request).content(metadata["sys_id"]) or b""
    # ASCII JSON keeps the header latin-1 safe whatever the file name.
    headers = {"X-Attachment-Metadata": json.dumps(_with_link(request, metadata))}
    return Response(content, headers=headers, media_type=metadata["content_type"] or "application/octet-stream")


def _existing(request: Request) -> Metadata:
    sys_id = request.path_params["sys_id"]
    metadata = attachment_store(request).metadata(sys_id)
    if metadata is None:
        raise RecordNotFoundError("sys_attachment", sys_id)
    return metadata


def _authorize_read(request: Request, user: str, metadata: Metadata) -> None:
    # The instance checks the attachment record and, through it, its parent record.
    request.app.state.authorize(user, ATTACHMENT_TABLE, "read")
    request.app.state.authorize(user, metadata["table_name"], "read")


def _readable_tables(request: Request, user: str) -> Callable[[str], bool]:
    """A cached check of read access per table: unreadable tables' attachments are left out, not refused."""
    verdicts: dict[str, bool] = {}

    def readable(table: str) -> bool:
        if table not in verdicts:
            try:
                request.app.state.authorize(user, table, "read")
                verdicts[table] = True
            except TableApiError as refusal:
                if refusal.status != 403:
                    raise
                verdicts[table] = False
        return verdicts[table]

    return readable


def _lookup(metadata: Metadata) -> Callable[[str], FieldValue | None]:
    def lookup(name: str) -> FieldValue | None:
        value = metadata.get(name)
        return None if value is None else FieldValue(value, value)

    return lookup


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _with_link(request: Request, metadata: Metadata) -> Metadata:
    return {**metadata, "download_link": f"{_origin(request)}/api/now/attachment/{metadata['sys_id']}/file"}


def _whole_number(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise MalformedRequestError(f"Invalid {name}", f"{name} must be a whole number, got {raw!r}")
    return int(raw)
