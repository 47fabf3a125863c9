"""Batch, Attachment and Aggregate APIs of the ServiceNow emulator over real HTTPS, driven by pysnc and requests."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pysnc
import pytest
import requests
from pysnc.exceptions import AuthenticationException, NotFoundException

from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.attachments import AttachmentStore
from sandbox.tls import TlsFiles
from tests.fixtures.fleet import ServedInstance, serve_servicenow

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"
GUEST, GUEST_PASSWORD = "guest", "guest-pw"  # authenticates, holds no role


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttachmentStore]:
    """The Attachment API's files, mirrored to SQLite so a test can reopen them as a restarted sandbox would."""
    files = AttachmentStore(persist_to=tmp_path_factory.mktemp("sn-batch") / "attachments.sqlite")
    yield files
    files.close()


@pytest.fixture(scope="module")
def instance(sandbox_tls: TlsFiles, files: AttachmentStore) -> Iterator[ServedInstance]:
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    with serve_servicenow(
        sandbox_tls, store, users={BOT: BOT_PASSWORD, GUEST: GUEST_PASSWORD}, attachments=files
    ) as served:
        yield served


@pytest.fixture
def client(instance: ServedInstance) -> Iterator[pysnc.ServiceNowClient]:
    client = instance.client(BOT, BOT_PASSWORD)
    yield client
    client.session.close()


@pytest.fixture
def http(instance: ServedInstance) -> Iterator[requests.Session]:
    session = requests.Session()
    session.auth = (BOT, BOT_PASSWORD)
    session.verify = str(instance.ca_file)
    yield session
    session.close()


def incidents(store: TableStore, marker: str, count: int, **values: str) -> list[str]:
    return [
        store.insert("incident", {"short_description": f"{marker} {n}", **values}, user=BOT)["sys_id"]
        for n in range(count)
    ]


def network_calls(instance: ServedInstance) -> list[tuple[str, str]]:
    return [(entry.method, entry.path) for entry in instance.log.entries()]


# -- Batch API ---------------------------------------------------------------------------------


def test_update_multiple_goes_through_one_batch_and_reports_each_item_in_order(
    client: pysnc.ServiceNowClient, instance: ServedInstance
) -> None:
    ids = incidents(instance.store, "batch-update", 3)
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("short_descriptionSTARTSWITHbatch-update^ORDERBYshort_description")
    gr.query()
    for record in gr:
        record.urgency = "1"
        record.work_notes = "Traité en lot"
    instance.log.clear()
    assert gr.update_multiple()
    assert network_calls(instance) == [("POST", "/api/now/v1/batch")]
    for sys_id in ids:
        updated = instance.store.get("incident", sys_id)
        assert updated is not None and (updated["urgency"], updated["sys_mod_count"]) == ("1", "1")
    notes = instance.store.find("sys_journal_field", element="work_notes", value="Traité en lot")
    assert sorted(note["element_id"] for note in notes) == sorted(ids)


def test_update_multiple_is_false_when_one_item_is_refused_and_the_others_still_apply(
    client: pysnc.ServiceNowClient, instance: ServedInstance
) -> None:
    ids = incidents(instance.store, "batch-partial", 3)
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("short_descriptionSTARTSWITHbatch-partial^ORDERBYshort_description")
    gr.query()
    for position, record in enumerate(gr):
        record.state = "6" if position == 1 else "2"  # resolving without close_code: data policy 403
    seen: list[tuple[str, int]] = []
    gr.update_multiple(
        lambda response: seen.append((response.url.rsplit("/", 1)[-1].split("?")[0], response.status_code))
    )
    assert seen == [(ids[0], 200), (ids[1], 403), (ids[2], 200)]  # submission order
    assert [instance.store.get("incident", sys_id)["state"] for sys_id in ids] == ["2", "1", "2"]  # type: ignore[index]

    again = client.GlideRecord("incident")
    again.add_encoded_query("short_descriptionSTARTSWITHbatch-partial")
    again.query()
    for record in again:
        record.state = "6"
    assert again.update_multiple() is False


def test_delete_multiple_removes_every_matching_record(
    client: pysnc.ServiceNowClient, instance: ServedInstance
) -> None:
    ids = incidents(instance.store, "batch-delete", 4)
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("short_descriptionSTARTSWITHbatch-delete")
    assert gr.delete_multiple()
    assert [instance.store.get("incident", sys_id) for sys_id in ids] == [None] * 4
    assert not instance.store.find("incident", short_description="batch-delete 0")


def test_a_query_longer_than_ten_thousand_characters_is_sent_through_batch(
    client: pysnc.ServiceNowClient, instance: ServedInstance
) -> None:
    wanted = incidents(instance.store, "batch-long", 2)
    decoys = [f"{n:032x}" for n in range(400)]  # 400 ids of 32 chars: ~13,000 characters
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("sys_idIN" + ",".join([*decoys, *wanted]))
    instance.log.clear()
    gr.query()
    assert sorted(record.sys_id.get_value() for record in gr) == sorted(wanted)
    assert len(gr) == 2  # X-Total-Count travelled back inside the batch response
    assert network_calls(instance) == [("POST", "/api/now/v1/batch")]


