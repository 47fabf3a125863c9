"""The shared mailbox over Microsoft Graph, with the official ``msgraph-sdk`` (plumbing in ``graph_client``).

Polling is delta-based: ``messages/delta()`` on the inbox, the ``@odata.deltaLink`` kept in memory and, when
the caller gives a ``DeltaStateStore`` (a small JSON file or Redis), saved after each complete round with the
messages still pending, so a restarted worker resumes where it was. An expired delta link starts a full round.

A message is *pending* while it is in the inbox, unread and without the processed category. A second copy of
an Internet Message-ID already seen (a duplicate delivery, under another Graph id) is never pending: the
de-duplication remembers the last ``remember_message_ids`` Message-IDs (persisted with the state).

Handling a message marks it processed (``ProcessedMarking``): read, a category, and/or a move to a folder.
``get`` asks for ``internetMessageHeaders``, so the receiving server's ``Authentication-Results`` is in
``InboundMessage.headers``. ``reply`` answers in the thread (Graph ``reply``), to the named recipient only.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_get_response import DeltaGetResponse
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.messages.item.message_item_request_builder import MessageItemRequestBuilder
from msgraph.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody
from msgraph.generated.users.item.messages.item.reply.reply_post_request_body import ReplyPostRequestBody
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from connectors.directory import Change
from connectors.errors import InvalidRequestError, NotFoundError
from connectors.graph_client import DEFAULT_POLICY, GraphClient, PermissionProbe, TransportWrapper, permission_findings
from connectors.health import Finding
from connectors.mailbox import InboundMessage
from connectors.resilience import RetryPolicy

SYSTEM = "graph_mail"
log = structlog.get_logger(__name__)

PAGE_SIZE = 25
MESSAGE_FIELDS = [
    "id", "internetMessageId", "from", "sender", "toRecipients", "subject", "body", "receivedDateTime",
    "internetMessageHeaders", "isRead", "conversationId", "categories",
]
DELTA_FIELDS = ["id", "internetMessageId", "receivedDateTime", "isRead", "categories"]
TEXT_BODY = 'outlook.body-content-type="text"'
READ_WRITE, SEND = "Mail.ReadWrite", "Mail.Send"
PROBE_MESSAGE = "AAMkAGsesame-doctor-probe-no-such-message"


@dataclass(frozen=True)
class ProcessedMarking:
    """How a handled message is marked: read, with ``category`` (None: none), moved to ``move_to`` (None: stays)."""

    category: str | None = "Sésame"
    move_to: str | None = None
    mark_read: bool = True

    def __post_init__(self) -> None:
        if not (self.category or self.move_to or self.mark_read):
            raise ValueError("a processed message must be marked somehow: a category, a move or read")


class DeltaStateStore(Protocol):
    """Where the poller keeps its delta link and pending messages between runs (one text value per key)."""

    def load(self, key: str) -> str | None:
        """The value saved under ``key``, or None."""
        ...

    def save(self, key: str, value: str) -> None:
        """Replace the value under ``key``."""
        ...


class FileDeltaState:
    """``DeltaStateStore`` in one small JSON file, rewritten atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def load(self, key: str) -> str | None:
        """The value saved under ``key``, or None."""
        with self._lock:
            return self._read().get(key)

    def save(self, key: str, value: str) -> None:
        """Replace the value under ``key``."""
        with self._lock:
            data = self._read()
            data[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(data), encoding="utf-8")
            os.replace(temporary, self.path)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class RedisLike(Protocol):
    """The two calls ``RedisDeltaState`` makes (``redis.Redis`` has them)."""

    def get(self, name: str) -> Any: ...

    def set(self, name: str, value: str) -> Any: ...


class RedisDeltaState:
    """``DeltaStateStore`` in Redis, under ``prefix`` + key, with a client the caller provides."""

    def __init__(self, redis: RedisLike, prefix: str = "sesame:graph-mail:") -> None:
        self._redis = redis
        self._prefix = prefix

    def load(self, key: str) -> str | None:
        """The value saved under ``key``, or None."""
        value = self._redis.get(self._prefix + key)
        return value.decode() if isinstance(value, bytes) else value

    def save(self, key: str, value: str) -> None:
        """Replace the value under ``key``."""
        self._redis.set(self._prefix + key, value)


