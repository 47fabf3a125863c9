"""Intune managed devices of the Graph emulator: the users' phones and the remote actions on them.

Devices are kept as Graph ``managedDevice`` JSON (names from the v1.0 CSDL). An action (``remoteLock``,
``wipe``…) answers 204 and appends a ``deviceActionResult`` in state ``pending``; the first read that
shows it advances it to ``done``, so a client polling the device sees the action go through as in Intune.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.graph.errors import GraphError, bad_request
from sandbox.graph.mailstore import graph_time
from sandbox.graph.odata import QueryOptions, next_link
from sandbox.graph.permissions import require_permission

if TYPE_CHECKING:
    from sandbox.scenario import DirectoryUser, Scenario

Device = dict[str, Any]

# Names from the v1.0 CSDL entity type ``managedDevice``: the properties this emulator serves.
DEVICE_PROPERTIES = (
    "id", "azureADDeviceId", "azureADRegistered", "complianceState", "deviceActionResults", "deviceEnrollmentType",
    "deviceName", "deviceRegistrationState", "emailAddress", "enrolledDateTime", "imei", "isEncrypted",
    "isSupervised", "jailBroken", "lastSyncDateTime", "managedDeviceName", "managedDeviceOwnerType",
    "managementAgent", "managementState", "manufacturer", "model", "operatingSystem", "osVersion", "phoneNumber",
    "serialNumber", "subscriberCarrier", "userDisplayName", "userId", "userPrincipalName",
)
# The managedDevice actions served, each with its parameter names as the CSDL declares them.
DEVICE_ACTIONS: dict[str, tuple[str, ...]] = {
    "remoteLock": (),
    "syncDevice": (),
    "resetPasscode": (),
    "retire": (),
    "wipe": ("keepEnrollmentData", "keepUserData", "macOsUnlockCode", "persistEsimDataPlan"),
}
# Names from the CSDL complex type ``deviceActionResult``.
ACTION_RESULT_PROPERTIES = ("actionName", "actionState", "startDateTime", "lastUpdatedDateTime")
READ_PERMISSIONS = ("DeviceManagementManagedDevices.Read.All", "DeviceManagementManagedDevices.ReadWrite.All")
ACTION_PERMISSIONS = ("DeviceManagementManagedDevices.PrivilegedOperations.All",)
# What each action does to the device besides recording its result.
_MANAGEMENT_STATE_AFTER = {"retire": "retirePending", "wipe": "wipePending"}
_STRING_PARAMETERS = {"macOsUnlockCode"}
DEFAULT_PAGE_SIZE = 100
STORE_FORMAT = 1
STORE_KIND = "sesame-sandbox-managed-devices"
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
_ENROLLED_EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class DeviceStoreError(ValueError):
    """The device file cannot be read, or names a device that does not exist."""


def user_object_id(user_principal_name: str) -> str:
    """The stable Entra object id of a scenario user, shared with the Entra part of the emulator."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-user:" + user_principal_name.lower()))


def entra_upn(user: DirectoryUser, domain: str) -> str:
    """The user's UPN as the Entra part of the emulator has it: the scenario's, else ``sam@`` the tenant's domain."""
    return user.upn or f"{user.sam}@{domain}"


@dataclass(frozen=True)
class _PhoneModel:
    operating_system: str
    os_version: str
    manufacturer: str
    model: str
    enrollment_type: str
    serial_prefix: str


# Alternated in scenario order so every scenario with two phones has both platforms.
_PHONES = (
    _PhoneModel("iOS", "17.6.1", "Apple", "iPhone 14", "appleBulkWithUser", "F"),
    _PhoneModel("Android", "14", "samsung", "SM-A546B", "userEnrollment", "R58"),
)


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()


