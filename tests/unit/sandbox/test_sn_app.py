"""HTTP surface of the ServiceNow emulator: status codes, bodies and headers pysnc and others rely on."""

from __future__ import annotations

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


def test_list_counts_pages_and_links(http: TestClient) -> None:
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
    total = int(response.headers["X-Total-Count"])
    assert total == 9  # 5 directory users, 3 partner correspondents, the bot
    assert [r["user_name"] for r in response.json()["result"]] == ["jdupont", "karim.benali@mission-locale-lyon.fr"]
    link = response.headers["Link"]
    for rel, offset in (("first", 0), ("prev", 0), ("next", 4), ("last", 8)):
        assert f'sysparm_offset={offset}>;rel="{rel}"' in link
    assert link.startswith(f"<{BASE}/api/now/v1/table/sys_user?")
    quiet = http.get("/api/now/table/sys_user", params={"sysparm_suppress_pagination_header": "true"}, auth=AUTH)
    assert "Link" not in quiet.headers and quiet.headers["X-Total-Count"] == "9"


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
