"""The Graph mail emulator over real HTTPS, driven by ``GraphMailbox`` (msgraph-sdk + azure-identity)."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from connectors.errors import NotFoundError, PermissionMissingError
from connectors.graph_mail import PAGE_SIZE, GraphMailbox
from sandbox.graph import MailboxStore, build_graph_app
from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

TENANT, CLIENT_ID, SECRET = "contoso-tenant", "sesame-app", "secret-for-tests-only"
DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"


@dataclass
class GraphSandbox:
    url: str
    store: MailboxStore
    tls: TlsFiles

    def mailbox(self, address: str, client_secret: str = SECRET) -> GraphMailbox:
        return GraphMailbox(
            graph_url=f"{self.url}/v1.0",
            authority=self.url,
            tenant=TENANT,
            client_id=CLIENT_ID,
            client_secret=client_secret,
            mailbox=address,
            ca_file=str(self.tls.ca_file),
            timeout=10.0,
        )


@pytest.fixture(scope="module")
def graph(sandbox_tls: TlsFiles) -> Iterator[GraphSandbox]:
    store = MailboxStore.from_scenario(load_scenario(DEMO))
    app = build_graph_app(store, tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET)
    with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
        yield GraphSandbox(url=server.url, store=store, tls=sandbox_tls)


@pytest.fixture
def address(graph: GraphSandbox) -> str:
    """A fresh shared mailbox per test, so tests do not see each other's messages."""
    mailbox = f"support-{uuid.uuid4().hex[:8]}@contoso.test"
    graph.store.ensure_mailbox(mailbox)
    return mailbox


@pytest.fixture
def mailbox(graph: GraphSandbox, address: str) -> Iterator[GraphMailbox]:
    client = graph.mailbox(address)
    yield client
    client.close()


def deliver(graph: GraphSandbox, address: str, n: int, **extra: str) -> list[str]:
    start = dt.datetime.now(dt.UTC)
    return [
        graph.store.add_message(
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
    graph.store.update(address, ids[3], {"isRead": True})

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

    [sent] = graph.store.messages(address, "sentitems")
    assert [r["emailAddress"]["address"] for r in sent["toRecipients"]] == ["partner0@partner.test"]
    assert sent["subject"] == "RE: Demande 0"
    assert sent["body"]["content"].startswith("Le compte est débloqué.")
    headers = {h["name"]: h["value"] for h in sent["internetMessageHeaders"]}
    assert headers["In-Reply-To"] == original.internet_message_id
    assert sent["conversationId"] == graph.store.messages(address, "inbox")[0]["conversationId"]


def test_mark_read_removes_the_message_from_the_unread_list(
    graph: GraphSandbox, address: str, mailbox: GraphMailbox
) -> None:
    first, second = deliver(graph, address, 2)

    mailbox.mark_read(first)

    assert mailbox.list_unread() == [second]
    assert graph.store.messages(address, "inbox")[0]["isRead"] is True


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

    [sent] = graph.store.messages(address, "sentitems")
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
