"""Intune managed devices of the Graph emulator over HTTPS, driven by the real msgraph-sdk and azure-identity."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphServiceClient
from msgraph.generated.device_management.managed_devices.item.wipe.wipe_post_request_body import WipePostRequestBody
from msgraph.generated.device_management.managed_devices.managed_devices_request_builder import (
    ManagedDevicesRequestBuilder,
)
from msgraph.generated.models.action_state import ActionState
from msgraph.generated.models.managed_device import ManagedDevice
from msgraph.generated.models.management_state import ManagementState
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph_core import GraphClientFactory
from starlette.requests import Request

from sandbox.graph import MailboxStore, build_graph_app
from sandbox.graph.devices import ACTION_PERMISSIONS, READ_PERMISSIONS, DeviceRoutes, DeviceStore
from sandbox.graph.permissions import GraphApp
from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

TENANT, CLIENT_ID, SECRET = "contoso-tenant", "sesame-app", "secret-for-tests-only"
OPERATOR, OPERATOR_SECRET = "intune-operator", "operator-secret"
NOBODY, NOBODY_SECRET = "no-device-rights", "nobody-secret"
DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
T = TypeVar("T")


class LoopbackOnly(httpx.AsyncBaseTransport):
    """Refuse any request leaving 127.0.0.1: a link pointing at real Graph would fail the test, not go out."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "127.0.0.1", f"the SDK was sent to {request.url}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class IntuneSandbox:
    url: str
    store: DeviceStore
    tls: TlsFiles

    def call(self, work: Callable[[GraphServiceClient], Awaitable[T]], *, as_app: str = OPERATOR) -> T:
        """Run ``work`` with a GraphServiceClient signed in as ``as_app`` through the sandbox authority."""
        secret = {OPERATOR: OPERATOR_SECRET, NOBODY: NOBODY_SECRET, CLIENT_ID: SECRET}[as_app]
        credential = ClientSecretCredential(
            TENANT, as_app, secret, authority=self.url, disable_instance_discovery=True,
            connection_verify=str(self.tls.ca_file),
        )

        async def run() -> T:
            auth = AzureIdentityAuthenticationProvider(
                credential, scopes=["https://graph.microsoft.com/.default"], allowed_hosts=["127.0.0.1"]
            )
            transport = LoopbackOnly(
                httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=str(self.tls.ca_file)))
            )
            http = GraphClientFactory.create_with_default_middleware(
                client=httpx.AsyncClient(transport=transport, timeout=10), options=graph_default_options
            )
            adapter = GraphRequestAdapter(auth, client=http)
            adapter.base_url = f"{self.url}/v1.0"
            try:
                return await work(GraphServiceClient(request_adapter=adapter))
            finally:
                await http.aclose()
                await transport.aclose()

        try:
            return asyncio.run(run())
        finally:
            credential.close()


