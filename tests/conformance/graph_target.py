"""Where the Graph conformance suite runs: a real tenant when ``SESAME_GRAPH_*`` are set, else a sandbox on 127.0.0.1.

Real tenant: ``SESAME_GRAPH_TENANT``, ``SESAME_GRAPH_CLIENT_ID``, ``SESAME_GRAPH_CLIENT_SECRET`` (an app registration
with the application permissions Sésame uses: Mail.ReadWrite, Mail.Send, User.Read.All,
UserAuthenticationMethod.Read.All, RoleManagement.Read.Directory, DeviceManagementManagedDevices.Read.All), plus
``SESAME_GRAPH_MAILBOX`` (a test mailbox the suite may send to itself, flag, move and delete in) and
``SESAME_GRAPH_USER`` (the UPN of a test user, only read). The suite writes nowhere else.

The SDK client is built the way ``connectors.graph_mail`` builds it (``ClientSecretCredential`` with instance
discovery off, kiota's provider, Graph's default middleware) and every request goes through a ``LinkGuard`` that
records it and, against the sandbox, refuses any host that is not loopback.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
from azure.identity import ClientSecretCredential
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphServiceClient
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph_core import GraphClientFactory

ENV_TENANT, ENV_CLIENT_ID, ENV_SECRET = "SESAME_GRAPH_TENANT", "SESAME_GRAPH_CLIENT_ID", "SESAME_GRAPH_CLIENT_SECRET"
ENV_MAILBOX, ENV_USER = "SESAME_GRAPH_MAILBOX", "SESAME_GRAPH_USER"
REAL_TENANT = all(os.environ.get(name) for name in (ENV_TENANT, ENV_CLIENT_ID, ENV_SECRET, ENV_MAILBOX, ENV_USER))
GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
SANDBOX_TENANT, SANDBOX_CLIENT_ID = "conformance-tenant", "conformance-app"
SANDBOX_SECRET = "conformance-only-secret"
SANDBOX_DOMAIN = "conformance.test"
SANDBOX_MAILBOX = "helpdesk@conformance.test"
# A second sandbox app holding the delegated-only permission resetPassword needs, to exercise that route.
AUTH_ADMIN_CLIENT_ID, AUTH_ADMIN_SECRET = "conformance-auth-admin", "conformance-auth-admin-secret"
AUTH_ADMIN_PERMISSIONS = ("User.Read.All", "UserAuthenticationMethod.ReadWrite.All")

T = TypeVar("T")


class LinkGuard(httpx.AsyncBaseTransport):
    """Records every URL the SDK requests; with ``loopback_only`` refuses, before sending, any other host."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, loopback_only: bool) -> None:
        self.inner = inner
        self.loopback_only = loopback_only
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Record the request, refuse it if it leaves loopback, else send it."""
        self.seen.append(str(request.url))
        if self.loopback_only and request.url.host not in LOOPBACK_HOSTS:
            raise httpx.ConnectError(f"refused to leave loopback: {request.url}", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the real transport."""
        await self.inner.aclose()


@dataclass
class GraphTarget:
    """The Graph service under test, the app the suite signs in as, and the objects it may touch."""

    graph_url: str
    authority: str
    tenant: str
    client_id: str
    client_secret: str = field(repr=False)
    mailbox: str
    user: str
    ca_file: str | None
    is_sandbox: bool
    sandbox: Any = None  # the sandbox's Starlette app (its ``state`` holds the stores), None on a real tenant
    token_urls: list[str] = field(default_factory=list)

    def signed_in_as(self, client_id: str, client_secret: str) -> GraphTarget:
        """The same target used by another app registration."""
        return replace(self, client_id=client_id, client_secret=client_secret, token_urls=[])

    def credential(self) -> ClientSecretCredential:
        """The credential Sésame uses; every URL MSAL calls is recorded in ``token_urls``."""
        verify: dict[str, Any] = {"connection_verify": self.ca_file} if self.ca_file else {}
        return ClientSecretCredential(
            self.tenant,
            self.client_id,
            self.client_secret,
            authority=self.authority,
            disable_instance_discovery=True,
            raw_request_hook=lambda pipeline_request: self.token_urls.append(str(pipeline_request.http_request.url)),
            **verify,
        )

    @asynccontextmanager
    async def client(self, guard: list[LinkGuard] | None = None) -> AsyncIterator[GraphServiceClient]:
        """A ``GraphServiceClient`` on this target; the ``LinkGuard`` it sends through is appended to ``guard``."""
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        link_guard = LinkGuard(httpx.AsyncHTTPTransport(verify=verify), loopback_only=self.is_sandbox)
        if guard is not None:
            guard.append(link_guard)
        credential = self.credential()
        host = httpx.URL(self.graph_url).host
        auth = AzureIdentityAuthenticationProvider(credential, scopes=GRAPH_SCOPES, allowed_hosts=[host])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=link_guard, timeout=httpx.Timeout(30.0)), options=graph_default_options
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = self.graph_url
        try:
            yield GraphServiceClient(request_adapter=adapter)
        finally:
            await http.aclose()
            await link_guard.aclose()
            credential.close()

    def run(self, work: Callable[[GraphServiceClient], Awaitable[T]], guard: list[LinkGuard] | None = None) -> T:
        """Run ``work(client)`` on a fresh client and event loop (the SDK is asyncio-only)."""

        async def main() -> T:
            async with self.client(guard) as client:
                return await work(client)

        return asyncio.run(main())


