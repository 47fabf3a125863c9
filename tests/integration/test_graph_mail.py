"""The Graph mail emulator over real HTTPS, driven by ``GraphMailbox`` (msgraph-sdk + azure-identity)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient

from connectors.errors import NotFoundError, PermissionMissingError
from connectors.graph_mail import PAGE_SIZE, FileDeltaState, GraphMailbox, ProcessedMarking, RedisDeltaState
from sandbox.graph import MailboxStore
from sandbox.graph.errors import GraphError, RequestIdMiddleware, on_graph_error
from sandbox.graph.permissions import GraphApp
from sandbox.scenario import load_scenario
from tests.fixtures.graph import CLIENT_ID, DEMO, SECRET, TENANT, GraphSandbox, ServeGraph

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def graph(serve_graph: ServeGraph) -> Iterator[GraphSandbox]:
    with serve_graph(MailboxStore.from_scenario(load_scenario(DEMO))) as served:
        yield served


@pytest.fixture
def address(graph: GraphSandbox) -> str:
    """A fresh shared mailbox per test, so tests do not see each other's messages."""
    mailbox = f"support-{uuid.uuid4().hex[:8]}@contoso.test"
    graph.mail.ensure_mailbox(mailbox)
    return mailbox


@pytest.fixture
def mailbox(graph: GraphSandbox, address: str) -> Iterator[GraphMailbox]:
    client = graph.mailbox(address)
    yield client
    client.close()


def deliver(graph: GraphSandbox, address: str, n: int, **extra: str) -> list[str]:
    start = dt.datetime.now(dt.UTC)
    return [
        graph.mail.add_message(
            address,
            from_address=f"partner{i}@partner.test",
            from_name=f"Partner {i}",
            subject=f"Demande {i}",
            body=f"Bonjour,\nmerci de débloquer le compte n°{i} <urgent> & vite.",
            headers=[("Authentication-Results", f"mx.contoso.test; spf=pass; dmarc=pass (#{i})"), *extra.items()],
            received_at=start + dt.timedelta(seconds=i),
        )
        for i in range(n)
    ]


def test_list_unread_pages_through_every_unread_message_oldest_first(
    graph: GraphSandbox, address: str, mailbox: GraphMailbox
) -> None:
    ids = deliver(graph, address, PAGE_SIZE + 7)
    graph.mail.update(address, ids[3], {"isRead": True})

    unread = mailbox.list_unread(limit=200)

    assert unread == [i for i in ids if i != ids[3]]
    assert len(unread) > PAGE_SIZE  # more than one page: the nextLink was followed
    assert mailbox.list_unread(limit=4) == [ids[0], ids[1], ids[2], ids[4]]


def test_get_returns_headers_and_a_plain_text_body(graph: GraphSandbox, address: str, mailbox: GraphMailbox) -> None:
    [message_id] = deliver(graph, address, 1)

    message = mailbox.get(message_id)

    assert message.id == message_id
    assert message.from_address == "partner0@partner.test"
    assert message.from_name == "Partner 0"
    assert message.to == (address,)
    assert message.subject == "Demande 0"
    # Text as written, not the HTML Exchange sends without the text preference.
    assert message.body_text == "Bonjour,\nmerci de débloquer le compte n°0 <urgent> & vite."
    assert ("Authentication-Results", "mx.contoso.test; spf=pass; dmarc=pass (#0)") in message.headers
    assert message.internet_message_id == dict(message.headers)["Message-ID"]
    assert message.received_at is not None


def test_reply_goes_to_the_named_address_never_reply_to(
    graph: GraphSandbox, address: str, mailbox: GraphMailbox
) -> None:
    [message_id] = deliver(graph, address, 1, **{"Reply-To": "collector@elsewhere.test"})
    original = mailbox.get(message_id)

    mailbox.reply(message_id, "Le compte est débloqué.", to=original.from_address)

    [sent] = graph.mail.messages(address, "sentitems")
    assert [r["emailAddress"]["address"] for r in sent["toRecipients"]] == ["partner0@partner.test"]
    assert sent["subject"] == "RE: Demande 0"
    assert sent["body"]["content"].startswith("Le compte est débloqué.")
    headers = {h["name"]: h["value"] for h in sent["internetMessageHeaders"]}
    assert headers["In-Reply-To"] == original.internet_message_id
    assert sent["conversationId"] == graph.mail.messages(address, "inbox")[0]["conversationId"]


