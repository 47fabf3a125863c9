"""The directory interface the domain uses (Active Directory, or the sandbox's directory emulator)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from connectors.health import Finding


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
    # State the trust checks read (AD names in comments); None when the directory does not say.
    bad_password_count: int = 0  # badPwdCount (kept per DC in AD: the value of the DC that answered)
    lockout_time: datetime | None = None  # lockoutTime, None when 0
    password_last_set: datetime | None = None  # pwdLastSet, None when 0 (must change) or never set
    must_change_password: bool = False  # pwdLastSet = 0: the next logon must change the password
    password_never_expires: bool = False  # userAccountControl DONT_EXPIRE_PASSWORD
    password_not_required: bool = False  # userAccountControl PASSWD_NOTREQD
    service_principal_names: frozenset[str] = field(default_factory=frozenset)  # servicePrincipalName
    created: datetime | None = None  # whenCreated
    changed: datetime | None = None  # whenChanged
    last_logon: datetime | None = None  # lastLogonTimestamp (replicated, up to ~14 days late in AD)
    user_account_control: int = 0
    # mobile: the number on file, the only place a temporary password may be sent (never one from a request).
    mobile: str | None = None


@dataclass(frozen=True)
class Lookup:
    """What a search for one identifier found: nothing, exactly one account, or several (ambiguous)."""

    identifier: str
    accounts: tuple[Account, ...] = ()

    @property
    def account(self) -> Account | None:
        """The one account found, or None when nothing or several matched: the bot never picks one."""
        return self.accounts[0] if len(self.accounts) == 1 else None

    @property
    def ambiguous(self) -> bool:
        """Several accounts answer to the identifier; a human must say which one is meant."""
        return len(self.accounts) > 1

    @property
    def not_found(self) -> bool:
        """No account answers to the identifier."""
        return not self.accounts


@dataclass(frozen=True)
class Change:
    """A write the connector made, or would make in dry run; ``before``/``after`` feed the audit.

    ``server`` is the domain controller (or endpoint) that took or would take the write.
    A Change never holds a secret: a password reset says that it happened, never the password.
    """

    action: str
    target: str
    before: dict[str, str]
    after: dict[str, str]
    dry_run: bool = False
    server: str = ""


class Directory(Protocol):
    """What the domain needs from a directory, in the domain's words."""

    def find_accounts(self, login: str) -> list[Account]:
        """Accounts whose sAMAccountName, userPrincipalName or mail equals ``login`` exactly."""
        ...

    def find_by_display_name(self, name: str) -> list[Account]:
        """Accounts whose display name equals ``name`` exactly (ignoring case); several is normal."""
        ...

    def look_up(self, identifier: str) -> Lookup:
        """Every account whose sAMAccountName, UPN, mail or display name equals ``identifier``, ambiguity kept."""
        ...

    def read_account(self, dn: str) -> Account:
        """Fresh state of one account; raises ``NotFoundError``."""
        ...

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        """Clear the lockout of ``account`` (AD: ``lockoutTime`` = 0)."""
        ...

    def reset_password(
        self, account: Account, new_password: str, *, must_change: bool = True, dry_run: bool = False
    ) -> Change:
        """Set a new password (AD: ``unicodePwd`` over TLS), by default to be changed at next logon."""
        ...

    def doctor(self, partner_ous: Sequence[str] = ()) -> list[Finding]:
        """Check reachability, authentication and exactly the rights needed in each partner OU; never raises."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
