"""The cloud identity interface the domain uses (Entra ID): find a user, read its state, act on cloud-only users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from connectors.directory import Change
from connectors.errors import ConnectorError, PolicyRefusalError

__all__ = [
    "AmbiguousIdentityError",
    "Change",
    "CloudIdentities",
    "CloudIdentity",
    "CloudIdentityState",
    "CloudRole",
    "MustUseActiveDirectoryError",
]


@dataclass(frozen=True)
class CloudIdentity:
    """One Entra ID user as the directory has it; ``synced_from_ad`` = mastered on-premises (AD Connect)."""

    id: str
    user_principal_name: str
    display_name: str
    mail: str | None
    enabled: bool
    synced_from_ad: bool
    on_premises_sam_account_name: str | None = None
    on_premises_distinguished_name: str | None = None
    created_at: datetime | None = None
    password_changed_at: datetime | None = None


@dataclass(frozen=True)
class CloudRole:
    """A directory role the user holds: ``active`` (assigned) or ``eligible`` (PIM, activable on demand)."""

    name: str
    role_definition_id: str
    scope: str
    kind: Literal["active", "eligible"]


@dataclass(frozen=True)
class CloudIdentityState:
    """What the trust checks need about a user, read fresh.

    ``sspr_registered`` is None when it could not be obtained; ``sspr_detail`` says why (or what was seen).
    """

    identity: CloudIdentity
    roles: tuple[CloudRole, ...]
    authentication_methods: tuple[str, ...]
    sspr_registered: bool | None
    sspr_detail: str

    @property
    def privileged(self) -> bool:
        """Whether the user holds or may activate any directory role."""
        return bool(self.roles)


class AmbiguousIdentityError(ConnectorError):
    """Several users match; ``candidates`` are their userPrincipalNames. A human must pick, the bot never does."""

    def __init__(self, message: str, *, candidates: tuple[str, ...], system: str = "") -> None:
        super().__init__(message, system=system)
        self.candidates = candidates


class MustUseActiveDirectoryError(PolicyRefusalError):
    """The user is synchronised from AD: the change must be made there (Entra refuses cloud writes)."""

    def __init__(self, message: str, *, identity: CloudIdentity, system: str = "", request_id: str | None = None
                 ) -> None:
        super().__init__(message, system=system, request_id=request_id)
        self.identity = identity


class CloudIdentities(Protocol):
    """What the domain needs from Entra ID, in the domain's words."""

    def find_user(self, login: str) -> CloudIdentity:
        """The one user whose UPN, mail, on-premises sAMAccountName or other mails equal ``login``.

        Raises ``NotFoundError`` for none and ``AmbiguousIdentityError`` for several.
        """
        ...

    def read_state(self, identity: CloudIdentity) -> CloudIdentityState:
        """Fresh state: enabled, synced, roles active or eligible, authentication methods, SSPR registration."""
        ...

    def revoke_sessions(self, identity: CloudIdentity, *, dry_run: bool = False) -> Change:
        """Invalidate the user's refresh tokens and session cookies."""
        ...

    def reset_password(self, identity: CloudIdentity, new_password: str, *, force_change: bool = True,
                       dry_run: bool = False) -> Change:
        """Set a cloud-only user's password; ``MustUseActiveDirectoryError`` for a synced one.

        The password is never logged nor returned.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
