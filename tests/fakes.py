"""In-memory fakes of Sésame's own connector interfaces, for unit tests of the domain (never of the clients)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from connectors.directory import Account, Change, Lookup
from connectors.errors import NotFoundError
from connectors.health import Finding
from connectors.tickets import Closure, NewIncident, TicketRef


@dataclass
class FakeTicket:
    ref: TicketRef
    incident: NewIncident
    group: str
    notes: list[str] = field(default_factory=list)
    closure: Closure | None = None


class FakeTickets:
    """Keeps incidents in a dict; records hand-overs and closures as ServiceNow would show them."""

    def __init__(self) -> None:
        self.tickets: dict[str, FakeTicket] = {}

    def find_by_correlation(self, correlation_id: str) -> TicketRef | None:
        return next((t.ref for t in self.tickets.values() if t.incident.correlation_id == correlation_id), None)

    def create_incident(self, incident: NewIncident) -> TicketRef:
        ref = TicketRef(sys_id=f"{len(self.tickets) + 1:032x}", number=f"INC{10001 + len(self.tickets):07d}")
        self.tickets[ref.sys_id] = FakeTicket(ref, incident, incident.assignment_group)
        return ref

    def add_work_note(self, ticket: TicketRef, note: str) -> None:
        self.tickets[ticket.sys_id].notes.append(note)

    def hand_to_humans(self, ticket: TicketRef, group: str, note: str) -> None:
        self.tickets[ticket.sys_id].group = group
        self.tickets[ticket.sys_id].notes.append(note)

    def resolve_and_close(self, ticket: TicketRef, closure: Closure) -> None:
        self.tickets[ticket.sys_id].closure = closure

    def close(self) -> None:
        pass


class FakeDirectory:
    """Accounts by DN; ``unlock`` clears the flag and ``reset_password`` sets must-change, like AD would."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = {a.dn: a for a in accounts}
        self.writes: list[Change] = []
        # DN -> the last password set, so a test can check it reached the directory (never in a Change).
        self.passwords: dict[str, str] = {}

    def find_accounts(self, login: str) -> list[Account]:
        wanted = login.lower()
        return [a for a in self.accounts.values() if wanted in {a.sam.lower(), a.upn.lower(), (a.mail or "").lower()}]

    def find_by_display_name(self, name: str) -> list[Account]:
        wanted = name.strip().lower()
        return [a for a in self.accounts.values() if wanted and a.display_name.lower() == wanted]

    def look_up(self, identifier: str) -> Lookup:
        found = {a.dn: a for a in [*self.find_accounts(identifier), *self.find_by_display_name(identifier)]}
        return Lookup(identifier, tuple(found[dn] for dn in sorted(found)))

    def read_account(self, dn: str) -> Account:
        if dn not in self.accounts:
            raise NotFoundError(dn, system="fake")
        return self.accounts[dn]

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        change = Change("unlock", account.dn, {"locked": str(account.locked)}, {"locked": "False"}, dry_run)
        if not dry_run:
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
            self.accounts[account.dn] = replace(account, must_change_password=must_change)
            self.passwords[account.dn] = new_password
            self.writes.append(change)
        return change

    def doctor(self, partner_ous: Sequence[str] = ()) -> list[Finding]:
        return [Finding("fake", f"rights in {ou}", True, "fake directory") for ou in partner_ous]

    def close(self) -> None:
        pass
