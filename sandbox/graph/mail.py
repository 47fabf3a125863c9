"""Outlook mail routes of the Graph emulator: folders, messages, delta sync, send, reply, move and attachments.

Paths and JSON follow Graph v1.0 as ``msgraph-sdk`` sends them (see the v1.0 CSDL ``message`` type):
path ids arrive percent-encoded and are decoded by the server; action parameters are read
case-insensitively because the SDK sends them PascalCase (``Comment``, ``Message``, ``DestinationId``).
Every link handed out is built on the request's own origin.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.graph.errors import GraphError, bad_request, not_found
from sandbox.graph.mailstore import (
    ATTACHMENTS_KEY,
    WELL_KNOWN_FOLDERS,
    AttachmentFile,
    MailboxStore,
    Message,
    header_value,
)
from sandbox.graph.odata import (
    QueryOptions,
    decode_state_token,
    encode_state_token,
    filter_properties,
    link,
    next_link,
    parse_filter,
    preferred_page_size,
)
from sandbox.graph.permissions import require_permission

# Names from the v1.0 CSDL entity type ``message`` (with its ``outlookItem`` and ``entity`` bases).
MESSAGE_PROPERTIES = (
    "id", "categories", "changeKey", "createdDateTime", "lastModifiedDateTime", "bccRecipients", "body",
    "bodyPreview", "ccRecipients", "conversationId", "conversationIndex", "flag", "from", "hasAttachments",
    "importance", "inferenceClassification", "internetMessageHeaders", "internetMessageId",
    "isDeliveryReceiptRequested", "isDraft", "isRead", "isReadReceiptRequested", "parentFolderId",
    "receivedDateTime", "replyTo", "sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink",
)
# Names from the CSDL ``mailFolder`` type.
MAIL_FOLDER_PROPERTIES = (
    "id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "isHidden",
)
# Names from the CSDL ``fileAttachment`` type (with its ``attachment`` base).
FILE_ATTACHMENT_PROPERTIES = (
    "id", "lastModifiedDateTime", "name", "contentType", "size", "isInline", "contentId", "contentLocation",
    "contentBytes",
)
# Bound actions and the parameters read from their bodies, as named in the CSDL.
MAIL_ACTIONS = {
    "sendMail": ("Message", "SaveToSentItems"),
    "reply": ("Message", "Comment"),
    "move": ("DestinationId",),
}
# Graph returns these only when $select names them; ``attachments`` is a navigation property.
HIDDEN_BY_DEFAULT = ("internetMessageHeaders", "uniqueBody", ATTACHMENTS_KEY)
# Properties a client may change on a received message.
UPDATABLE = {"isread": "isRead", "categories": "categories", "importance": "importance", "flag": "flag"}
# What Exchange lets a delta query filter on, and the change types it can be limited to.
DELTA_FILTERABLE = ("receivedDateTime",)
DELTA_CHANGE_TYPES = ("created", "updated", "deleted")
DEFAULT_PAGE_SIZE = 10
TEXT_BODY_PREFERENCE = 'outlook.body-content-type="text"'

# Application permissions accepted per kind of call (Graph's permission reference for each API).
READ_PERMISSIONS = ("Mail.Read", "Mail.ReadWrite")
FOLDER_READ_PERMISSIONS = ("Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite")
WRITE_PERMISSIONS = ("Mail.ReadWrite",)
SEND_PERMISSIONS = ("Mail.Send",)


@dataclass(frozen=True)
class DeltaState:
    """Where a ``messages/delta()`` round is: what it covers and how far it has paged."""

    mailbox: str
    folder: str
    since: int | None  # change number of the previous round; None for the first, full, round
    upto: int  # latest change number this round reports
    filter: str | None = None
    select: str | None = None
    change_type: str | None = None
    skip: int = 0
    size: int | None = None


class MailRoutes:
    """The ``/v1.0/users/{mailbox}/…`` mail routes over one ``MailboxStore``.

    ``exchange_sort_rules`` makes message lists refuse an ``$orderby`` whose properties do not lead the
    ``$filter`` (Exchange's ``InefficientFilter``).
    """

    def __init__(
        self,
        store: MailboxStore,
        *,
        origin: Callable[[Request], str],
        page_size: int = DEFAULT_PAGE_SIZE,
        exchange_sort_rules: bool = True,
    ) -> None:
        self.store = store
        self._origin = origin
        self._page_size = page_size
        self._exchange_sort_rules = exchange_sort_rules

    def routes(self) -> list[Route]:
        """Starlette routes, most specific first."""
        user = "/v1.0/users/{mailbox}"
        folder = user + "/mailFolders/{folder}"
        routes = [
            Route(user + "/sendMail", self.send_mail, methods=["POST"]),
            Route(user + "/mailFolders", self.list_folders, methods=["GET"]),
            Route(folder, self.get_folder, methods=["GET"]),
            Route(folder + "/messages/delta()", self.delta, methods=["GET"]),
            Route(folder + "/messages/delta", self.delta, methods=["GET"]),
        ]
        for messages in (folder + "/messages", user + "/messages"):
            item = messages + "/{message_id}"
            routes += [
                Route(messages, self.list_messages, methods=["GET"]),
                Route(item, self.message, methods=["GET", "PATCH", "DELETE"]),
                Route(item + "/reply", self.reply, methods=["POST"]),
                Route(item + "/move", self.move, methods=["POST"]),
                Route(item + "/attachments", self.list_attachments, methods=["GET"]),
                Route(item + "/attachments/{attachment_id}", self.get_attachment, methods=["GET"]),
            ]
        return routes

    # ----- helpers ----------------------------------------------------------------------------

    def _mailbox(self, request: Request) -> str:
        mailbox = str(request.path_params["mailbox"])
        if not self.store.has_mailbox(mailbox):
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{mailbox}' is invalid.")
        return mailbox.lower()

    def _folder(self, request: Request, mailbox: str) -> str | None:
        folder = request.path_params.get("folder")
        if folder is None:
            return None
        name = self.store.folder_name(mailbox, str(folder))
        if name is None:
            raise not_found(f"mail folder '{folder}'")
        return name

    def _found(self, request: Request) -> tuple[str, str | None, Message]:
        mailbox = self._mailbox(request)
        folder = self._folder(request, mailbox)
        message_id = str(request.path_params["message_id"])
        message = self.store.find(mailbox, message_id, folder)
        if message is None:
            raise not_found(f"message '{message_id}'")
        return mailbox, folder, message

    def _context(self, request: Request, mailbox: str, what: str) -> str:
        return f"{self._origin(request)}/v1.0/$metadata#users('{mailbox}')/{what}"

    def _render(self, request: Request, message: Message, options: QueryOptions) -> Message:
        shown = options.project(message, default_hidden=HIDDEN_BY_DEFAULT)
        shown.pop(ATTACHMENTS_KEY, None)
        if "body" in shown:
            shown["body"] = _body_as_preferred(shown["body"], prefers_text=_prefers_text(request))
        return shown

    def _json(self, request: Request, payload: dict[str, Any], status: int = 200) -> JSONResponse:
        response = JSONResponse(payload, status_code=status)
        if _prefers_text(request):
            response.headers["Preference-Applied"] = TEXT_BODY_PREFERENCE
        return response

    # ----- folders ----------------------------------------------------------------------------

    async def list_folders(self, request: Request) -> Response:
        """The mailbox's folders with their item counts, by display name."""
        require_permission(request, *FOLDER_READ_PERMISSIONS)
        mailbox = self._mailbox(request)
        params = dict(request.query_params)
        options = QueryOptions.parse(params, selectable=MAIL_FOLDER_PROPERTIES)
        folders = sorted((self.store.folder(mailbox, name) for name in _folder_names()),
                         key=lambda f: str(f["displayName"]))
        page, next_skip = options.page(folders, page_size=self._page_size)
        payload: dict[str, Any] = {
            "@odata.context": self._context(request, mailbox, "mailFolders"),
            "value": [options.project(f) for f in page],
        }
        if next_skip is not None:
            payload["@odata.nextLink"] = next_link(self._origin(request), request.url.path, params, next_skip)
        return self._json(request, payload)

    async def get_folder(self, request: Request) -> Response:
        """One folder, by well-known name or id."""
        require_permission(request, *FOLDER_READ_PERMISSIONS)
        mailbox = self._mailbox(request)
        name = self._folder(request, mailbox)
        assert name is not None
        options = QueryOptions.parse(dict(request.query_params), selectable=MAIL_FOLDER_PROPERTIES)
        payload = {"@odata.context": self._context(request, mailbox, "mailFolders/$entity")}
        payload.update(options.project(self.store.folder(mailbox, name)))
        return self._json(request, payload)

    # ----- messages ---------------------------------------------------------------------------

    async def list_messages(self, request: Request) -> Response:
        """A page of messages of a folder (or of the whole mailbox) with ``@odata.nextLink``."""
        require_permission(request, *READ_PERMISSIONS)
        mailbox = self._mailbox(request)
        folder = self._folder(request, mailbox)
        params = dict(request.query_params)
        options = QueryOptions.parse(params, selectable=MESSAGE_PROPERTIES)
        if self._exchange_sort_rules:
            _check_sort_against_filter(params.get("$filter", params.get("filter")), options.orderby)
        if folder is not None:
            items = self.store.messages(mailbox, folder)
        else:
            items = [m for name in _folder_names() for m in self.store.messages(mailbox, name)]
        if not options.orderby:
            # Exchange's default order is newest first.
            options = replace(options, orderby=(("receivedDateTime", True),))
        page, next_skip = options.page(items, page_size=self._page_size)
        where = f"mailFolders('{folder}')/messages" if folder else "messages"
        payload: dict[str, Any] = {
            "@odata.context": self._context(request, mailbox, where),
            "value": [self._render(request, m, options) for m in page],
        }
        if next_skip is not None:
            payload["@odata.nextLink"] = next_link(self._origin(request), request.url.path, params, next_skip)
        return self._json(request, payload)

    async def message(self, request: Request) -> Response:
        """Read one message, change its flags (``PATCH``, returns it) or delete it (to Deleted Items)."""
        require_permission(request, *(READ_PERMISSIONS if request.method == "GET" else WRITE_PERMISSIONS))
        mailbox, folder, message = self._found(request)
        if request.method == "DELETE":
            self.store.delete(mailbox, message["id"])
            return Response(status_code=204)
        if request.method == "PATCH":
            changes = _updates(await _json_object(request))
            message = self.store.update(mailbox, message["id"], changes, folder)
        options = QueryOptions.parse(dict(request.query_params), selectable=MESSAGE_PROPERTIES)
        payload = {"@odata.context": self._context(request, mailbox, "messages/$entity")}
        payload.update(self._render(request, message, options))
        return self._json(request, payload)

    async def move(self, request: Request) -> Response:
        """Move a message to another folder: 201 with the moved message, which has a new id."""
        require_permission(request, *WRITE_PERMISSIONS)
        mailbox, _, message = self._found(request)
        destination = _case_insensitive(await _json_object(request)).get("destinationid")
        if not isinstance(destination, str) or not destination.strip():
            raise bad_request("The parameter 'DestinationId' is missing or empty.", code="ErrorInvalidRequest")
        target = self.store.folder_name(mailbox, destination.strip())
        if target is None:
            raise not_found(f"mail folder '{destination}'")
        moved = self.store.move(mailbox, message["id"], target)
        options = QueryOptions.parse(dict(request.query_params), selectable=MESSAGE_PROPERTIES)
        payload = {"@odata.context": self._context(request, mailbox, "messages/$entity")}
        payload.update(self._render(request, moved, options))
        return self._json(request, payload, status=201)

    # ----- delta ------------------------------------------------------------------------------

    async def delta(self, request: Request) -> Response:
        """A page of changes of a folder: ``@odata.nextLink`` with ``$skiptoken``, last ``@odata.deltaLink``."""
        require_permission(request, *READ_PERMISSIONS)
        mailbox = self._mailbox(request)
        folder = self._folder(request, mailbox)
        assert folder is not None
        state = self._delta_state(dict(request.query_params), mailbox, folder)
        preferred = preferred_page_size(request.headers.get("prefer", ""))
        if preferred is not None:
            state = replace(state, size=preferred)
        items = self._delta_items(request, state)
        size = state.size or self._page_size
        page = items[state.skip : state.skip + size]
        origin = self._origin(request)
        path = re.sub(r"/delta(\(\))?$", "/delta", request.url.path)
        payload: dict[str, Any] = {"@odata.context": f"{origin}/v1.0/$metadata#Collection(message)", "value": page}
        if state.skip + size < len(items):
            token = encode_state_token(asdict(replace(state, skip=state.skip + size)))
            payload["@odata.nextLink"] = link(origin, path, {"$skiptoken": token})
        else:
            next_round = replace(state, since=state.upto, skip=0)
            payload["@odata.deltaLink"] = link(origin, path, {"$deltatoken": encode_state_token(asdict(next_round))})
        response = self._json(request, payload)
        if preferred is not None:
            applied = [TEXT_BODY_PREFERENCE] if _prefers_text(request) else []
            response.headers["Preference-Applied"] = ", ".join([*applied, f"odata.maxpagesize={preferred}"])
        return response

    def _delta_state(self, params: dict[str, str], mailbox: str, folder: str) -> DeltaState:
        for name, starts_round in (("$deltatoken", True), ("$skiptoken", False)):
            token = params.get(name)
            if token is None:
                continue
            fields = decode_state_token(token, name)
            try:
                state = DeltaState(**fields)
            except TypeError as exc:
                raise bad_request(f"The {name} is not valid; start a new synchronisation.",
                                  code="ErrorInvalidUrlQuery") from exc
            if (state.mailbox, state.folder) != (mailbox, folder):
                raise bad_request(f"The {name} belongs to another folder.", code="ErrorInvalidUrlQuery")
            # A new round reports what changed after the last one, up to now.
            return replace(state, upto=self.store.sequence(), skip=0) if starts_round else state
        filter_text = params.get("$filter", params.get("filter"))
        if filter_text:
            allowed = {name.lower() for name in DELTA_FILTERABLE}
            others = {p for p in filter_properties(filter_text) if p.lower() not in allowed}
            if others:
                raise bad_request(f"Delta queries on messages can only filter on {', '.join(DELTA_FILTERABLE)}, "
                                  f"not {', '.join(sorted(others))}.", code="ErrorInvalidUrlQuery")
        select = params.get("$select", params.get("select"))
        QueryOptions.parse({"$select": select} if select else {}, selectable=MESSAGE_PROPERTIES)
        change_type = params.get("changeType")
        if change_type is not None and change_type not in DELTA_CHANGE_TYPES:
            raise bad_request(f"Invalid changeType '{change_type}': use one of {', '.join(DELTA_CHANGE_TYPES)}.",
                              code="ErrorInvalidUrlQuery")
        return DeltaState(mailbox, folder, None, self.store.sequence(), filter_text or None, select, change_type)

    def _delta_items(self, request: Request, state: DeltaState) -> list[dict[str, Any]]:
        changes = self.store.changes(state.mailbox, state.folder, since=state.since, upto=state.upto)
        wanted = {"created": changes.created, "updated": changes.updated, "deleted": []}
        messages = ([*changes.created, *changes.updated] if state.change_type is None
                    else wanted[state.change_type])
        if state.filter:
            predicate = parse_filter(state.filter)
            messages = [m for m in messages if predicate(m)]
        messages.sort(key=lambda m: str(m.get("receivedDateTime", "")), reverse=True)
        options = QueryOptions.parse({"$select": state.select} if state.select else {}, selectable=MESSAGE_PROPERTIES)
        items = [self._render(request, m, options) for m in messages]
        if state.change_type in (None, "deleted"):
            items += [{"id": message_id, "@removed": {"reason": "deleted"}} for message_id in changes.removed]
        return items

    # ----- attachments ------------------------------------------------------------------------

    async def list_attachments(self, request: Request) -> Response:
        """Attachment metadata of a message; ``contentBytes`` only when ``$select`` asks for it."""
        require_permission(request, *READ_PERMISSIONS)
        mailbox, _, message = self._found(request)
        params = dict(request.query_params)
        options = QueryOptions.parse(params, selectable=FILE_ATTACHMENT_PROPERTIES)
        items = self.store.attachments(mailbox, message["id"])
        page, next_skip = options.page(items, page_size=self._page_size)
        hidden = () if options.select is not None else ("contentBytes",)
        payload: dict[str, Any] = {
            "@odata.context": self._context(request, mailbox, f"messages('{message['id']}')/attachments"),
            "value": [options.project(a, default_hidden=hidden) for a in page],
        }
        if next_skip is not None:
            payload["@odata.nextLink"] = next_link(self._origin(request), request.url.path, params, next_skip)
        return self._json(request, payload)

    async def get_attachment(self, request: Request) -> Response:
        """One attachment with its ``contentBytes``."""
        require_permission(request, *READ_PERMISSIONS)
        mailbox, _, message = self._found(request)
        wanted = str(request.path_params["attachment_id"])
        found = next((a for a in self.store.attachments(mailbox, message["id"]) if a["id"] == wanted), None)
        if found is None:
            raise not_found(f"attachment '{wanted}'")
        options = QueryOptions.parse(dict(request.query_params), selectable=FILE_ATTACHMENT_PROPERTIES)
        context = self._context(request, mailbox, f"messages('{message['id']}')/attachments/$entity")
        return self._json(request, {"@odata.context": context, **options.project(found)})

    # ----- sending ----------------------------------------------------------------------------

    async def send_mail(self, request: Request) -> Response:
        """Send as the mailbox: a copy in Sent Items (unless ``SaveToSentItems`` is false), one per local recipient."""
        require_permission(request, *SEND_PERMISSIONS)
        mailbox = self._mailbox(request)
        params = _case_insensitive(await _json_object(request))
        draft = params.get("message")
        if not isinstance(draft, dict):
            raise bad_request("The parameter 'Message' is missing or is not a message.", code="ErrorInvalidRequest")
        save = params.get("savetosentitems", True)
        if not isinstance(save, bool):
            raise bad_request("The parameter 'SaveToSentItems' must be true or false.", code="ErrorInvalidRequest")
        outgoing = _outgoing(draft)
        if not (outgoing.to or outgoing.cc or outgoing.bcc):
            raise bad_request("At least one recipient is not valid., A message can't be sent because it contains "
                              "no recipients.", code="ErrorInvalidRecipients")
        headers = [*outgoing.headers, ("Message-ID", f"<{uuid.uuid4().hex}@sandbox.test>")]
        common: dict[str, Any] = {
            "from_address": mailbox, "to": outgoing.to, "cc": outgoing.cc, "subject": outgoing.subject,
            "body": outgoing.body, "body_type": outgoing.body_type, "headers": headers,
            "attachments": outgoing.attachments, "received_at": datetime.now(UTC),
        }
        if save:
            self.store.add_message(mailbox, folder="sentitems", bcc=outgoing.bcc, is_read=True, **common)
        delivered: set[str] = set()
        for address in (*outgoing.to, *outgoing.cc, *outgoing.bcc):
            if self.store.has_mailbox(address) and address.lower() not in delivered:
                delivered.add(address.lower())
                self.store.add_message(address, folder="inbox", **common)
        return Response(status_code=202)

    async def reply(self, request: Request) -> Response:
        """Answer like Exchange: to the recipients the client names, else Reply-To, else From; kept in Sent Items."""
        require_permission(request, *SEND_PERMISSIONS)
        mailbox, _, original = self._found(request)
        params = _case_insensitive(await _json_object(request))
        comment = params.get("comment")
        draft = params.get("message") or {}
        if comment is not None and not isinstance(comment, str):
            raise bad_request("The parameter 'Comment' must be a string.", code="ErrorInvalidRequest")
        if not isinstance(draft, dict):
            raise bad_request("The parameter 'Message' must be a message object.", code="ErrorInvalidRequest")
        draft_body = _case_insensitive(draft).get("body")
        if comment is not None and draft_body:
            raise bad_request(
                "Specify either 'Comment' or the body of 'Message', not both.", code="ErrorInvalidRequest"
            )
        text = str(_case_insensitive(draft_body).get("content", "")) if isinstance(draft_body, dict) else comment or ""
        recipients = _addresses(_case_insensitive(draft).get("torecipients"), "toRecipients")
        if not recipients:
            # A plain reply follows Reply-To when the sender set one: a client that must not answer there
            # has to name its recipient, which is what Sésame does.
            fallback = original.get("replyTo") or [original["from"]]
            recipients = [r["emailAddress"]["address"] for r in fallback]
        subject = original.get("subject", "")
        references = " ".join(filter(None, [header_value(original, "References"), original["internetMessageId"]]))
        self.store.add_message(
            mailbox,
            folder="sentitems",
            from_address=mailbox,
            to=recipients,
            subject=subject if subject.lower().startswith("re:") else f"RE: {subject}",
            body=text + _quoted(original),
            headers=[("In-Reply-To", original["internetMessageId"]), ("References", references)],
            is_read=True,
            conversation_id=original.get("conversationId"),
        )
        return Response(status_code=202)


@dataclass(frozen=True)
class _Outgoing:
    """A ``Message`` parameter of ``sendMail`` read into what the store needs."""

    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    body: str
    body_type: str
    headers: list[tuple[str, str]]
    attachments: list[AttachmentFile]


def _outgoing(draft: dict[str, Any]) -> _Outgoing:
    fields = _case_insensitive(draft)
    body = fields.get("body") or {}
    if not isinstance(body, dict):
        raise bad_request("'body' must be an itemBody object.", code="ErrorInvalidRequest")
    body_fields = _case_insensitive(body)
    body_type = str(body_fields.get("contenttype") or "text").lower()
    if body_type not in {"text", "html"}:
        raise bad_request(f"Invalid body contentType '{body_type}': use text or html.", code="ErrorInvalidRequest")
    headers = fields.get("internetmessageheaders") or []
    if not isinstance(headers, list) or not all(isinstance(h, dict) for h in headers):
        raise bad_request("'internetMessageHeaders' must be a list of {name, value}.", code="ErrorInvalidRequest")
    return _Outgoing(
        to=_addresses(fields.get("torecipients"), "toRecipients"),
        cc=_addresses(fields.get("ccrecipients"), "ccRecipients"),
        bcc=_addresses(fields.get("bccrecipients"), "bccRecipients"),
        subject=str(fields.get("subject") or ""),
        body=str(body_fields.get("content") or ""),
        body_type=body_type,
        headers=[(str(_case_insensitive(h).get("name", "")), str(_case_insensitive(h).get("value", "")))
                 for h in headers],
        attachments=[_attachment_file(a) for a in fields.get("attachments") or []],
    )


def _attachment_file(item: Any) -> AttachmentFile:
    fields = _case_insensitive(item) if isinstance(item, dict) else {}
    kind = str(item.get("@odata.type", "")) if isinstance(item, dict) else ""
    if kind.lstrip("#").lower() != "microsoft.graph.fileattachment":
        raise bad_request("Only '#microsoft.graph.fileAttachment' attachments can be sent here.",
                          code="ErrorInvalidRequest")
    try:
        content = base64.b64decode(str(fields.get("contentbytes") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request("'contentBytes' of an attachment must be base64.", code="ErrorInvalidRequest") from exc
    return AttachmentFile(
        name=str(fields.get("name") or "attachment"),
        content_type=str(fields.get("contenttype") or "application/octet-stream"),
        content=content,
        is_inline=bool(fields.get("isinline", False)),
    )


def _addresses(recipients: Any, name: str) -> list[str]:
    """Addresses of a Graph ``recipient`` list."""
    if recipients is None:
        return []
    if not isinstance(recipients, list):
        raise bad_request(f"'{name}' must be a list of recipients.", code="ErrorInvalidRequest")
    found = []
    for item in recipients:
        email = _case_insensitive(item).get("emailaddress") if isinstance(item, dict) else None
        address = str(_case_insensitive(email).get("address", "")) if isinstance(email, dict) else ""
        if address:
            found.append(address)
    return found


def _folder_names() -> tuple[str, ...]:
    return tuple(WELL_KNOWN_FOLDERS)


def _check_sort_against_filter(filter_text: str | None, orderby: tuple[tuple[str, bool], ...]) -> None:
    """Exchange's rule: sorted properties must come first in the filter, in the same order."""
    if not orderby or not filter_text:
        return
    filtered: list[str] = []
    for path in filter_properties(filter_text):
        if path.lower() not in filtered:
            filtered.append(path.lower())
    if filtered[: len(orderby)] != [path.lower() for path, _ in orderby]:
        raise bad_request("The restriction or sort order is too complex for this operation.", code="InefficientFilter")


def _prefers_text(request: Request) -> bool:
    return TEXT_BODY_PREFERENCE in request.headers.get("prefer", "").replace(" ", "")


def _body_as_preferred(body: dict[str, Any], *, prefers_text: bool) -> dict[str, Any]:
    """Exchange answers HTML unless the client prefers text, converting whichever way is needed."""
    content = str(body.get("content", ""))
    kind = str(body.get("contentType", "text")).lower()
    if prefers_text and kind == "html":
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content)
        return {"contentType": "text", "content": html.unescape(re.sub(r"<[^>]+>", "", text)).strip()}
    if not prefers_text and kind == "text":
        markup = html.escape(content).replace("\n", "<br>\r\n")
        return {"contentType": "html", "content": f"<html><body><div>{markup}</div></body></html>"}
    return dict(body)


def _quoted(original: Message) -> str:
    """The original below the answer, as Outlook quotes it."""
    sender = original["from"]["emailAddress"]
    sent = original.get("sentDateTime") or datetime.now(UTC).isoformat()
    return (
        "\r\n\r\n________________________________\r\n"
        f"From: {sender.get('name') or sender['address']} <{sender['address']}>\r\n"
        f"Sent: {sent}\r\n"
        f"Subject: {original.get('subject', '')}\r\n\r\n"
        f"{original.get('body', {}).get('content', '')}"
    )


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise bad_request(f"Invalid JSON body: {exc.msg} at line {exc.lineno} column {exc.colno}.") from exc
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def _case_insensitive(data: dict[str, Any]) -> dict[str, Any]:
    """Keys lower-cased, OData annotations (``@odata.type``…) dropped."""
    return {k.lower(): v for k, v in data.items() if not k.startswith("@")}


def _updates(body: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in _case_insensitive(body).items():
        if key not in UPDATABLE:
            raise bad_request(
                f"The property '{key}' cannot be changed on a received message; "
                f"this sandbox accepts {sorted(UPDATABLE.values())}.",
                code="ErrorInvalidPropertySet",
            )
        changes[UPDATABLE[key]] = value
    if "isRead" in changes and not isinstance(changes["isRead"], bool):
        raise bad_request("The property 'isRead' must be true or false.", code="ErrorInvalidPropertyValue")
    categories = changes.get("categories")
    if categories is not None and not (isinstance(categories, list) and all(isinstance(c, str) for c in categories)):
        raise bad_request("The property 'categories' must be a list of strings.", code="ErrorInvalidPropertyValue")
    return changes