def marker() -> str:
    """A unique tag put in the subject of every message a test sends, to find only its own mail."""
    return f"sesame-conformance-{uuid.uuid4().hex[:12]}"


@contextmanager
def open_graph_target(work_dir: Path) -> Iterator[GraphTarget]:
    """The real tenant from the environment, or a Graph sandbox served over HTTPS on 127.0.0.1 until exit."""
    if REAL_TENANT:
        yield GraphTarget(
            graph_url="https://graph.microsoft.com/v1.0",
            authority="https://login.microsoftonline.com",
            tenant=os.environ[ENV_TENANT],
            client_id=os.environ[ENV_CLIENT_ID],
            client_secret=os.environ[ENV_SECRET],
            mailbox=os.environ[ENV_MAILBOX],
            user=os.environ[ENV_USER],
            ca_file=None,
            is_sandbox=False,
        )
        return
    with open_sandbox(work_dir) as target:
        yield target


@contextmanager
def open_sandbox(work_dir: Path) -> Iterator[GraphTarget]:
    """A Graph sandbox over HTTPS on 127.0.0.1: the test mailbox, one cloud user, Sésame's app and an auth admin app."""
    from sandbox.graph import MailboxStore, build_graph_app
    from sandbox.graph.devices import DeviceStore
    from sandbox.graph.entra_store import EntraStore
    from sandbox.graph.permissions import GraphApp
    from sandbox.https import BackgroundServer
    from sandbox.scenario import DirectoryUser, Scenario
    from sandbox.tls import ensure_ca

    scenario = Scenario(
        partners=(),
        users=(DirectoryUser(sam="jdupont", upn=f"jeanne.dupont@{SANDBOX_DOMAIN}",
                             mail=f"jeanne.dupont@{SANDBOX_DOMAIN}", given_name="Jeanne", surname="Dupont",
                             org_id="conformance", ou="OU=Utilisateurs", mobile="+33612345678"),),
        emails=(),
        tickets=(),
    )
    tls = ensure_ca(work_dir / "tls")
    mail = MailboxStore()
    mail.ensure_mailbox(SANDBOX_MAILBOX)
    entra = EntraStore.from_scenario(scenario, domain=SANDBOX_DOMAIN)
    auth_admin = GraphApp.of(AUTH_ADMIN_CLIENT_ID, AUTH_ADMIN_PERMISSIONS, AUTH_ADMIN_SECRET)
    app = build_graph_app(mail, tenant=SANDBOX_TENANT, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_SECRET,
                          entra=entra, apps=[auth_admin],
                          devices=DeviceStore.from_scenario(scenario, domain=SANDBOX_DOMAIN))
    with BackgroundServer(app, certfile=tls.cert_file, keyfile=tls.key_file) as server:
        yield GraphTarget(
            graph_url=f"{server.url}/v1.0",
            authority=server.url,
            tenant=SANDBOX_TENANT,
            client_id=SANDBOX_CLIENT_ID,
            client_secret=SANDBOX_SECRET,
            mailbox=SANDBOX_MAILBOX,
            user=scenario.users[0].upn,
            ca_file=str(tls.ca_file),
            is_sandbox=True,
            sandbox=app,
        )
