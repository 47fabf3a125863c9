"""Entra ID in the Graph emulator over real HTTPS, driven by ``msgraph-sdk`` with ``ClientSecretCredential``.

The client is built as ``connectors/graph_mail.py`` builds it (kiota provider with allowed hosts, Graph
middleware, sandbox CA), behind a transport that refuses anything but loopback.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options.headers_inspection_handler_option import HeadersInspectionHandlerOption
from msgraph import GraphServiceClient
from msgraph.generated.models.directory_role import DirectoryRole
from msgraph.generated.models.group import Group
from msgraph.generated.models.microsoft_authenticator_authentication_method import (
    MicrosoftAuthenticatorAuthenticationMethod,
)
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_authentication_method import PasswordAuthenticationMethod
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.phone_authentication_method import PhoneAuthenticationMethod
from msgraph.generated.models.user import User
from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph.generated.role_management.directory.role_eligibility_schedules.role_eligibility_schedules_request_builder import (  # noqa: E501
    RoleEligibilitySchedulesRequestBuilder,
)
from msgraph.generated.users.item.authentication.methods.item.reset_password.reset_password_post_request_body import (
    ResetPasswordPostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph_core import GraphClientFactory

from sandbox.graph import EntraStore, GraphApp, MailboxStore, build_graph_app, user_id_for
from sandbox.graph.entra_store import GLOBAL_ADMINISTRATOR, PASSWORD_COMPLEXITY_MESSAGE, PASSWORD_METHOD_ID
from sandbox.graph.users import SYNCED_OBJECT_MESSAGE
from sandbox.https import BackgroundServer
from sandbox.scenario import DirectoryUser, load_scenario
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

TENANT, CLIENT_ID, SECRET = "contoso-tenant", "sesame-app", "secret-for-tests-only"
DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
# A second registration granted User.ReadWrite.All but not User-PasswordProfile.ReadWrite.All.
BROAD_APP = GraphApp.of("broad-app", ["User.Read.All", "User.ReadWrite.All"], secret="broad-secret")
# An authentication administrator's app: resets through authentication methods, enables and disables.
AUTH_ADMIN_APP = GraphApp.of(
    "auth-admin-app",
    ["User.Read.All", "UserAuthenticationMethod.ReadWrite.All", "User.EnableDisableAccount.All"],
    secret="auth-admin-secret",
)
SYNCED = "jdupont@agence.local"  # demo users come from AD
PRIVILEGED = "pgarnier@agence.local"  # the demo's privileged user: active Global Administrator
ELIGIBLE = "radmin@agence.local"  # added below: the second privileged user is only eligible
CLOUD_OU = "OU=Cloud only"  # no DC=: not synchronised from AD

T = TypeVar("T")
Work = Callable[[GraphServiceClient], Awaitable[T]]


def _cloud_user(sam: str, **extra: Any) -> DirectoryUser:
    return DirectoryUser(sam=sam, upn=f"{sam}@agence.local", mail=f"{sam}@agence.fr", given_name=sam.title(),
                         surname="Cloud", org_id="agence", ou=CLOUD_OU, **extra)


@dataclasses.dataclass
class Sandbox:
    url: str
    entra: EntraStore
    tls: TlsFiles

    def run(self, work: Work[T], *, client_id: str = CLIENT_ID, secret: str = SECRET) -> T:
        """Run ``work`` with a fresh SDK client signed in as ``client_id`` (one event loop per call)."""
        return asyncio.run(_with_client(self, work, client_id, secret))


class LoopbackOnly(httpx.AsyncBaseTransport):
    """Refuse any request leaving 127.0.0.1: a link to graph.microsoft.com would fail the test, not go out."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host in {"127.0.0.1", "localhost"}, f"request left loopback: {request.url}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _with_client(sandbox: Sandbox, work: Work[T], client_id: str, secret: str) -> T:
    credential = ClientSecretCredential(TENANT, client_id, secret, authority=sandbox.url,
                                        disable_instance_discovery=True, connection_verify=str(sandbox.tls.ca_file))
    host = urlparse(sandbox.url).hostname or ""
    auth = AzureIdentityAuthenticationProvider(credential, scopes=GRAPH_SCOPES, allowed_hosts=[host])
    transport = LoopbackOnly(httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=sandbox.tls.ca_file)))
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, timeout=10), options=graph_default_options
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{sandbox.url}/v1.0"
    try:
        return await work(GraphServiceClient(request_adapter=adapter))
    finally:
        await http.aclose()
        await transport.aclose()
        credential.close()


