"""The ServiceNow emulator over real HTTPS, driven by the real pysnc client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pysnc
import pytest
import requests
from pysnc.auth import ServiceNowClientCredentialsFlow, ServiceNowPasswordGrantFlow
from pysnc.exceptions import AuthenticationException, RequestException, RoleException

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.oauth import OAuthClient
from sandbox.tls import TlsFiles
from tests.fixtures.fleet import ServedInstance, serve_servicenow

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"
READER, READER_PASSWORD = "lecteur", "reader-pw-for-tests"  # authenticated, but without itil
PARIS, PARIS_PASSWORD = "agent.paris", "paris-pw-for-tests"  # itil, sys_user.time_zone Europe/Paris
APP = OAuthClient("sesame-oauth-app", "oauth-secret-for-tests", application_user=BOT)


def add_user(store: TableStore, user_name: str, *roles: str, **values: str) -> None:
    """A sys_user holding ``roles`` through sys_user_has_role rows."""
    user = store.insert("sys_user", {"user_name": user_name, "name": user_name, **values}, user="system")
    for name in roles:
        found = store.find("sys_user_role", name=name)
        role = found[0] if found else store.insert("sys_user_role", {"name": name}, user="system")
        store.insert("sys_user_has_role", {"user": user["sys_id"], "role": role["sys_id"]}, user="system")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory, sandbox_tls: TlsFiles) -> Iterator[ServedInstance]:
    directory = tmp_path_factory.mktemp("sn")
    store = TableStore(persist_to=directory / "instance.json")
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    add_user(store, READER)
    add_user(store, PARIS, "itil", time_zone="Europe/Paris")
    users = {BOT: BOT_PASSWORD, READER: READER_PASSWORD, PARIS: PARIS_PASSWORD}
    with serve_servicenow(sandbox_tls, store, users=users, oauth_clients={APP.client_id: APP}) as served:
        yield served


@pytest.fixture
def client(emulator: ServedInstance) -> Iterator[pysnc.ServiceNowClient]:
    client = emulator.client(BOT, BOT_PASSWORD)
    yield client
    client.session.close()


@pytest.fixture
def store(emulator: ServedInstance) -> TableStore:
    return emulator.store


def test_encoded_query_pages_through_three_batches(
    client: pysnc.ServiceNowClient, store: TableStore, emulator: ServedInstance
) -> None:
    for n in range(7):
        store.insert("incident", {"short_description": f"paging {n}", "urgency": "2"}, user=BOT)
    store.insert("incident", {"short_description": "paging but closed-out", "urgency": "1"}, user=BOT)
    log = emulator.log
    log.clear()
    gr = client.GlideRecord("incident", batch_size=3)
    gr.add_encoded_query("short_descriptionSTARTSWITHpaging^urgency=2")
    gr.query()
    seen = sorted(record.short_description.get_value() for record in gr)
    assert seen == [f"paging {n}" for n in range(7)]
    pages = [entry.query for entry in log.entries(method="GET") if entry.path == "/api/now/table/incident"]
    assert len(pages) == 3
    assert "sysparm_offset=6" in pages[-1]


def test_get_by_sys_id_renders_reference_and_choice_with_display_values(
    client: pysnc.ServiceNowClient, store: TableStore
) -> None:
    (seeded,) = store.find("incident", correlation_id="demo-t1")
    gr = client.GlideRecord("incident")
    assert gr.get(seeded["sys_id"])
    assert gr.number.get_value() == seeded["number"]
    assert gr.caller_id.get_value() == store.user_by_name("pgarnier")["sys_id"]  # type: ignore[index]
    assert gr.caller_id.get_display_value() == "Paul Garnier"
    assert (gr.state.get_value(), gr.state.get_display_value()) == ("1", "New")
    assert gr.contact_type.get_display_value() == "Self-service"
    assert not client.GlideRecord("incident").get("0" * 32)


def test_dot_walked_fields_come_back_flat(client: pysnc.ServiceNowClient) -> None:
    gr = client.GlideRecord("incident")
    gr.fields = ["number", "caller_id.email"]
    gr.add_query("correlation_id", "demo-t1")
    gr.query()
    assert gr.next()
    assert gr.get_value("caller_id.email") == "paul.garnier@agence.local"


def test_insert_update_delete_round_trip(client: pysnc.ServiceNowClient, store: TableStore) -> None:
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "Créé par pysnc"
    gr.urgency = 2
    gr.bunk_field = "ignored"
    sys_id = gr.insert()
    assert sys_id
    created = store.get("incident", str(sys_id))
    assert created is not None and created["number"].startswith("INC") and created["urgency"] == "2"
    assert created["sys_created_by"] == BOT

    fresh = client.GlideRecord("incident")
    assert fresh.get(str(sys_id))
    fresh.state = "2"
    fresh.update()
    assert fresh.state.get_display_value() == "In Progress"  # pysnc splices the returned record back
    assert store.get("incident", str(sys_id))["sys_mod_count"] == "1"  # type: ignore[index]

    assert fresh.delete()
    assert not client.GlideRecord("incident").get(str(sys_id))
    persisted = TableStore.load(store.persist_to)  # type: ignore[arg-type]
    assert persisted.get("incident", str(sys_id)) is None
    assert persisted.find("incident", correlation_id="demo-t1")


def test_wrong_password_is_refused_with_401(emulator: ServedInstance) -> None:
    intruder = emulator.client(BOT, "wrong")
    with pytest.raises(AuthenticationException) as refused:
        intruder.GlideRecord("incident").query()
    intruder.session.close()
    assert "user not authenticated" in str(refused.value).lower()
    assert "required to provide auth information" in str(refused.value).lower()


def test_unknown_table_is_a_400(client: pysnc.ServiceNowClient) -> None:
    with pytest.raises(RequestException) as refused:
        client.GlideRecord("sys_user_list").query()
    assert "Invalid table sys_user_list" in str(refused.value)


def test_resolving_without_close_code_is_refused_then_journal_reads_back(client: pysnc.ServiceNowClient) -> None:
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "À résoudre"
    sys_id = str(gr.insert())

    ticket = client.GlideRecord("incident")
    assert ticket.get(sys_id)
    ticket.state = "6"
    with pytest.raises(RoleException) as refused:
        ticket.update()
    assert "Data Policy Exception" in str(refused.value)

    ticket = client.GlideRecord("incident")
    assert ticket.get(sys_id)
    ticket.work_notes = "Compte débloqué dans l'AD"
    ticket.state = "6"
    ticket.close_code = "Résolution définitive"
    ticket.close_notes = "Déverrouillé"
    ticket.update()

    again = client.GlideRecord("incident")
    assert again.get(sys_id)
    assert again.state.get_display_value() == "Resolved"
    assert again.work_notes.get_value() == ""
    assert "Sésame Automate (Work notes)\nCompte débloqué dans l'AD" in again.work_notes.get_display_value()
    notes = client.GlideRecord("sys_journal_field")
    notes.add_encoded_query(f"element_id={sys_id}^element=work_notes")
    notes.query()
    assert [n.value.get_value() for n in notes] == ["Compte débloqué dans l'AD"]


def test_user_without_itil_gets_role_exception_on_incident(
    emulator: ServedInstance,
) -> None:
    reader = emulator.client(READER, READER_PASSWORD)
    try:
        with pytest.raises(RoleException) as refused:
            reader.GlideRecord("incident").query()
        assert "User Not Authorized" in str(refused.value)
        gr = reader.GlideRecord("incident")
        gr.initialize()
        gr.short_description = "not allowed"
        with pytest.raises(RoleException) as refused_insert:
            gr.insert()
        assert "ACL Exception Insert Failed due to security constraints" in str(refused_insert.value)
        users = reader.GlideRecord("sys_user")  # readable by any authenticated user
        users.add_query("user_name", BOT)
        users.query()
        assert users.next()
    finally:
        reader.session.close()


def test_oauth_password_grant_through_pysnc_flow(
    emulator: ServedInstance,
) -> None:
    pytest.importorskip("requests_oauthlib", reason="pysnc's password grant flow needs pysnc[oauth]")
    flow = ServiceNowPasswordGrantFlow(BOT, BOT_PASSWORD, APP.client_id, APP.secret)
    client = pysnc.ServiceNowClient(emulator.url, flow, verify=str(emulator.ca_file))
    gr = client.GlideRecord("incident")
    gr.add_query("correlation_id", "demo-t1")
    gr.query()
    assert gr.next()


def test_oauth_password_grant_as_pysnc_sends_it_then_bearer(
    emulator: ServedInstance,
) -> None:
    """The wire of ServiceNowPasswordGrantFlow (client in a Basic header, user in the form), sans requests-oauthlib."""
    with requests.Session() as session:
        session.verify = str(emulator.ca_file)
        answer = session.post(
            f"{emulator.url}/oauth_token.do",
            data={"grant_type": "password", "username": BOT, "password": BOT_PASSWORD},
            auth=(APP.client_id, APP.secret),
            headers={"Accept": "application/json"},
        )
        assert answer.status_code == 200
        issued = answer.json()
        assert (issued["token_type"], issued["expires_in"], issued["scope"]) == ("Bearer", 1799, "useraccount")
        session.headers["Authorization"] = f"Bearer {issued['access_token']}"
        client = pysnc.ServiceNowClient(emulator.url, session, verify=str(emulator.ca_file))
        gr = client.GlideRecord("incident")
        gr.initialize()
        gr.short_description = "via OAuth"
        sys_id = gr.insert()
        assert sys_id and emulator.store.get("incident", str(sys_id))["sys_created_by"] == BOT  # type: ignore[index]
        refused = session.post(
            f"{emulator.url}/oauth_token.do",
            data={"grant_type": "password", "username": BOT, "password": "wrong"},
            auth=(APP.client_id, APP.secret),
        )
        assert (refused.status_code, refused.json()) == (
            401,
            {"error_description": "access_denied", "error": "server_error"},
        )


def test_oauth_client_credentials_through_pysnc_flow(emulator: ServedInstance, monkeypatch: pytest.MonkeyPatch) -> None:
    store = emulator.store
    # The flow fetches its token with a bare requests.post that ignores verify=: trust the test CA through the env.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emulator.ca_file))
    client = pysnc.ServiceNowClient(
        emulator.url, ServiceNowClientCredentialsFlow(APP.client_id, APP.secret), verify=str(emulator.ca_file)
    )
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = "via client credentials"
    sys_id = gr.insert()
    assert store.get("incident", str(sys_id))["sys_created_by"] == BOT  # type: ignore[index]
    with pytest.raises(AuthenticationException) as refused:
        pysnc.ServiceNowClient(
            emulator.url, ServiceNowClientCredentialsFlow(APP.client_id, "wrong"), verify=str(emulator.ca_file)
        )
    assert "401" in str(refused.value) and "access_denied" in str(refused.value)


def test_input_display_value_through_pysnc_session(client: pysnc.ServiceNowClient, store: TableStore) -> None:
    # pysnc never sends sysparm_input_display_value: post through its authenticated session, read back with pysnc.
    answer = client.session.post(
        f"{client.instance}/api/now/table/incident",
        params={"sysparm_input_display_value": "true"},
        json={"short_description": "en valeurs affichées", "caller_id": "Paul Garnier", "state": "In Progress"},
    )
    assert answer.status_code == 201
    gr = client.GlideRecord("incident")
    assert gr.get(answer.json()["result"]["sys_id"])
    assert (gr.state.get_value(), gr.state.get_display_value()) == ("2", "In Progress")
    assert gr.caller_id.get_value() == store.user_by_name("pgarnier")["sys_id"]  # type: ignore[index]


def test_display_values_in_the_users_time_zone(emulator: ServedInstance) -> None:
    store = emulator.store
    record = store.insert("incident", {"short_description": "fuseau horaire"}, user=BOT)
    stored = datetime.strptime(record["sys_created_on"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    clients = {
        PARIS: emulator.client(PARIS, PARIS_PASSWORD),
        BOT: emulator.client(BOT, BOT_PASSWORD),
    }
    try:
        shown = {}
        for user, client in clients.items():
            gr = client.GlideRecord("incident")
            assert gr.get(record["sys_id"])
            assert gr.sys_created_on.get_value() == record["sys_created_on"]  # values stay UTC
            shown[user] = datetime.strptime(gr.sys_created_on.get_display_value(), "%Y-%m-%d %H:%M:%S")
    finally:
        for client in clients.values():
            client.session.close()
    assert shown[PARIS] == stored.astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    assert shown[BOT] == stored.astimezone(ZoneInfo("America/Los_Angeles")).replace(tzinfo=None)
