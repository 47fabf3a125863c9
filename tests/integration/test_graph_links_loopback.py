"""Nothing the Graph sandbox hands a client points outside loopback: next/delta links, ``Location``, token endpoints.

The sandbox is reached as ``127.0.0.1`` and as ``localhost``; every URL the real SDK and ``azure-identity`` then
request, and every URL found in a raw response (headers and JSON bodies), must be on that same origin.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.users.item.mail_folders.item.messages.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import MessagesRequestBuilder

from tests.conformance.graph_target import (
    AUTH_ADMIN_CLIENT_ID,
    AUTH_ADMIN_SECRET,
    SANDBOX_CLIENT_ID,
    SANDBOX_SECRET,
    SANDBOX_TENANT,
    GraphTarget,
    LinkGuard,
    open_sandbox,
)

pytestmark = pytest.mark.integration

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphTarget]:
    """The conformance sandbox (always the sandbox here), with messages enough for several pages."""
    with open_sandbox(Path(tmp_path_factory.mktemp("graph-loopback"))) as target:
        store = target.sandbox.state.mailbox
        for i in range(5):
            store.add_message(target.mailbox, from_address=f"p{i}@partner.test", subject=f"Demande {i}", body="x")
        yield target


@pytest.fixture(params=["127.0.0.1", "localhost"])
def reached_as(request: pytest.FixtureRequest, sandbox: GraphTarget) -> GraphTarget:
    """The sandbox addressed through one loopback name: links must come back on that name."""
    port = httpx.URL(sandbox.graph_url).port
    origin = f"https://{request.param}:{port}"
    return GraphTarget(graph_url=f"{origin}/v1.0", authority=origin, tenant=SANDBOX_TENANT,
                       client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_SECRET, mailbox=sandbox.mailbox,
                       user=sandbox.user, ca_file=sandbox.ca_file, is_sandbox=True, sandbox=sandbox.sandbox)


def _host(url: str) -> str:
    return httpx.URL(url).host


def _urls_in(value: Any) -> Iterator[str]:
    """Every string that looks like an absolute URL, anywhere in a JSON value."""
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _urls_in(item)


def test_the_sdk_only_ever_requests_the_origin_it_was_given(reached_as: GraphTarget) -> None:
    guards: list[LinkGuard] = []
    links: list[str] = []

    async def work(client: GraphServiceClient) -> None:
        inbox = client.users.by_user_id(reached_as.mailbox).mail_folders.by_mail_folder_id("inbox").messages
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(select=["subject"], top=2)
        page = await inbox.get(RequestConfiguration(query_parameters=query))
        while page is not None and page.odata_next_link:
            links.append(page.odata_next_link)
            page = await inbox.with_url(page.odata_next_link).get()
        delta_query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(select=["subject"])
        config = RequestConfiguration(query_parameters=delta_query)
        config.headers.add("Prefer", "odata.maxpagesize=2")
        delta = await inbox.delta.get(config)
        while delta is not None and not delta.odata_delta_link:
            assert delta.odata_next_link
            links.append(delta.odata_next_link)
            delta = await inbox.delta.with_url(delta.odata_next_link).get(config)
        assert delta is not None and delta.odata_delta_link
        links.append(delta.odata_delta_link)
        await inbox.delta.with_url(delta.odata_delta_link).get(config)

    reached_as.run(work, guards)

    expected = _host(reached_as.graph_url)
    [guard] = guards
    assert len(links) >= 4  # message pages, delta pages and the deltaLink were all followed
    assert {_host(u) for u in links} == {expected}
    assert {_host(u) for u in guard.seen} == {expected}
    assert set(links) <= set(guard.seen)
    # azure-identity's discovery and token requests, recorded by its pipeline hook.
    assert any("/.well-known/openid-configuration" in u for u in reached_as.token_urls)
    assert any(u.endswith("/oauth2/v2.0/token") for u in reached_as.token_urls)
    assert {_host(u) for u in reached_as.token_urls} == {expected}


def test_raw_responses_carry_only_loopback_urls(reached_as: GraphTarget) -> None:
    origin = reached_as.authority
    context = ssl.create_default_context(cafile=reached_as.ca_file)
    with httpx.Client(base_url=origin, verify=context) as http:
        discovery = http.get(f"/{SANDBOX_TENANT}/v2.0/.well-known/openid-configuration").json()

        def token(client_id: str, secret: str) -> dict[str, str]:
            form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                    "scope": "https://graph.microsoft.com/.default"}
            answer = http.post(discovery["token_endpoint"], data=form).json()
            return {"Authorization": f"Bearer {answer['access_token']}"}

        folders = http.get(f"/v1.0/users/{reached_as.mailbox}/mailFolders", params={"$top": "2"},
                           headers=token(SANDBOX_CLIENT_ID, SANDBOX_SECRET))
        http.headers.update(token(AUTH_ADMIN_CLIENT_ID, AUTH_ADMIN_SECRET))
        user = reached_as.user
        methods = http.get(f"/v1.0/users/{user}/authentication/methods").json()["value"]
        password = next(m for m in methods if m["@odata.type"] == "#microsoft.graph.passwordAuthenticationMethod")
        reset = http.post(f"/v1.0/users/{user}/authentication/methods/{password['id']}/resetPassword", json={})
        operation = http.get(reset.headers["Location"])

    assert reset.status_code == 202
    assert operation.status_code == 200
    urls = [*_urls_in(discovery), reset.headers["Location"], *_urls_in(operation.json()), *_urls_in(folders.json())]
    assert folders.json()["@odata.nextLink"] in urls
    assert discovery["token_endpoint"].startswith(origin)
    assert {_host(u) for u in urls} == {_host(origin)}
    assert all(u.startswith(origin) for u in urls)