@pytest.fixture
def intune(sandbox_tls: TlsFiles) -> Iterator[IntuneSandbox]:
    store = DeviceStore.from_scenario(load_scenario(DEMO), domain="agence.onmicrosoft.com")
    apps = [
        GraphApp.of(OPERATOR, [READ_PERMISSIONS[0], *ACTION_PERMISSIONS], OPERATOR_SECRET),
        GraphApp.of(NOBODY, ["User.Read.All"], NOBODY_SECRET),
    ]
    app = build_graph_app(MailboxStore(), tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET, apps=apps)

    def origin(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    # A page of one device so two demo phones are enough to page through nextLink.
    app.router.routes.extend(DeviceRoutes(store, origin=origin, page_size=1).routes())
    with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
        yield IntuneSandbox(url=server.url, store=store, tls=sandbox_tls)


def _query(**options: Any) -> RequestConfiguration[Any]:
    return RequestConfiguration(
        query_parameters=ManagedDevicesRequestBuilder.ManagedDevicesRequestBuilderGetQueryParameters(**options)
    )


def test_devices_of_a_user_are_found_by_upn_filter_and_under_the_user(intune: IntuneSandbox) -> None:
    upn = "alefebvre@agence.local"
    owner_id = next(d["userId"] for d in intune.store.devices() if d["userPrincipalName"] == upn)

    async def work(client: GraphServiceClient) -> tuple[list[ManagedDevice], ...]:
        fields = ["id", "deviceName", "operatingSystem", "userPrincipalName", "complianceState", "phoneNumber"]
        filtered = await client.device_management.managed_devices.get(
            _query(filter=f"userPrincipalName eq '{upn}'", select=fields)
        )
        by_os = await client.device_management.managed_devices.get(_query(filter="operatingSystem eq 'iOS'"))
        under_upn = await client.users.by_user_id(upn).managed_devices.get()
        under_id = await client.users.by_user_id(owner_id).managed_devices.get()
        pages = (filtered, by_os, under_upn, under_id)
        return tuple(page.value or [] if page else [] for page in pages)

    filtered, by_os, under_upn, under_id = intune.call(work)

    [phone] = filtered
    assert (phone.user_principal_name, phone.operating_system, phone.phone_number) == (upn, "Android", "+33622334455")
    assert phone.model is None  # not selected
    assert [d.user_principal_name for d in by_os] == ["jdupont@agence.local"]
    assert [d.id for d in under_upn] == [d.id for d in under_id] == [phone.id]
    assert under_id[0].user_id == owner_id and under_id[0].serial_number


def test_the_collection_pages_through_absolute_loopback_next_links(intune: IntuneSandbox) -> None:
    async def work(client: GraphServiceClient) -> tuple[list[str], list[str | None]]:
        collection = client.device_management.managed_devices
        page = await collection.get(_query(select=["id", "deviceName"]))
        ids: list[str] = []
        links: list[str | None] = []
        while page is not None:
            ids += [d.id for d in page.value or [] if d.id]
            links.append(page.odata_next_link)
            page = await collection.with_url(page.odata_next_link).get() if page.odata_next_link else None
        return ids, links

    ids, links = intune.call(work)

    assert ids == [d["id"] for d in intune.store.devices()]
    assert links[0] is not None and links[0].startswith(f"{intune.url}/v1.0/deviceManagement/managedDevices?")
    assert links[-1] is None


def test_actions_answer_204_and_show_as_pending_then_done(intune: IntuneSandbox) -> None:
    ios, android = (d["id"] for d in intune.store.devices())
    synced_before = intune.store.devices()[0]["lastSyncDateTime"]

    async def work(client: GraphServiceClient) -> tuple[Any, ...]:
        device = client.device_management.managed_devices.by_managed_device_id
        # Each answers 204: the SDK returns None and raises on any error status.
        await device(ios).remote_lock.post()
        await device(ios).reset_passcode.post()
        await device(ios).sync_device.post()
        await device(ios).retire.post()
        await device(android).wipe.post(
            WipePostRequestBody(keep_enrollment_data=False, keep_user_data=True, persist_esim_data_plan=True)
        )
        return await device(ios).get(), await device(ios).get(), await device(android).get()

    first_read, second_read, wiped = intune.call(work)

    assert [(r.action_name, r.action_state) for r in first_read.device_action_results] == [
        ("remoteLock", ActionState.Pending), ("resetPasscode", ActionState.Pending),
        ("syncDevice", ActionState.Pending), ("retire", ActionState.Pending),
    ]
    assert {r.action_state for r in second_read.device_action_results} == {ActionState.Done}
    assert first_read.device_action_results[0].start_date_time is not None
    assert first_read.management_state == ManagementState.RetirePending
    assert first_read.last_sync_date_time.isoformat() > synced_before.replace("Z", "+00:00")
    assert wiped.management_state == ManagementState.WipePending
    assert intune.store.action_requests(android)[0]["parameters"] == {
        "keepEnrollmentData": False, "keepUserData": True, "persistEsimDataPlan": True
    }


def test_actions_need_privileged_operations_and_reads_need_a_device_permission(intune: IntuneSandbox) -> None:
    device_id = intune.store.devices()[0]["id"]

    async def lock(client: GraphServiceClient) -> None:
        await client.device_management.managed_devices.by_managed_device_id(device_id).remote_lock.post()

    async def list_all(client: GraphServiceClient) -> int:
        page = await client.device_management.managed_devices.get()
        return len(page.value or []) if page else 0

    # Sésame's own app reads devices but is never granted PrivilegedOperations (security note §3.2).
    assert intune.call(list_all, as_app=CLIENT_ID) == 1
    with pytest.raises(ODataError) as lock_refused:
        intune.call(lock, as_app=CLIENT_ID)
    with pytest.raises(ODataError) as read_refused:
        intune.call(list_all, as_app=NOBODY)

    for refused in (lock_refused.value, read_refused.value):
        assert refused.response_status_code == 403
        assert refused.error is not None and refused.error.code == "Authorization_RequestDenied"
    assert "PrivilegedOperations.All" in str(lock_refused.value.error.message)  # type: ignore[union-attr]
    assert intune.store.devices()[0]["deviceActionResults"] == []


def test_unknown_device_and_bad_wipe_body_are_graph_errors(intune: IntuneSandbox) -> None:
    async def missing(client: GraphServiceClient) -> None:
        await client.device_management.managed_devices.by_managed_device_id("no-such-device").retire.post()

    with pytest.raises(ODataError) as caught:
        intune.call(missing)
    assert caught.value.response_status_code == 404
    assert caught.value.error is not None and caught.value.error.code == "ResourceNotFound"
    assert caught.value.error.inner_error is not None and caught.value.error.inner_error.request_id

    device_id = intune.store.devices()[1]["id"]
    with httpx.Client(base_url=intune.url, verify=ssl.create_default_context(cafile=str(intune.tls.ca_file))) as http:
        form = {"grant_type": "client_credentials", "client_id": OPERATOR, "client_secret": OPERATOR_SECRET,
                "scope": "https://graph.microsoft.com/.default"}
        token = http.post(f"/{TENANT}/oauth2/v2.0/token", data=form).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        wipe = f"/v1.0/deviceManagement/managedDevices/{device_id}/wipe"
        pascal = http.post(wipe, json={"KeepUserData": True, "MacOsUnlockCode": "123456"})
        unknown = http.post(wipe, json={"eraseEverything": True})
        bad_filter = http.get("/v1.0/deviceManagement/managedDevices", params={"$filter": "deviceName eq"})

    assert pascal.status_code == 204
    received = intune.store.action_requests(device_id)[-1]["parameters"]
    assert received == {"keepUserData": True, "macOsUnlockCode": "123456"}
    assert unknown.status_code == 400 and "eraseEverything" in unknown.json()["error"]["message"]
    assert bad_filter.status_code == 400
