"""The device management interface the domain uses (Intune): a user's devices and the remote actions on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from connectors.directory import Change

__all__ = ["Change", "DeviceAction", "DeviceManagement", "ManagedDevice"]


@dataclass(frozen=True)
class ManagedDevice:
    """One enrolled device as the MDM has it."""

    id: str
    name: str
    owner: str
    operating_system: str
    os_version: str
    model: str
    compliance: str
    management_state: str
    last_sync_at: datetime | None = None


@dataclass(frozen=True)
class DeviceAction:
    """A remote action sent to a device and where it stands (``pending``, ``done``, ``failed``…)."""

    action: str
    state: str
    started_at: datetime | None
    updated_at: datetime | None


class DeviceManagement(Protocol):
    """What the domain needs from the MDM, in the domain's words."""

    def devices_of(self, user: str) -> list[ManagedDevice]:
        """Devices enrolled to ``user`` (object id or userPrincipalName)."""
        ...

    def remote_lock(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        """Lock the device's screen now."""
        ...

    def reset_passcode(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        """Remove or reset the device's passcode."""
        ...

    def sync(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        """Ask the device to check in with the MDM."""
        ...

    def action_status(self, device: ManagedDevice) -> list[DeviceAction]:
        """The remote actions sent to the device and their state, oldest first."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
