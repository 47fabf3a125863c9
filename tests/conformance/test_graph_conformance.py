"""What Sésame relies on from Microsoft Graph through the real ``msgraph-sdk``, against the sandbox or a real tenant.

Run against the sandbox (default) or a real tenant (``SESAME_GRAPH_TENANT``, ``SESAME_GRAPH_CLIENT_ID``,
``SESAME_GRAPH_CLIENT_SECRET``, ``SESAME_GRAPH_MAILBOX``, ``SESAME_GRAPH_USER``; see graph_target.py): the same
assertions must hold on both. On a tenant the suite only writes to the test mailbox (mail it sends to itself)
and revokes the test user's sessions.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options import HeadersInspectionHandlerOption
from msgraph import GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.internet_message_header import InternetMessageHeader
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_authentication_method import PasswordAuthenticationMethod
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.authentication.methods.item.reset_password.reset_password_post_request_body import (
    ResetPasswordPostRequestBody,
)
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.users.item.messages.item.message_item_request_builder import MessageItemRequestBuilder
from msgraph.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody
from msgraph.generated.users.item.messages.item.reply.reply_post_request_body import ReplyPostRequestBody
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from tests.conformance.graph_target import (
    AUTH_ADMIN_CLIENT_ID,
    AUTH_ADMIN_SECRET,
    GraphTarget,
    marker,
    open_graph_target,
)

pytestmark = pytest.mark.integration

TEXT_BODY = 'outlook.body-content-type="text"'
# A real tenant delivers in seconds; the sandbox at once.
DELIVERY_TIMEOUT_SECONDS = 90.0


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphTarget]:
    """The tenant or sandbox under test for this module."""
    with open_graph_target(Path(tmp_path_factory.mktemp("graph-conformance"))) as target:
        yield target


# ----- helpers ------------------------------------------------------------------------------------


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def send_to_self(
    client: GraphServiceClient,
    graph: GraphTarget,
    subject: str,
    *,
    body: str = "Bonjour,\nmessage de test de conformité.",
    headers: tuple[tuple[str, str], ...] = (),
    attachments: tuple[FileAttachment, ...] = (),
    save: bool = True,
) -> None:
    """``sendMail`` from the test mailbox to itself."""
    message = Message(
        subject=subject,
        body=ItemBody(content_type=BodyType.Text, content=body),
        to_recipients=[Recipient(email_address=EmailAddress(address=graph.mailbox))],
        internet_message_headers=[InternetMessageHeader(name=n, value=v) for n, v in headers] or None,
        attachments=list(attachments) or None,
    )
    await client.users.by_user_id(graph.mailbox).send_mail.post(
        SendMailPostRequestBody(message=message, save_to_sent_items=save)
    )


async def find(client: GraphServiceClient, graph: GraphTarget, folder: str, subject: str) -> list[Message]:
    """Messages of ``folder`` with exactly this subject."""
    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
        filter=f"subject eq '{subject}'", select=["id", "subject", "isRead", "parentFolderId", "categories"]
    )
    folder_messages = client.users.by_user_id(graph.mailbox).mail_folders.by_mail_folder_id(folder).messages
    page = await folder_messages.get(RequestConfiguration(query_parameters=query))
    return list(page.value or []) if page else []


async def arrived(client: GraphServiceClient, graph: GraphTarget, folder: str, subject: str) -> Message:
    """The one message with ``subject`` in ``folder``, waiting for delivery on a real tenant."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        found = await find(client, graph, folder, subject)
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no message '{subject}' in {folder} after {DELIVERY_TIMEOUT_SECONDS} s")
        await asyncio.sleep(2)


def _message(client: GraphServiceClient, graph: GraphTarget, message_id: str) -> MessageItemRequestBuilder:
    return client.users.by_user_id(graph.mailbox).messages.by_message_id(message_id)


async def _delta_round(
    client: GraphServiceClient, graph: GraphTarget, first: RequestConfiguration[Any], link: str | None = None
) -> tuple[list[Message], int, str]:
    """Every item of one delta round (following nextLinks), the number of pages, and the deltaLink."""
    delta = client.users.by_user_id(graph.mailbox).mail_folders.by_mail_folder_id("inbox").messages.delta
    headers = RequestConfiguration[Any]()
    headers.headers.add("Prefer", "odata.maxpagesize=2")
    page = await (delta.with_url(link).get(headers) if link else delta.get(first))
    items: list[Message] = []
    pages = 0
    while page is not None:
        pages += 1
        items += page.value or []
        if page.odata_delta_link:
            return items, pages, page.odata_delta_link
        assert page.odata_next_link, "a delta page has either a nextLink or a deltaLink"
        page = await delta.with_url(page.odata_next_link).get(headers)
    raise AssertionError("the delta round ended without a deltaLink")


