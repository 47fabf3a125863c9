"""The ServiceNow emulator over real HTTPS, driven by the real pysnc client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pysnc
import pytest
from pysnc.exceptions import AuthenticationException, RequestException, RoleException
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, build_app, seed_store
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"


class RequestLog:
    """ASGI wrapper remembering (method, path, query string) of every request, to observe paging."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"], scope["query_string"].decode()))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def emulator(
    tmp_path_factory: pytest.TempPathFactory, sandbox_tls: TlsFiles
) -> Iterator[tuple[BackgroundServer, TableStore, RequestLog, Path]]:
    directory = tmp_path_factory.mktemp("sn")
    store = TableStore(persist_to=directory / "instance.json")
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    log = RequestLog(build_app(store, users={BOT: BOT_PASSWORD}))
    with pytest.MonkeyPatch.context() as env:
        # requests lets these override verify= (see the ServiceNow note, §1).
        env.delenv("REQUESTS_CA_BUNDLE", raising=False)
        env.delenv("CURL_CA_BUNDLE", raising=False)
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        with BackgroundServer(log, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
            yield server, store, log, sandbox_tls.ca_file


@pytest.fixture
def client(emulator: tuple[BackgroundServer, TableStore, RequestLog, Path]) -> Iterator[pysnc.ServiceNowClient]:
    server, _, _, ca = emulator
    client = pysnc.ServiceNowClient(server.url, (BOT, BOT_PASSWORD), verify=str(ca))
    yield client
    client.session.close()


@pytest.fixture
def store(emulator: tuple[BackgroundServer, TableStore, RequestLog, Path]) -> TableStore:
    return emulator[1]


def test_encoded_query_pages_through_three_batches(
    client: pysnc.ServiceNowClient, store: TableStore, emulator: tuple[BackgroundServer, TableStore, RequestLog, Path]
) -> None:
    for n in range(7):
        store.insert("incident", {"short_description": f"paging {n}", "urgency": "2"}, user=BOT)
    store.insert("incident", {"short_description": "paging but closed-out", "urgency": "1"}, user=BOT)
    log = emulator[2]
    log.seen.clear()
    gr = client.GlideRecord("incident", batch_size=3)
    gr.add_encoded_query("short_descriptionSTARTSWITHpaging^urgency=2")
    gr.query()
    seen = sorted(record.short_description.get_value() for record in gr)
    assert seen == [f"paging {n}" for n in range(7)]
    pages = [query for method, path, query in log.seen if method == "GET" and path == "/api/now/table/incident"]
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


def test_wrong_password_is_refused_with_401(emulator: tuple[BackgroundServer, TableStore, RequestLog, Path]) -> None:
    server, _, _, ca = emulator
    intruder = pysnc.ServiceNowClient(server.url, (BOT, "wrong"), verify=str(ca))
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
