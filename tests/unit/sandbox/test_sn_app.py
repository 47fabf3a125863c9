"""HTTP surface of the ServiceNow emulator: status codes, bodies and headers pysnc and others rely on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, build_app, seed_store

DEMO = Path(__file__).resolve().parents[3] / "sandbox" / "scenarios" / "demo"
AUTH = ("svc-sesame", "secret-for-tests")
BASE = "https://testserver"


@pytest.fixture
def store(tmp_path: Path) -> TableStore:
    store = TableStore(persist_to=tmp_path / "sn.json")
    seed_store(store, load_scenario(DEMO), bot_user=AUTH[0])
    return store


@pytest.fixture
def http(store: TableStore) -> TestClient:
    return TestClient(build_app(store, users={AUTH[0]: AUTH[1]}), base_url=BASE)


def test_missing_or_wrong_credentials_get_servicenow_401(http: TestClient) -> None:
    for auth in (None, (AUTH[0], "nope"), ("nobody", AUTH[1])):
        response = http.get("/api/now/table/incident", auth=auth)
        assert response.status_code == 401
        assert response.json() == {
            "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
            "status": "failure",
        }


def test_unknown_table_and_unknown_uri_are_400(http: TestClient) -> None:
    response = http.get("/api/now/table/sys_user_list", auth=AUTH)
    assert (response.status_code, response.json()["error"]["message"]) == (400, "Invalid table sys_user_list")
    response = http.get("/api/now/nothing/here", auth=AUTH)
    assert response.json()["error"]["message"] == "Requested URI does not represent any resource"


def test_list_counts_pages_and_links(http: TestClient, store: TableStore) -> None:
    names = sorted(user["user_name"] for user in store.rows("sys_user"))
    assert len(names) >= 6  # the seed's directory users, partner correspondents, agents, admin and bot
    response = http.get(
        "/api/now/v1/table/sys_user",
        params={
            "sysparm_limit": "2",
            "sysparm_offset": "2",
            "sysparm_fields": "user_name",
            "sysparm_query": "ORDERBYuser_name",
        },
        auth=AUTH,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert int(response.headers["X-Total-Count"]) == len(names)
    assert [r["user_name"] for r in response.json()["result"]] == names[2:4]
    link = response.headers["Link"]
    last = (len(names) - 1) // 2 * 2
    for rel, offset in (("first", 0), ("prev", 0), ("next", 4), ("last", last)):
        assert f'sysparm_offset={offset}>;rel="{rel}"' in link
    assert link.startswith(f"<{BASE}/api/now/v1/table/sys_user?")
    quiet = http.get("/api/now/table/sys_user", params={"sysparm_suppress_pagination_header": "true"}, auth=AUTH)
    assert "Link" not in quiet.headers and quiet.headers["X-Total-Count"] == str(len(names))


def test_field_equals_parameters_filter_too(http: TestClient) -> None:
    response = http.get("/api/now/table/sys_user", params={"user_name": "nroux"}, auth=AUTH)
    assert [r["email"] for r in response.json()["result"]] == ["nadia.roux@capemploi69.fr"]


def test_post_returns_201_location_and_full_record_with_links(http: TestClient, store: TableStore) -> None:
    caller = store.user_by_name("jdupont")
    assert caller is not None
    response = http.post(
        "/api/now/table/incident", json={"short_description": "x", "caller_id": caller["sys_id"]}, auth=AUTH
    )
    assert response.status_code == 201
    record = response.json()["result"]
    assert response.headers["Location"] == f"{BASE}/api/now/table/incident/{record['sys_id']}"
    assert record["caller_id"] == {
        "link": f"{BASE}/api/now/table/sys_user/{caller['sys_id']}",
        "value": caller["sys_id"],
    }
    assert record["opened_by"]["value"] == store.user_by_name(AUTH[0])["sys_id"]  # type: ignore[index]
    assert TableStore.load(store.persist_to).get("incident", record["sys_id"]) is not None  # type: ignore[arg-type]


def test_get_one_404_put_and_delete(http: TestClient, store: TableStore) -> None:
    missing = http.get("/api/now/table/incident/" + "0" * 32, auth=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": "No Record found",
        "detail": "Record doesn't exist or ACL restricts the record retrieval",
    }
    (ticket,) = store.find("incident", correlation_id="demo-t1")
    url = f"/api/now/table/incident/{ticket['sys_id']}"
    put = http.put(url, json={"state": "2"}, params={"sysparm_display_value": "true"}, auth=AUTH)
    assert (put.status_code, put.json()["result"]["state"]) == (200, "In Progress")
    assert http.delete(url, auth=AUTH).status_code == 204
    assert http.delete(url, auth=AUTH).status_code == 404


def test_data_policy_refusal_body(http: TestClient, store: TableStore) -> None:
    (ticket,) = store.find("incident", correlation_id="demo-t1")
    response = http.patch(f"/api/now/table/incident/{ticket['sys_id']}", json={"state": "6"}, auth=AUTH)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "message": "Operation Failed",
        "detail": "Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes",
    }


def test_malformed_json_is_400(http: TestClient) -> None:
    response = http.post(
        "/api/now/table/incident", content=b"{not json", headers={"Content-Type": "application/json"}, auth=AUTH
    )
    assert (response.status_code, response.json()["error"]["message"]) == (400, "Exception while reading request")


# -- display modes, links, time zones, passwords ---------------------------------------------------

WINTER_NOON_UTC = "2026-01-15 12:00:00"


def set_time_zone(store: TableStore, user_name: str, zone: str) -> None:
    user = store.user_by_name(user_name)
    assert user is not None
    store.update("sys_user", user["sys_id"], {"time_zone": zone}, user="system")


def incident_with_caller(store: TableStore) -> tuple[dict[str, str], dict[str, str]]:
    caller = store.user_by_name("jdupont")
    assert caller is not None
    record = store.insert("incident", {"short_description": "x", "caller_id": caller["sys_id"]}, user=AUTH[0])
    return record, caller


@pytest.mark.parametrize(
    ("display", "exclude_link", "expected_caller", "expected_state"),
    [
        ("false", "true", "{id}", "1"),
        ("false", "false", {"link": "{link}", "value": "{id}"}, "1"),
        ("true", "true", "Jean Dupont", "New"),
        ("true", "false", {"display_value": "Jean Dupont", "link": "{link}"}, "New"),
        ("all", "true", {"display_value": "Jean Dupont", "value": "{id}"}, {"display_value": "New", "value": "1"}),
        (
            "all",
            "false",
            {"display_value": "Jean Dupont", "value": "{id}", "link": "{link}"},
            {"display_value": "New", "value": "1"},
        ),
    ],
)
def test_every_display_mode_renders_references_and_choices(
    http: TestClient,
    store: TableStore,
    display: str,
    exclude_link: str,
    expected_caller: object,
    expected_state: object,
) -> None:
    record, caller = incident_with_caller(store)
    link = f"{BASE}/api/now/table/sys_user/{caller['sys_id']}"

    def fill(shape: object) -> object:
        if isinstance(shape, dict):
            return {key: fill(value) for key, value in shape.items()}
        return str(shape).format(id=caller["sys_id"], link=link)

    response = http.get(
        f"/api/now/table/incident/{record['sys_id']}",
        params={
            "sysparm_display_value": display,
            "sysparm_exclude_reference_link": exclude_link,
            "sysparm_fields": "caller_id,state,assigned_to",
        },
        auth=AUTH,
    )
    result = response.json()["result"]
    assert result["caller_id"] == fill(expected_caller)
    assert result["state"] == expected_state
    assert result["assigned_to"] == ({"display_value": "", "value": ""} if display == "all" else "")


@pytest.mark.parametrize("version", ["", "/v1", "/v2"])
def test_links_and_location_follow_the_api_version_in_the_path(
    http: TestClient, store: TableStore, version: str
) -> None:
    caller = store.user_by_name("jdupont")
    assert caller is not None
    created = http.post(f"/api/now{version}/table/incident", json={"caller_id": caller["sys_id"]}, auth=AUTH)
    record = created.json()["result"]
    assert created.headers["Location"] == f"{BASE}/api/now{version}/table/incident/{record['sys_id']}"
    assert record["caller_id"]["link"] == f"{BASE}/api/now{version}/table/sys_user/{caller['sys_id']}"


def test_dates_display_in_the_callers_time_zone_default_los_angeles(http: TestClient, store: TableStore) -> None:
    store.clock = lambda: datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    record, _ = incident_with_caller(store)
    url = f"/api/now/table/incident/{record['sys_id']}"
    params = {"sysparm_display_value": "all", "sysparm_fields": "opened_at,sys_created_on"}
    shown = http.get(url, params=params, auth=AUTH).json()["result"]
    assert shown["opened_at"] == {"display_value": "2026-01-15 04:00:00", "value": WINTER_NOON_UTC}
    set_time_zone(store, AUTH[0], "Europe/Paris")
    shown = http.get(url, params=params, auth=AUTH).json()["result"]
    assert shown["sys_created_on"] == {"display_value": "2026-01-15 13:00:00", "value": WINTER_NOON_UTC}
    plain = http.get(url, params={"sysparm_fields": "opened_at"}, auth=AUTH).json()["result"]
    assert plain["opened_at"] == WINTER_NOON_UTC  # values stay UTC whatever the zone


def test_summer_time_and_unknown_zones(http: TestClient, store: TableStore) -> None:
    store.clock = lambda: datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    record, _ = incident_with_caller(store)
    url = f"/api/now/table/incident/{record['sys_id']}"
    params = {"sysparm_display_value": "true", "sysparm_fields": "opened_at"}
    set_time_zone(store, AUTH[0], "Europe/Paris")
    assert http.get(url, params=params, auth=AUTH).json()["result"]["opened_at"] == "2026-07-01 14:00:00"
    set_time_zone(store, AUTH[0], "Mars/Olympus_Mons")
    assert http.get(url, params=params, auth=AUTH).json()["result"]["opened_at"] == "2026-07-01 05:00:00"


def test_journal_history_times_are_in_the_callers_zone(http: TestClient, store: TableStore) -> None:
    store.clock = lambda: datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    record = store.insert("incident", {"short_description": "x", "work_notes": "Pris en charge"}, user=AUTH[0])
    set_time_zone(store, AUTH[0], "Europe/Paris")
    response = http.get(
        f"/api/now/table/incident/{record['sys_id']}",
        params={"sysparm_display_value": "all", "sysparm_fields": "work_notes"},
        auth=AUTH,
    )
    assert response.json()["result"]["work_notes"]["display_value"].startswith("2026-01-15 13:00:00 - ")


@pytest.mark.parametrize("display", ["false", "true", "all"])
def test_password2_fields_never_show_the_clear_value(http: TestClient, store: TableStore, display: str) -> None:
    admin = store.user_by_name("admin")
    assert admin is not None
    store.update("sys_user", admin["sys_id"], {"user_password": "s3cret-clear"}, user="system")
    response = http.get(
        f"/api/now/table/sys_user/{admin['sys_id']}",
        params={"sysparm_display_value": display, "sysparm_fields": "user_password,user_name"},
        auth=AUTH,
    )
    assert "s3cret-clear" not in response.text
    assert store.user_by_name("admin")["user_password"] not in response.text  # type: ignore[index] # nor the hash
    shown = response.json()["result"]["user_password"]
    assert shown == ({"display_value": "********", "value": "********"} if display == "all" else "********")


# -- parameters ------------------------------------------------------------------------------------


def test_input_display_value_turns_labels_names_and_local_times_into_values(
    http: TestClient, store: TableStore
) -> None:
    set_time_zone(store, AUTH[0], "Europe/Paris")
    created = http.post(
        "/api/now/table/incident",
        params={"sysparm_input_display_value": "true"},
        json={
            "short_description": "saisi en valeurs affichées",
            "caller_id": "Jean Dupont",
            "state": "In Progress",
            "contact_type": "Self-service",
            "opened_at": "2026-01-15 13:00:00",
        },
        auth=AUTH,
    )
    assert created.status_code == 201
    stored = store.get("incident", created.json()["result"]["sys_id"])
    assert stored is not None
    caller = store.user_by_name("jdupont")
    assert caller is not None
    assert (stored["caller_id"], stored["state"], stored["contact_type"]) == (caller["sys_id"], "2", "self-service")
    assert stored["opened_at"] == WINTER_NOON_UTC
    patched = http.patch(
        f"/api/now/table/incident/{stored['sys_id']}",
        params={"sysparm_input_display_value": "true"},
        json={"opened_at": "2026-07-01 14:00:00"},
        auth=AUTH,
    )
    assert patched.status_code == 200
    assert store.get("incident", stored["sys_id"])["opened_at"] == "2026-07-01 12:00:00"  # type: ignore[index]


def test_without_input_display_value_dates_are_taken_as_utc(http: TestClient, store: TableStore) -> None:
    set_time_zone(store, AUTH[0], "Europe/Paris")
    created = http.post("/api/now/table/incident", json={"opened_at": WINTER_NOON_UTC}, auth=AUTH)
    assert store.get("incident", created.json()["result"]["sys_id"])["opened_at"] == WINTER_NOON_UTC  # type: ignore[index]


def test_no_count_drops_x_total_count_and_the_last_link(http: TestClient) -> None:
    params = {"sysparm_limit": "2", "sysparm_offset": "2", "sysparm_no_count": "true", "sysparm_fields": "sys_id"}
    response = http.get("/api/now/table/sys_user", params=params, auth=AUTH)
    assert response.status_code == 200 and len(response.json()["result"]) == 2
    assert "X-Total-Count" not in response.headers
    rels = [part.rsplit(";", 1)[1] for part in response.headers["Link"].split(",")]
    assert rels == ['rel="first"', 'rel="prev"', 'rel="next"']


def test_link_header_format(http: TestClient) -> None:
    response = http.get("/api/now/table/sys_user", params={"sysparm_limit": "3", "sysparm_fields": "sys_id"}, auth=AUTH)
    total = int(response.headers["X-Total-Count"])
    last = (total - 1) // 3 * 3
    assert response.headers["Link"] == (
        f'<{BASE}/api/now/table/sys_user?sysparm_fields=sys_id&sysparm_limit=3&sysparm_offset=0>;rel="first",'
        f'<{BASE}/api/now/table/sys_user?sysparm_fields=sys_id&sysparm_limit=3&sysparm_offset=3>;rel="next",'
        f'<{BASE}/api/now/table/sys_user?sysparm_fields=sys_id&sysparm_limit=3&sysparm_offset={last}>;rel="last"'
    )
    single = http.get("/api/now/table/sys_user", params={"sysparm_limit": "1000"}, auth=AUTH)
    assert "Link" not in single.headers


def test_empty_list_is_200_except_on_v1(http: TestClient) -> None:
    query = {"sysparm_query": "user_name=nobody-at-all"}
    for path in ("/api/now/table/sys_user", "/api/now/v2/table/sys_user"):
        response = http.get(path, params=query, auth=AUTH)
        assert (response.status_code, response.json(), response.headers["X-Total-Count"]) == (200, {"result": []}, "0")
    v1 = http.get("/api/now/v1/table/sys_user", params=query, auth=AUTH)
    assert v1.status_code == 404
    assert v1.json()["error"] == {
        "message": "No Record found",
        "detail": "Records matching query not found. Check query parameter or offset parameter",
    }


def test_error_bodies_for_unknown_table_uri_and_bad_json(http: TestClient) -> None:
    table = http.get("/api/now/v2/table/sys_user_list", auth=AUTH)
    assert (table.status_code, table.json()) == (
        400,
        {"error": {"message": "Invalid table sys_user_list", "detail": None}, "status": "failure"},
    )
    for path in ("/api/now/v3/table/incident", "/api/now/tables/incident", "/nothing"):
        uri = http.get(path, auth=AUTH)
        assert (uri.status_code, uri.json()["error"]) == (
            400,
            {"message": "Requested URI does not represent any resource", "detail": None},
        )
    bad = http.patch(
        "/api/now/table/incident/" + "0" * 32, content=b"[1,", headers={"Content-Type": "application/json"}, auth=AUTH
    )
    assert (bad.status_code, bad.json()["error"]) == (
        400,
        {"message": "Exception while reading request", "detail": "The payload is not valid JSON."},
    )