def test_mark_read_removes_the_message_from_the_unread_list(
    graph: GraphSandbox, address: str, mailbox: GraphMailbox
) -> None:
    first, second = deliver(graph, address, 2)

    mailbox.mark_read(first)

    assert mailbox.list_unread() == [second]
    assert graph.mail.messages(address, "inbox")[0]["isRead"] is True


def test_unknown_message_is_not_found_with_the_graph_request_id(mailbox: GraphMailbox) -> None:
    with pytest.raises(NotFoundError) as caught:
        mailbox.get("AAMkdoesnotexist")
    assert caught.value.request_id
    assert "AAMkdoesnotexist" in str(caught.value)


def test_wrong_client_secret_is_a_missing_permission(graph: GraphSandbox, address: str) -> None:
    client = graph.mailbox(address, client_secret="not-the-secret")
    try:
        with pytest.raises(PermissionMissingError) as caught:
            client.list_unread()
    finally:
        client.close()
    assert "AADSTS7000215" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


def test_explicit_ca_file_wins_over_requests_ca_bundle(
    graph: GraphSandbox, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MSAL's token request goes through requests, which reads this variable when not told otherwise.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", os.devnull)
    client = graph.mailbox(address)
    try:
        assert client.list_unread() == []
    finally:
        client.close()


def test_scenario_emails_fill_the_shared_inbox(graph: GraphSandbox) -> None:
    scenario = load_scenario(DEMO)
    client = graph.mailbox(scenario.mailbox)
    try:
        unread = client.list_unread()
        first = client.get(unread[0])
    finally:
        client.close()
    assert len(unread) == len(scenario.emails)
    assert first.subject == scenario.emails[0].subject
    assert first.internet_message_id == scenario.emails[0].headers["Message-ID"]


@contextmanager
def graph_http(graph: GraphSandbox) -> Iterator[httpx.Client]:
    """A plain HTTPS client holding a token from the emulator, to check the wire format directly."""
    with httpx.Client(base_url=graph.url, verify=ssl.create_default_context(cafile=graph.tls.ca_file)) as http:
        yield _signed_in(http)


def _signed_in(http: httpx.Client) -> httpx.Client:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": "https://graph.microsoft.com/.default",
    }
    token = http.post(f"/{TENANT}/oauth2/v2.0/token", data=form).json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def test_graph_refuses_calls_without_a_token_and_links_pages_to_its_own_origin(
    graph: GraphSandbox, address: str
) -> None:
    deliver(graph, address, 3)
    path = f"/v1.0/users/{address.replace('@', '%40')}/mailFolders/INBOX/messages"
    with graph_http(graph) as http:
        refused = http.get(path, headers={"Authorization": "Bearer forged"})
        page = http.get(path, params={"$top": "2", "$select": "subject"}).json()

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert [m["subject"] for m in page["value"]] == ["Demande 2", "Demande 1"]  # newest first by default
    assert page["@odata.nextLink"].startswith(f"{graph.url}{path}?")
    assert "$skip=2" in page["@odata.nextLink"]


def test_wire_format_of_filters_updates_and_replies(graph: GraphSandbox, address: str) -> None:
    first, second = deliver(graph, address, 2)
    user = f"/v1.0/users/{address.replace('@', '%40')}"
    with graph_http(graph) as http:
        patched = http.patch(
            f"{user}/mailFolders/inbox/messages/{first}",
            json={"@odata.type": "#microsoft.graph.message", "isRead": True, "categories": ["Sésame"]},
        )
        read = http.get(f"{user}/mailFolders/inbox/messages", params={"$filter": "isRead eq true"}).json()
        both = http.post(
            f"{user}/messages/{second}/reply", json={"Comment": "a", "Message": {"body": {"content": "b"}}}
        )
        replied = http.post(f"{user}/messages/{second}/reply", json={"message": {"body": {"content": "Fait."}}})
        sent = http.get(f"{user}/mailFolders/SentItems/messages", params={"$select": "subject,body"}).json()
        missing = http.get(f"{user}/mailFolders/inbox/messages/{second}x")

    assert patched.status_code == 200 and patched.json()["categories"] == ["Sésame"]
    assert [m["id"] for m in read["value"]] == [first]
    assert both.status_code == 400
    assert replied.status_code == 202
    [answer] = sent["value"]
    assert answer["subject"] == "RE: Demande 1"
    assert answer["body"]["contentType"] == "html"  # no text preference asked for here
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ErrorItemNotFound"


