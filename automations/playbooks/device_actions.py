"""Playbook actions on the managed devices of the target (Intune): find the one device, sync, lock, passcode.

The device is always one the MDM lists for the account the directory resolved, never one named in the e-mail.
Remote lock and passcode reset are not idempotent writes (a second lock is a second notification on the
device): they are never retried and, in the shipped playbook, need a person's approval first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automations.playbooks.actions import Action, HandOver
from connectors.devices import ManagedDevice

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun

DEVICES_NOT_CONFIGURED = "DEVICES_NOT_CONFIGURED"
NO_DEVICE = "NO_DEVICE"
SEVERAL_DEVICES = "SEVERAL_DEVICES"


def _owner(run: PlaybookRun) -> str:
    if run.account is None:
        raise HandOver("playbook_error", "a device step needs the account, but no earlier step found it")
    return run.account.upn


def _device(run: PlaybookRun) -> ManagedDevice:
    if run.device is None or run.devices is None:
        raise HandOver("playbook_error", "a device action needs devices.require_one_device before it")
    return run.device


def device_values(device: ManagedDevice) -> dict[str, Any]:
    """What expressions and templates may read of a device."""
    return {"id": device.id, "name": device.name, "operating_system": device.operating_system,
            "os_version": device.os_version, "model": device.model, "compliance": device.compliance,
            "management_state": device.management_state,
            "last_sync_at": device.last_sync_at.isoformat() if device.last_sync_at else None}


def require_one_device(run: PlaybookRun, args: dict[str, Any]) -> dict[str, Any]:
    """The account's user has exactly one managed device (optionally of ``operating_system``), or hand over."""
    owner = _owner(run)
    if run.devices is None:
        raise HandOver(DEVICES_NOT_CONFIGURED, "no device management (Intune) connection is configured")
    devices = run.devices.devices_of(owner)
    wanted = str(args.get("operating_system") or "").lower()
    if wanted:
        devices = [d for d in devices if d.operating_system.lower() == wanted]
    if not devices:
        raise HandOver(NO_DEVICE, f"no managed device is enrolled to {owner}")
    if len(devices) > 1:
        names = ", ".join(sorted(d.name for d in devices))
        raise HandOver(SEVERAL_DEVICES, f"{len(devices)} managed devices are enrolled to {owner} ({names}): "
                                        "a person must confirm which one")  # fmt: skip
    run.device = devices[0]
    return {"count": 1, "device": device_values(devices[0])}


def _act(run: PlaybookRun, step: str, name: str) -> dict[str, Any]:
    device = _device(run)
    run.guard_writes()
    assert run.devices is not None
    send = {"sync": run.devices.sync, "remote_lock": run.devices.remote_lock,
            "reset_passcode": run.devices.reset_passcode}[name]
    change = send(device, dry_run=run.dry_run)
    run.changes.append(change)
    run.on_change(step, change)
    return {"sent": not run.dry_run, "device": device.name}


def sync(run: PlaybookRun, _args: dict[str, Any]) -> dict[str, Any]:
    """Ask the device to check in with the MDM (harmless, idempotent)."""
    return _act(run, "device_sync", "sync")


def remote_lock(run: PlaybookRun, _args: dict[str, Any]) -> dict[str, Any]:
    """Lock the device's screen now (lost device)."""
    return _act(run, "device_remote_lock", "remote_lock")


def reset_passcode(run: PlaybookRun, _args: dict[str, Any]) -> dict[str, Any]:
    """Remove the device's passcode (the user forgot it and the device is locked)."""
    return _act(run, "device_reset_passcode", "reset_passcode")


DEVICE_ACTIONS: dict[str, Action] = {
    "devices.require_one_device": require_one_device,
    "devices.sync": sync,
    "devices.remote_lock": remote_lock,
    "devices.reset_passcode": reset_passcode,
}
