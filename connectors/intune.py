"""Intune over Microsoft Graph (msgraph-sdk): a user's managed devices, remote lock, passcode reset, sync, status.

Least privilege: ``DeviceManagementManagedDevices.Read.All`` to read; the remote actions need
``DeviceManagementManagedDevices.PrivilegedOperations.All``, which the security note (§3.2) does not grant by
default — enable the ``actions`` feature only where the playbooks need it, and ``doctor()`` checks it.

A remote action is a non-idempotent write: it is retried only when Graph refused it before doing anything
(429, or 503 with Retry-After). After a timeout or another 5xx the device's ``deviceActionResults`` are read
again: the action counts as sent if a new result for it appeared, else the error is raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.device_management.managed_devices.item.managed_device_item_request_builder import (
    ManagedDeviceItemRequestBuilder,
)
from msgraph.generated.models.managed_device import ManagedDevice as GraphDevice
from msgraph.generated.users.item.managed_devices.managed_devices_request_builder import ManagedDevicesRequestBuilder

from connectors.devices import Change, DeviceAction, ManagedDevice
from connectors.errors import NotFoundError, ThrottledError, TransientError
from connectors.graph_client import PROBE_USER, GraphConnector, PermissionProbe

SYSTEM = "intune"
log = structlog.get_logger(__name__)

DEVICE_FIELDS = [
    "id", "deviceName", "userPrincipalName", "operatingSystem", "osVersion", "model", "complianceState",
    "managementState", "lastSyncDateTime",
]
FEATURES: dict[str, str] = {
    "read": "DeviceManagementManagedDevices.Read.All",
    "actions": "DeviceManagementManagedDevices.PrivilegedOperations.All",
}
DEFAULT_FEATURES = frozenset({"read"})
# Our action names -> Graph's managedDevice action names.
ACTIONS = {"remote_lock": "remoteLock", "reset_passcode": "resetPasscode", "sync": "syncDevice"}


def _device(item: GraphDevice) -> ManagedDevice:
    def text(value: object) -> str:
        return str(getattr(value, "value", value) or "")

    return ManagedDevice(
        id=item.id or "", name=item.device_name or "", owner=item.user_principal_name or "",
        operating_system=item.operating_system or "", os_version=item.os_version or "", model=item.model or "",
        compliance=text(item.compliance_state), management_state=text(item.management_state),
        last_sync_at=item.last_sync_date_time,
    )


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value else ""


async def _probe_read(sdk: GraphServiceClient) -> None:
    await sdk.users.by_user_id(PROBE_USER).managed_devices.get()


async def _probe_actions(sdk: GraphServiceClient) -> None:
    # syncDevice on a device that does not exist: 403 without the permission, 404 with it.
    await sdk.device_management.managed_devices.by_managed_device_id(PROBE_USER).sync_device.post()


_PROBES = (
    PermissionProbe("read", FEATURES["read"], _probe_read),
    PermissionProbe("actions", FEATURES["actions"], _probe_actions),
)


class IntuneDevices(GraphConnector, system=SYSTEM, product="Intune", features=FEATURES,
                    default_features=DEFAULT_FEATURES, probes=_PROBES):
    """``connectors.devices.DeviceManagement`` for Intune, with application permissions.

    ``features`` names what is enabled (keys of ``FEATURES``); ``doctor()`` checks exactly their permissions.
    """

    # ----- reads ---------------------------------------------------------------------------------

    def devices_of(self, user: str) -> list[ManagedDevice]:
        """Devices enrolled to ``user`` (object id or userPrincipalName), following ``@odata.nextLink``."""
        query = ManagedDevicesRequestBuilder.ManagedDevicesRequestBuilderGetQueryParameters(select=DEVICE_FIELDS)

        async def work(sdk: GraphServiceClient) -> list[ManagedDevice]:
            devices = sdk.users.by_user_id(user).managed_devices
            page = await devices.get(RequestConfiguration(query_parameters=query))
            found: list[ManagedDevice] = []
            while page is not None:
                found += [_device(d) for d in page.value or []]
                if not page.odata_next_link:
                    break
                page = await devices.with_url(page.odata_next_link).get()
            return found

        return self._client.call("devices_of", work, action=f"list the devices of {user}",
                                 needs=[FEATURES["read"]], system=SYSTEM)

    def action_status(self, device: ManagedDevice) -> list[DeviceAction]:
        """The remote actions sent to the device and their state (``deviceActionResults``), oldest first."""
        query = ManagedDeviceItemRequestBuilder.ManagedDeviceItemRequestBuilderGetQueryParameters(
            select=["id", "deviceActionResults"])

        async def work(sdk: GraphServiceClient) -> list[DeviceAction]:
            item = sdk.device_management.managed_devices.by_managed_device_id(device.id)
            found = await item.get(RequestConfiguration(query_parameters=query))
            if found is None:
                raise NotFoundError(f"Graph returned no body for device {device.id}", system=SYSTEM)
            return [
                DeviceAction(action=r.action_name or "", state=str(getattr(r.action_state, "value", "") or ""),
                             started_at=r.start_date_time, updated_at=r.last_updated_date_time)
                for r in found.device_action_results or []
            ]

        return self._client.call("action_status", work, action=f"read the actions of device {device.id}",
                                 needs=[FEATURES["read"]], system=SYSTEM)

    # ----- remote actions ------------------------------------------------------------------------

    def remote_lock(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        """Lock the device's screen now (``remoteLock``)."""
        return self._act(device, "remote_lock", lambda item: item.remote_lock.post(), dry_run)

    def reset_passcode(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        """Remove or reset the device's passcode (``resetPasscode``)."""
        return self._act(device, "reset_passcode", lambda item: item.reset_passcode.post(), dry_run)

    def sync(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        """Ask the device to check in with Intune (``syncDevice``)."""
        return self._act(device, "sync", lambda item: item.sync_device.post(), dry_run)

    def _act(
        self, device: ManagedDevice, name: str, post: Callable[[ManagedDeviceItemRequestBuilder], Awaitable[None]],
        dry_run: bool,
    ) -> Change:
        graph_name = ACTIONS[name]
        sent_before = [a for a in self.action_status(device) if a.action == graph_name]
        before = {graph_name: _summary(sent_before)}
        if dry_run:
            return Change(action=name, target=device.id, before=before, after={graph_name: "pending (new)"},
                          dry_run=True)

        async def work(sdk: GraphServiceClient) -> None:
            await post(sdk.device_management.managed_devices.by_managed_device_id(device.id))

        try:
            self._client.call(name, work, action=f"send {graph_name} to device {device.id}", write=True,
                              needs=[FEATURES["actions"]], system=SYSTEM)
        except TransientError as exc:
            if isinstance(exc, ThrottledError) or not self._sent_since(device, graph_name, len(sent_before)):
                raise
            log.warning("intune.action_confirmed_after_error", system=SYSTEM, device=device.id, action=graph_name,
                        error=type(exc).__name__, request_id=exc.request_id)
        sent_after = [a for a in self.action_status(device) if a.action == graph_name]
        log.info("intune.action", system=SYSTEM, device=device.id, action=graph_name)
        return Change(action=name, target=device.id, before=before, after={graph_name: _summary(sent_after)})

    def _sent_since(self, device: ManagedDevice, graph_name: str, count_before: int) -> bool:
        """Whether a result for the action appeared since, i.e. the failed-looking call was applied."""
        return len([a for a in self.action_status(device) if a.action == graph_name]) > count_before


def _summary(actions: list[DeviceAction]) -> str:
    """``none``, or the count and the last one's state and start, for the audit's before/after."""
    if not actions:
        return "none"
    last = actions[-1]
    return f"{len(actions)} sent, last {last.state} since {_stamp(last.started_at)}"
