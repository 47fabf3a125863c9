"""The shared mailbox over Microsoft Graph, with the official ``msgraph-sdk`` and ``azure-identity``.

The SDK is asyncio-only while the fleet is synchronous (Celery prefork), so each ``GraphMailbox``
owns one private event loop in a daemon thread; every call submits a coroutine to it and waits.
The HTTP client and the token cache therefore live as long as the instance, as the SDK intends.

TLS trust: ``ca_file`` (a PEM bundle, e.g. the sandbox CA) is trusted by both the token requests
(``connection_verify``) and the Graph calls (an ``ssl`` context). When ``ca_file`` is None the token
requests go through ``requests``, which honours ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the
environment, while the Graph calls honour ``SSL_CERT_FILE``/``SSL_CERT_DIR``: keep them consistent.
An explicit ``ca_file`` is never overridden by those variables.
"""

from __future__ import annotations

import asyncio
import html
import re
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.identity import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.users.item.messages.item.message_item_request_builder import MessageItemRequestBuilder
from msgraph.generated.users.item.messages.item.reply.reply_post_request_body import ReplyPostRequestBody
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph_core import GraphClientFactory

from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    ThrottledError,
    TransientError,
)
from connectors.mailbox import InboundMessage

SYSTEM = "graph"
EPOCH = "1900-01-01T00:00:00Z"
GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
PAGE_SIZE = 25
MESSAGE_FIELDS = [
    "id", "internetMessageId", "from", "sender", "toRecipients", "subject", "body", "receivedDateTime",
    "internetMessageHeaders", "isRead", "conversationId",
]
TEXT_BODY = 'outlook.body-content-type="text"'

T = TypeVar("T")


