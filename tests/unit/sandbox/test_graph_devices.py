"""The Intune device store of the Graph emulator: seeding, actions, persistence, names checked against the CSDL."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from sandbox.graph.devices import (
    ACTION_RESULT_PROPERTIES,
    DEVICE_ACTIONS,
    DEVICE_PROPERTIES,
    DeviceStore,
    DeviceStoreError,
    user_object_id,
)
from sandbox.graph.errors import GraphError
from sandbox.scenario import load_scenario

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "sandbox" / "scenarios" / "demo"
CSDL = REPO / "tests" / "data" / "graph-v1.0-csdl.xml"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
DOMAIN = "agence.onmicrosoft.com"


@pytest.fixture
def store() -> DeviceStore:
    return DeviceStore.from_scenario(load_scenario(DEMO), domain=DOMAIN)


def _csdl_type(kind: str, name: str) -> set[str]:
    root = ET.parse(CSDL).getroot()
    [element] = [e for e in root.iter(f"{EDM}{kind}") if e.get("Name") == name]
    return {p.get("Name", "") for p in element if p.tag in (f"{EDM}Property", f"{EDM}NavigationProperty")}


def _csdl_device_actions() -> dict[str, tuple[str, ...]]:
    root = ET.parse(CSDL).getroot()
    actions: dict[str, tuple[str, ...]] = {}
    for action in root.iter(f"{EDM}Action"):
        parameters = [p for p in action if p.tag == f"{EDM}Parameter"]
        if parameters and parameters[0].get("Type") == "graph.managedDevice":
            actions[action.get("Name", "")] = tuple(p.get("Name", "") for p in parameters[1:])
    return actions


def test_served_names_are_those_of_the_v1_csdl() -> None:
    assert set(DEVICE_PROPERTIES) - {"id"} <= _csdl_type("EntityType", "managedDevice")
    assert set(ACTION_RESULT_PROPERTIES) == _csdl_type("ComplexType", "deviceActionResult")
    csdl_actions = _csdl_device_actions()
    for action, parameters in DEVICE_ACTIONS.items():
        assert csdl_actions[action] == parameters


def test_one_phone_per_user_with_a_mobile_both_platforms_and_stable_ids(store: DeviceStore) -> None:
    scenario = load_scenario(DEMO)
    with_mobile = [u for u in scenario.users if u.mobile]
    devices = store.devices()

    assert len(devices) == len(with_mobile) == 2
    assert {d["operatingSystem"] for d in devices} == {"iOS", "Android"}
    first = devices[0]
    assert first["userPrincipalName"] == with_mobile[0].upn == "jdupont@agence.local"
    # The Entra part of the emulator derives user ids the same way.
    assert first["userId"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-user:jdupont@agence.local"))
    assert first["userId"] == user_object_id("JDupont@Agence.Local")
    assert first["phoneNumber"] == with_mobile[0].mobile
    assert first["emailAddress"] == with_mobile[0].mail
    assert (first["complianceState"], first["managementState"], first["deviceActionResults"]) == (
        "compliant", "managed", []
    )
    again = DeviceStore.from_scenario(scenario, domain=DOMAIN).devices()
    stable = ("id", "deviceName", "serialNumber", "model", "manufacturer", "osVersion", "enrolledDateTime")
    assert [{k: d[k] for k in stable} for d in again] == [{k: d[k] for k in stable} for d in devices]


def test_actions_are_pending_on_the_first_read_then_done(store: DeviceStore) -> None:
    device_id = store.devices()[0]["id"]

    store.perform(device_id, "remoteLock")
    [first_read] = store.observe(lambda d: d["id"] == device_id)
    [second_read] = store.observe(lambda d: d["id"] == device_id)

    assert [(r["actionName"], r["actionState"]) for r in first_read["deviceActionResults"]] == [
        ("remoteLock", "pending")
    ]
    assert second_read["deviceActionResults"][0]["actionState"] == "done"


def test_retire_wipe_and_sync_change_the_device(store: DeviceStore) -> None:
    ios, android = (d["id"] for d in store.devices())
    before = store.device(ios)
    assert before is not None

    store.perform(ios, "syncDevice")
    store.perform(ios, "retire")
    store.perform(android, "wipe", {"keepUserData": True})

    synced, wiped = store.device(ios), store.device(android)
    assert synced is not None and wiped is not None
    assert synced["lastSyncDateTime"] > before["lastSyncDateTime"]
    assert synced["managementState"] == "retirePending"
    assert wiped["managementState"] == "wipePending"
    assert store.action_requests(android) == [
        {"deviceId": android, "actionName": "wipe", "parameters": {"keepUserData": True}}
    ]


def test_a_user_without_upn_gets_one_at_the_tenant_domain() -> None:
    scenario = load_scenario(DEMO)
    user = replace(scenario.users[0], upn="")
    without_upn = replace(scenario, users=(user, *scenario.users[1:]))

    [device, _] = DeviceStore.from_scenario(without_upn, domain=DOMAIN).devices()

    assert device["userPrincipalName"] == f"jdupont@{DOMAIN}"
    assert device["userId"] == user_object_id(f"jdupont@{DOMAIN}")


def test_unknown_device_and_action_are_refused(store: DeviceStore) -> None:
    with pytest.raises(KeyError):
        store.perform(str(uuid.uuid4()), "remoteLock")
    with pytest.raises(DeviceStoreError, match="known: remoteLock"):
        store.perform(store.devices()[0]["id"], "selfDestruct")


@pytest.mark.parametrize("name", ["devices.json", "devices.sqlite"])
def test_state_survives_a_restart_in_json_and_sqlite(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    store = DeviceStore.from_scenario(load_scenario(DEMO), domain=DOMAIN, persist_to=path)
    device_id = store.devices()[1]["id"]
    store.perform(device_id, "wipe", {"keepEnrollmentData": False})

    reloaded = DeviceStore.load(path, persist_to=path)
    reloaded.perform(device_id, "remoteLock")

    assert reloaded.devices()[:1] == store.devices()[:1]
    assert [r["actionName"] for r in DeviceStore.load(path).devices()[1]["deviceActionResults"]] == [
        "wipe", "remoteLock"
    ]
    assert len(DeviceStore.load(path).action_requests()) == 2


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mail.json").write_text('{"format": 1, "mailboxes": {}}', encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(DeviceStoreError, match="not a sandbox device file"):
        DeviceStore.load(tmp_path / "mail.json")
    with pytest.raises(DeviceStoreError, match="cannot read"):
        DeviceStore.load(tmp_path / "broken.json")
    with pytest.raises(DeviceStoreError, match="cannot read"):
        DeviceStore.load(tmp_path / "missing.sqlite")


def test_action_parameters_are_read_case_insensitively_and_checked() -> None:
    from sandbox.graph.devices import _action_parameters

    body = b'{"@odata.type": "x", "KeepEnrollmentData": false, "keepuserdata": true, "MacOsUnlockCode": null}'
    assert _action_parameters("wipe", body) == {
        "keepEnrollmentData": False, "keepUserData": True, "macOsUnlockCode": None
    }
    assert _action_parameters("remoteLock", b"") == {}
    for action, bad in [("wipe", b'{"keepUserData": "yes"}'), ("wipe", b'{"eraseAll": true}'),
                        ("remoteLock", b'{"keepUserData": true}'), ("wipe", b"[1]"), ("wipe", b"{")]:
        with pytest.raises(GraphError) as caught:
            _action_parameters(action, bad)
        assert caught.value.status == 400