def _seed_device(user: DirectoryUser, upn: str, index: int, now: datetime) -> Device:
    phone = _PHONES[index % len(_PHONES)]
    digest = _digest("sesame-sandbox-device", upn)
    serial = (phone.serial_prefix + digest.hex().upper())[:12]
    enrolled = _ENROLLED_EPOCH + timedelta(days=digest[0], minutes=digest[1])
    display = f"{user.given_name} {user.surname}".strip() or user.sam
    device_name = f"iPhone de {user.given_name or user.sam}" if phone.operating_system == "iOS" else (
        f"Galaxy de {user.given_name or user.sam}"
    )
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-device:" + upn)),
        "userId": user_object_id(upn),
        "userPrincipalName": upn,
        "userDisplayName": display,
        "emailAddress": user.mail,
        "deviceName": device_name,
        "managedDeviceName": f"{user.sam}_{phone.operating_system}_{enrolled:%m/%d/%Y_%I:%M %p}",
        "operatingSystem": phone.operating_system,
        "osVersion": phone.os_version,
        "manufacturer": phone.manufacturer,
        "model": phone.model,
        "serialNumber": serial,
        "imei": "35" + str(int.from_bytes(digest[2:10], "big"))[:13],
        "phoneNumber": user.mobile,
        "subscriberCarrier": "Orange F",
        "complianceState": "compliant",
        "managementState": "managed",
        "managementAgent": "mdm",
        "managedDeviceOwnerType": "company",
        "deviceEnrollmentType": phone.enrollment_type,
        "deviceRegistrationState": "registered",
        "azureADRegistered": True,
        "azureADDeviceId": str(uuid.UUID(bytes=digest[16:32], version=4)),
        "isEncrypted": True,
        "isSupervised": phone.operating_system == "iOS",
        "jailBroken": "False",
        "enrolledDateTime": graph_time(enrolled),
        "lastSyncDateTime": graph_time(now - timedelta(minutes=15 + digest[3])),
        "deviceActionResults": [],
    }


