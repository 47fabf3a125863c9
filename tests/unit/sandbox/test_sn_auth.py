"""Authentication (Basic, Bearer, OAuth grants) and table ACLs of the ServiceNow emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from sandbox.servicenow import TableStore, build_app
from sandbox.servicenow.acl import Authorizer, roles_of
from sandbox.servicenow.errors import AclDeniedError, NotAuthorizedError
from sandbox.servicenow.oauth import ACCESS_TOKEN_SECONDS, OAuthClient
from sandbox.servicenow.store import password_matches

BASE = "https://testserver"
AGENT, AGENT_PASSWORD = "agent", "agent-pw"
READER, READER_PASSWORD = "reader", "reader-pw"
CLIENT = OAuthClient("sesame-app", "client-secret", application_user=AGENT)
BARE_CLIENT = OAuthClient("no-app-user", "other-secret")
DENIED = {"error_description": "access_denied", "error": "server_error"}
NOT_AUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}


class Clock:
    """A clock the test moves by hand; the store (and so token expiry) reads it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def add_user(store: TableStore, user_name: str, *roles: str, **values: str) -> dict[str, str]:
    """A sys_user holding ``roles`` through sys_user_has_role rows (roles created as needed)."""
    user = store.insert("sys_user", {"user_name": user_name, "name": user_name.title(), **values}, user="system")
    for name in roles:
        found = store.find("sys_user_role", name=name)
        role = found[0] if found else store.insert("sys_user_role", {"name": name}, user="system")
        store.insert("sys_user_has_role", {"user": user["sys_id"], "role": role["sys_id"]}, user="system")
    return user


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> TableStore:
    store = TableStore(clock=clock)
    add_user(store, AGENT, "itil")
    add_user(store, READER)
    return store


@pytest.fixture
def http(store: TableStore) -> TestClient:
    app = build_app(
        store,
        users={AGENT: AGENT_PASSWORD, READER: READER_PASSWORD},
        oauth_clients={CLIENT.client_id: CLIENT, BARE_CLIENT.client_id: BARE_CLIENT},
    )
    return TestClient(app, base_url=BASE)


