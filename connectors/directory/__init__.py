"""The directory interface the domain uses (Active Directory, or the sandbox's directory emulator)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Account:
    """One directory account as read from the directory, never from the request text."""

    dn: str
    sam: str
    upn: str
    mail: str | None
    display_name: str
    enabled: bool
    locked: bool
    admin_count: int = 0
    # Common names of every group the account belongs to, nested membership included.
    groups: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Change:
    """A write the connector made, or would make in dry run; ``before``/``after`` feed the audit."""

    action: str
    target: str
    before: dict[str, str]
    after: dict[str, str]
    dry_run: bool = False


class Directory(Protocol):
    """What the domain needs from a directory, in the domain's words."""

    def find_accounts(self, login: str) -> list[Account]:
        """Accounts whose sAMAccountName, userPrincipalName or mail equals ``login`` exactly."""
        ...

    def read_account(self, dn: str) -> Account:
        """Fresh state of one account; raises ``NotFoundError``."""
        ...

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        """Clear the lockout of ``account`` (AD: ``lockoutTime`` = 0)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