@pytest.fixture(scope="module")
def graph(sandbox_tls: TlsFiles) -> Iterator[Sandbox]:
    demo = load_scenario(DEMO)
    extra = (_cloud_user("ccloud", mobile="+33633445566"), _cloud_user("cweak"), _cloud_user("cdisable"),
             _cloud_user("creset"), _cloud_user("radmin", privileged=True))
    scenario = dataclasses.replace(demo, users=demo.users + extra)
    entra = EntraStore.from_scenario(scenario, domain="sandbox.onmicrosoft.test")
    app = build_graph_app(MailboxStore.from_scenario(demo), tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET,
                          entra=entra, apps=[BROAD_APP, AUTH_ADMIN_APP])
    with pytest.MonkeyPatch.context() as env:
        env.delenv("REQUESTS_CA_BUNDLE", raising=False)
        env.delenv("CURL_CA_BUNDLE", raising=False)
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
            yield Sandbox(server.url, entra, sandbox_tls)


def _error(caught: pytest.ExceptionInfo[ODataError]) -> tuple[int | None, str | None, str | None]:
    error = caught.value.error
    return caught.value.response_status_code, error.code if error else None, error.message if error else None


def _users_query(**kwargs: Any) -> RequestConfiguration[UsersRequestBuilder.UsersRequestBuilderGetQueryParameters]:
    return RequestConfiguration(query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(**kwargs))


# ----- users --------------------------------------------------------------------------------------------


def test_find_a_user_by_mail_with_selected_properties(graph: Sandbox) -> None:
    fields = ["id", "userPrincipalName", "accountEnabled", "onPremisesSyncEnabled", "onPremisesSamAccountName",
              "onPremisesDistinguishedName", "otherMails", "companyName"]

    async def work(client: GraphServiceClient) -> Any:
        return await client.users.get(_users_query(filter="mail eq 'Jean.Dupont@mission-locale-lyon.fr'",
                                                   select=fields))

    [user] = graph.run(work).value
    assert user.id == user_id_for(SYNCED)
    assert (user.user_principal_name, user.account_enabled, user.on_premises_sync_enabled) == (SYNCED, True, True)
    assert user.on_premises_sam_account_name == "jdupont"
    assert user.on_premises_distinguished_name.endswith("OU=Mission Locale Lyon,OU=Partenaires,DC=agence,DC=local")
    assert (user.other_mails, user.company_name) == ([], "ml-lyon")
    assert user.display_name is None  # not selected: Graph sends only what $select names