class DeviceStore:
    """Managed devices in enrolment order, optionally saved after each change; every method is thread-safe."""

    def __init__(self, devices: Iterable[Device] = (), *, persist_to: Path | None = None) -> None:
        self._lock = threading.RLock()
        self._devices: list[Device] = [copy.deepcopy(d) for d in devices]
        # Parameters of each action received, kept for tests: Graph itself does not return them.
        self._requests: list[dict[str, Any]] = []
        self._persist_to = Path(persist_to) if persist_to else None

    # ----- construction and persistence -------------------------------------------------------

    @classmethod
    def from_scenario(cls, scenario: Scenario, *, domain: str, persist_to: Path | None = None) -> DeviceStore:
        """One company phone per scenario user with a ``mobile``, enrolled to the user's ``upn`` at ``domain``."""
        now = datetime.now(UTC)
        with_phone = [u for u in scenario.users if u.mobile]
        devices = [_seed_device(u, entra_upn(u, domain), i, now) for i, u in enumerate(with_phone)]
        store = cls(devices, persist_to=persist_to)
        store._autosave()
        return store

    @classmethod
    def load(cls, path: Path, *, persist_to: Path | None = None) -> DeviceStore:
        """Read a store written by ``save`` (JSON, or SQLite by suffix); ``persist_to`` enables autosave."""
        path = Path(path)
        try:
            data = _read_sqlite(path) if path.suffix.lower() in SQLITE_SUFFIXES else _read_json(path)
        except (OSError, sqlite3.Error, json.JSONDecodeError) as exc:
            raise DeviceStoreError(f"{path}: cannot read the sandbox device file: {exc}") from exc
        if not isinstance(data, dict) or (data.get("kind"), data.get("format")) != (STORE_KIND, STORE_FORMAT):
            raise DeviceStoreError(f"{path}: not a sandbox device file (format {STORE_FORMAT} expected)")
        store = cls(data.get("devices", []), persist_to=persist_to)
        store._requests = list(data.get("requests", []))
        return store

    def save(self, path: Path) -> None:
        """Write every device to ``path``: SQLite for ``.sqlite``/``.sqlite3``/``.db``, JSON otherwise."""
        path = Path(path)
        with self._lock:
            devices, requests = copy.deepcopy(self._devices), copy.deepcopy(self._requests)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in SQLITE_SUFFIXES:
            _write_sqlite(path, devices, requests)
            return
        data = {"kind": STORE_KIND, "format": STORE_FORMAT, "devices": devices, "requests": requests}
        text = json.dumps(data, indent=1)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)

    def _autosave(self) -> None:
        if self._persist_to is not None:
            self.save(self._persist_to)

    # ----- reads ------------------------------------------------------------------------------

    def devices(self) -> list[Device]:
        """A copy of every device, as stored (reading here does not advance pending actions)."""
        with self._lock:
            return copy.deepcopy(self._devices)

    def device(self, device_id: str) -> Device | None:
        """A copy of one device, or None."""
        with self._lock:
            found = self._find(device_id)
            return copy.deepcopy(found) if found else None

    def action_requests(self, device_id: str | None = None) -> list[dict[str, Any]]:
        """The actions received (``deviceId``, ``actionName``, ``parameters``), oldest first."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._requests if device_id in (None, r["deviceId"])]

    def observe(self, keep: Callable[[Device], bool]) -> list[Device]:
        """Devices as a Graph read returns them: pending actions show once as pending, then become done."""
        with self._lock:
            shown = [copy.deepcopy(d) for d in self._devices if keep(d)]
            moment = graph_time(datetime.now(UTC))
            changed = False
            for device in self._devices:
                if not keep(device):
                    continue
                for result in device["deviceActionResults"]:
                    if result["actionState"] == "pending":
                        result.update(actionState="done", lastUpdatedDateTime=moment)
                        changed = True
            if changed:
                self._autosave()
            return shown

    # ----- writes -----------------------------------------------------------------------------

    def perform(self, device_id: str, action: str, parameters: dict[str, Any] | None = None) -> Device:
        """Record ``action`` as pending on the device and apply its effect; KeyError when the device is unknown."""
        if action not in DEVICE_ACTIONS:
            raise DeviceStoreError(f"unknown managed device action {action!r}; known: {', '.join(DEVICE_ACTIONS)}")
        with self._lock:
            device = self._find(device_id)
            if device is None:
                raise KeyError(device_id)
            moment = graph_time(datetime.now(UTC))
            device["deviceActionResults"].append(
                {"actionName": action, "actionState": "pending", "startDateTime": moment, "lastUpdatedDateTime": moment}
            )
            if action in _MANAGEMENT_STATE_AFTER:
                device["managementState"] = _MANAGEMENT_STATE_AFTER[action]
            if action == "syncDevice":
                device["lastSyncDateTime"] = moment
            self._requests.append({"deviceId": device["id"], "actionName": action, "parameters": parameters or {}})
            self._autosave()
            return copy.deepcopy(device)

    def _find(self, device_id: str) -> Device | None:
        return next((d for d in self._devices if d["id"].lower() == device_id.lower()), None)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _read_sqlite(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise OSError(f"no such file: {path}")
    with sqlite3.connect(path) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        devices = [json.loads(row[0]) for row in db.execute("SELECT body FROM managed_devices ORDER BY position")]
        requests = [json.loads(row[0]) for row in db.execute("SELECT body FROM action_requests ORDER BY position")]
    return {"kind": meta.get("kind"), "format": int(meta.get("format", 0)), "devices": devices, "requests": requests}


def _write_sqlite(path: Path, devices: list[Device], requests: list[dict[str, Any]]) -> None:
    db = sqlite3.connect(path)
    try:
        with db:  # one transaction: a reader never sees half a save
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS managed_devices (position INTEGER PRIMARY KEY, id TEXT, body TEXT)")
            db.execute("CREATE TABLE IF NOT EXISTS action_requests (position INTEGER PRIMARY KEY, body TEXT)")
            db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", [("kind", STORE_KIND), ("format", str(STORE_FORMAT))]
            )
            db.execute("DELETE FROM managed_devices")
            db.execute("DELETE FROM action_requests")
            db.executemany(
                "INSERT INTO managed_devices VALUES (?, ?, ?)",
                [(i, d["id"], json.dumps(d)) for i, d in enumerate(devices)],
            )
            db.executemany(
                "INSERT INTO action_requests VALUES (?, ?)", [(i, json.dumps(r)) for i, r in enumerate(requests)]
            )
    finally:
        db.close()


# ----- routes ---------------------------------------------------------------------------------


class DeviceRoutes:
    """``/v1.0/deviceManagement/managedDevices`` and ``/v1.0/users/{id}/managedDevices`` over a ``DeviceStore``."""

    def __init__(
        self, store: DeviceStore, *, origin: Callable[[Request], str], page_size: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self.store = store
        self._origin = origin
        self._page_size = page_size

    def routes(self) -> list[Route]:
        """Starlette routes: collections, items and one route per action, under both parents."""
        routes: list[Route] = []
        for collection in ("/v1.0/deviceManagement/managedDevices", "/v1.0/users/{user}/managedDevices"):
            item = collection + "/{device_id}"
            routes.append(Route(collection, self.list_devices, methods=["GET"]))
            routes.append(Route(item, self.get_device, methods=["GET"]))
            routes += [Route(f"{item}/{name}", self._action(name), methods=["POST"]) for name in DEVICE_ACTIONS]
        return routes

    # ----- endpoints --------------------------------------------------------------------------

    async def list_devices(self, request: Request) -> Response:
        """A page of managed devices (all, or the user's) with an absolute ``@odata.nextLink``."""
        require_permission(request, *READ_PERMISSIONS)
        params = dict(request.query_params)
        options = QueryOptions.parse(params, selectable=DEVICE_PROPERTIES)
        owned = _owned_by(request)
        page, next_skip = options.page([d for d in self.store.devices() if owned(d)], page_size=self._page_size)
        # Observe only the page: pending actions advance on devices the client was actually shown.
        shown_ids = {d["id"] for d in page}
        observed = {d["id"]: d for d in self.store.observe(lambda d: d["id"] in shown_ids)}
        origin = self._origin(request)
        payload: dict[str, Any] = {
            "@odata.context": f"{origin}/v1.0/$metadata#deviceManagement/managedDevices",
            "value": [options.project(observed[d["id"]]) for d in page if d["id"] in observed],
        }
        if next_skip is not None:
            payload["@odata.nextLink"] = next_link(origin, request.url.path, params, next_skip)
        return JSONResponse(payload)

    async def get_device(self, request: Request) -> Response:
        """One managed device, by id."""
        require_permission(request, *READ_PERMISSIONS)
        options = QueryOptions.parse(dict(request.query_params), selectable=DEVICE_PROPERTIES)
        device = self._the_device(request)
        payload = {"@odata.context": f"{self._origin(request)}/v1.0/$metadata#deviceManagement/managedDevices/$entity"}
        payload.update(options.project(device))
        return JSONResponse(payload)

    def _action(self, name: str) -> Callable[[Request], Awaitable[Response]]:
        async def act(request: Request) -> Response:
            require_permission(request, *ACTION_PERMISSIONS)
            parameters = _action_parameters(name, await request.body())
            device = self._the_device(request, observe=False)
            self.store.perform(device["id"], name, parameters)
            return Response(status_code=204)

        act.__doc__ = f"POST {name}: 204, the action recorded as pending on the device."
        return act

    # ----- helpers ----------------------------------------------------------------------------

    def _the_device(self, request: Request, *, observe: bool = True) -> Device:
        device_id = str(request.path_params["device_id"])
        owned = _owned_by(request)

        def keep(device: Device) -> bool:
            return device["id"].lower() == device_id.lower() and owned(device)

        found = self.store.observe(keep) if observe else [d for d in self.store.devices() if keep(d)]
        if not found:
            raise GraphError(404, "ResourceNotFound", f"The managed device '{device_id}' was not found.")
        return found[0]


def _owned_by(request: Request) -> Callable[[Device], bool]:
    """Under ``/users/{user}`` only that user's devices (by object id or UPN); all of them otherwise."""
    user = request.path_params.get("user")
    if user is None:
        return lambda device: True
    key = str(user).lower()
    return lambda device: key in (device["userId"].lower(), device["userPrincipalName"].lower())


def _action_parameters(action: str, body: bytes) -> dict[str, Any]:
    """The action's parameters read case-insensitively under their CSDL names; 400 on anything else."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise bad_request(f"The request body of '{action}' is not valid JSON: {exc.msg}.") from exc
    if not isinstance(data, dict):
        raise bad_request(f"The request body of '{action}' must be a JSON object.")
    known = {name.lower(): name for name in DEVICE_ACTIONS[action]}
    parameters: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("@odata"):
            continue
        name = known.get(key.lower())
        if name is None:
            raise bad_request(
                f"The parameter '{key}' in the request payload is not a valid parameter for the operation '{action}'."
            )
        expected: type = str if name in _STRING_PARAMETERS else bool
        if value is not None and not isinstance(value, expected):
            kind = "Edm.String" if expected is str else "Edm.Boolean"
            raise bad_request(f"Cannot convert the literal '{value}' to the expected type '{kind}' of '{name}'.")
        parameters[name] = value
    return parameters