# ----- mail -----------------------------------------------------------------------------------------


def test_send_mail_lands_in_sent_items_and_in_the_recipient_inbox(graph: GraphTarget) -> None:
    subject = marker()

    async def work(client: GraphServiceClient) -> tuple[Message, Message]:
        await send_to_self(client, graph, subject)
        return await arrived(client, graph, "sentitems", subject), await arrived(client, graph, "inbox", subject)

    sent, received = graph.run(work)
    assert sent.is_read is True
    assert received.is_read is False
    assert sent.id != received.id


def test_list_unread_filters_orders_and_pages(graph: GraphTarget) -> None:
    subjects = [f"{marker()}-{i}" for i in range(4)]
    since = _graph_time(datetime.now(UTC) - timedelta(seconds=2))

    async def work(client: GraphServiceClient) -> tuple[list[Message], int]:
        for subject in subjects:
            await send_to_self(client, graph, subject, save=False)
        delivered = [await arrived(client, graph, "inbox", s) for s in subjects]
        await _message(client, graph, delivered[1].id or "").patch(Message(is_read=True))
        # Exchange wants the sorted property first in the filter (else InefficientFilter).
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"receivedDateTime ge {since} and isRead eq false",
            orderby=["receivedDateTime asc"],
            select=["id", "subject", "isRead", "receivedDateTime"],
            top=2,
        )
        inbox = client.users.by_user_id(graph.mailbox).mail_folders.by_mail_folder_id("inbox").messages
        page = await inbox.get(RequestConfiguration(query_parameters=query))
        found: list[Message] = []
        pages = 0
        while page is not None:
            pages += 1
            found += page.value or []
            page = await inbox.with_url(page.odata_next_link).get() if page.odata_next_link else None
        return found, pages

    found, pages = graph.run(work)
    mine = [m.subject for m in found if m.subject in subjects]
    assert mine == [subjects[0], subjects[2], subjects[3]]
    assert all(m.is_read is False for m in found)
    assert pages >= 2
    received = [m.received_date_time for m in found if m.received_date_time]
    assert received == sorted(received)


def test_get_returns_internet_headers_and_a_text_body_on_request(graph: GraphTarget) -> None:
    subject = marker()

    async def work(client: GraphServiceClient) -> Message | None:
        await send_to_self(client, graph, subject, body="Ligne 1\nLigne <2> & fin",
                           headers=(("X-Sesame-Conformance", subject),))
        message = await arrived(client, graph, "inbox", subject)
        config = RequestConfiguration(
            query_parameters=MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(
                select=["id", "subject", "body", "internetMessageHeaders", "internetMessageId", "from"]
            )
        )
        config.headers.add("Prefer", TEXT_BODY)
        return await _message(client, graph, message.id or "").get(config)

    message = graph.run(work)
    assert message is not None and message.body is not None
    assert message.body.content_type == BodyType.Text
    assert "Ligne <2> & fin" in (message.body.content or "")
    headers = {h.name: h.value for h in message.internet_message_headers or []}
    assert headers.get("X-Sesame-Conformance") == subject
    assert message.internet_message_id
    assert message.from_ is not None and message.from_.email_address is not None
    assert (message.from_.email_address.address or "").lower() == graph.mailbox.lower()


def test_patch_is_read_and_categories(graph: GraphTarget) -> None:
    subject = marker()

    async def work(client: GraphServiceClient) -> tuple[Message | None, Message]:
        await send_to_self(client, graph, subject, save=False)
        message = await arrived(client, graph, "inbox", subject)
        patched = await _message(client, graph, message.id or "").patch(
            Message(is_read=True, categories=["Sésame conformance"])
        )
        return patched, (await find(client, graph, "inbox", subject))[0]

    patched, again = graph.run(work)
    # Graph answers 200 with the message; the SDK returns it.
    assert patched is not None and patched.is_read is True
    assert again.is_read is True
    assert again.categories == ["Sésame conformance"]


def test_reply_to_a_named_recipient_is_saved_in_sent_items(graph: GraphTarget) -> None:
    subject = marker()

    async def work(client: GraphServiceClient) -> Message:
        await send_to_self(client, graph, subject, save=False)
        message = await arrived(client, graph, "inbox", subject)
        body = ReplyPostRequestBody(message=Message(
            to_recipients=[Recipient(email_address=EmailAddress(address=graph.mailbox))],
            body=ItemBody(content_type=BodyType.Text, content="Réponse de conformité."),
        ))
        await _message(client, graph, message.id or "").reply.post(body)  # 202, no body
        return await arrived(client, graph, "sentitems", f"RE: {subject}")

    reply = graph.run(work)
    assert reply.subject == f"RE: {subject}"