def test_batch_envelope_answers_string_id_status_text_and_base64_bodies(
    http: requests.Session, instance: ServedInstance
) -> None:
    (sys_id,) = incidents(instance.store, "batch-raw", 1)
    body = base64.b64encode(json.dumps({"urgency": "2"}).encode()).decode()
    response = http.post(
        f"{instance.url}/api/now/batch",
        json={
            "batch_request_id": 7,
            "exclude_response_headers": True,
            "rest_requests": [
                {
                    "id": "a",
                    "method": "PATCH",
                    "url": f"/api/now/table/incident/{sys_id}",
                    "body": body,
                    "headers": [{"name": "Content-Type", "value": "application/json"}],
                },
                {"id": "b", "method": "GET", "url": "/api/now/table/no_such_table"},
                {"id": "c", "method": "POST", "url": "/api/now/v1/batch"},
            ],
        },
    )
    assert response.status_code == 200
    answer = response.json()
    assert (answer["batch_request_id"], answer["unserviced_requests"]) == ("7", [])
    items = answer["serviced_requests"]
    assert [(i["id"], i["status_code"], i["status_text"]) for i in items] == [
        ("a", 200, "OK"),
        ("b", 400, "Bad Request"),
        ("c", 400, "Bad Request"),
    ]
    assert all(item["headers"] == [] and isinstance(item["execution_time"], int) for item in items)
    assert json.loads(base64.b64decode(items[0]["body"]))["result"]["urgency"] == "2"
    assert json.loads(base64.b64decode(items[1]["body"]))["error"]["message"] == "Invalid table no_such_table"


def test_a_batch_with_wrong_credentials_is_refused_as_a_whole(instance: ServedInstance) -> None:
    intruder = instance.client(BOT, "wrong")
    gr = intruder.GlideRecord("incident")
    gr.add_encoded_query("sys_idIN" + ",".join(f"{n:032x}" for n in range(400)))
    with pytest.raises(AuthenticationException):
        gr.query()
    intruder.session.close()


def test_a_malformed_batch_is_a_400_naming_the_bad_entry(http: requests.Session, instance: ServedInstance) -> None:
    response = http.post(
        f"{instance.url}/api/now/v1/batch", json={"batch_request_id": 1, "rest_requests": [{"id": "x"}]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["detail"] == "rest_requests[0] lacks method, url"


# -- Attachment API ----------------------------------------------------------------------------


def test_attachment_upload_list_read_and_delete_through_pysnc(
    client: pysnc.ServiceNowClient, instance: ServedInstance, files: AttachmentStore
) -> None:
    (sys_id,) = incidents(instance.store, "with attachment", 1)
    gr = client.GlideRecord("incident")
    assert gr.get(sys_id)
    content = "Journal de l'AD : compte déverrouillé\n".encode()
    location = gr.add_attachment("ad-log.txt", content, "text/plain")
    attachment_id = location.split("/")[-2]
    assert location == f"{instance.url}/api/now/v1/attachment/{attachment_id}/file"

    listed = gr.get_attachments()
    assert len(listed) == 1
    for found in listed:
        assert (found.file_name, found.table_sys_id, found.content_type) == ("ad-log.txt", sys_id, "text/plain")
        assert found.hash == hashlib.sha256(content).hexdigest()
        assert found.size_bytes == str(len(content))
        assert found.download_link == f"{instance.url}/api/now/attachment/{attachment_id}/file"
        assert found.read() == content

    one = client.Attachment("incident")
    assert one.get(attachment_id)
    assert one.read() == content
    reopened = AttachmentStore(persist_to=files.persist_to)  # what a restarted sandbox would see
    assert reopened.content(attachment_id) == content
    reopened.close()
    one.delete()
    assert not client.Attachment("incident").get(attachment_id)
    assert len(gr.get_attachments()) == 0


def test_attachment_file_carries_its_type_and_metadata_header(http: requests.Session, instance: ServedInstance) -> None:
    (sys_id,) = incidents(instance.store, "typed attachment", 1)
    uploaded = http.post(
        f"{instance.url}/api/now/attachment/file",
        params={"file_name": "capture.png", "table_name": "incident", "table_sys_id": sys_id},
        data=b"\x89PNG fake",
        headers={"Content-Type": "image/png"},
    )
    assert uploaded.status_code == 201
    meta = uploaded.json()["result"]
    assert (meta["state"], meta["compressed"], meta["sys_created_by"]) == ("available", "true", BOT)
    download = http.get(f"{instance.url}/api/now/v1/attachment/{meta['sys_id']}/file")
    assert download.content == b"\x89PNG fake"
    assert download.headers["Content-Type"] == "image/png"
    assert json.loads(download.headers["X-Attachment-Metadata"])["file_name"] == "capture.png"
    listed = http.get(
        f"{instance.url}/api/now/attachment",
        params={"sysparm_query": f"table_sys_id={sys_id}^file_nameENDSWITH.png", "sysparm_limit": "5"},
    )
    assert listed.headers["X-Total-Count"] == "1"
    assert [m["sys_id"] for m in listed.json()["result"]] == [meta["sys_id"]]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"table_name": "incident", "table_sys_id": "x"}, 400, "Missing parameter: file_name"),
        ({"file_name": "a.txt", "table_name": "incident", "table_sys_id": "0" * 32}, 404, "No Record found"),
        ({"file_name": "a.txt", "table_name": "nope", "table_sys_id": "0" * 32}, 400, "Invalid table nope"),
    ],
)
def test_attachment_upload_refusals(
    http: requests.Session, instance: ServedInstance, params: dict[str, str], status: int, message: str
) -> None:
    response = http.post(f"{instance.url}/api/now/v1/attachment/file", params=params, data=b"x")
    assert (response.status_code, response.json()["error"]["message"]) == (status, message)


