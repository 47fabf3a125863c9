"""ServiceNowTickets against the ServiceNow emulator over HTTPS, read back with a separate pysnc client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pysnc
import pytest
import requests
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.errors import InvalidRequestError, NotFoundError, PermissionMissingError
from connectors.resilience import RetryPolicy
from connectors.servicenow import ServiceNowTickets
from connectors.tickets import Closure, NewIncident, TicketChange, TicketRef, TicketSystem
from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, build_app, seed_store
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"
PARTNER = "claire.fabre@mission-locale-lyon.fr"


NO_ITIL, ADMIN, OTHER_PASSWORD = "svc-readonly", "admin", "other-pw-for-tests-only"


class TransactionIds:
    """Adds ``X-Transaction-ID`` to every answer, as a real instance does (the emulator does not send it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.sent: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.sent.append(uuid.uuid4().hex[:12])
                message = {**message, "headers": [*message.get("headers", []),
                                                   (b"x-transaction-id", self.sent[-1].encode())]}  # fmt: skip
            await send(message)

        await self.app(scope, receive, tagged)


@pytest.fixture(scope="module")
def instance(sandbox_tls: TlsFiles) -> Iterator[tuple[str, Path, TableStore]]:
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    store.insert("sys_user", {"user_name": NO_ITIL, "name": "Lecture seule"}, user="system")
    with pytest.MonkeyPatch.context() as env:
        # A CA bundle in the environment must not override ca_file: the connector ignores the environment.
        env.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        users = {BOT: BOT_PASSWORD, NO_ITIL: OTHER_PASSWORD, ADMIN: OTHER_PASSWORD}
        app = TransactionIds(build_app(store, users=users))
        with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
            yield server.url, sandbox_tls.ca_file, store


@pytest.fixture
def tickets(instance: tuple[str, Path, TableStore]) -> Iterator[ServiceNowTickets]:
    url, ca, _ = instance
    connector = ServiceNowTickets(url, BOT, BOT_PASSWORD, ca_file=str(ca), timeout=5.0)
    yield connector
    connector.close()


@pytest.fixture
def reader(instance: tuple[str, Path, TableStore]) -> Iterator[pysnc.ServiceNowClient]:
    """An independent pysnc client to read back what the connector wrote."""
    url, ca, _ = instance
    session = requests.Session()
    session.trust_env = False
    session.auth = (BOT, BOT_PASSWORD)
    client = pysnc.ServiceNowClient(url, session, verify=str(ca))
    yield client
    session.close()


def read(client: pysnc.ServiceNowClient, table: str, query: str) -> list[dict[str, str]]:
    gr = client.GlideRecord(table)
    gr.add_encoded_query(query)
    gr.query()
    return [{name: str(element.get_value()) for name, element in row._current().items()} for row in gr]


def read_one(client: pysnc.ServiceNowClient, table: str, query: str) -> dict[str, str]:
    (row,) = read(client, table, query)
    return row


def open_incident(tickets: TicketSystem, correlation_id: str, caller: str | None = PARTNER) -> TicketRef:
    return tickets.create_incident(
        NewIncident(
            short_description="Déblocage du compte jdupont " + "x" * 200,
            description="Bonjour, pourriez-vous débloquer le compte jdupont ?",
            contact_type="email",
            caller_email=caller,
            assignment_group="Sésame Automatisation",
            correlation_id=correlation_id,
        )
    )


def test_create_and_find_by_correlation(tickets: ServiceNowTickets, reader: pysnc.ServiceNowClient) -> None:
    ref = open_incident(tickets, "<create@mission-locale-lyon.fr>")
    assert ref.number.startswith("INC")
    row = read_one(reader, "incident", f"sys_id={ref.sys_id}")
    assert row["number"] == ref.number
    assert len(row["short_description"]) == 160
    assert row["caller_id"] == read_one(reader, "sys_user", f"email={PARTNER}")["sys_id"]
    assert row["assignment_group"] == read_one(reader, "sys_user_group", "name=Sésame Automatisation")["sys_id"]
    assert (row["contact_type"], row["correlation_id"], row["state"]) == (
        "email",
        "<create@mission-locale-lyon.fr>",
        "1",
    )
    assert tickets.find_by_correlation("<create@mission-locale-lyon.fr>") == ref
    assert tickets.find_by_correlation("<never-seen@example.org>") is None


def test_unknown_caller_is_left_empty(tickets: ServiceNowTickets, reader: pysnc.ServiceNowClient) -> None:
    ref = open_incident(tickets, "<stranger@example.org>", caller="stranger@example.org")
    assert read_one(reader, "incident", f"sys_id={ref.sys_id}")["caller_id"] == ""


def test_hand_to_humans_reassigns_and_explains(tickets: ServiceNowTickets, reader: pysnc.ServiceNowClient) -> None:
    ref = open_incident(tickets, "<hand@mission-locale-lyon.fr>")
    claimed = reader.GlideRecord("incident")
    assert claimed.get(ref.sys_id)
    claimed.assigned_to = read_one(reader, "sys_user", f"user_name={BOT}")["sys_id"]
    claimed.update()

    tickets.hand_to_humans(ref, "Service Desk N1", "Compte privilégié : décision humaine requise")

    row = read_one(reader, "incident", f"sys_id={ref.sys_id}")
    assert row["assignment_group"] == read_one(reader, "sys_user_group", "name=Service Desk N1")["sys_id"]
    assert row["assigned_to"] == ""
    note = read_one(reader, "sys_journal_field", f"element_id={ref.sys_id}^element=work_notes")
    assert (note["value"], note["name"], note["sys_created_by"]) == (
        "Compte privilégié : décision humaine requise",
        "incident",
        BOT,
    )


def test_resolve_and_close_links_article_and_tags_once(
    tickets: ServiceNowTickets, reader: pysnc.ServiceNowClient
) -> None:
    ref = open_incident(tickets, "<close@mission-locale-lyon.fr>")
    tickets.add_work_note(ref, "Compte jdupont déverrouillé dans l'AD")
    closure = Closure(
        close_code="Résolution définitive",
        close_notes="Compte déverrouillé après vérification de l'expéditeur.",
        kb_article="KB0010001",
        tag="UO-TR1.1",
        comment="Bonjour, le compte est débloqué.",
    )
    tickets.resolve_and_close(ref, closure)
    tickets.resolve_and_close(ref, closure)  # a retry after a crash must not duplicate anything

    row = read_one(reader, "incident", f"sys_id={ref.sys_id}")
    assert (row["state"], row["active"], row["close_code"]) == ("7", "false", "Résolution définitive")
    assert row["close_notes"] == closure.close_notes
    assert row["resolved_at"] and row["closed_at"]
    article = read_one(reader, "kb_knowledge", "number=KB0010001")
    links = read(reader, "m2m_kb_task", f"task={ref.sys_id}")
    assert [link["kb_knowledge"] for link in links] == [article["sys_id"]]
    (entry,) = read(reader, "label_entry", f"table_key={ref.sys_id}")
    assert (entry["table"], entry["title"]) == ("incident", ref.number)
    label = read_one(reader, "label", f"sys_id={entry['label']}")
    assert (label["name"], label["viewable_by"]) == ("UO-TR1.1", "everyone")
    comments = read(reader, "sys_journal_field", f"element_id={ref.sys_id}^element=comments")
    assert [c["value"] for c in comments] == ["Bonjour, le compte est débloqué."]


def test_bad_close_code_is_refused_before_any_change(
    tickets: ServiceNowTickets, reader: pysnc.ServiceNowClient
) -> None:
    ref = open_incident(tickets, "<badcode@mission-locale-lyon.fr>")
    with pytest.raises(InvalidRequestError) as refused:
        tickets.resolve_and_close(ref, Closure("Solved (Permanently)", "notes", "KB0010001", "UO-TR1.1"))
    assert "Solved (Permanently)" in str(refused.value)
    assert "Résolution définitive" in str(refused.value) and "Sans suite" in str(refused.value)
    assert read_one(reader, "incident", f"sys_id={ref.sys_id}")["state"] == "1"
    assert read(reader, "m2m_kb_task", f"task={ref.sys_id}") == []


def test_unknown_group_and_ticket_are_not_found(tickets: ServiceNowTickets) -> None:
    with pytest.raises(NotFoundError, match="Équipe fantôme"):
        tickets.create_incident(
            NewIncident("x", "y", "email", None, assignment_group="Équipe fantôme", correlation_id="<ghost@x>")
        )
    with pytest.raises(NotFoundError, match="INC9999999"):
        tickets.add_work_note(TicketRef("0" * 32, "INC9999999"), "note")


def test_wrong_password_is_a_missing_permission(instance: tuple[str, Path, TableStore]) -> None:
    url, ca, _ = instance
    intruder = ServiceNowTickets(url, BOT, "wrong", ca_file=str(ca))
    with pytest.raises(PermissionMissingError, match="401"):
        intruder.find_by_correlation("<x@y>")
    intruder.close()


def test_caret_in_lookup_values_is_refused(tickets: ServiceNowTickets) -> None:
    with pytest.raises(InvalidRequestError, match=r"\^"):
        tickets.find_by_correlation("<x@y>^NQactive=true")


def test_dry_runs_return_the_change_and_change_nothing(
    instance: tuple[str, Path, TableStore], tickets: ServiceNowTickets
) -> None:
    _, _, store = instance
    ref = open_incident(tickets, "<dry@mission-locale-lyon.fr>")
    before = dict(store.get("incident", ref.sys_id) or {})
    journals = len(list(store.rows("sys_journal_field")))
    links, entries, labels = (len(list(store.rows(t))) for t in ("m2m_kb_task", "label_entry", "label"))
    incidents = len(list(store.rows("incident")))

    planned = tickets.create_incident(
        NewIncident("x", "y", "email", PARTNER, "Sésame Automatisation", "<dry-new@x>"), dry_run=True
    )
    assert isinstance(planned, TicketChange) and planned.dry_run and planned.after["correlation_id"] == "<dry-new@x>"
    assert tickets.add_work_note(ref, "note", dry_run=True).after == {"work_notes": "note"}
    assert tickets.add_comment(ref, "bonjour", dry_run=True).dry_run
    handed = tickets.hand_to_humans(ref, "Service Desk N1", "pourquoi", dry_run=True)
    assert handed.before["assignment_group"] == before["assignment_group"]
    closing = tickets.resolve_and_close(
        ref, Closure("Résolution définitive", "notes", "KB0010002", "Étiquette neuve"), dry_run=True
    )
    assert closing.before["state"] == "1"
    assert closing.after == {"state": "7", "close_code": "Résolution définitive", "close_notes": "notes",
                             "kb_article": "KB0010002", "tag": "Étiquette neuve"}  # fmt: skip
    assert tickets.link_article(ref, "KB0010003", dry_run=True).dry_run
    assert tickets.add_tag(ref, "Autre étiquette", dry_run=True).dry_run

    assert store.get("incident", ref.sys_id) == before
    assert len(list(store.rows("incident"))) == incidents
    assert len(list(store.rows("sys_journal_field"))) == journals
    assert (links, entries, labels) == tuple(len(list(store.rows(t))) for t in ("m2m_kb_task", "label_entry", "label"))


def test_comment_article_and_tag_on_their_own(tickets: ServiceNowTickets, reader: pysnc.ServiceNowClient) -> None:
    ref = open_incident(tickets, "<parts@mission-locale-lyon.fr>")
    change = tickets.add_comment(ref, "Nous traitons votre demande.")
    assert (change.action, change.dry_run) == ("add_comment", False)
    tickets.link_article(ref, "KB0010002")
    tickets.link_article(ref, "KB0010002")
    tickets.add_tag(ref, "UO-TR1.1")
    tickets.add_tag(ref, "UO-TR1.1")
    comments = read(reader, "sys_journal_field", f"element_id={ref.sys_id}^element=comments")
    assert [c["value"] for c in comments] == ["Nous traitons votre demande."]
    assert len(read(reader, "m2m_kb_task", f"task={ref.sys_id}")) == 1
    assert len(read(reader, "label_entry", f"table_key={ref.sys_id}")) == 1


def test_counts_through_the_aggregate_api(instance: tuple[str, Path, TableStore], tickets: ServiceNowTickets) -> None:
    _, _, store = instance
    open_incident(tickets, "<count@mission-locale-lyon.fr>")
    everything = tickets.count("incident")
    assert everything == len(list(store.rows("incident")))
    by_state = tickets.count("incident", "active=true", group_by="state")
    assert isinstance(by_state, dict)
    assert by_state["1"] == len([r for r in store.rows("incident") if r["active"] == "true" and r["state"] == "1"])
    assert tickets.count("incident", "correlation_id=<count@mission-locale-lyon.fr>") == 1


def test_errors_carry_the_instance_transaction_id(
    instance: tuple[str, Path, TableStore], tickets: ServiceNowTickets
) -> None:
    with pytest.raises(NotFoundError) as missing:
        tickets.add_work_note(TicketRef("f" * 32, "INC0999999"), "note")
    assert missing.value.request_id is not None and len(missing.value.request_id) == 12


def _doctor(instance: tuple[str, Path, TableStore], user: str, password: str) -> dict[str, tuple[bool, str]]:
    url, ca, _ = instance
    connector = ServiceNowTickets(url, user, password, ca_file=str(ca),
                                  assignment_groups=["Sésame Automatisation", "Service Desk N1"])  # fmt: skip
    findings = connector.doctor()
    connector.close()
    return {f.check: (f.ok, f.fix) for f in findings}


def test_doctor_is_green_for_the_bot(instance: tuple[str, Path, TableStore]) -> None:
    found = _doctor(instance, BOT, BOT_PASSWORD)
    assert all(ok for ok, _ in found.values()), found
    expected = {"reachable", "authenticated", "role itil", "least privilege", "read close codes",
                "read knowledge articles", "group Sésame Automatisation", "group Service Desk N1"}  # fmt: skip
    assert expected <= set(found)


def test_doctor_names_the_missing_itil_role(instance: tuple[str, Path, TableStore]) -> None:
    found = _doctor(instance, NO_ITIL, OTHER_PASSWORD)
    ok, fix = found["role itil"]
    assert not ok and "grant the role itil" in fix and NO_ITIL in fix
    assert found["least privilege"][0]


def test_doctor_flags_an_admin_as_more_than_needed(instance: tuple[str, Path, TableStore]) -> None:
    found = _doctor(instance, ADMIN, OTHER_PASSWORD)
    ok, fix = found["least privilege"]
    assert not ok and "remove the role(s) admin" in fix


def test_doctor_reports_bad_credentials_and_unreachable(instance: tuple[str, Path, TableStore]) -> None:
    found = _doctor(instance, BOT, "wrong")
    assert found["reachable"][0] and not found["authenticated"][0]
    assert "SESAME_SERVICENOW_PASSWORD" in found["authenticated"][1]
    assert "wrong" not in str(found)
    _, ca, _ = instance
    dead = ServiceNowTickets("https://127.0.0.1:9", BOT, BOT_PASSWORD, ca_file=str(ca), timeout=1.0,
                             policy=RetryPolicy(attempts=1))  # fmt: skip
    (finding,) = dead.doctor()
    assert (finding.check, finding.ok) == ("reachable", False) and "servicenow.url" in finding.fix