@dataclass
class _Pending:
    received: str
    internet_message_id: str
    categories: list[str] = field(default_factory=list)


class GraphMailbox:
    """``connectors.mailbox.Mailbox`` for an Exchange Online shared mailbox, read with application rights.

    Create it in the process that uses it (after a Celery prefork, not before: threads do not
    survive ``fork``) and ``close()`` it, or use it as a context manager, to stop its loop thread.
    """

    def __init__(
        self,
        *,
        graph_url: str,
        authority: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        mailbox: str,
        ca_file: str | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        processed: ProcessedMarking = ProcessedMarking(),
        state: DeltaStateStore | None = None,
        remember_message_ids: int = 10_000,
        wrap_transport: TransportWrapper | None = None,
    ) -> None:
        self.address = mailbox.lower()
        self.processed = processed
        self._client = GraphClient(graph_url=graph_url, authority=authority, tenant=tenant, client_id=client_id,
                                   client_secret=client_secret, system=SYSTEM, ca_file=ca_file, timeout=timeout,
                                   policy=policy, wrap_transport=wrap_transport)
        self._state = state
        # The saved state belongs to one mailbox of one tenant on one Graph endpoint: a delta link or a message id
        # of another instance (a re-pointed config, another sandbox) must never be replayed against this one.
        self.state_key = f"{self._client.graph_url}|{tenant.lower()}|{self.address}"
        self._remember = remember_message_ids
        self._lock = threading.RLock()
        self._delta_link: str | None = None
        self._pending: dict[str, _Pending] = {}
        # Internet Message-ID -> Graph id of its first copy, oldest first (bounded).
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._load_state()

    # ----- Mailbox ------------------------------------------------------------------------------

    def list_unread(self, limit: int = 50) -> list[str]:
        """Ids of pending messages (unread, not processed, no duplicates), oldest first, after a delta poll."""
        self.poll()
        with self._lock:
            ordered = sorted(self._pending.items(), key=lambda item: (item[1].received, item[0]))
            return [message_id for message_id, _ in ordered[: max(0, limit)]]

    def get(self, message_id: str) -> InboundMessage:
        """The whole message with its Internet headers and a plain-text body."""
        query = MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(select=MESSAGE_FIELDS)
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", TEXT_BODY)

        async def work(sdk: GraphServiceClient) -> Message:
            message = await self._user(sdk).messages.by_message_id(message_id).get(config)
            if message is None:
                raise NotFoundError(f"Graph returned no body for message {message_id}", system=SYSTEM)
            return message

        message = self._client.call("get", work, action=f"read message {message_id} in {self.address}",
                                    needs=[READ_WRITE])
        with self._lock:
            if message_id in self._pending:
                self._pending[message_id].categories = list(message.categories or [])
        return _inbound(message)

    def reply(self, message_id: str, body_text: str, *, to: str) -> None:
        """Answer ``message_id`` in its thread, in plain text, to ``to`` only: Graph's reply alone follows Reply-To.

        A write that cannot be undone: retried only when Graph refused it before doing anything (throttled).
        """
        body = ReplyPostRequestBody(message=Message(
            to_recipients=[Recipient(email_address=EmailAddress(address=to))],
            body=ItemBody(content_type=BodyType.Text, content=body_text),
        ))

        async def work(sdk: GraphServiceClient) -> None:
            await self._user(sdk).messages.by_message_id(message_id).reply.post(body)

        self._client.call("reply", work, action=f"reply to message {message_id} in {self.address}", write=True,
                          needs=[SEND])

    def mark_read(self, message_id: str) -> None:
        """Mark the message processed (``ProcessedMarking``) so the poller skips it."""
        self.mark_processed(message_id)

    def mark_processed(self, message_id: str, *, dry_run: bool = False) -> Change:
        """Mark read and/or categorise, then move if configured; returns the change (none made in dry run)."""
        marking = self.processed
        categories = self._categories(message_id)
        before = {"isRead": "false" if message_id in self._pending else "?", "categories": ",".join(categories)}
        missing = bool(marking.category) and marking.category not in categories
        wanted = [*categories, marking.category] if missing and marking.category else categories
        after = {"isRead": "true" if marking.mark_read else before["isRead"], "categories": ",".join(wanted)}
        if marking.move_to:
            after["folder"] = marking.move_to
        if dry_run:
            return Change(action="mark_processed", target=message_id, before=before, after=after, dry_run=True)
        update = Message(categories=wanted) if marking.category else Message()
        if marking.mark_read:
            update.is_read = True

        async def patch(sdk: GraphServiceClient) -> None:
            await self._user(sdk).messages.by_message_id(message_id).patch(update)

        # Setting absolute values is idempotent: a retry after a lost answer changes nothing more.
        self._client.call("mark_processed", patch, action=f"mark message {message_id} processed in {self.address}",
                          needs=[READ_WRITE])
        if marking.move_to:
            destination = MovePostRequestBody(destination_id=marking.move_to)

            async def move(sdk: GraphServiceClient) -> None:
                await self._user(sdk).messages.by_message_id(message_id).move.post(destination)

            # Not idempotent (the message gets a new id): retried only when refused before anything was done.
            self._client.call("move", move, action=f"move message {message_id} to {marking.move_to}", write=True,
                              needs=[READ_WRITE])
        with self._lock:
            self._pending.pop(message_id, None)
        self._save_state()
        return Change(action="mark_processed", target=message_id, before=before, after=after)

    def _categories(self, message_id: str) -> list[str]:
        with self._lock:
            pending = self._pending.get(message_id)
            if pending is not None:
                return list(pending.categories)
        query = MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(select=["id", "categories"])

        async def work(sdk: GraphServiceClient) -> list[str]:
            found = await self._user(sdk).messages.by_message_id(message_id).get(
                RequestConfiguration(query_parameters=query))
            return list(found.categories or []) if found else []

        return self._client.call("get_categories", work, action=f"read the categories of message {message_id}",
                                 needs=[READ_WRITE])

    # ----- delta polling ------------------------------------------------------------------------

    def poll(self) -> list[str]:
        """One delta round: new pending messages' ids (duplicates left out); the delta link is kept and saved."""
        with self._lock:
            link = self._delta_link
        full = link is None
        try:
            items, delta_link = self._delta_round(link)
        except (InvalidRequestError, NotFoundError) as exc:
            if link is None:
                raise
            # An expired or unknown delta token (Graph: 410 Gone / SyncStateNotFound): start a full round.
            log.warning("graph_mail.delta_reset", system=SYSTEM, mailbox=self.address, error=type(exc).__name__,
                        request_id=exc.request_id)
            items, delta_link, full = *self._delta_round(None), True
        new = self._apply(items, full=full)
        with self._lock:
            self._delta_link = delta_link
        self._save_state()
        return new

    def _delta_round(self, link: str | None) -> tuple[list[Message], str | None]:
        items: list[Message] = []
        while True:
            page = self._client.call("delta", self._delta_page(link),
                                     action=f"read the changes of the inbox of {self.address}", needs=[READ_WRITE])
            if page is None:
                return items, link
            items += list(page.value or [])
            if page.odata_next_link:
                link = page.odata_next_link
                continue
            return items, page.odata_delta_link or link

    def _delta_page(self, link: str | None) -> Callable[[GraphServiceClient], Awaitable[DeltaGetResponse | None]]:
        query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(select=DELTA_FIELDS)

        async def page(sdk: GraphServiceClient) -> DeltaGetResponse | None:
            delta = self._user(sdk).mail_folders.by_mail_folder_id("inbox").messages.delta
            if link is not None:
                return await delta.with_url(link).get()
            config = RequestConfiguration(query_parameters=query)
            config.headers.add("Prefer", f"odata.maxpagesize={PAGE_SIZE}")
            return await delta.get(config)

        return page

    def _apply(self, items: list[Message], *, full: bool) -> list[str]:
        """Fold a round's changes into the pending set; a full round replaces it."""
        new: list[str] = []
        marker = self.processed.category
        with self._lock:
            if full:
                previous, self._pending = self._pending, {}
            else:
                previous = {}
            for item in sorted(items, key=lambda m: (str(m.received_date_time or ""), m.id or "")):
                message_id = item.id or ""
                if "@removed" in (item.additional_data or {}):
                    self._pending.pop(message_id, None)
                    continue
                handled = bool(item.is_read) or (marker is not None and marker in (item.categories or []))
                if handled:
                    self._pending.pop(message_id, None)
                    continue
                imid = item.internet_message_id or message_id
                first = self._seen.get(imid)
                if first is not None and first != message_id:
                    log.info("graph_mail.duplicate", system=SYSTEM, mailbox=self.address, message=message_id)
                    continue
                if first is None:
                    self._seen[imid] = message_id
                    while len(self._seen) > self._remember:
                        self._seen.popitem(last=False)
                if message_id not in self._pending and message_id not in previous:
                    new.append(message_id)
                received = item.received_date_time.isoformat() if item.received_date_time else ""
                self._pending[message_id] = _Pending(received, imid, list(item.categories or []))
        return new

    # ----- state --------------------------------------------------------------------------------

    def _load_state(self) -> None:
        if self._state is None:
            return
        raw = self._state.load(self.state_key)
        if not raw:
            return
        try:
            data = json.loads(raw)
            self._delta_link = data.get("delta_link")
            self._pending = {k: _Pending(*v) for k, v in data.get("pending", {}).items()}
            self._seen = OrderedDict((str(a), str(b)) for a, b in data.get("seen", []))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("graph_mail.state_unreadable", system=SYSTEM, mailbox=self.address, error=type(exc).__name__)
            self._delta_link, self._pending, self._seen = None, {}, OrderedDict()

    def _save_state(self) -> None:
        if self._state is None:
            return
        with self._lock:
            data = {
                "delta_link": self._delta_link,
                "pending": {k: [p.received, p.internet_message_id, p.categories] for k, p in self._pending.items()},
                "seen": [[a, b] for a, b in self._seen.items()],
            }
        self._state.save(self.state_key, json.dumps(data))

    # ----- operations ---------------------------------------------------------------------------

    def doctor(self) -> list[Finding]:
        """Token obtained; ``Mail.ReadWrite`` and ``Mail.Send`` held on this mailbox."""
        address = self.address

        async def read_write(sdk: GraphServiceClient) -> None:
            # A change to a message that does not exist: 403 without the permission, 404 with it.
            await sdk.users.by_user_id(address).messages.by_message_id(PROBE_MESSAGE).patch(Message(is_read=True))

        async def send(sdk: GraphServiceClient) -> None:
            # A message without recipients: 403 without the permission, 400 (nothing sent) with it.
            await sdk.users.by_user_id(address).send_mail.post(SendMailPostRequestBody(message=Message()))

        return permission_findings(self._client, [
            PermissionProbe("read and mark messages", READ_WRITE, read_write),
            PermissionProbe("reply", SEND, send),
        ])

    def close(self) -> None:
        """Close the HTTP client and the credential, and stop the private loop."""
        self._client.close()

    def __enter__(self) -> GraphMailbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _user(self, sdk: GraphServiceClient) -> UserItemRequestBuilder:
        return sdk.users.by_user_id(self.address)


def _address(recipient: Any) -> tuple[str, str]:
    email = getattr(recipient, "email_address", None)
    if email is None:
        return "", ""
    return (email.address or "").lower(), email.name or ""


def _plain_text(content: str, content_type: Any) -> str:
    """The body as text; HTML only if the server ignored our preference for text."""
    if str(getattr(content_type, "value", content_type)).lower() != "html":
        return content
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def _inbound(message: Message) -> InboundMessage:
    from_address, from_name = _address(message.from_ or message.sender)
    body = message.body
    return InboundMessage(
        id=message.id or "",
        internet_message_id=message.internet_message_id or "",
        from_address=from_address,
        from_name=from_name,
        to=tuple(_address(r)[0] for r in message.to_recipients or []),
        subject=message.subject or "",
        body_text=_plain_text(body.content or "", body.content_type) if body else "",
        headers=tuple((h.name or "", h.value or "") for h in message.internet_message_headers or []),
        received_at=message.received_date_time,
    )
