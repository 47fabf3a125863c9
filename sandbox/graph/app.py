"""The Microsoft Graph emulator as one Starlette application: token service plus ``/v1.0`` resources."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute

from sandbox.graph.devices import DeviceRoutes, DeviceStore
from sandbox.graph.entra_store import EntraStore
from sandbox.graph.errors import GraphError, RequestIdMiddleware, on_graph_error, on_http_error
from sandbox.graph.identity import AppRegistration, BearerGuard, TokenRegistry
from sandbox.graph.mail import MailRoutes
from sandbox.graph.mailstore import MailboxStore
from sandbox.graph.permissions import DEFAULT_PERMISSIONS, GraphApp
from sandbox.graph.users import DirectoryRoutes


def registered_apps(client_id: str, client_secret: str, apps: Sequence[GraphApp]) -> list[GraphApp]:
    """Sésame's app (``DEFAULT_PERMISSIONS``) plus ``apps``; an entry for ``client_id`` replaces its permissions.

    An app without a secret of its own signs in with ``client_secret`` if it is Sésame's app; otherwise it
    cannot sign in at all (a registration without credentials).
    """
    registry = {client_id: GraphApp(client_id, DEFAULT_PERMISSIONS, client_secret)}
    for app in apps:
        keeps_secret = app.client_id == client_id and not app.secret
        registry[app.client_id] = replace(app, secret=client_secret) if keeps_secret else app
    return list(registry.values())


def build_graph_app(
    mailbox: MailboxStore,
    *,
    tenant: str,
    client_id: str,
    client_secret: str,
    public_base: Callable[[], str] | None = None,
    entra: EntraStore | None = None,
    apps: Sequence[GraphApp] = (),
    devices: DeviceStore | None = None,
) -> Starlette:
    """A Graph emulator for Sésame's app registration and ``apps``; ``public_base`` gives the origin put in links.

    Without ``public_base`` links (``@odata.nextLink``, ``Location``, the token endpoint) use the scheme, host
    and port the request came in on, so they work for whatever address the client used. Mail is always
    served; users, roles and authentication methods with ``entra``; Intune managed devices with ``devices``.
    """

    def origin(request: Request) -> str:
        if public_base is not None:
            return public_base().rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}"

    tokens = TokenRegistry()
    registration = AppRegistration(
        tenant=tenant, apps=registered_apps(client_id, client_secret, apps), tokens=tokens, origin=origin
    )
    mail = MailRoutes(mailbox, origin=origin)
    routes: list[BaseRoute] = [*registration.routes(), *mail.routes()]
    if entra is not None:
        routes += DirectoryRoutes(entra, origin=origin).routes()
    if devices is not None:
        routes += DeviceRoutes(devices, origin=origin).routes()
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestIdMiddleware), Middleware(BearerGuard, tokens=tokens)],
        exception_handlers={GraphError: on_graph_error, HTTPException: on_http_error},
    )
    app.state.tokens = tokens
    app.state.mailbox = mailbox
    app.state.entra = entra
    app.state.devices = devices
    return app
