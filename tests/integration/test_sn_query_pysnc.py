"""Encoded queries over real HTTPS, built and sent by the real pysnc ``GlideRecord``: every operator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pysnc
import pytest
from pysnc.exceptions import RequestException

from sandbox.servicenow import TableStore
from sandbox.tls import TlsFiles
from tests.fixtures.fleet import ServedInstance, serve_servicenow

pytestmark = pytest.mark.integration

BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"
QUERY_SET = ("q1", "q2", "q3", "q4", "q5", "q6")
PAGED = [f"p{n:02d}" for n in range(12)]


@dataclass
class Instance:
    served: ServedInstance
    ids: dict[str, str]  # names of seeded users, groups and labels -> sys_id


def _seed(store: TableStore) -> dict[str, str]:
    now = datetime.now(UTC)

    def ago(**delta: float) -> str:
        return (now - timedelta(**delta)).strftime("%Y-%m-%d %H:%M:%S")

    ids: dict[str, str] = {}
    for user_name, name, email, roles in [
        (BOT, "Service Bot", "bot@agence.local", "admin"),
        ("jdupont", "Jean Dupont", "jean.dupont@agence.local", "itil"),
        ("mcurie", "Marie Curie", "marie.curie@labo.local", "itil"),
    ]:
        user = store.insert(
            "sys_user", {"user_name": user_name, "name": name, "email": email, "roles": roles}, user=BOT
        )
        ids[user_name] = user["sys_id"]
    for group in ("Service Desk", "Network"):
        ids[group] = store.insert("sys_user_group", {"name": group}, user=BOT)["sys_id"]
    bot, jean, marie = ids[BOT], ids["jdupont"], ids["mcurie"]
    desk, network = ids["Service Desk"], ids["Network"]
    incidents = [
        # key, short_description, description, caller, opened_by, assigned_to, group, urgency, impact, state, opened_at
        ("q1", "Imprimante en panne au 2e étage", "Plus rien ne sort", jean, jean, marie, desk, 1, 1, "2", ago(days=1)),
        ("q2", "Compte bloqué", "compte BLOQUÉ", marie, bot, "", network, 2, 2, "1", ago(days=10)),
        ("q3", "Mot de passe oublié", "", jean, marie, bot, desk, 3, 3, "3", ago(hours=26)),
        ("q4", "VPN lent depuis ce matin", "Lenteurs", marie, marie, jean, "", 1, 2, "6", ago(days=30)),
        ("q5", "Imprimante : bourrage papier", "Bourrage", "", bot, "", network, 3, 3, "1", ago(days=3)),
        ("q6", "Alerte a^b sur le serveur", "Caret", jean, bot, marie, desk, 2, 3, "2", ago(hours=12)),
    ]
    for key, short, text, caller, opener, agent, group, urgency, impact, state, opened_at in incidents:
        values = {
            "correlation_id": key,
            "short_description": short,
            "description": text,
            "caller_id": caller,
            "opened_by": opener,
            "assigned_to": agent,
            "assignment_group": group,
            "urgency": urgency,
            "impact": impact,
            "state": state,
            "opened_at": opened_at,
        }
        if state == "3":
            values["hold_reason"] = "1"  # on hold needs a reason
        if state == "6":
            values |= {"close_code": "Solution provided", "close_notes": "Routeur redémarré"}
        ids[key] = store.insert("incident", values, user=BOT)["sys_id"]
    for key in sorted(PAGED, key=lambda name: name[::-1]):  # not inserted in the order the test asks for
        store.insert("incident", {"correlation_id": key, "short_description": f"paging {key}"}, user=BOT)
    label = store.insert("label", {"name": "bot-triaged", "viewable_by": "everyone"}, user=BOT)
    ids["bot-triaged"] = label["sys_id"]
    for key in ("q1", "q3"):
        entry = {"label": label["sys_id"], "table": "incident", "table_key": ids[key], "title": "bot-triaged"}
        store.insert("label_entry", entry, user=BOT)
    other = store.insert("label", {"name": "vip"}, user=BOT)  # tags q2, but on another table's key space
    store.insert("label_entry", {"label": other["sys_id"], "table": "problem", "table_key": ids["q2"]}, user=BOT)
    ids["vip"] = other["sys_id"]
    return ids


@pytest.fixture(scope="module")
def instance(sandbox_tls: TlsFiles) -> Iterator[Instance]:
    store = TableStore()
    ids = _seed(store)
    with serve_servicenow(sandbox_tls, store, users={BOT: BOT_PASSWORD}) as served:
        yield Instance(served, ids)


@pytest.fixture
def client(instance: Instance) -> Iterator[pysnc.ServiceNowClient]:
    client = instance.served.client(BOT, BOT_PASSWORD)
    yield client
    client.session.close()


Build = Callable[[pysnc.GlideRecord, dict[str, str]], None]


def _or(first: tuple[str, str, str], second: tuple[str, str, str]) -> Build:
    def build(gr: pysnc.GlideRecord, _: dict[str, str]) -> None:
        gr.add_query(*first).add_or_condition(*second)

    return build


def _query(*args: str) -> Build:
    return lambda gr, _: gr.add_query(*args)


def _encoded(template: str) -> Build:
    """An encoded query; ``{name}`` placeholders become the seeded sys_id of that user, group, label or incident."""
    return lambda gr, ids: gr.add_encoded_query(template.format(**ids))


def _with_unknown_field(gr: pysnc.GlideRecord, _: dict[str, str]) -> None:
    gr.add_query("AAAA", "BBBB")  # what pysnc's own tests send; the instance drops the condition
    gr.add_query("state", "2")


CASES: list[tuple[str, Build, set[str]]] = [
    ("=", _query("state", "2"), {"q1", "q6"}),
    ("!=", _query("state", "!=", "1"), {"q1", "q3", "q4", "q6"}),
    ("^OR", _or(("state", "=", "1"), ("state", "=", "3")), {"q2", "q3", "q5"}),
    ("^OR binds to the previous condition", _encoded("priority=1^state=3^ORstate=2"), {"q1"}),
    (
        "^NQ",
        _encoded("state=6^correlation_idSTARTSWITHq^NQpriority=1^correlation_idSTARTSWITHq"),
        {"q1", "q4"},
    ),
    ("IN", _query("priority", "IN", "1,2"), {"q1", "q4"}),
    ("NOT IN", _query("priority", "NOT IN", "1,2,5"), {"q2", "q6"}),
    ("STARTSWITH", _query("short_description", "STARTSWITH", "imprimante"), {"q1", "q5"}),
    ("ENDSWITH", _query("short_description", "ENDSWITH", "ÉTAGE"), {"q1"}),
    ("LIKE", _query("short_description", "LIKE", "lent"), {"q4"}),
    ("NOT LIKE", _query("short_description", "NOT LIKE", "imprimante"), {"q2", "q3", "q4", "q6"}),
    ("ISEMPTY", lambda gr, _: gr.add_null_query("assigned_to"), {"q2", "q5"}),
    ("ISNOTEMPTY", lambda gr, _: gr.add_not_null_query("assigned_to"), {"q1", "q3", "q4", "q6"}),
    ("EMPTYSTRING", _encoded("descriptionEMPTYSTRING"), {"q3"}),
    ("ANYTHING", _encoded("caller_idANYTHING"), set(QUERY_SET)),
    ("<", _query("priority", "<", "3"), {"q1", "q4"}),
    ("<=", _query("priority", "<=", "3"), {"q1", "q2", "q4"}),
    (">", _query("priority", ">", "4"), {"q3", "q5"}),
    (">=", _query("priority", ">=", "4"), {"q3", "q5", "q6"}),
    ("BETWEEN", _encoded("priorityBETWEEN2@4"), {"q2", "q4", "q6"}),
    ("SAMEAS reference", _encoded("caller_idSAMEASopened_by"), {"q1", "q4"}),
    ("SAMEAS text", _encoded("short_descriptionSAMEASdescription"), {"q2"}),
    ("NSAMEAS", _encoded("caller_idNSAMEASopened_by"), {"q2", "q3", "q5", "q6"}),
    ("reference = sys_id", _encoded("caller_id={jdupont}"), {"q1", "q3", "q6"}),
    ("reference LIKE display value", _query("caller_id", "LIKE", "curie"), {"q2", "q4"}),
    ("dot-walked =", _query("caller_id.email", "JEAN.DUPONT@AGENCE.LOCAL"), {"q1", "q3", "q6"}),
    ("dot-walked STARTSWITH", _query("assignment_group.name", "STARTSWITH", "Service"), {"q1", "q3", "q6"}),
    ("sys_tags", _encoded("sys_tags.{bot-triaged}={bot-triaged}"), {"q1", "q3"}),
    ("sys_tags of another table", _encoded("sys_tags.{vip}={vip}"), set()),
    ("gs.daysAgoStart", _encoded("opened_at>=javascript:gs.daysAgoStart(2)"), {"q1", "q3", "q6"}),
    (
        "BETWEEN javascript",
        _encoded("opened_atBETWEENjavascript:gs.daysAgoStart(5)@javascript:gs.nowDateTime()"),
        {"q1", "q3", "q5", "q6"},
    ),
    ("gs.getUserID is the requesting user", _encoded("assigned_to=javascript:gs.getUserID()"), {"q3"}),
    ("invalid field ignored", _with_unknown_field, {"q1", "q6"}),
    ("^^ is a literal caret", _encoded("short_descriptionLIKEa^^b"), {"q6"}),
    ("GROUPBY and EQ ignored", _encoded("state=2^GROUPBYpriority^EQ"), {"q1", "q6"}),
]


@pytest.mark.parametrize(("build", "expected"), [(b, e) for _, b, e in CASES], ids=[name for name, _, _ in CASES])
def test_glide_record_query_selects_what_an_instance_would(
    client: pysnc.ServiceNowClient, instance: Instance, build: Build, expected: set[str]
) -> None:
    gr = client.GlideRecord("incident")
    gr.add_query("correlation_id", "STARTSWITH", "q")  # only the records seeded for these cases
    build(gr, instance.ids)
    gr.query()
    assert {record.get_value("correlation_id") for record in gr} == expected


def test_orderby_terms_in_the_encoded_query_sort_with_ties_broken(client: pysnc.ServiceNowClient) -> None:
    gr = client.GlideRecord("incident")
    gr.add_query("correlation_id", "STARTSWITH", "q")
    gr.add_encoded_query("ORDERBYDESCpriority^ORDERBYcorrelation_id")
    gr.query()
    assert [record.get_value("correlation_id") for record in gr] == ["q3", "q5", "q6", "q2", "q4", "q1"]


def test_order_by_desc_on_a_date(client: pysnc.ServiceNowClient) -> None:
    gr = client.GlideRecord("incident")
    gr.add_query("correlation_id", "STARTSWITH", "q")
    gr.order_by_desc("opened_at")
    gr.query()
    assert [record.get_value("correlation_id") for record in gr] == ["q6", "q1", "q3", "q5", "q2", "q4"]


def test_pagination_across_several_pages_keeps_the_order(client: pysnc.ServiceNowClient, instance: Instance) -> None:
    instance.served.log.clear()
    gr = client.GlideRecord("incident", batch_size=5)
    gr.add_query("correlation_id", "STARTSWITH", "p")
    gr.order_by("correlation_id")
    gr.query()
    assert [record.get_value("correlation_id") for record in gr] == PAGED
    pages = [e.query for e in instance.served.log.entries(method="GET") if e.path.endswith("/incident")]
    assert len(pages) == 3
    assert ["sysparm_offset=0" in pages[0], "sysparm_offset=5" in pages[1], "sysparm_offset=10" in pages[2]] == [
        True,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("encoded", "says"),
    [
        ("priorityBETWEEN5", "BETWEEN needs <low>@<high>"),
        ("stateFOO1", "no known operator follows the field 'state'"),
        ("opened_at>javascript:gs.eval('1')", "not an emulated helper"),
        ("opened_at>javascript:gs.dateGenerate('2024-05-01,'10:00:00)", "javascript:"),
    ],
)
def test_malformed_queries_come_back_as_400_errors(client: pysnc.ServiceNowClient, encoded: str, says: str) -> None:
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(encoded)
    with pytest.raises(RequestException) as raised:
        gr.query()
    assert "Invalid encoded query" in str(raised.value)
    assert says in str(raised.value)
