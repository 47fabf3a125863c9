"""``IntuneDevices`` (msgraph-sdk + azure-identity) against the Graph sandbox's managed devices over real HTTPS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.devices import ManagedDevice
from connectors.errors import NotFoundError, PermissionMissingError
from connectors.intune import IntuneDevices
from sandbox.graph import DEFAULT_PERMISSIONS, GraphApp, MailboxStore
from sandbox.graph.devices import ACTION_PERMISSIONS, DeviceStore
from sandbox.scenario import load_scenario
from tests.fixtures.graph import CLIENT_ID, DEMO, SECRET, ServeGraph
from tests.fixtures.graph import GraphSandbox as Served

pytestmark = pytest.mark.integration

OWNER = "alefebvre@agence.local"
# Sésame's app where the MDM playbooks are enabled: its permissions plus the privileged device operations.
OPERATOR = GraphApp.of("sesame-mdm", DEFAULT_PERMISSIONS | set(ACTION_PERMISSIONS), "mdm-secret")


def connector(served: Served, client_id: str = OPERATOR.client_id, secret: str = "mdm-secret", **kwargs: Any
              ) -> IntuneDevices:
    """``IntuneDevices`` with the actions enabled, as the MDM app unless told otherwise."""
    kwargs.setdefault("features", {"read", "actions"})
    return served.intune_devices(client_id, secret, **kwargs)


@pytest.fixture
def served(serve_graph: ServeGraph) -> Iterator[Served]:
    devices = DeviceStore.from_scenario(load_scenario(DEMO), domain="agence.onmicrosoft.com")
    with serve_graph(MailboxStore(), devices=devices, apps=[OPERATOR]) as graph:
        yield graph


@pytest.fixture
def intune(served: Served) -> Iterator[IntuneDevices]:
    with connector(served) as intune:
        yield intune


@pytest.fixture
def phone(intune: IntuneDevices) -> ManagedDevice:
    [device] = intune.devices_of(OWNER)
    return device


def test_devices_of_a_user_by_upn_and_by_object_id(served: Served, intune: IntuneDevices,
                                                   phone: ManagedDevice) -> None:
    stored = next(d for d in served.devices.devices() if d["userPrincipalName"] == OWNER)

    assert (phone.id, phone.owner, phone.name) == (stored["id"], OWNER, stored["deviceName"])
    assert phone.operating_system in {"iOS", "Android"} and phone.compliance == "compliant"
    assert phone.management_state == "managed" and phone.last_sync_at is not None
    assert intune.devices_of(stored["userId"]) == [phone]
    assert intune.devices_of("nobody@agence.local") == []


@pytest.mark.parametrize(("method", "graph_name"), [
    ("remote_lock", "remoteLock"), ("reset_passcode", "resetPasscode"), ("sync", "syncDevice"),
])
def test_each_action_dry_run_changes_nothing_then_is_sent_once_and_its_status_read_back(
    served: Served, intune: IntuneDevices, phone: ManagedDevice, method: str, graph_name: str
) -> None:
    before = served.devices.device(phone.id)

    dry = getattr(intune, method)(phone, dry_run=True)
    assert dry.dry_run and dry.before == {graph_name: "none"}
    assert served.devices.action_requests() == [] and served.devices.device(phone.id) == before

    done = getattr(intune, method)(phone)

    assert [r["actionName"] for r in served.devices.action_requests()] == [graph_name]
    assert done.after[graph_name].startswith("1 sent") and not done.dry_run
    [status] = intune.action_status(phone)
    assert status.action == graph_name and status.state == "done"  # pending, then done once observed
    assert status.started_at is not None and status.updated_at is not None


def test_unknown_device_is_not_found(intune: IntuneDevices, phone: ManagedDevice) -> None:
    ghost = dataclasses.replace(phone, id="0000aaaa-0000-0000-0000-000000000000")
    with pytest.raises(NotFoundError) as caught:
        intune.remote_lock(ghost)
    assert caught.value.request_id


def test_an_app_without_privileged_operations_is_refused_and_doctor_names_it(served: Served,
                                                                            phone: ManagedDevice) -> None:
    with connector(served, CLIENT_ID, SECRET) as default_app:
        with pytest.raises(PermissionMissingError) as caught:
            default_app.remote_lock(phone)
        failed = [f for f in default_app.doctor() if not f.ok]
    assert "DeviceManagementManagedDevices.PrivilegedOperations.All" in str(caught.value)
    assert [f.check for f in failed] == ["permission DeviceManagementManagedDevices.PrivilegedOperations.All"]
    assert "admin-consent" in failed[0].fix
    assert served.devices.action_requests() == []


def test_doctor_is_green_for_reading_with_sesames_default_app(served: Served) -> None:
    with connector(served, CLIENT_ID, SECRET, features={"read"}) as default_app:
        findings = default_app.doctor()
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    assert "permission DeviceManagementManagedDevices.Read.All" in {f.check for f in findings}


def test_doctor_is_green_with_actions_for_the_mdm_app(intune: IntuneDevices) -> None:
    findings = intune.doctor()
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
