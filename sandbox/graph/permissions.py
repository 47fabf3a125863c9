"""Application permissions (app roles) of the calling client, checked per endpoint as Graph does.

The bearer guard puts the caller's ``GraphApp`` in the ASGI scope under ``graph_app``; a route states the
permissions any one of which lets it through. A call without them gets Graph's 403, so least-privilege
configurations can be rehearsed against the sandbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.requests import Request

from sandbox.graph.errors import GraphError

SCOPE_KEY = "graph_app"
# What Sésame's bot is granted on a real tenant (security note §3.2): read the directory, reset cloud passwords,
# revoke sessions, read devices, and work the shared mailbox. Nothing that writes authentication methods.
DEFAULT_PERMISSIONS = frozenset({
    "Mail.ReadWrite",
    "Mail.Send",
    "User.Read.All",
    "GroupMember.Read.All",
    "RoleManagement.Read.Directory",
    "UserAuthenticationMethod.Read.All",
    "User-PasswordProfile.ReadWrite.All",
    "User.RevokeSessions.All",
    "DeviceManagementManagedDevices.Read.All",
})


@dataclass(frozen=True)
class GraphApp:
    """One app registration: its client id, the application permissions granted to it, and its secret."""

    client_id: str
    permissions: frozenset[str]
    secret: str = field(default="", repr=False, compare=False)

    @classmethod
    def of(cls, client_id: str, permissions: Iterable[str], secret: str = "") -> GraphApp:
        """An app registration from any iterable of permission names (e.g. a scenario's ``graph_apps``)."""
        return cls(client_id, frozenset(permissions), secret)


def caller(request: Request) -> GraphApp | None:
    """The app registration the request's token was issued to, if the guard recorded one."""
    app = request.scope.get(SCOPE_KEY)
    return app if isinstance(app, GraphApp) else None


def require_permission(request: Request, *any_of: str) -> None:
    """Let the call through when the caller holds one of ``any_of``; else Graph's 403."""
    app = caller(request)
    if app is None or app.permissions & set(any_of):
        return
    raise GraphError(
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation. "
        f"The application needs one of these permissions: {', '.join(any_of)}.",
    )
