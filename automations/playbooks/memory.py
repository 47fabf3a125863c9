"""In-memory implementations of Sésame's own connector interfaces, for ``sesame playbook test`` and unit tests.

They behave like the real systems where a playbook can tell (an unlock clears the lock, a reset sets
must-change, a remote action is listed on the device) and record every write, so a test can assert exactly
what a run changed. ``fail`` makes one method raise, to test a failing step: ``{"unlock": "transient"}``.
Nothing here talks to a network; nothing here is used by the fleet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from connectors.devices import DeviceAction, ManagedDevice
from connectors.directory import Account, Change, Lookup
from connectors.errors import ConnectorError, NotFoundError, PolicyRefusalError, TransientError
from connectors.health import Finding
from connectors.identity import (
    AmbiguousIdentityError,
    CloudIdentity,
    CloudIdentityState,
    CloudRole,
    MustUseActiveDirectoryError,
)
from connectors.messaging import DRY_RUN, SmsReceipt
from connectors.tickets import Closure, NewIncident, TicketRef

# What ``fail`` may ask a method to raise.
FAILURES: dict[str, type[ConnectorError]] = {
    "transient": TransientError, "refused": PolicyRefusalError, "error": ConnectorError,
}


class _Failing:
    """Raise the configured error from a method: ``"transient"`` always, ``"transient*2"`` on the first two
    calls only, ``"transient@2"`` on the second call only (to fail a later step that repeats an earlier read)."""

    system = "memory"

    def __init__(self, fail: Mapping[str, str] | None = None) -> None:
        self.fail: dict[str, str] = dict(fail or {})
        self.calls: dict[str, int] = {}

    def _maybe_fail(self, method: str) -> None:
        self.calls[method] = self.calls.get(method, 0) + 1
        kind = self.fail.get(method)
        if kind is None:
            return
        error, _, times = kind.partition("*")
        error, _, only = error.partition("@")
        if (times and self.calls[method] > int(times)) or (only and self.calls[method] != int(only)):
            return
        raise FAILURES.get(error, ConnectorError)(f"{method} failed (test fault {kind!r})", system=self.system,
                                                  request_id=f"test-{method}-{self.calls[method]}")


@dataclass
class MemoryTicket:
    ref: TicketRef
    incident: NewIncident
    group: str
    notes: list[str] = field(default_factory=list)
    closure: Closure | None = None


class MemoryTickets(_Failing):
    """Incidents in a dict; records hand-overs, work notes and closures as ServiceNow would show them."""

    system = "tickets"

    def __init__(self, fail: Mapping[str, str] | None = None) -> None:
        super().__init__(fail)
        self.tickets: dict[str, MemoryTicket] = {}

    def find_by_correlation(self, correlation_id: str) -> TicketRef | None:
        return next((t.ref for t in self.tickets.values() if t.incident.correlation_id == correlation_id), None)

    def create_incident(self, incident: NewIncident) -> TicketRef:
        self._maybe_fail("create_incident")
        ref = TicketRef(sys_id=f"{len(self.tickets) + 1:032x}", number=f"INC{10001 + len(self.tickets):07d}")
        self.tickets[ref.sys_id] = MemoryTicket(ref, incident, incident.assignment_group)
        return ref

    def add_work_note(self, ticket: TicketRef, note: str) -> None:
        self._maybe_fail("add_work_note")
        self.tickets[ticket.sys_id].notes.append(note)

    def hand_to_humans(self, ticket: TicketRef, group: str, note: str) -> None:
        self.tickets[ticket.sys_id].group = group
        self.tickets[ticket.sys_id].notes.append(note)

    def resolve_and_close(self, ticket: TicketRef, closure: Closure) -> None:
        self._maybe_fail("resolve_and_close")
        self.tickets[ticket.sys_id].closure = closure

    def close(self) -> None:
        pass


class MemoryDirectory(_Failing):
    """Accounts by DN; ``unlock`` clears the flag and ``reset_password`` sets must-change, like AD would."""

    system = "directory"

    def __init__(self, accounts: Sequence[Account], fail: Mapping[str, str] | None = None) -> None:
        super().__init__(fail)
        self.accounts = {a.dn: a for a in accounts}
        self.writes: list[Change] = []
        # DN -> the last password set, so a test can check it reached the directory (never in a Change).
        self.passwords: dict[str, str] = {}
        # Test switch: a write that "succeeds" without effect, to exercise the read-back checks.
        self.ineffective: set[str] = set()

    def find_accounts(self, login: str) -> list[Account]:
        self._maybe_fail("find_accounts")
        wanted = login.lower()
        return [a for a in self.accounts.values() if wanted in {a.sam.lower(), a.upn.lower(), (a.mail or "").lower()}]

    def find_by_display_name(self, name: str) -> list[Account]:
        wanted = name.strip().lower()
        return [a for a in self.accounts.values() if wanted and a.display_name.lower() == wanted]

    def look_up(self, identifier: str) -> Lookup:
        found = {a.dn: a for a in [*self.find_accounts(identifier), *self.find_by_display_name(identifier)]}
        return Lookup(identifier, tuple(found[dn] for dn in sorted(found)))

    def read_account(self, dn: str) -> Account:
        self._maybe_fail("read_account")
        if dn not in self.accounts:
            raise NotFoundError(dn, system=self.system)
        return self.accounts[dn]

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        change = Change("unlock", account.dn, {"locked": str(account.locked)}, {"locked": "False"}, dry_run)
        if not dry_run:
            self._maybe_fail("unlock")
            if "unlock" not in self.ineffective:
                self.accounts[account.dn] = replace(account, locked=False)
            self.writes.append(change)
        return change

    def reset_password(
        self, account: Account, new_password: str, *, must_change: bool = True, dry_run: bool = False
    ) -> Change:
        before = {"mustChangePassword": str(account.must_change_password).lower()}
        after = {"passwordReset": "true", "mustChangePassword": str(must_change).lower()}
        change = Change("reset_password", account.dn, before, after, dry_run)
        if not dry_run:
            self._maybe_fail("reset_password")
            if "reset_password" not in self.ineffective:
                self.accounts[account.dn] = replace(account, must_change_password=must_change)
            self.passwords[account.dn] = new_password
            self.writes.append(change)
        return change

    def doctor(self, partner_ous: Sequence[str] = ()) -> list[Finding]:
        return [Finding("memory", f"rights in {ou}", True, "in-memory directory") for ou in partner_ous]

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class PhonedCloudIdentity(CloudIdentity):
    """An Entra user with the ``mobilePhone`` a connector may expose (the Entra connector does not read it yet)."""

    mobile_phone: str | None = None


@dataclass
class MemoryCloudUser:
    """An Entra ID user with what the state read returns; ``mobile_phone`` is what a connector may expose."""

    identity: CloudIdentity
    roles: tuple[CloudRole, ...] = ()
    methods: tuple[str, ...] = ()
    sspr_registered: bool | None = None


class MemoryIdentities(_Failing):
    """Entra ID users by object id; cloud writes to a synced user are refused, as Entra does."""

    system = "entra"

    def __init__(self, users: Sequence[MemoryCloudUser], fail: Mapping[str, str] | None = None) -> None:
        super().__init__(fail)
        self.users = {u.identity.id: u for u in users}
        self.writes: list[Change] = []
        self.passwords: dict[str, str] = {}

    def find_user(self, login: str) -> CloudIdentity:
        self._maybe_fail("find_user")
        wanted = login.lower()
        found = [u.identity for u in self.users.values()
                 if wanted in {u.identity.user_principal_name.lower(), (u.identity.mail or "").lower(),
                               (u.identity.on_premises_sam_account_name or "").lower()}]
        if not found:
            raise NotFoundError(f"no user {login!r}", system=self.system)
        if len(found) > 1:
            raise AmbiguousIdentityError(f"{len(found)} users match {login!r}", system=self.system,
                                         candidates=tuple(i.user_principal_name for i in found))
        return found[0]

    def read_state(self, identity: CloudIdentity) -> CloudIdentityState:
        self._maybe_fail("read_state")
        user = self.users[identity.id]
        return CloudIdentityState(identity=user.identity, roles=user.roles, authentication_methods=user.methods,
                                  sspr_registered=user.sspr_registered, sspr_detail="in-memory")

    def revoke_sessions(self, identity: CloudIdentity, *, dry_run: bool = False) -> Change:
        change = Change("revoke_sessions", identity.user_principal_name, {}, {"sessions": "revoked"}, dry_run)
        if not dry_run:
            self._maybe_fail("revoke_sessions")
            self.writes.append(change)
        return change

    def reset_password(self, identity: CloudIdentity, new_password: str, *, force_change: bool = True,
                       dry_run: bool = False) -> Change:
        user = self.users[identity.id]
        if user.identity.synced_from_ad:
            raise MustUseActiveDirectoryError("the user is synchronised from AD", identity=user.identity,
                                              system=self.system)
        change = Change("reset_password", identity.user_principal_name, {},
                        {"forceChangePasswordNextSignIn": str(force_change).lower()}, dry_run)
        if not dry_run:
            self._maybe_fail("reset_password")
            self.passwords[identity.id] = new_password
            self.writes.append(change)
        return change

    def close(self) -> None:
        pass


class MemoryDevices(_Failing):
    """Managed devices; each remote action is recorded on the device, as Intune lists ``deviceActionResults``."""

    system = "intune"

    def __init__(self, devices: Sequence[ManagedDevice], fail: Mapping[str, str] | None = None) -> None:
        super().__init__(fail)
        self.devices = list(devices)
        self.writes: list[Change] = []
        self.actions: dict[str, list[DeviceAction]] = {}

    def devices_of(self, user: str) -> list[ManagedDevice]:
        self._maybe_fail("devices_of")
        return [d for d in self.devices if d.owner.lower() == user.lower()]

    def _act(self, name: str, device: ManagedDevice, dry_run: bool) -> Change:
        change = Change(name, device.id, {}, {"action": name, "state": "pending"}, dry_run)
        if not dry_run:
            self._maybe_fail(name)
            self.actions.setdefault(device.id, []).append(DeviceAction(name, "pending", None, None))
            self.writes.append(change)
        return change

    def remote_lock(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        return self._act("remote_lock", device, dry_run)

    def reset_passcode(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        return self._act("reset_passcode", device, dry_run)

    def sync(self, device: ManagedDevice, *, dry_run: bool = False) -> Change:
        return self._act("sync", device, dry_run)

    def action_status(self, device: ManagedDevice) -> list[DeviceAction]:
        return list(self.actions.get(device.id, []))

    def close(self) -> None:
        pass


class MemorySms(_Failing):
    """An SMS gateway that keeps what it was asked to send (a test may check a password reached the holder)."""

    system = "sms"

    def __init__(self, fail: Mapping[str, str] | None = None) -> None:
        super().__init__(fail)
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str, *, dry_run: bool = False) -> SmsReceipt:
        if dry_run:
            return SmsReceipt("", DRY_RUN)
        self._maybe_fail("send")
        self.sent.append((to, text))
        return SmsReceipt(f"sms-{len(self.sent)}", "queued")

    def close(self) -> None:
        pass