def test_move_returns_the_moved_message_with_a_new_id_in_the_destination(graph: GraphTarget) -> None:
    subject = marker()

    async def work(client: GraphServiceClient) -> tuple[str, Message | None, str | None, int]:
        await send_to_self(client, graph, subject, save=False)
        original = await arrived(client, graph, "inbox", subject)
        to_archive = MovePostRequestBody(destination_id="archive")
        moved = await _message(client, graph, original.id or "").move.post(to_archive)
        archive = await client.users.by_user_id(graph.mailbox).mail_folders.by_mail_folder_id("archive").get()
        try:
            await _message(client, graph, original.id or "").get()
            status = 200
        except ODataError as error:
            status = error.response_status_code or 0
        return original.id or "", moved, archive.id if archive else None, status

    original_id, moved, archive_id, old_id_status = graph.run(work)
    assert moved is not None
    assert moved.id and moved.id != original_id
    assert moved.parent_folder_id == archive_id
    assert moved.subject == subject
    assert old_id_status == 404


def test_delete_moves_the_message_to_deleted_items(graph: GraphTarget) -> None:
    subject = marker()

    async def work(client: GraphServiceClient) -> tuple[list[Message], Message]:
        await send_to_self(client, graph, subject, save=False)
        message = await arrived(client, graph, "inbox", subject)
        await _message(client, graph, message.id or "").delete()  # 204
        return await find(client, graph, "inbox", subject), await arrived(client, graph, "deleteditems", subject)

    still_in_inbox, deleted = graph.run(work)
    assert still_in_inbox == []
    assert deleted.subject == subject


def test_mail_folders_carry_item_counts(graph: GraphTarget) -> None:
    async def work(client: GraphServiceClient) -> tuple[list[Any], Any]:
        mailbox = client.users.by_user_id(graph.mailbox)
        folders = await mailbox.mail_folders.get()
        return list(folders.value or []) if folders else [], await mailbox.mail_folders.by_mail_folder_id("inbox").get()

    folders, inbox = graph.run(work)
    by_name = {f.display_name: f for f in folders}
    assert {"Inbox", "Sent Items", "Deleted Items"} <= set(by_name)
    assert inbox.id == by_name["Inbox"].id
    assert inbox.total_item_count >= inbox.unread_item_count >= 0


def test_attachments_are_listed_with_their_type_and_read_one_by_one(graph: GraphTarget) -> None:
    subject = marker()
    content = "Pièce jointe de conformité\n".encode()

    async def work(client: GraphServiceClient) -> tuple[list[Any], Any]:
        attachment = FileAttachment(odata_type="#microsoft.graph.fileAttachment", name="note.txt",
                                    content_type="text/plain", content_bytes=content)
        await send_to_self(client, graph, subject, attachments=(attachment,), save=False)
        message = await arrived(client, graph, "inbox", subject)
        listed = await _message(client, graph, message.id or "").attachments.get()
        items = list(listed.value or []) if listed else []
        one = await _message(client, graph, message.id or "").attachments.by_attachment_id(items[0].id or "").get()
        return items, one

    items, one = graph.run(work)
    [item] = items
    assert isinstance(item, FileAttachment)
    assert item.name == "note.txt"
    assert item.size and item.size > 0
    assert item.is_inline is False
    assert isinstance(one, FileAttachment)
    assert one.content_bytes == content or base64.b64decode(one.content_bytes or b"") == content


def test_delta_round_trip_reports_new_changed_and_removed_messages(graph: GraphTarget) -> None:
    subjects = [f"{marker()}-{i}" for i in range(3)]
    late = marker()
    since = _graph_time(datetime.now(UTC) - timedelta(seconds=2))

    async def work(client: GraphServiceClient) -> dict[str, Any]:
        for subject in subjects:
            await send_to_self(client, graph, subject, save=False)
        delivered = [await arrived(client, graph, "inbox", s) for s in subjects]
        first = RequestConfiguration(query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            filter=f"receivedDateTime ge {since}", select=["subject", "isRead"]
        ))
        first.headers.add("Prefer", "odata.maxpagesize=2")
        initial, pages, delta_link = await _delta_round(client, graph, first)
        await _message(client, graph, delivered[0].id or "").patch(Message(is_read=True))
        await _message(client, graph, delivered[1].id or "").move.post(MovePostRequestBody(destination_id="archive"))
        await send_to_self(client, graph, late, save=False)
        await arrived(client, graph, "inbox", late)
        changes, _, _ = await _delta_round(client, graph, first, delta_link)
        return {"initial": initial, "pages": pages, "changes": changes, "ids": [m.id for m in delivered]}

    result = graph.run(work)
    initial_subjects = {m.subject for m in result["initial"]}
    assert set(subjects) <= initial_subjects
    assert result["pages"] >= 2
    read_id, moved_id, _ = result["ids"]
    changes: list[Message] = result["changes"]
    removed = {m.id for m in changes if "@removed" in (m.additional_data or {})}
    current = {m.id: m for m in changes if "@removed" not in (m.additional_data or {})}
    assert moved_id in removed
    assert current[read_id].is_read is True
    assert late in {m.subject for m in current.values()}
    assert subjects[2] not in {m.subject for m in current.values()}  # unchanged since the last round


