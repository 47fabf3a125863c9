"""The Microsoft Graph emulator as one Starlette application: token service plus ``/v1.0`` resources."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request

from sandbox.graph.errors import GraphError, RequestIdMiddleware, on_graph_error, on_http_error
from sandbox.graph.identity import AppRegistration, BearerGuard, TokenRegistry
from sandbox.graph.mail import MailRoutes
from sandbox.graph.mailstore import MailboxStore


def build_graph_app(
    mailbox: MailboxStore,
    *,
    tenant: str,
    client_id: str,
    client_secret: str,
    public_base: Callable[[], str] | None = None,
) -> Starlette:
    """A Graph emulator for one app registration; ``public_base`` gives the origin put in links.

    Without ``public_base`` links (``@odata.nextLink``, the token endpoint) use the scheme, host and
    port the request came in on, so they work for whatever address the client used.
    """

    def origin(request: Request) -> str:
        if public_base is not None:
            return public_base().rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}"

    tokens = TokenRegistry()
    registration = AppRegistration(
        tenant=tenant, client_id=client_id, client_secret=client_secret, tokens=tokens, origin=origin
    )
    mail = MailRoutes(mailbox, origin=origin)
    app = Starlette(
        routes=[*registration.routes(), *mail.routes()],
        middleware=[Middleware(RequestIdMiddleware), Middleware(BearerGuard, tokens=tokens)],
        exception_handlers={GraphError: on_graph_error, HTTPException: on_http_error},
    )
    app.state.tokens = tokens
    app.state.mailbox = mailbox
    return app
