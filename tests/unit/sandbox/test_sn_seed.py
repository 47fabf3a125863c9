"""Seeding the ServiceNow emulator from a scenario: people, roles, groups, articles, choice lists, tickets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.display import choice_label

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo"
BOT = "svc-sesame"


@pytest.fixture
def store() -> TableStore:
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    return store


def _roles_of(store: TableStore, user_name: str) -> set[str]:
    user = store.user_by_name(user_name)
    assert user is not None, user_name
    grants = store.find("sys_user_has_role", user=user["sys_id"])
    return {store.get("sys_user_role", grant["role"])["name"] for grant in grants}  # type: ignore[index]


def _members_of(store: TableStore, group_name: str) -> set[str]:
    (group,) = store.find("sys_user_group", name=group_name)
    rows = store.find("sys_user_grmember", group=group["sys_id"])
    return {store.get("sys_user", row["user"])["user_name"] for row in rows}  # type: ignore[index]


def _counts(store: TableStore) -> dict[str, int]:
    return {table: len(list(store.rows(table))) for table in store.schemas}


def test_directory_users_and_correspondents_become_callers(store: TableStore) -> None:
    jean = store.user_by_name("jdupont")
    assert jean is not None
    assert (jean["email"], jean["name"], jean["time_zone"]) == ("jean.dupont@mission-locale-lyon.fr", "Jean Dupont", "")
    moreau = store.user_by_name("s.moreau@capemploi69.fr")
    assert moreau is not None and moreau["name"] == "S. Moreau"


def test_roles_and_who_holds_them(store: TableStore) -> None:
    assert {r["name"] for r in store.rows("sys_user_role")} == {"itil", "admin", "knowledge", "sn_incident_write"}
    bot = store.user_by_name(BOT)
    assert bot is not None and (bot["name"], bot["roles"]) == ("Sésame Automate", "itil")
    assert _roles_of(store, BOT) == {"itil"}
    assert _roles_of(store, "admin") == {"admin"}
    admin = store.user_by_name("admin")
    assert admin is not None and (admin["sys_id"], admin["name"]) == (
        "6816f79cc0a8016401c5a33be04be441",
        "System Administrator",
    )
    assert _roles_of(store, "jdupont") == set()


@pytest.mark.parametrize(
    ("group", "members", "manager"),
    [
        ("Sésame Automatisation", {BOT}, ""),
        ("Service Desk N1", {"lea.martin"}, "lea.martin"),
        ("Service Desk N2", {"hugo.bernard"}, "hugo.bernard"),
    ],
)
def test_groups_their_members_and_managers(store: TableStore, group: str, members: set[str], manager: str) -> None:
    (row,) = store.find("sys_user_group", name=group)
    assert row["active"] == "true"
    assert _members_of(store, group) == members
    boss = store.user_by_name(manager) if manager else None
    assert row["manager"] == (boss["sys_id"] if boss else "")
    for member in members:
        assert "itil" in _roles_of(store, member)


def test_one_published_article_per_playbook_kind(store: TableStore) -> None:
    articles = [(k["number"], k["short_description"], k["workflow_state"]) for k in store.rows("kb_knowledge")]
    assert articles == [
        ("KB0010001", "Débloquer un compte Active Directory", "published"),
        ("KB0010002", "Réinitialiser son mot de passe", "published"),
        ("KB0010003", "Authentification multifacteur (MFA)", "published"),
        ("KB0010004", "Gérer un appareil mobile (Intune)", "published"),
    ]
    assert all(k["text"] for k in store.rows("kb_knowledge"))


@pytest.mark.parametrize(
    ("table", "element", "value", "label"),
    [
        ("incident", "state", "3", "On Hold"),
        ("incident", "hold_reason", "1", "Awaiting Caller"),
        ("incident", "hold_reason", "5", "Awaiting Change"),
        ("incident", "impact", "2", "2 - Medium"),
        ("incident", "urgency", "3", "3 - Low"),
        ("incident", "priority", "1", "1 - Critical"),
        ("incident", "priority", "5", "5 - Planning"),
        ("incident", "contact_type", "self-service", "Self-service"),
        ("incident", "close_code", "Hors périmètre", "Hors périmètre"),
        ("incident", "category", "inquiry", "Inquiry / Help"),
        ("sc_req_item", "state", "-5", "Pending"),
        ("sc_req_item", "stage", "fulfillment", "Fulfillment"),
        ("sc_req_item", "approval", "approved", "Approved"),
    ],
)
def test_choice_lists(store: TableStore, table: str, element: str, value: str, label: str) -> None:
    assert choice_label(store, table, element, value) == label


def test_close_codes_are_the_tenders_in_order(store: TableStore) -> None:
    codes = [c["value"] for c in store.select("sys_choice", "name=incident^element=close_code^ORDERBYsequence").rows]
    assert codes == [
        "Résolution définitive",
        "Solution de contournement",
        "Conseil et accompagnement",
        "Hors périmètre",
        "Non reproductible",
        "Utilisateur injoignable",
        "Sans suite",
    ]


def test_scenario_tickets_become_incidents(store: TableStore) -> None:
    (ticket,) = store.find("incident", correlation_id="demo-t1")
    assert ticket["caller_id"] == store.user_by_name("pgarnier")["sys_id"]  # type: ignore[index]
    assert (ticket["number"], ticket["contact_type"], ticket["state"]) == ("INC0010001", "self-service", "1")


def test_seeding_again_adds_and_changes_nothing(store: TableStore) -> None:
    before = {table: [dict(r) for r in store.rows(table)] for table in store.schemas}
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    assert {table: [dict(r) for r in store.rows(table)] for table in store.schemas} == before


def test_seeding_a_reloaded_store_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "servicenow.sqlite"
    first = TableStore(persist_to=path)
    seed_store(first, load_scenario(DEMO), bot_user=BOT)
    counts = _counts(first)
    first.close()
    reopened = TableStore.load(path)
    seed_store(reopened, load_scenario(DEMO), bot_user=BOT)
    assert _counts(reopened) == counts