def test_a_plain_reply_follows_reply_to_like_exchange(graph: GraphSandbox, address: str) -> None:
    [message_id] = deliver(graph, address, 1, **{"Reply-To": "collector@elsewhere.test"})
    user = f"/v1.0/users/{address.replace('@', '%40')}"
    with graph_http(graph) as http:
        assert http.post(f"{user}/messages/{message_id}/reply", json={"Comment": "ok"}).status_code == 202

    [sent] = graph.mail.messages(address, "sentitems")
    assert [r["emailAddress"]["address"] for r in sent["toRecipients"]] == ["collector@elsewhere.test"]


def test_mailbox_writes_survive_a_restart_of_the_emulator(tmp_path: Path) -> None:
    state = tmp_path / "mail.json"
    store = MailboxStore.from_scenario(load_scenario(DEMO), persist_to=state)
    mailbox = load_scenario(DEMO).mailbox
    first = store.messages(mailbox)[0]["id"]
    store.update(mailbox, first, {"isRead": True})

    reloaded = MailboxStore.load(state)

    assert reloaded.messages(mailbox) == store.messages(mailbox)
    assert reloaded.messages(mailbox)[0]["isRead"] is True


# ----- mail completed: filters, folders, move/delete, delta, sendMail, attachments, permissions -------------


def _user_path(address: str) -> str:
    return f"/v1.0/users/{address.replace('@', '%40')}"


def test_filters_combine_is_read_and_received_ranges(graph: GraphSandbox, address: str) -> None:
    start = dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.UTC)
    ids = [graph.mail.add_message(address, from_address="p@partner.test", subject=f"S{i}",
                                  received_at=start + dt.timedelta(hours=i)) for i in range(4)]
    graph.mail.update(address, ids[2], {"isRead": True})
    window = "receivedDateTime ge 2026-11-23T08:00:00Z and receivedDateTime lt 2026-11-23T10:00:00Z"
    with graph_http(graph) as http:
        unread = http.get(f"{_user_path(address)}/mailFolders/inbox/messages",
                          params={"$filter": f"{window} and isRead eq false", "$select": "subject"}).json()
        after = http.get(f"{_user_path(address)}/mailFolders/inbox/messages",
                         params={"$filter": "receivedDateTime gt 2026-11-23T08:00:00Z",
                                 "$orderby": "receivedDateTime asc", "$top": "1", "$select": "subject"}).json()
    assert [m["subject"] for m in unread["value"]] == ["S1"]
    assert [m["subject"] for m in after["value"]] == ["S2"]
    assert "$skip=1" in after["@odata.nextLink"]


def test_folders_count_items_and_move_and_delete_follow_exchange(graph: GraphSandbox, address: str) -> None:
    first, second = deliver(graph, address, 2)
    archive_id = graph.mail.folder_id(address, "archive")
    user = _user_path(address)
    with graph_http(graph) as http:
        moved = http.post(f"{user}/messages/{first}/move", json={"destinationId": archive_id})
        deleted = http.delete(f"{user}/mailFolders/inbox/messages/{second}")
        [in_deleted] = http.get(f"{user}/mailFolders/deleteditems/messages").json()["value"]
        purged = http.delete(f"{user}/messages/{in_deleted['id']}")
        folders = {f["displayName"]: f for f in http.get(f"{user}/mailFolders").json()["value"]}
        unknown = http.post(f"{user}/messages/{moved.json()['id']}/move", json={"DestinationId": "nowhere"})

    assert moved.status_code == 201
    assert moved.json()["id"] != first and moved.json()["parentFolderId"] == archive_id
    assert deleted.status_code == 204 and purged.status_code == 204
    assert in_deleted["subject"] == "Demande 1" and in_deleted["id"] != second
    assert graph.mail.messages(address, "deleteditems") == []
    assert folders["Archive"]["totalItemCount"] == 1 and folders["Archive"]["unreadItemCount"] == 1
    assert folders["Inbox"]["totalItemCount"] == 0
    assert {"Inbox", "Sent Items", "Drafts", "Deleted Items", "Archive", "Junk Email"} == set(folders)
    assert unknown.status_code == 404


