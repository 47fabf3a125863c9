"""Loading arbitrary records into the ServiceNow emulator (``sesame sandbox load``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.errors import InvalidTableError
from sandbox.servicenow.loader import RecordLoadError, RecordsFileError, load_records, read_records_file

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo"
BOT = "svc-sesame"
GIVEN_ID = "AAAABBBBCCCCDDDDEEEEFFFF00001111"
RECORDS = [
    {"sys_id": GIVEN_ID, "short_description": "Poste lent", "caller_id": "Jean Dupont", "urgency": 2},
    {"short_description": "Écran noir", "assignment_group": "Service Desk N2", "work_notes": "chargé"},
    # a cell as the Table API returns it with sysparm_display_value=all
    {"short_description": {"display_value": "VPN", "value": "VPN"}, "active": True},
]


@pytest.fixture
def store() -> TableStore:
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    return store


def test_records_are_inserted_as_admin_with_references_resolved(store: TableStore) -> None:
    assert load_records(store, "incident", RECORDS) == 3
    given = store.get("incident", GIVEN_ID)
    assert given is not None and given["sys_id"] == GIVEN_ID  # kept as given
    assert given["caller_id"] == store.user_by_name("jdupont")["sys_id"]  # type: ignore[index]
    assert (given["urgency"], given["priority"], given["number"]) == ("2", "4", "INC0010002")
    assert given["sys_created_by"] == "admin"
    assert given["opened_by"] == store.user_by_name("admin")["sys_id"]  # type: ignore[index]
    (second,) = store.find("incident", short_description="Écran noir")
    (n2,) = store.find("sys_user_group", name="Service Desk N2")
    assert second["assignment_group"] == n2["sys_id"]
    assert store.find("sys_journal_field", element_id=second["sys_id"], value="chargé")
    assert store.find("incident", short_description="VPN")[0]["active"] == "true"


def test_any_table_can_be_loaded(store: TableStore) -> None:
    assert load_records(store, "sys_user_group", [{"name": "Réseau", "manager": "Léa Martin"}]) == 1
    (group,) = store.find("sys_user_group", name="Réseau")
    assert group["manager"] == store.user_by_name("lea.martin")["sys_id"]  # type: ignore[index]
    assert load_records(store, "sc_req_item", [{"short_description": "Badge"}]) == 1
    assert store.find("sc_req_item", short_description="Badge")[0]["number"] == "RITM0010001"


def test_nothing_to_load_loads_nothing(store: TableStore) -> None:
    assert load_records(store, "incident", []) == 0


def test_unknown_table_is_the_stores_error(store: TableStore) -> None:
    with pytest.raises(InvalidTableError, match="Invalid table incidents"):
        load_records(store, "incidents", RECORDS)


@pytest.mark.parametrize("bad", ["a string", ["a", "list"], 3, None])
def test_a_row_that_is_not_an_object_is_named_and_nothing_is_loaded(store: TableStore, bad: object) -> None:
    before = len(list(store.rows("incident")))
    with pytest.raises(ValueError, match=r"^record 2: expected a JSON object"):
        load_records(store, "incident", [RECORDS[0], RECORDS[1], bad])
    assert len(list(store.rows("incident"))) == before


def test_a_refused_record_is_named_with_what_was_loaded(store: TableStore) -> None:
    rows = [{"short_description": "ok"}, {"short_description": "en attente", "state": "3"}]
    with pytest.raises(RecordLoadError, match=r"^record 1: .*On hold reason \(record 0 was loaded\)$"):
        load_records(store, "incident", rows)
    assert store.find("incident", short_description="ok")
    load_records(store, "incident", [RECORDS[0]])
    with pytest.raises(RecordLoadError, match=rf"^record 0: .*{GIVEN_ID} already exists.*\(nothing was loaded\)$"):
        load_records(store, "incident", [RECORDS[0], RECORDS[1]])
    assert not store.find("incident", short_description="Écran noir")


# -- reading files ---------------------------------------------------------------------------------

ROWS = [{"short_description": "un"}, {"short_description": "deux"}]


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(ROWS),
        json.dumps(ROWS, indent=2),
        json.dumps({"records": ROWS}, indent=2),
        json.dumps({"result": ROWS}),
        "\n".join(json.dumps(row) for row in ROWS) + "\n",
        "\n" + json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]),
    ],
    ids=["list", "indented-list", "records", "table-api-result", "json-lines", "json-lines-blank-lines"],
)
def test_accepted_file_shapes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "records.json"
    path.write_text(text, encoding="utf-8")
    assert read_records_file(path) == ROWS


def test_one_json_line_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    assert read_records_file(path) == [ROWS[0]]


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ('[{"a": 1},\n {"b": 2,}\n]', ":2:", "invalid JSON"),
        ('{"a": 1}\n{"b": \n', ":2:", "invalid JSON"),
        ('{"a": 1}\n[1, 2]\n', ":2:", "each line must be a JSON object"),
        ('[\n  {"a": 1},\n  "oops"\n]', ":3:", "record 1 must be a JSON object"),
        ('{\n "records": {"a": 1}\n}', ":1:", "'records' must be a JSON list"),
        ('{\n "rows": []\n}', ":1:", 'an object with a "records" list'),
        ('"just text"', ":1:", "must be a JSON list"),
    ],
    ids=[
        "bad-json-in-list",
        "bad-json-line",
        "line-not-object",
        "item-not-object",
        "records-not-list",
        "object-without-records",
        "scalar",
    ],
)
def test_file_errors_name_file_and_line(tmp_path: Path, text: str, where: str, says: str) -> None:
    path = tmp_path / "records.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordsFileError) as refused:
        read_records_file(path)
    message = str(refused.value)
    assert message.startswith(f"{path}{where}") and says in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RecordsFileError, match=r"records\.json: cannot read the records file"):
        read_records_file(tmp_path / "records.json")


def test_a_file_read_then_loaded_end_to_end(store: TableStore, tmp_path: Path) -> None:
    path = tmp_path / "users.jsonl"
    path.write_text('{"user_name": "n.new", "name": "Nina New", "user_password": "pw"}\n', encoding="utf-8")
    assert load_records(store, "sys_user", read_records_file(path)) == 1
    user = store.user_by_name("n.new")
    assert user is not None and user["user_password"] and user["user_password"] != "pw"