def test_attachments_follow_the_parent_tables_acl(client: pysnc.ServiceNowClient, instance: ServedInstance) -> None:
    (sys_id,) = incidents(instance.store, "guarded attachment", 1)
    gr = client.GlideRecord("incident")
    assert gr.get(sys_id)
    attachment_id = gr.add_attachment("secret.txt", b"itil only").split("/")[-2]
    guest = instance.client(GUEST, GUEST_PASSWORD)
    listing = guest.Attachment("incident")
    listing.query()
    assert len(listing) == 0  # attachments of unreadable tables are left out
    with pytest.raises(pysnc.exceptions.RoleException):
        guest.attachment_api.get_file(attachment_id)
    guest_gr = guest.GlideRecord("incident")
    with pytest.raises(pysnc.exceptions.RoleException):
        guest_gr.get(sys_id)
    guest.session.close()
    assert not client.Attachment("incident").get("0" * 32)
    with pytest.raises(NotFoundException):
        client.attachment_api.delete("0" * 32)


# -- Aggregate API -----------------------------------------------------------------------------


def test_stats_count_and_min_max_without_grouping(http: requests.Session, instance: ServedInstance) -> None:
    incidents(instance.store, "stats-flat", 2, urgency="1", impact="1")
    incidents(instance.store, "stats-flat", 3, urgency="3", impact="2")
    response = http.get(
        f"{instance.url}/api/now/stats/incident",
        params={
            "sysparm_query": "short_descriptionSTARTSWITHstats-flat",
            "sysparm_count": "true",
            "sysparm_min_fields": "priority",
            "sysparm_max_fields": "priority",
            "sysparm_avg_fields": "urgency",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "result": {
            "stats": {"count": "5", "avg": {"urgency": "2.2000"}, "min": {"priority": "1"}, "max": {"priority": "4"}}
        }
    }


def test_stats_group_by_with_labels_having_and_order(http: requests.Session, instance: ServedInstance) -> None:
    ids = incidents(instance.store, "stats-group", 4)
    for sys_id in ids[:3]:
        instance.store.update("incident", sys_id, {"state": "2"}, user=BOT)
    response = http.get(
        f"{instance.url}/api/now/v1/stats/incident",
        params={
            "sysparm_query": "short_descriptionSTARTSWITHstats-group",
            "sysparm_count": "true",
            "sysparm_group_by": "state",
            "sysparm_order_by": "COUNT^DESC",
            "sysparm_display_value": "all",
        },
    )
    assert response.json()["result"] == [
        {"stats": {"count": "3"}, "groupby_fields": [{"field": "state", "value": "2", "display_value": "In Progress"}]},
        {"stats": {"count": "1"}, "groupby_fields": [{"field": "state", "value": "1", "display_value": "New"}]},
    ]
    having = http.get(
        f"{instance.url}/api/now/stats/incident",
        params={
            "sysparm_query": "short_descriptionSTARTSWITHstats-group",
            "sysparm_count": "true",
            "sysparm_group_by": "state",
            "sysparm_having": "count^state^>^1",
            "sysparm_display_value": "true",
        },
    )
    assert having.json()["result"] == [
        {"stats": {"count": "3"}, "groupby_fields": [{"field": "state", "value": "In Progress"}]}
    ]


@pytest.mark.parametrize(
    ("auth", "status"),
    [(None, 401), ((BOT, "wrong"), 401), ((GUEST, GUEST_PASSWORD), 403)],
)
def test_stats_need_credentials_and_read_access(
    instance: ServedInstance, auth: tuple[str, str] | None, status: int
) -> None:
    response = requests.get(
        f"{instance.url}/api/now/stats/incident",
        params={"sysparm_count": "true"},
        auth=auth,
        verify=str(instance.ca_file),
    )
    assert response.status_code == status
    assert response.json()["status"] == "failure"
