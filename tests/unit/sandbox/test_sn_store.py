"""The ServiceNow emulator's tables: sys_* bookkeeping, business rules, journals, rendering, queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.errors import DataPolicyError, InvalidTableError, OperationFailedError, RecordNotFoundError
from sandbox.servicenow.render import DisplayMode, RenderOptions, render
from sandbox.servicenow.store import password_matches

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


# -- business rules (table-driven) ------------------------------------------------------------------

ON_HOLD_MANDATORY = "Data Policy Exception: The following fields are mandatory: On hold reason"
RESOLVE_MANDATORY = "Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes"
CLOSURE = {"close_code": "Résolution définitive", "close_notes": "Compte débloqué"}


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"state": "3"}, ON_HOLD_MANDATORY),
        ({"state": "3", "hold_reason": "  "}, ON_HOLD_MANDATORY),
        ({"state": "6"}, RESOLVE_MANDATORY),
        (
            {"state": "7", "close_code": "Sans suite"},
            "Data Policy Exception: The following fields are mandatory: Resolution notes",
        ),
        ({"state": "3", "hold_reason": "1"}, None),
        ({"state": "6", **CLOSURE}, None),
        ({"state": "2"}, None),
    ],
)
def test_data_policies_per_state(store: TableStore, changes: dict[str, str], refusal: str | None) -> None:
    record = new_incident(store)
    if refusal is None:
        assert store.update("incident", record["sys_id"], changes, user=BOT)["state"] == changes["state"]
        return
    with pytest.raises(DataPolicyError) as refused:
        store.update("incident", record["sys_id"], changes, user=BOT)
    assert (refused.value.status, refused.value.message, refused.value.detail) == (403, "Operation Failed", refusal)
    assert store.get("incident", record["sys_id"]) == record  # nothing written


def test_inserting_on_hold_without_reason_is_refused_too(store: TableStore) -> None:
    with pytest.raises(DataPolicyError, match="On hold reason"):
        new_incident(store, state="3")
    assert not store.find("incident", short_description="Compte bloqué")


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("1", "1", "1"),
        ("1", "2", "2"),
        ("2", "1", "2"),
        ("1", "3", "3"),
        ("2", "2", "3"),
        ("3", "1", "3"),
        ("2", "3", "4"),
        ("3", "2", "4"),
        ("3", "3", "5"),
    ],
)
def test_priority_is_computed_from_impact_and_urgency(
    store: TableStore, impact: str, urgency: str, priority: str
) -> None:
    inserted = new_incident(store, impact=impact, urgency=urgency, priority="1")  # a sent priority is overridden
    assert inserted["priority"] == priority
    flipped = store.update("incident", inserted["sys_id"], {"impact": urgency, "urgency": impact}, user=BOT)
    assert flipped["priority"] == priority  # the matrix is symmetric


def test_priority_and_impact_display_their_labels(store: TableStore) -> None:
    record = new_incident(store, impact="1", urgency="2")
    options = RenderOptions(DisplayMode.ALL, True, ("priority", "impact"))
    assert render(store, store.schema("incident"), record, options) == {
        "priority": {"display_value": "2 - High", "value": "2"},
        "impact": {"display_value": "1 - High", "value": "1"},
    }


N1, N2 = "Service Desk N1", "Service Desk N2"


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # the changes applied in order, then fields of the final record
        ([{"state": "3", "hold_reason": "4"}], {"state": "3", "incident_state": "3", "active": "true"}),
        ([{"state": "2"}, {"state": "6", **CLOSURE}, {"state": "2"}], {"reopen_count": "1", "incident_state": "2"}),
        ([{"state": "6", **CLOSURE}, {"state": "2"}, {"state": "6"}, {"state": "2"}], {"reopen_count": "2"}),
        ([{"state": "2"}, {"state": "1"}, {"state": "2"}], {"reopen_count": "0"}),
        ([{"state": "6", **CLOSURE}, {"state": "7"}], {"active": "false", "reopen_count": "0"}),
        ([{"state": "8"}], {"active": "false", "incident_state": "8"}),
        ([{"assignment_group": N1}], {"reassignment_count": "1"}),
        ([{"assignment_group": N1}, {"short_description": "x"}, {"assignment_group": N2}], {"reassignment_count": "2"}),
        ([{"assignment_group": N1}, {"assignment_group": N1}], {"reassignment_count": "1"}),
    ],
)
def test_incident_side_effects(store: TableStore, steps: list[dict[str, str]], expected: dict[str, str]) -> None:
    record = new_incident(store)
    for change in steps:
        record = store.update("incident", record["sys_id"], change, user=BOT)
    assert {name: record[name] for name in expected} == expected


def test_assignment_group_given_by_name_is_stored_as_its_sys_id(store: TableStore) -> None:
    record = new_incident(store)
    changed = store.update("incident", record["sys_id"], {"assignment_group": N2}, user=BOT)
    (group,) = store.find("sys_user_group", name=N2)
    assert changed["assignment_group"] == group["sys_id"]


def test_requested_items_are_numbered_and_close_with_their_state(store: TableStore) -> None:
    jean = store.user_by_name("jdupont")
    assert jean is not None
    item = store.insert(
        "sc_req_item",
        {"short_description": "Accès VPN", "requested_for": "Jean Dupont", "work_notes": "reçu"},
        user=BOT,
    )
    assert item["number"] == "RITM0010001"
    assert (item["requested_for"], item["state"], item["stage"], item["approval"]) == (
        jean["sys_id"],
        "1",
        "waiting_for_approval",
        "not requested",
    )
    assert item["opened_by"] == store.user_by_name(BOT)["sys_id"]  # type: ignore[index]
    assert store.find("sys_journal_field", element_id=item["sys_id"], name="sc_req_item", element="work_notes")
    closed = store.update("sc_req_item", item["sys_id"], {"state": "3", "stage": "complete"}, user=BOT)
    assert closed["active"] == "false"
    options = RenderOptions(DisplayMode.DISPLAY, True, ("state", "stage"))
    assert render(store, store.schema("sc_req_item"), closed, options) == {
        "state": "Closed Complete",
        "stage": "Completed",
    }
    assert store.insert("sc_req_item", {}, user=BOT)["number"] == "RITM0010002"


def test_passwords_are_stored_hashed_and_checkable(store: TableStore) -> None:
    user = store.insert("sys_user", {"user_name": "t.test", "user_password": "S3cret!"}, user="admin")
    stored = user["user_password"]
    assert "S3cret!" not in stored
    assert password_matches(stored, "S3cret!") and not password_matches(stored, "s3cret!")
    assert not password_matches("S3cret!", "S3cret!")  # a clear text is never taken for a hash
    assert store.insert("sys_user", {"user_name": "t.empty"}, user="admin")["user_password"] == ""


def test_user_time_zone_defaults_to_the_instance_one(store: TableStore) -> None:
    assert store.insert("sys_user", {"user_name": "t.tz"}, user="admin")["time_zone"] == ""


def test_duplicate_sys_id_is_refused(store: TableStore) -> None:
    record = new_incident(store)
    with pytest.raises(OperationFailedError, match=record["sys_id"]):
        new_incident(store, sys_id=record["sys_id"])
