"""The ServiceNow emulator's tables: sys_* bookkeeping, incident rules, journals, rendering, persistence, seed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.errors import DataPolicyError, InvalidTableError, RecordNotFoundError
from sandbox.servicenow.render import DisplayMode, RenderOptions, render

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo"
BOT = "svc-sesame"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> TableStore:
    store = TableStore(clock=clock)
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    return store


def new_incident(store: TableStore, **values: str) -> dict[str, str]:
    return store.insert("incident", {"short_description": "Compte bloqué", **values}, user=BOT)


def test_seed_creates_users_groups_articles_choices_and_tickets(store: TableStore) -> None:
    jean = store.user_by_name("jdupont")
    assert jean is not None
    assert (jean["email"], jean["name"]) == ("jean.dupont@mission-locale-lyon.fr", "Jean Dupont")
    moreau = store.user_by_name("s.moreau@capemploi69.fr")
    assert moreau is not None and moreau["name"] == "S. Moreau"
    bot = store.user_by_name(BOT)
    assert bot is not None and (bot["name"], bot["roles"]) == ("Sésame Automate", "itil")
    assert {g["name"] for g in store.rows("sys_user_group")} == {"Sésame Automatisation", "Service Desk N1"}
    articles = [(k["number"], k["short_description"], k["workflow_state"]) for k in store.rows("kb_knowledge")]
    assert articles[0] == ("KB0010001", "Débloquer un compte Active Directory", "published")
    assert articles[1][:2] == ("KB0010002", "Réinitialiser son mot de passe")
    codes = [c["value"] for c in store.select("sys_choice", "name=incident^element=close_code^ORDERBYsequence").rows]
    assert codes[0] == "Résolution définitive" and len(codes) == 7
    (ticket,) = store.find("incident", correlation_id="demo-t1")
    assert ticket["caller_id"] == store.user_by_name("pgarnier")["sys_id"]  # type: ignore[index]
    assert ticket["number"] == "INC0010001"


def test_seed_twice_adds_nothing(store: TableStore) -> None:
    before = len(list(store.rows("sys_user")))
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    assert len(list(store.rows("sys_user"))) == before


def test_insert_sets_sys_fields_number_and_incident_defaults(store: TableStore) -> None:
    record = new_incident(store, bunk_field="ignored", sys_created_by="forged")
    assert re.fullmatch(r"[0-9a-f]{32}", record["sys_id"])
    assert record["number"] == "INC0010002"
    assert (record["sys_created_on"], record["sys_created_by"], record["sys_mod_count"]) == (
        "2026-11-23 08:00:00",
        BOT,
        "0",
    )
    assert (record["state"], record["active"], record["opened_at"]) == ("1", "true", "2026-11-23 08:00:00")
    assert record["opened_by"] == store.user_by_name(BOT)["sys_id"]  # type: ignore[index]
    assert "bunk_field" not in record


def test_update_counts_changes_and_ignores_no_ops(store: TableStore, clock: Clock) -> None:
    record = new_incident(store)
    clock.now += timedelta(minutes=5)
    changed = store.update("incident", record["sys_id"], {"state": "2"}, user="someone")
    assert (changed["sys_mod_count"], changed["sys_updated_on"], changed["sys_updated_by"]) == (
        "1",
        "2026-11-23 08:05:00",
        "someone",
    )
    assert store.update("incident", record["sys_id"], {"state": "2"}, user="x")["sys_mod_count"] == "1"
    with pytest.raises(RecordNotFoundError):
        store.update("incident", "0" * 32, {"state": "2"}, user=BOT)


def test_resolving_needs_close_code_and_notes(store: TableStore) -> None:
    record = new_incident(store)
    with pytest.raises(DataPolicyError) as refused:
        store.update("incident", record["sys_id"], {"state": "6"}, user=BOT)
    assert refused.value.status == 403
    assert refused.value.detail == (
        "Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes"
    )
    assert store.get("incident", record["sys_id"])["state"] == "1"  # type: ignore[index]
    values = {"state": "6", "close_code": "Résolution définitive", "close_notes": "Compte débloqué"}
    resolved = store.update("incident", record["sys_id"], values, user=BOT)
    assert resolved["resolved_at"] and resolved["resolved_by"] == store.user_by_name(BOT)["sys_id"]  # type: ignore[index]
    assert resolved["active"] == "true"
    closed = store.update("incident", record["sys_id"], {"state": "7"}, user=BOT)
    assert (closed["active"], closed["incident_state"]) == ("false", "7")
    assert closed["closed_at"] and closed["closed_by"]


def test_journal_writes_rows_and_reads_back_newest_first(store: TableStore, clock: Clock) -> None:
    record = new_incident(store, work_notes="Pris en charge")
    clock.now += timedelta(minutes=1)
    store.update("incident", record["sys_id"], {"work_notes": "Compte débloqué", "comments": "C'est fait"}, user=BOT)
    assert store.get("incident", record["sys_id"])["work_notes"] == ""  # type: ignore[index]
    entries = store.select("sys_journal_field", f"element_id={record['sys_id']}^element=work_notes").rows
    assert [(e["value"], e["name"], e["sys_created_by"]) for e in entries] == [
        ("Pris en charge", "incident", BOT),
        ("Compte débloqué", "incident", BOT),
    ]
    rendered = render(
        store,
        store.schema("incident"),
        store.get("incident", record["sys_id"]),  # type: ignore[arg-type]
        RenderOptions(DisplayMode.ALL, True, ("work_notes", "comments")),
    )
    assert rendered["work_notes"] == {
        "display_value": "2026-11-23 08:01:00 - Sésame Automate (Work notes)\nCompte débloqué\n\n"
        "2026-11-23 08:00:00 - Sésame Automate (Work notes)\nPris en charge\n\n",
        "value": "",
    }
    assert rendered["comments"]["display_value"].endswith("(Additional comments)\nC'est fait\n\n")  # type: ignore[index]


def test_rendering_modes_for_references_choices_and_dot_walks(store: TableStore) -> None:
    caller = store.user_by_name("jdupont")
    assert caller is not None
    record = new_incident(store, caller_id=caller["sys_id"], contact_type="email")
    schema = store.schema("incident")
    fields = ("caller_id", "state", "assigned_to", "caller_id.email", "nope")
    as_all = render(store, schema, record, RenderOptions(DisplayMode.ALL, True, fields))
    assert as_all == {
        "caller_id": {"display_value": "Jean Dupont", "value": caller["sys_id"]},
        "state": {"display_value": "New", "value": "1"},
        "assigned_to": {"display_value": "", "value": ""},
        "caller_id.email": {"display_value": caller["email"], "value": caller["email"]},
    }
    linked = render(store, schema, record, RenderOptions(DisplayMode.VALUE, False, ("caller_id",), "https://h/api/now"))
    assert linked["caller_id"] == {
        "link": f"https://h/api/now/table/sys_user/{caller['sys_id']}",
        "value": caller["sys_id"],
    }
    shown = render(store, schema, record, RenderOptions(DisplayMode.DISPLAY, True, ("caller_id", "contact_type")))
    assert shown == {"caller_id": "Jean Dupont", "contact_type": "Email"}


def test_select_orders_pages_and_counts(store: TableStore) -> None:
    for n in range(5):
        new_incident(store, short_description=f"ticket {n}", urgency=str(1 + n % 3))
    page = store.select("incident", "short_descriptionSTARTSWITHticket^ORDERBYDESCnumber", limit=2, offset=2)
    assert page.total == 5
    assert [r["short_description"] for r in page.rows] == ["ticket 2", "ticket 1"]


def test_unknown_table_is_refused(store: TableStore) -> None:
    with pytest.raises(InvalidTableError) as refused:
        store.select("sys_user_list")
    assert refused.value.message == "Invalid table sys_user_list"


def test_save_and_load_round_trip(store: TableStore, tmp_path: Path) -> None:
    record = new_incident(store, work_notes="note")
    path = tmp_path / "sn.json"
    store.save(path)
    loaded = TableStore.load(path)
    assert loaded.get("incident", record["sys_id"]) == record
    assert loaded.persist_to == path
    assert loaded.insert("incident", {}, user=BOT)["number"] == "INC0010003"
    assert len(loaded.find("sys_journal_field", element_id=record["sys_id"])) == 1