def test_delta_reports_changes_since_the_delta_link_and_refuses_what_exchange_refuses(
    graph: GraphSandbox, address: str
) -> None:
    ids = deliver(graph, address, 3)
    inbox = f"{_user_path(address)}/mailFolders/inbox/messages"
    with graph_http(graph) as http:
        first = http.get(f"{inbox}/delta()", params={"$select": "subject,isRead"},
                         headers={"Prefer": "odata.maxpagesize=2"})
        second = http.get(first.json()["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
        delta_link = second["@odata.deltaLink"]
        nothing = http.get(delta_link).json()
        http.patch(f"{_user_path(address)}/messages/{ids[0]}", json={"categories": ["Sésame"]})
        http.delete(f"{_user_path(address)}/messages/{ids[1]}")
        changes = http.get(delta_link).json()
        only_deleted = http.get(f"{inbox}/delta", params={"changeType": "deleted"}).json()
        on_is_read = http.get(f"{inbox}/delta", params={"$filter": "isRead eq false"})
        forged = http.get(f"{inbox}/delta", params={"$deltatoken": "not-a-token"})

    assert first.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert len(first.json()["value"]) == 2 and "$skiptoken=" in first.json()["@odata.nextLink"]
    assert "$deltatoken=" in delta_link and "@odata.nextLink" not in second
    assert nothing["value"] == []
    by_id = {item["id"]: item for item in changes["value"]}
    assert by_id[ids[1]] == {"id": ids[1], "@removed": {"reason": "deleted"}}
    assert by_id[ids[0]]["subject"] == "Demande 0" and set(by_id[ids[0]]) <= {"id", "@odata.etag", "subject", "isRead"}
    assert ids[2] not in by_id
    assert only_deleted["value"] == []  # a first round has nothing deleted to report
    assert on_is_read.status_code == 400 and forged.status_code == 400


def test_send_mail_reads_parameters_case_insensitively_and_delivers_locally(graph: GraphSandbox, address: str) -> None:
    colleague = f"colleague-{uuid.uuid4().hex[:8]}@contoso.test"
    graph.mail.ensure_mailbox(colleague)
    message = {"subject": "Bonjour", "body": {"contentType": "Text", "content": "Texte"},
               "toRecipients": [{"emailAddress": {"address": colleague}}],
               "ccRecipients": [{"emailAddress": {"address": "outside@elsewhere.test"}}]}
    with graph_http(graph) as http:
        saved = http.post(f"{_user_path(address)}/sendMail", json={"Message": message, "SaveToSentItems": True})
        unsaved = http.post(f"{_user_path(address)}/sendMail", json={"message": message, "saveToSentItems": False})
        empty = http.post(f"{_user_path(address)}/sendMail", json={"Message": {"subject": "x"}})

    assert saved.status_code == 202 and unsaved.status_code == 202 and saved.content == b""
    [sent] = graph.mail.messages(address, "sentitems")
    received = graph.mail.messages(colleague, "inbox")
    assert len(received) == 2 and sent["isRead"] is True and received[0]["isRead"] is False
    assert received[0]["from"]["emailAddress"]["address"] == address
    assert received[0]["internetMessageId"] == sent["internetMessageId"]
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "ErrorInvalidRecipients"


def test_scenario_attachments_are_served_as_file_attachments(serve_graph: ServeGraph, tmp_path: Path) -> None:
    scenario_dir = tmp_path / "scenario"
    shutil.copytree(DEMO, scenario_dir)
    lines = (scenario_dir / "emails.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["attachments"] = [{"name": "capture.png", "content_type": "image/png",
                             "content_base64": base64.b64encode(b"\x89PNG fake").decode()}]
    (scenario_dir / "emails.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    store = MailboxStore.from_scenario(load_scenario(scenario_dir))
    mailbox = load_scenario(scenario_dir).mailbox
    [message] = [m for m in store.messages(mailbox) if m["subject"] == first["subject"]]
    with serve_graph(store) as served:
        path = f"{_user_path(mailbox)}/messages/{message['id']}"
        with graph_http(served) as http:
            listed = http.get(f"{path}/attachments").json()["value"]
            selected = http.get(f"{path}/attachments", params={"$select": "name,contentBytes"}).json()["value"]
            one = http.get(f"{path}/attachments/{listed[0]['id']}").json()
            shown = http.get(path).json()

    assert shown["hasAttachments"] is True and "attachments" not in shown
    assert listed == [{"@odata.type": "#microsoft.graph.fileAttachment", "id": listed[0]["id"],
                       "lastModifiedDateTime": listed[0]["lastModifiedDateTime"], "name": "capture.png",
                       "contentType": "image/png", "size": 9, "isInline": False, "contentId": None,
                       "contentLocation": None}]
    assert base64.b64decode(selected[0]["contentBytes"]) == b"\x89PNG fake"
    assert set(selected[0]) == {"@odata.type", "id", "name", "contentBytes"}
    assert base64.b64decode(one["contentBytes"]) == b"\x89PNG fake"


def test_mail_routes_check_the_caller_permissions(graph: GraphSandbox, address: str, serve_graph: ServeGraph) -> None:
    [message_id] = deliver(graph, address, 1)
    reader = GraphApp.of("mail-reader", ["Mail.Read"], "reader-secret")
    with serve_graph(graph.mail, apps=[reader]) as served, httpx.Client(
        base_url=served.url, verify=ssl.create_default_context(cafile=graph.tls.ca_file)
    ) as http:
        form = {"grant_type": "client_credentials", "client_id": "mail-reader", "client_secret": "reader-secret",
                "scope": "https://graph.microsoft.com/.default"}
        http.headers["Authorization"] = "Bearer " + http.post(f"/{TENANT}/oauth2/v2.0/token", data=form).json()[
            "access_token"]
        user = _user_path(address)
        read = http.get(f"{user}/messages/{message_id}")
        patched = http.patch(f"{user}/messages/{message_id}", json={"isRead": True})
        moved = http.post(f"{user}/messages/{message_id}/move", json={"DestinationId": "archive"})
        sent = http.post(f"{user}/sendMail", json={"Message": {"toRecipients": [
            {"emailAddress": {"address": "x@partner.test"}}]}})

    assert read.status_code == 200
    for refused in (patched, moved, sent):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "Authorization_RequestDenied"


def test_errors_the_emulator_raises_for_throttling_carry_retry_after() -> None:
    async def busy(request: Request) -> None:
        raise GraphError(int(request.path_params["status"]), "ServiceUnavailable", "busy")

    app = Starlette(routes=[Route("/v1.0/status/{status}", busy)], exception_handlers={GraphError: on_graph_error})
    with TestClient(RequestIdMiddleware(app)) as client:
        answers = {status: client.get(f"/v1.0/status/{status}") for status in (429, 503, 504, 400)}

    assert {s: a.headers.get("Retry-After") for s, a in answers.items()} == {429: "1", 503: "1", 504: "1", 400: None}
    assert answers[503].json()["error"]["code"] == "ServiceUnavailable"


# ----- connector: delta polling, de-duplication, processed marking, state, doctor --------------------------


def test_polling_uses_delta_and_keeps_the_delta_link(graph: GraphSandbox, address: str,
                                                     mailbox: GraphMailbox) -> None:
    first = deliver(graph, address, 2)
    assert sorted(mailbox.poll()) == sorted(first)
    assert mailbox.poll() == []  # nothing changed since the delta link
    third = graph.mail.add_message(address, from_address="late@partner.test", subject="Later",
                                   received_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    graph.mail.update(address, first[0], {"isRead": True})  # handled by a person in Outlook

    assert mailbox.poll() == [third]
    assert mailbox.list_unread() == [first[1], third]


def test_a_second_copy_of_an_internet_message_id_is_left_out(graph: GraphSandbox, address: str,
                                                             mailbox: GraphMailbox) -> None:
    headers = [("Message-ID", "<same-1@partner.test>")]
    original = graph.mail.add_message(address, from_address="p@partner.test", subject="A", headers=headers)
    assert mailbox.list_unread() == [original]
    graph.mail.add_message(address, from_address="p@partner.test", subject="A again", headers=headers)

    assert mailbox.list_unread() == [original]
    assert mailbox.poll() == []


def test_mark_processed_adds_the_category_and_keeps_the_others(graph: GraphSandbox, address: str,
                                                               mailbox: GraphMailbox) -> None:
    first, second = deliver(graph, address, 2)
    graph.mail.update(address, first, {"categories": ["Partner"]})
    mailbox.list_unread()
    mailbox.get(first)

    dry = mailbox.mark_processed(first, dry_run=True)
    assert dry.dry_run and graph.mail.messages(address)[0]["isRead"] is False
    change = mailbox.mark_processed(first)

    [stored] = [m for m in graph.mail.messages(address) if m["id"] == first]
    assert stored["isRead"] is True and stored["categories"] == ["Partner", "Sésame"]
    assert change.after["categories"] == "Partner,Sésame" and dry.after == change.after
    assert mailbox.list_unread() == [second]


def test_processed_messages_can_be_moved_instead_of_read(graph: GraphSandbox, address: str) -> None:
    [message_id] = deliver(graph, address, 1)
    marking = ProcessedMarking(category="Traité", move_to="archive", mark_read=False)
    with graph.mailbox(address, processed=marking) as mailbox:
        assert mailbox.list_unread() == [message_id]
        mailbox.mark_read(message_id)
        assert mailbox.list_unread() == []

    [archived] = graph.mail.messages(address, "archive")
    assert archived["categories"] == ["Traité"] and archived["isRead"] is False
    assert graph.mail.messages(address, "inbox") == []


def test_delta_state_in_a_file_resumes_after_a_restart(graph: GraphSandbox, address: str, tmp_path: Path) -> None:
    state = FileDeltaState(tmp_path / "delta.json")
    first, second = deliver(graph, address, 2)
    with graph.mailbox(address, state=state) as mailbox:
        assert mailbox.list_unread() == [first, second]
        mailbox.mark_read(first)
        key = mailbox.state_key
    saved = json.loads(json.loads((tmp_path / "delta.json").read_text())[key])
    assert "$deltatoken=" in saved["delta_link"] and list(saved["pending"]) == [second]
    third = graph.mail.add_message(address, from_address="late@partner.test", subject="Later",
                                   received_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))

    with graph.mailbox(address, state=state) as restarted:
        assert restarted.poll() == [third]  # only what changed since the saved delta link
        assert restarted.list_unread() == [second, third]


def test_delta_state_in_redis_and_an_expired_delta_link_starts_over(graph: GraphSandbox, address: str,
                                                                    redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    state = RedisDeltaState(client, prefix=f"test-{uuid.uuid4().hex[:6]}:")
    [message_id] = deliver(graph, address, 1)
    with graph.mailbox(address, state=state) as mailbox:
        assert mailbox.list_unread() == [message_id]
        key = mailbox.state_key
    document = json.loads(state.load(key) or "{}")
    document["delta_link"] = document["delta_link"].split("$deltatoken=")[0] + "$deltatoken=expired"
    state.save(key, json.dumps(document))

    with graph.mailbox(address, state=state) as restarted:
        assert restarted.list_unread() == [message_id]  # refused token: a full round rebuilt the pending set
    assert "expired" not in (state.load(key) or "")
    client.close()


def test_delta_state_of_another_graph_endpoint_is_never_replayed(graph: GraphSandbox, address: str,
                                                                 tmp_path: Path) -> None:
    # A state saved for the same mailbox address on another instance (another sandbox, a re-pointed config):
    # its delta link points elsewhere and its pending ids are not this instance's.
    state = FileDeltaState(tmp_path / "delta.json")
    elsewhere = {"delta_link": "https://127.0.0.1:9/v1.0/users/x/mailFolders/inbox/messages/delta?$deltatoken=old",
                 "pending": {"AAMk-elsewhere": ["2026-01-01T00:00:00Z", "<old@else.test>", []]}, "seen": []}
    state.save(address, json.dumps(elsewhere))
    [message_id] = deliver(graph, address, 1)
    with graph.mailbox(address, state=state) as mailbox:
        assert mailbox.state_key != address and graph.url in mailbox.state_key
        assert mailbox.list_unread() == [message_id]


def test_get_fetches_the_authentication_results_header(graph: GraphSandbox, address: str,
                                                       mailbox: GraphMailbox) -> None:
    [message_id] = deliver(graph, address, 1)
    [unread] = mailbox.list_unread()
    headers = mailbox.get(unread).headers
    assert unread == message_id
    assert [v for k, v in headers if k.lower() == "authentication-results"] == [
        "mx.contoso.test; spf=pass; dmarc=pass (#0)"]


def test_doctor_green_with_the_default_app_and_names_mail_send_when_missing(graph: GraphSandbox, address: str,
                                                                            serve_graph: ServeGraph) -> None:
    reader = GraphApp.of("mail-only", ["Mail.ReadWrite"], "mail-only-secret")
    with serve_graph(graph.mail, apps=[reader]) as served:
        with served.mailbox(address) as default:
            green = default.doctor()
        with served.mailbox(address, client_id="mail-only", client_secret="mail-only-secret") as limited:
            failed = [f for f in limited.doctor() if not f.ok]

    assert all(f.ok for f in green), [f for f in green if not f.ok]
    assert [f.check for f in failed] == ["permission Mail.Send"]
    assert failed[0].fix == "grant Mail.Send (application) and admin-consent it"
    assert graph.mail.messages(address, "sentitems") == []  # the probe sent nothing