def test_without_select_only_the_default_properties_come_back(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> User | None:
        return await client.users.by_user_id(SYNCED).get()

    user = graph.run(work)
    assert user is not None and user.id == user_id_for(SYNCED) and user.display_name == "Jean Dupont"
    assert user.mobile_phone == "+33611223344"
    assert user.account_enabled is None and user.on_premises_sync_enabled is None


def test_filters_on_sam_account_name_enabled_and_startswith_combine(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> list[list[str | None]]:
        texts = ["onPremisesSamAccountName eq 'mmartin'",
                 "startswith(displayName,'Nadia') or userPrincipalName eq 'alefebvre@agence.local'",
                 "startswith(mail,'marc.') and accountEnabled eq true"]
        pages = [await client.users.get(_users_query(filter=t, select=["onPremisesSamAccountName"])) for t in texts]
        return [[u.on_premises_sam_account_name for u in page.value or []] for page in pages if page]

    assert graph.run(work) == [["mmartin"], ["alefebvre", "nroux"], ["mmartin"]]


def test_other_mails_any_needs_consistency_level_eventual_and_count(graph: Sandbox) -> None:
    graph.entra.set_other_mails("ccloud@agence.local", ["c.cloud@home.test"])
    query = "otherMails/any(x:x eq 'c.cloud@home.test')"

    async def advanced(client: GraphServiceClient) -> Any:
        config = _users_query(filter=query, count=True, select=["userPrincipalName", "otherMails"])
        config.headers.add("ConsistencyLevel", "eventual")
        return await client.users.get(config)

    async def plain(client: GraphServiceClient) -> Any:
        return await client.users.get(_users_query(filter=query))

    async def count_alone(client: GraphServiceClient) -> Any:
        return await client.users.get(_users_query(count=True))

    page = graph.run(advanced)
    assert [u.user_principal_name for u in page.value] == ["ccloud@agence.local"]
    assert page.odata_count == 1 and page.value[0].other_mails == ["c.cloud@home.test"]
    with pytest.raises(ODataError) as refused:
        graph.run(plain)
    assert _error(refused)[:2] == (400, "Request_UnsupportedQuery")
    with pytest.raises(ODataError) as no_count:
        graph.run(count_alone)
    assert _error(no_count) == (400, "Request_BadRequest", "$count is not currently supported.")


def test_pages_follow_absolute_next_links_on_the_sandbox_origin(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> tuple[list[str | None], list[str]]:
        page = await client.users.get(_users_query(top=3, select=["userPrincipalName"]))
        names: list[str | None] = []
        links: list[str] = []
        while page is not None:
            names += [u.user_principal_name for u in page.value or []]
            if not page.odata_next_link:
                break
            links.append(page.odata_next_link)
            page = await client.users.with_url(page.odata_next_link).get()
        return names, links

    names, links = graph.run(work)
    assert sorted(n or "" for n in names) == sorted(u["userPrincipalName"] for u in graph.entra.users())
    assert len(links) == 3 and all(link.startswith(f"{graph.url}/v1.0/users?") for link in links)


def test_a_missing_user_is_graph_s_resource_not_found(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.users.by_user_id("nobody@agence.local").get()

    with pytest.raises(ODataError) as caught:
        graph.run(work)
    status, code, message = _error(caught)
    assert (status, code) == (404, "Request_ResourceNotFound") and "nobody@agence.local" in (message or "")
    assert caught.value.error.inner_error.request_id  # type: ignore[union-attr]


# ----- PATCH: passwordProfile, accountEnabled ----------------------------------------------------------------


def _patch(upn: str, user: User) -> Work[None]:
    async def work(client: GraphServiceClient) -> None:
        await client.users.by_user_id(upn).patch(user)

    return work


def _new_password(password: str) -> User:
    return User(password_profile=PasswordProfile(password=password, force_change_password_next_sign_in=True))


def test_password_profile_write_on_a_cloud_user(graph: Sandbox) -> None:
    graph.run(_patch("ccloud@agence.local", _new_password("Tr0ub4dor&3")))

    assert graph.entra.password_matches("ccloud@agence.local", "Tr0ub4dor&3")
    assert graph.entra.must_change_password("ccloud@agence.local")


def test_a_synced_user_refuses_cloud_password_and_enable_writes(graph: Sandbox) -> None:
    with pytest.raises(ODataError) as password:
        graph.run(_patch(SYNCED, _new_password("Tr0ub4dor&3")))
    with pytest.raises(ODataError) as enabled:
        graph.run(_patch(SYNCED, User(account_enabled=False)), client_id=AUTH_ADMIN_APP.client_id,
                  secret=AUTH_ADMIN_APP.secret)

    assert _error(password) == (400, "Request_BadRequest", SYNCED_OBJECT_MESSAGE)
    assert _error(enabled) == (400, "Request_BadRequest", SYNCED_OBJECT_MESSAGE)
    assert not graph.entra.password_matches(SYNCED, "Tr0ub4dor&3")
    assert graph.entra.user(SYNCED)["accountEnabled"] is True  # type: ignore[index]


def test_a_password_failing_complexity_is_refused(graph: Sandbox) -> None:
    with pytest.raises(ODataError) as caught:
        graph.run(_patch("cweak@agence.local", _new_password("cweak2024!")))  # contains the UPN's local part
    assert _error(caught) == (400, "Request_BadRequest", PASSWORD_COMPLEXITY_MESSAGE)
    assert not graph.entra.password_matches("cweak@agence.local", "cweak2024!")


def test_user_readwrite_all_alone_cannot_write_password_profiles(graph: Sandbox) -> None:
    with pytest.raises(ODataError) as caught:
        graph.run(_patch("cweak@agence.local", _new_password("Tr0ub4dor&3")), client_id=BROAD_APP.client_id,
                  secret=BROAD_APP.secret)
    status, code, message = _error(caught)
    assert (status, code) == (403, "Authorization_RequestDenied")
    assert "User-PasswordProfile.ReadWrite.All" in (message or "")


def test_account_enabled_needs_its_own_permission(graph: Sandbox) -> None:
    with pytest.raises(ODataError) as refused:
        graph.run(_patch("cdisable@agence.local", User(account_enabled=False)))  # Sésame's app is not granted it

    graph.run(_patch("cdisable@agence.local", User(account_enabled=False)), client_id=AUTH_ADMIN_APP.client_id,
              secret=AUTH_ADMIN_APP.secret)

    assert _error(refused)[:2] == (403, "Authorization_RequestDenied")
    assert graph.entra.user("cdisable@agence.local")["accountEnabled"] is False  # type: ignore[index]


def test_revoke_sign_in_sessions_answers_true_and_is_recorded(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.users.by_user_id(SYNCED).revoke_sign_in_sessions.post()

    response = graph.run(work)

    assert response.value is True
    [stamp] = graph.entra.revocations(SYNCED)
    assert graph.entra.user(SYNCED)["signInSessionsValidFromDateTime"] == stamp  # type: ignore[index]


# ----- groups and roles -------------------------------------------------------------------------------------


def test_member_of_lists_the_partner_group(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.users.by_user_id(SYNCED).member_of.get()

    [group] = graph.run(work).value
    assert isinstance(group, Group) and group.security_enabled is True
    assert group.display_name == "Partner users - Mission Locale de Lyon"


def test_transitive_member_of_shows_the_role_of_a_privileged_user(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.users.by_user_id(user_id_for(PRIVILEGED)).transitive_member_of.get()

    roles = [o for o in graph.run(work).value if isinstance(o, DirectoryRole)]
    assert [(r.display_name, r.role_template_id) for r in roles] == [("Global Administrator", GLOBAL_ADMINISTRATOR)]


def test_role_assignments_by_principal_with_the_role_definition_expanded(graph: Sandbox) -> None:
    def query(principal: str) -> Work[Any]:
        async def work(client: GraphServiceClient) -> Any:
            parameters = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
                filter=f"principalId eq '{user_id_for(principal)}'", expand=["roleDefinition"])
            return await client.role_management.directory.role_assignments.get(
                RequestConfiguration(query_parameters=parameters))

        return work

    [assignment] = graph.run(query(PRIVILEGED)).value
    assert assignment.principal_id == user_id_for(PRIVILEGED) and assignment.directory_scope_id == "/"
    assert assignment.role_definition.display_name == "Global Administrator"
    assert assignment.role_definition.template_id == GLOBAL_ADMINISTRATOR
    assert graph.run(query(ELIGIBLE)).value == []  # eligible only: no active assignment


def test_eligibility_schedule_found_by_principal_id(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> tuple[Any, Any]:
        parameters = RoleEligibilitySchedulesRequestBuilder.RoleEligibilitySchedulesRequestBuilderGetQueryParameters(
            filter=f"principalId eq '{user_id_for(ELIGIBLE)}'", expand=["roleDefinition"])
        schedules = await client.role_management.directory.role_eligibility_schedules.get(
            RequestConfiguration(query_parameters=parameters))
        instances = await client.role_management.directory.role_eligibility_schedule_instances.get()
        return schedules, instances

    schedules, instances = graph.run(work)
    [schedule] = schedules.value
    assert (schedule.role_definition_id, schedule.status, schedule.member_type) == (
        GLOBAL_ADMINISTRATOR, "Provisioned", "Direct")
    assert schedule.role_definition.display_name == "Global Administrator"
    assert schedule.schedule_info.expiration.type.value == "noExpiration"
    assert [i.principal_id for i in instances.value] == [user_id_for(ELIGIBLE)]


def test_role_definitions_list_the_built_in_roles(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.role_management.directory.role_definitions.get()

    names = {d.display_name: d.template_id for d in graph.run(work).value}
    assert names["Helpdesk Administrator"] == "729827e3-9c14-49f7-bb1b-9608f156bbb8"
    assert {"Global Administrator", "User Administrator", "Password Administrator",
            "Authentication Administrator", "Global Reader"} <= set(names)


# ----- authentication methods ------------------------------------------------------------------------------


def test_authentication_methods_come_typed(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> tuple[Any, Any]:
        methods = client.users.by_user_id(SYNCED).authentication.methods
        return await methods.get(), await methods.by_authentication_method_id(PASSWORD_METHOD_ID).get()

    listed, password = graph.run(work)
    assert [type(m) for m in listed.value] == [PasswordAuthenticationMethod, PhoneAuthenticationMethod,
                                               MicrosoftAuthenticatorAuthenticationMethod]
    assert listed.value[1].phone_number == "+33611223344"
    assert isinstance(password, PasswordAuthenticationMethod) and password.id == PASSWORD_METHOD_ID


def _reset(upn: str, new_password: str | None) -> Work[tuple[Any, str, str]]:
    async def work(client: GraphServiceClient) -> tuple[Any, str, str]:
        inspect = HeadersInspectionHandlerOption(inspect_response_headers=True)
        method = client.users.by_user_id(upn).authentication.methods.by_authentication_method_id(PASSWORD_METHOD_ID)
        response = await method.reset_password.post(ResetPasswordPostRequestBody(new_password=new_password),
                                                    RequestConfiguration(options=[inspect]))
        headers = inspect.response_headers
        return response, next(iter(headers.get("location"))), next(iter(headers.get("retry-after")))

    return work


def _poll_until_done(location: str) -> Work[list[str]]:
    async def work(client: GraphServiceClient) -> list[str]:
        operation = client.users.by_user_id("x").authentication.operations.by_long_running_operation_id("x")
        statuses: list[str] = []
        while not statuses or statuses[-1] not in {"succeeded", "failed"}:
            polled = await operation.with_url(location).get()
            assert polled is not None and polled.status is not None
            assert (polled.resource_location or "").startswith("https://127.0.0.1:")
            statuses.append(str(polled.status.value))
            assert len(statuses) < 10
        return statuses

    return work


def test_reset_password_is_202_with_an_operation_to_poll(graph: Sandbox) -> None:
    admin = {"client_id": AUTH_ADMIN_APP.client_id, "secret": AUTH_ADMIN_APP.secret}
    response, location, retry_after = graph.run(_reset("creset@agence.local", "Tr0ub4dor&3"), **admin)

    assert response is None  # no body when the caller chose the password
    assert location.startswith(f"{graph.url}/v1.0/users/{user_id_for('creset@agence.local')}/authentication/"
                               "operations/")
    assert int(retry_after) >= 1
    assert not graph.entra.password_matches("creset@agence.local", "Tr0ub4dor&3")
    assert graph.run(_poll_until_done(location), **admin) == ["notStarted", "running", "succeeded"]
    assert graph.entra.password_matches("creset@agence.local", "Tr0ub4dor&3")


def test_reset_password_without_a_password_returns_the_generated_one(graph: Sandbox) -> None:
    admin = {"client_id": AUTH_ADMIN_APP.client_id, "secret": AUTH_ADMIN_APP.secret}
    response, location, _ = graph.run(_reset(SYNCED, None), **admin)  # writes back to AD: allowed for synced users

    assert response.new_password
    graph.run(_poll_until_done(location), **admin)
    assert graph.entra.password_matches(SYNCED, response.new_password)


def test_reset_password_needs_the_authentication_method_write_permission(graph: Sandbox) -> None:
    with pytest.raises(ODataError) as refused:
        graph.run(_reset("creset@agence.local", "Tr0ub4dor&3"))  # Sésame's app: read only on methods
    with pytest.raises(ODataError) as weak:
        graph.run(_reset("creset@agence.local", "short"), client_id=AUTH_ADMIN_APP.client_id,
                  secret=AUTH_ADMIN_APP.secret)

    assert _error(refused)[:2] == (403, "Authorization_RequestDenied")
    assert _error(weak) == (400, "Request_BadRequest", PASSWORD_COMPLEXITY_MESSAGE)


# ----- app registrations ------------------------------------------------------------------------------------


def test_an_unknown_client_gets_no_token(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.users.get()

    with pytest.raises(ClientAuthenticationError) as caught:
        graph.run(work, client_id="stranger-app", secret="whatever")
    assert "AADSTS700016" in str(caught.value)


def test_each_app_signs_in_with_its_own_secret(graph: Sandbox) -> None:
    async def work(client: GraphServiceClient) -> Any:
        return await client.users.by_user_id(SYNCED).get(
            RequestConfiguration(query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                select=["id"])))

    assert graph.run(work, client_id=BROAD_APP.client_id, secret=BROAD_APP.secret).id == user_id_for(SYNCED)
    with pytest.raises(ClientAuthenticationError):
        graph.run(work, client_id=BROAD_APP.client_id, secret=SECRET)  # Sésame's secret is not this app's