class _PrivateLoop:
    """An asyncio loop running in a daemon thread, fed from synchronous callers."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


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
    ) -> None:
        for name, url in (("graph_url", graph_url), ("authority", authority)):
            parsed = urlparse(url)
            if parsed.scheme != "https" or not parsed.hostname:
                raise ValueError(f"{name} must be an https:// URL (Entra ID and the SDK refuse others), got {url!r}")
        self.address = mailbox
        self._graph_url = graph_url.rstrip("/")
        self._client_id = client_id
        self._tenant = tenant
        self._timeout = timeout
        verify_kwargs: dict[str, Any] = {"connection_verify": ca_file} if ca_file else {}
        # MSAL's first call is instance discovery at login.microsoftonline.com unless disabled:
        # wrong for sovereign clouds, private authorities and offline sandboxes alike.
        self._credential = ClientSecretCredential(
            tenant,
            client_id,
            client_secret,
            authority=authority,
            disable_instance_discovery=True,
            connection_timeout=timeout,
            read_timeout=timeout,
            **verify_kwargs,
        )
        host = urlparse(self._graph_url).hostname or ""
        # A non-empty allowed_hosts keeps the bearer token from following a link to any other host.
        auth = AzureIdentityAuthenticationProvider(self._credential, scopes=GRAPH_SCOPES, allowed_hosts=[host])
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        # Kept to close it ourselves: msgraph-core's AsyncGraphTransport does not pass aclose() on,
        # so closing the client alone leaves TLS connections open until the process exits.
        self._transport = httpx.AsyncHTTPTransport(verify=verify)
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=self._transport, timeout=httpx.Timeout(timeout)),
            options=graph_default_options,
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = self._graph_url
        self._http = http
        self._client = GraphServiceClient(request_adapter=adapter)
        self._loop = _PrivateLoop(name=f"graph-mailbox-{mailbox}")

    # ----- Mailbox ------------------------------------------------------------------------------

    def list_unread(self, limit: int = 50) -> list[str]:
        """Ids of unread messages in the inbox, oldest first, following ``@odata.nextLink``."""
        return self._call(lambda: self._list_unread(limit), "list unread messages")

    def get(self, message_id: str) -> InboundMessage:
        """The whole message with its Internet headers and a plain-text body."""
        return self._call(lambda: self._get(message_id), f"read message {message_id}")

    def reply(self, message_id: str, body_text: str, *, to: str) -> None:
        """Answer ``message_id`` in plain text to ``to`` only: a plain Graph reply would follow Reply-To."""
        body = ReplyPostRequestBody(message=Message(
            to_recipients=[Recipient(email_address=EmailAddress(address=to))],
            body=ItemBody(content_type=BodyType.Text, content=body_text),
        ))
        self._call(lambda: self._message(message_id).reply.post(body), f"reply to message {message_id}")

    def mark_read(self, message_id: str) -> None:
        """Flag the message as read so the poller skips it."""
        self._call(lambda: self._message(message_id).patch(Message(is_read=True)), f"mark message {message_id} read")

    def close(self) -> None:
        """Close the HTTP client and the credential, and stop the private loop."""
        try:
            self._loop.run(self._close_http(), self._timeout)
        finally:
            self._credential.close()
            self._loop.stop()

    async def _close_http(self) -> None:
        await self._http.aclose()
        await self._transport.aclose()

    def __enter__(self) -> GraphMailbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- Graph calls --------------------------------------------------------------------------

    def _user(self) -> UserItemRequestBuilder:
        return self._client.users.by_user_id(self.address)

    def _message(self, message_id: str) -> MessageItemRequestBuilder:
        return self._user().messages.by_message_id(message_id)

    async def _list_unread(self, limit: int) -> list[str]:
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            # Exchange refuses an $orderby whose property does not lead the $filter (InefficientFilter).
            filter=f"receivedDateTime ge {EPOCH} and isRead eq false",
            orderby=["receivedDateTime asc"],
            select=["id"],
            top=max(1, min(limit, PAGE_SIZE)),
        )
        inbox = self._user().mail_folders.by_mail_folder_id("inbox").messages
        page = await inbox.get(RequestConfiguration(query_parameters=query))
        ids: list[str] = []
        while page is not None:
            ids.extend(m.id for m in page.value or [] if m.id)
            link = page.odata_next_link
            if len(ids) >= limit or not link:
                break
            page = await inbox.with_url(link).get()
        return ids[:limit]

    async def _get(self, message_id: str) -> InboundMessage:
        config: RequestConfiguration[MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters] = (
            RequestConfiguration(
                query_parameters=MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(
                    select=MESSAGE_FIELDS
                )
            )
        )
        config.headers.add("Prefer", TEXT_BODY)
        message = await self._message(message_id).get(config)
        if message is None:
            raise NotFoundError(f"Graph returned no body for message {message_id}", system=SYSTEM)
        return _inbound(message)

    # ----- plumbing -----------------------------------------------------------------------------

    def _call(self, work: Callable[[], Awaitable[T]], action: str) -> T:
        async def run() -> T:
            return await work()

        try:
            # Retries with Retry-After happen inside the SDK: leave room for them.
            return self._loop.run(run(), self._timeout * 4)
        except FutureTimeout as exc:
            raise TransientError(f"Graph did not answer in time to {action} in {self.address}", system=SYSTEM) from exc
        except APIError as exc:
            raise _mapped(exc, action, self.address) from exc
        except ClientAuthenticationError as exc:
            raise PermissionMissingError(
                f"Entra ID refused the credentials of app {self._client_id} in tenant {self._tenant} "
                f"(needed to {action}): {_first_line(exc.message)}. Check the client id and secret.",
                system=SYSTEM,
            ) from exc
        except (ServiceRequestError, ServiceResponseError, httpx.TransportError) as exc:
            raise TransientError(
                f"Graph or Entra ID unreachable while trying to {action}: {type(exc).__name__}: {exc}",
                system=SYSTEM,
            ) from exc


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else "no reason given"


def _header(exc: APIError, name: str) -> str | None:
    headers = exc.response_headers
    if headers is None:
        return None
    value = headers.get(name)
    if isinstance(value, set | list | tuple):
        return next(iter(value), None)
    return str(value) if value else None


def _mapped(exc: APIError, action: str, mailbox: str) -> ConnectorError:
    """Translate an SDK error into the connector taxonomy, keeping Graph's request id for the audit."""
    status = exc.response_status_code or 0
    code, detail, request_id = "", exc.message or "", _header(exc, "request-id")
    if isinstance(exc, ODataError) and exc.error is not None:
        code, detail = exc.error.code or "", exc.error.message or detail
        if exc.error.inner_error is not None and exc.error.inner_error.request_id:
            request_id = exc.error.inner_error.request_id
    text = f"Graph refused to {action} in {mailbox}: {code or 'HTTP ' + str(status)}: {detail}".rstrip(": ")
    if status in (401, 403):
        return PermissionMissingError(
            text + " (the app registration needs the Mail.ReadWrite and Mail.Send application permissions, "
            "granted by an admin, or an application access policy covering this mailbox)",
            system=SYSTEM,
            request_id=request_id,
        )
    if status == 404:
        return NotFoundError(text, system=SYSTEM, request_id=request_id)
    if status == 429:
        retry_after = _header(exc, "Retry-After")
        return ThrottledError(
            text,
            retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None,
            system=SYSTEM,
            request_id=request_id,
        )
    if status >= 500 or status == 0:
        return TransientError(text, system=SYSTEM, request_id=request_id)
    return InvalidRequestError(text, system=SYSTEM, request_id=request_id)


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