# ----- directory, authentication methods and devices -------------------------------------------------


async def _user(client: GraphServiceClient, graph: GraphTarget) -> Any:
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=f"userPrincipalName eq '{graph.user}'",
        select=["id", "displayName", "userPrincipalName", "mail", "accountEnabled", "onPremisesSyncEnabled"],
    )
    users = await client.users.get(RequestConfiguration(query_parameters=query))
    found = list(users.value or []) if users else []
    assert len(found) == 1, f"expected one user {graph.user}, got {len(found)}"
    return found[0]


def test_users_are_found_by_user_principal_name(graph: GraphTarget) -> None:
    user = graph.run(lambda client: _user(client, graph))
    assert (user.user_principal_name or "").lower() == graph.user.lower()
    assert user.id
    assert isinstance(user.account_enabled, bool)


def test_authentication_methods_carry_their_odata_type(graph: GraphTarget) -> None:
    async def work(client: GraphServiceClient) -> list[Any]:
        user = await _user(client, graph)
        methods = await client.users.by_user_id(user.id).authentication.methods.get()
        return list(methods.value or []) if methods else []

    methods = graph.run(work)
    assert methods
    assert all(m.odata_type and m.odata_type.startswith("#microsoft.graph.") for m in methods)
    assert any(isinstance(m, PasswordAuthenticationMethod) for m in methods)


def test_role_assignments_can_be_filtered_by_principal(graph: GraphTarget) -> None:
    async def work(client: GraphServiceClient) -> Any:
        user = await _user(client, graph)
        assignments = client.role_management.directory.role_assignments
        config = RequestConfiguration(query_parameters=assignments.RoleAssignmentsRequestBuilderGetQueryParameters(
            filter=f"principalId eq '{user.id}'"
        ))
        return await assignments.get(config)

    page = graph.run(work)
    assert page is not None and isinstance(page.value, list)


def test_managed_devices_can_be_filtered_by_user(graph: GraphTarget) -> None:
    async def work(client: GraphServiceClient) -> Any:
        devices = client.device_management.managed_devices
        query = devices.ManagedDevicesRequestBuilderGetQueryParameters(
            filter=f"userPrincipalName eq '{graph.user}'",
            select=["id", "deviceName", "operatingSystem", "userPrincipalName", "complianceState"],
        )
        return await devices.get(RequestConfiguration(query_parameters=query))

    page = graph.run(work)
    assert page is not None and isinstance(page.value, list)
    assert all((d.user_principal_name or "").lower() == graph.user.lower() for d in page.value)


def test_revoke_sign_in_sessions_answers_true(graph: GraphTarget) -> None:
    async def work(client: GraphServiceClient) -> Any:
        user = await _user(client, graph)
        return await client.users.by_user_id(user.id).revoke_sign_in_sessions.post()

    answer = graph.run(work)
    assert answer is not None and answer.value is True


def test_reset_password_is_accepted_with_a_location_to_poll(graph: GraphTarget) -> None:
    if not graph.is_sandbox:
        pytest.skip("resetPassword needs delegated permissions; the app-only suite cannot call it on a tenant")
    admin = graph.signed_in_as(AUTH_ADMIN_CLIENT_ID, AUTH_ADMIN_SECRET)

    async def work(client: GraphServiceClient) -> tuple[Any, Any, str]:
        user = await _user(client, graph)
        methods = client.users.by_user_id(user.id).authentication.methods
        listed = await methods.get()
        password = next(m for m in (listed.value if listed else []) or []
                        if isinstance(m, PasswordAuthenticationMethod))
        inspection = HeadersInspectionHandlerOption(inspect_response_headers=True)
        answer = await methods.by_authentication_method_id(password.id or "").reset_password.post(
            ResetPasswordPostRequestBody(new_password="Conformance-2026!x"), RequestConfiguration(options=[inspection])
        )
        return answer, inspection.response_headers, user.id

    answer, headers, user_id = admin.run(work)
    location = next(iter(headers.get("location") or []), "")
    assert f"/users/{user_id}/authentication/operations/" in location
    assert headers.get("retry-after")
    assert answer is None or answer.new_password is None  # a password the caller chose is not echoed
