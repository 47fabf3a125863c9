"""Outlook mail routes of the Graph emulator: list, read, flag and reply to messages of a mailbox.

Paths and JSON follow Graph v1.0 as ``msgraph-sdk`` sends them (see the v1.0 CSDL ``message`` type):
path ids arrive percent-encoded and are decoded by the server; action parameters are read
case-insensitively because the SDK sends them PascalCase (``Comment``, ``Message``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.graph.errors import GraphError, bad_request, not_found
from sandbox.graph.mailstore import MailboxStore, Message, header_value
from sandbox.graph.odata import QueryOptions, next_link

# Names from the v1.0 CSDL entity type ``message`` (with its ``outlookItem`` base).
MESSAGE_PROPERTIES = (
    "id", "categories", "changeKey", "createdDateTime", "lastModifiedDateTime", "bccRecipients", "body",
    "bodyPreview", "ccRecipients", "conversationId", "conversationIndex", "flag", "from", "hasAttachments",
    "importance", "inferenceClassification", "internetMessageHeaders", "internetMessageId",
    "isDeliveryReceiptRequested", "isDraft", "isRead", "isReadReceiptRequested", "parentFolderId",
    "receivedDateTime", "replyTo", "sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink",
)
# Graph returns these only when $select names them.
HIDDEN_BY_DEFAULT = ("internetMessageHeaders", "uniqueBody")
# Properties a client may change on a received message.
UPDATABLE = {"isread": "isRead", "categories": "categories", "importance": "importance", "flag": "flag"}
DEFAULT_PAGE_SIZE = 10
TEXT_BODY_PREFERENCE = 'outlook.body-content-type="text"'


class MailRoutes:
    """The ``/v1.0/users/{mailbox}/…`` mail routes over one ``MailboxStore``."""

    def __init__(self, store: MailboxStore, *, origin: Callable[[Request], str], page_size: int = DEFAULT_PAGE_SIZE):
        self.store = store
        self._origin = origin
        self._page_size = page_size

    def routes(self) -> list[Route]:
        """Starlette routes, most specific first."""
        user = "/v1.0/users/{mailbox}"
        folder_messages = user + "/mailFolders/{folder}/messages"
        return [
            Route(folder_messages, self.list_messages, methods=["GET"]),
            Route(user + "/messages", self.list_messages, methods=["GET"]),
            Route(folder_messages + "/{message_id}", self.message, methods=["GET", "PATCH"]),
            Route(user + "/messages/{message_id}", self.message, methods=["GET", "PATCH"]),
            Route(folder_messages + "/{message_id}/reply", self.reply, methods=["POST"]),
            Route(user + "/messages/{message_id}/reply", self.reply, methods=["POST"]),
        ]

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

    def _render(self, request: Request, message: Message, options: QueryOptions) -> Message:
        shown = options.project(message, default_hidden=HIDDEN_BY_DEFAULT)
        if "body" in shown and TEXT_BODY_PREFERENCE not in request.headers.get("prefer", "").replace(" ", ""):
            # Exchange answers HTML unless the client prefers text; the store keeps text.
            text = shown["body"]["content"]
            markup = html.escape(text).replace("\n", "<br>\r\n")
            shown["body"] = {"contentType": "html", "content": f"<html><body><div>{markup}</div></body></html>"}
        return shown

    def _json(self, request: Request, payload: dict[str, Any], status: int = 200) -> JSONResponse:
        response = JSONResponse(payload, status_code=status)
        if TEXT_BODY_PREFERENCE in request.headers.get("prefer", "").replace(" ", ""):
            response.headers["Preference-Applied"] = TEXT_BODY_PREFERENCE
        return response

    # ----- endpoints --------------------------------------------------------------------------

    async def list_messages(self, request: Request) -> Response:
        """A page of messages of a folder (or of the whole mailbox) with ``@odata.nextLink``."""
        mailbox = self._mailbox(request)
        folder = self._folder(request, mailbox)
        params = dict(request.query_params)
        options = QueryOptions.parse(params, selectable=MESSAGE_PROPERTIES)
        if folder is not None:
            items = self.store.messages(mailbox, folder)
        else:
            items = [m for name in ("inbox", "sentitems", "drafts", "deleteditems", "archive")
                     for m in self.store.messages(mailbox, name)]
        if not options.orderby:
            # Exchange's default order is newest first.
            options = QueryOptions(options.filter, (("receivedDateTime", True),), options.select,
                                   options.top, options.skip)
        page, next_skip = options.page(items, page_size=self._page_size)
        origin = self._origin(request)
        where = f"mailFolders('{folder}')/messages" if folder else "messages"
        payload: dict[str, Any] = {
            "@odata.context": f"{origin}/v1.0/$metadata#users('{mailbox}')/{where}",
            "value": [self._render(request, m, options) for m in page],
        }
        if next_skip is not None:
            payload["@odata.nextLink"] = next_link(origin, request.url.path, params, next_skip)
        return self._json(request, payload)

    async def message(self, request: Request) -> Response:
        """Read one message, or change its flags (``PATCH``) and return it."""
        mailbox, folder, message = self._found(request)
        if request.method == "PATCH":
            changes = _updates(await _json_object(request))
            message = self.store.update(mailbox, message["id"], changes, folder)
        options = QueryOptions.parse(dict(request.query_params), selectable=MESSAGE_PROPERTIES)
        payload = {"@odata.context": f"{self._origin(request)}/v1.0/$metadata#users('{mailbox}')/messages/$entity"}
        payload.update(self._render(request, message, options))
        return self._json(request, payload)

    async def reply(self, request: Request) -> Response:
        """Answer like Exchange: to the recipients the client names, else Reply-To, else From; kept in Sent Items."""
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
        named = _case_insensitive(draft).get("torecipients") or []
        if not isinstance(named, list):
            raise bad_request("'toRecipients' must be a list of recipients.", code="ErrorInvalidRequest")
        recipients = [str(_case_insensitive(_case_insensitive(r).get("emailaddress") or {}).get("address", ""))
                      for r in named if isinstance(r, dict)]
        if not any(recipients):
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
            to=[r for r in recipients if r],
            subject=subject if subject.lower().startswith("re:") else f"RE: {subject}",
            body=text + _quoted(original),
            headers=[("In-Reply-To", original["internetMessageId"]), ("References", references)],
            is_read=True,
            conversation_id=original.get("conversationId"),
        )
        return Response(status_code=202)


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