def token(http: TestClient, form: dict[str, str], auth: tuple[str, str] | None = None) -> dict[str, object]:
    response = http.post("/oauth_token.do", data=form, auth=auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    body: dict[str, object] = response.json()
    return body


def bearer(access_token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


# -- Basic -----------------------------------------------------------------------------------------


def test_basic_auth_accepts_configured_users_and_refuses_others(http: TestClient) -> None:
    assert http.get("/api/now/table/incident", auth=(AGENT, AGENT_PASSWORD)).status_code == 200
    for auth in ((AGENT, "wrong"), ("nobody", AGENT_PASSWORD), ("", "")):
        refused = http.get("/api/now/table/incident", auth=auth)
        assert (refused.status_code, refused.json()) == (401, NOT_AUTHENTICATED)
        assert refused.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'
    garbled = http.get("/api/now/table/incident", headers={"Authorization": "Basic !!!not-base64"})
    assert garbled.status_code == 401


def test_basic_auth_also_checks_the_stored_password2_hash(http: TestClient, store: TableStore) -> None:
    add_user(store, "stored", "itil", user_password="from-the-table")  # the store keeps only a hash
    assert password_matches(store.user_by_name("stored")["user_password"], "from-the-table")  # type: ignore[index]
    assert http.get("/api/now/table/incident", auth=("stored", "from-the-table")).status_code == 200
    assert http.get("/api/now/table/incident", auth=("stored", "nope")).status_code == 401


@pytest.mark.parametrize("flags", [{"active": "false"}, {"locked_out": "true"}])
def test_inactive_or_locked_out_accounts_cannot_log_in(store: TableStore, flags: dict[str, str]) -> None:
    add_user(store, "frozen", "itil", **flags)
    http = TestClient(build_app(store, users={"frozen": "pw"}), base_url=BASE)
    assert http.get("/api/now/table/incident", auth=("frozen", "pw")).status_code == 401


# -- OAuth grants ----------------------------------------------------------------------------------


def test_password_grant_with_client_in_basic_header_then_bearer_works(http: TestClient) -> None:
    issued = token(
        http,
        {"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD},
        auth=(CLIENT.client_id, CLIENT.secret),
    )
    assert set(issued) == {"access_token", "refresh_token", "scope", "token_type", "expires_in"}
    assert (issued["scope"], issued["token_type"], issued["expires_in"]) == ("useraccount", "Bearer", 1799)
    listed = http.get("/api/now/table/incident", headers=bearer(issued["access_token"]))
    assert listed.status_code == 200
    created = http.post(
        "/api/now/table/incident", json={"short_description": "x"}, headers=bearer(issued["access_token"])
    )
    assert created.json()["result"]["sys_created_by"] == AGENT


def test_password_grant_with_client_in_the_body(http: TestClient) -> None:
    form = {
        "grant_type": "password",
        "username": AGENT,
        "password": AGENT_PASSWORD,
        "client_id": CLIENT.client_id,
        "client_secret": CLIENT.secret,
    }
    issued = token(http, form)
    assert http.get("/api/now/table/incident", headers=bearer(issued["access_token"])).status_code == 200


@pytest.mark.parametrize("in_header", [True, False])
def test_client_credentials_act_as_the_application_user_without_refresh_token(
    http: TestClient, in_header: bool
) -> None:
    if in_header:
        issued = token(http, {"grant_type": "client_credentials"}, auth=(CLIENT.client_id, CLIENT.secret))
    else:
        form = {"grant_type": "client_credentials", "client_id": CLIENT.client_id, "client_secret": CLIENT.secret}
        issued = token(http, form)
    assert "refresh_token" not in issued
    assert issued["expires_in"] == ACCESS_TOKEN_SECONDS
    created = http.post(
        "/api/now/table/incident", json={"short_description": "x"}, headers=bearer(issued["access_token"])
    )
    assert (created.status_code, created.json()["result"]["sys_created_by"]) == (201, AGENT)


def test_refresh_grant_issues_a_new_working_access_token(http: TestClient) -> None:
    client_auth = (CLIENT.client_id, CLIENT.secret)
    first = token(http, {"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD}, auth=client_auth)
    refreshed = token(http, {"grant_type": "refresh_token", "refresh_token": str(first["refresh_token"])}, client_auth)
    assert refreshed["access_token"] != first["access_token"]
    assert http.get("/api/now/table/incident", headers=bearer(refreshed["access_token"])).status_code == 200


def test_access_tokens_expire_after_1799_seconds(http: TestClient, clock: Clock) -> None:
    client_auth = (CLIENT.client_id, CLIENT.secret)
    issued = token(http, {"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD}, auth=client_auth)
    clock.now += timedelta(seconds=ACCESS_TOKEN_SECONDS - 1)
    assert http.get("/api/now/table/incident", headers=bearer(issued["access_token"])).status_code == 200
    clock.now += timedelta(seconds=1)
    expired = http.get("/api/now/table/incident", headers=bearer(issued["access_token"]))
    assert (expired.status_code, expired.json()) == (401, NOT_AUTHENTICATED)
    renewed = token(http, {"grant_type": "refresh_token", "refresh_token": str(issued["refresh_token"])}, client_auth)
    assert http.get("/api/now/table/incident", headers=bearer(renewed["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("form", "auth"),
    [
        ({"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD}, ("sesame-app", "bad-secret")),
        ({"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD}, ("unknown-app", "client-secret")),
        ({"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD}, None),
        ({"grant_type": "password", "username": AGENT, "password": "wrong"}, ("sesame-app", "client-secret")),
        ({"grant_type": "password", "username": "ghost", "password": "x"}, ("sesame-app", "client-secret")),
        ({"grant_type": "client_credentials"}, ("no-app-user", "other-secret")),
        ({"grant_type": "refresh_token", "refresh_token": "made-up"}, ("sesame-app", "client-secret")),
        ({"grant_type": "authorization_code", "code": "x"}, ("sesame-app", "client-secret")),
        ({}, ("sesame-app", "client-secret")),
    ],
    ids=[
        "wrong-secret",
        "unknown-client",
        "no-client",
        "wrong-user-password",
        "unknown-user",
        "client-without-application-user",
        "unknown-refresh-token",
        "unsupported-grant",
        "no-grant-type",
    ],
)
def test_token_refusals_are_401_access_denied(
    http: TestClient, form: dict[str, str], auth: tuple[str, str] | None
) -> None:
    refused = http.post("/oauth_token.do", data=form, auth=auth)
    assert (refused.status_code, refused.json()) == (401, DENIED)


def test_refresh_token_is_bound_to_its_client(http: TestClient) -> None:
    issued = token(
        http,
        {"grant_type": "password", "username": AGENT, "password": AGENT_PASSWORD},
        auth=(CLIENT.client_id, CLIENT.secret),
    )
    form = {"grant_type": "refresh_token", "refresh_token": str(issued["refresh_token"])}
    refused = http.post("/oauth_token.do", data=form, auth=(BARE_CLIENT.client_id, BARE_CLIENT.secret))
    assert refused.status_code == 401


def test_unknown_bearer_token_is_401(http: TestClient) -> None:
    refused = http.get("/api/now/table/incident", headers=bearer("not-a-token"))
    assert (refused.status_code, refused.json()) == (401, NOT_AUTHENTICATED)


def test_app_state_exposes_authenticate_and_authorize(http: TestClient, store: TableStore) -> None:
    app = http.app
    assert app.state.store is store  # type: ignore[attr-defined]
    app.state.authorize(AGENT, "incident", "write")  # type: ignore[attr-defined]
    with pytest.raises(AclDeniedError):
        app.state.authorize(READER, "incident", "create")  # type: ignore[attr-defined]


# -- roles and ACLs --------------------------------------------------------------------------------


def test_roles_come_from_has_role_rows_and_include_contained_roles(store: TableStore) -> None:
    add_user(store, "lead", "itil_admin", "sn_incident_write")
    assert roles_of(store, "lead") >= {"itil_admin", "itil", "sn_incident_write", "sn_incident_read"}
    assert roles_of(store, READER) == frozenset()
    assert roles_of(store, "not-a-user") == frozenset()


ACL_CASES = [
    # roles, table, operation, allowed
    ((), "incident", "read", False),
    (("itil",), "incident", "read", True),
    (("itil",), "incident", "create", True),
    (("itil",), "incident", "write", True),
    (("sn_incident_write",), "incident", "write", True),
    (("sn_incident_write",), "incident", "read", True),
    (("sn_incident_read",), "incident", "write", False),
    (("knowledge",), "incident", "read", False),
    (("itil",), "sc_req_item", "write", True),
    ((), "sc_req_item", "read", False),
    (("itil",), "m2m_kb_task", "create", True),
    ((), "m2m_kb_task", "read", False),
    (("itil",), "sys_journal_field", "read", True),
    ((), "sys_journal_field", "read", False),
    ((), "sys_user", "read", True),
    ((), "sys_user_group", "read", True),
    ((), "sys_user_grmember", "read", True),
    ((), "sys_choice", "read", True),
    ((), "kb_knowledge", "read", True),
    (("itil",), "sys_user", "write", False),
    (("itil",), "sys_user_grmember", "create", False),
    (("itil",), "sys_choice", "delete", False),
    (("itil",), "sys_user_has_role", "create", False),
    (("admin",), "sys_user", "write", True),
    (("admin",), "sys_user_has_role", "create", True),
    (("itil",), "kb_knowledge", "write", False),
    (("knowledge",), "kb_knowledge", "create", True),
    ((), "label", "create", True),
    ((), "label_entry", "delete", True),
    ((), "label_entry", "read", True),
    (("itil",), "some_custom_table", "read", False),
    (("admin",), "some_custom_table", "delete", True),
]


@pytest.mark.parametrize(("roles", "table", "operation", "allowed"), ACL_CASES)
def test_table_acls(store: TableStore, roles: tuple[str, ...], table: str, operation: str, allowed: bool) -> None:
    add_user(store, "someone", *roles)
    authorize = Authorizer(store)
    if allowed:
        authorize("someone", table, operation)
        return
    expected = NotAuthorizedError if operation == "read" else AclDeniedError
    with pytest.raises(expected) as refused:
        authorize("someone", table, operation)
    assert refused.value.status == 403


def test_unknown_operation_is_a_programming_error(store: TableStore) -> None:
    with pytest.raises(ValueError, match="unknown ACL operation 'update'"):
        Authorizer(store)(AGENT, "incident", "update")


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("POST", "/api/now/table/incident", "ACL Exception Insert Failed due to security constraints"),
        ("PATCH", "/api/now/table/incident/{id}", "ACL Exception Update Failed due to security constraints"),
        ("PUT", "/api/now/table/incident/{id}", "ACL Exception Update Failed due to security constraints"),
        ("DELETE", "/api/now/table/incident/{id}", "ACL Exception Delete Failed due to security constraints"),
    ],
)
def test_write_acl_refusals_have_the_instance_body(
    http: TestClient, store: TableStore, method: str, path: str, detail: str
) -> None:
    ticket = store.insert("incident", {"short_description": "x"}, user=AGENT)
    response = http.request(
        method, path.format(id=ticket["sys_id"]), json={"short_description": "y"}, auth=(READER, READER_PASSWORD)
    )
    assert response.status_code == 403
    assert response.json() == {"error": {"message": "Operation Failed", "detail": detail}, "status": "failure"}
    assert store.get("incident", ticket["sys_id"])["short_description"] == "x"  # type: ignore[index]


@pytest.mark.parametrize("path", ["/api/now/table/incident", "/api/now/table/incident/{id}"])
def test_read_acl_refusal_is_user_not_authorized(http: TestClient, store: TableStore, path: str) -> None:
    ticket = store.insert("incident", {"short_description": "x"}, user=AGENT)
    response = http.get(path.format(id=ticket["sys_id"]), auth=(READER, READER_PASSWORD))
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "User Not Authorized"
    assert response.json()["status"] == "failure"
    assert http.get("/api/now/table/sys_user", auth=(READER, READER_PASSWORD)).status_code == 200
