"""A tiny Entra ID token service: client-credentials tokens for the app registrations, checked on ``/v1.0``.

Enough for ``azure.identity.ClientSecretCredential`` (MSAL reads the OpenID configuration, then posts
the form to the token endpoint). Tokens are opaque random strings remembered in memory with the app they
were issued to; a restarted sandbox forgets them and clients get a 401, then fetch a new one, as with a
revoked token. The guard hands the token's ``GraphApp`` to the routes, which check its permissions.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.graph.errors import graph_error_response
from sandbox.graph.permissions import SCOPE_KEY, GraphApp

TOKEN_LIFETIME_SECONDS = 3599


class TokenRegistry:
    """Access tokens handed out and when they expire; thread-safe."""

    def __init__(self, lifetime_seconds: int = TOKEN_LIFETIME_SECONDS) -> None:
        self._lifetime = lifetime_seconds
        self._expiry: dict[str, float] = {}
        self._apps: dict[str, GraphApp] = {}
        self._lock = threading.Lock()

    def issue(self, app: GraphApp | None = None) -> str:
        """A new random bearer token, bound to the app registration it was issued to."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expiry[token] = time.monotonic() + self._lifetime
            if app is not None:
                self._apps[token] = app
        return token

    def is_valid(self, token: str) -> bool:
        """Whether the token was issued here and has not expired."""
        with self._lock:
            expiry = self._expiry.get(token)
            return expiry is not None and expiry > time.monotonic()

    def app_for(self, token: str) -> GraphApp | None:
        """The app registration a token was issued to (None for tokens issued without one)."""
        with self._lock:
            return self._apps.get(token)

    def revoke_all(self) -> None:
        """Forget every token (clients must sign in again)."""
        with self._lock:
            self._expiry.clear()
            self._apps.clear()


class AppRegistration:
    """The tenant's app registrations (each with its secret), and the routes of its token service."""

    def __init__(
        self,
        *,
        tenant: str,
        apps: Iterable[GraphApp],
        tokens: TokenRegistry,
        origin: Callable[[Request], str],
    ) -> None:
        self.tenant = tenant
        self.apps = {app.client_id: app for app in apps}
        self.tokens = tokens
        self._origin = origin

    def routes(self) -> list[Route]:
        """The OpenID configuration and token endpoint routes."""
        return [
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.openid_configuration, methods=["GET"]),
            Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
        ]

    async def openid_configuration(self, request: Request) -> Response:
        """The discovery document MSAL reads before asking for a token."""
        tenant = request.path_params["tenant"]
        if tenant.lower() != self.tenant.lower():
            return _aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{self._origin(request)}/{self.tenant}"
        return JSONResponse(
            {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "grant_types_supported": ["client_credentials"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "tenant_region_scope": "EU",
            }
        )

    async def token(self, request: Request) -> Response:
        """Client-credentials grant: a bearer token for the registered client and secret."""
        tenant = request.path_params["tenant"]
        if tenant.lower() != self.tenant.lower():
            return _aad_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        # Parsed with the stdlib: Starlette's request.form() needs python-multipart, not a dependency.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        grant_type = str(form.get("grant_type", ""))
        client_id = str(form.get("client_id", ""))
        secret = str(form.get("client_secret", ""))
        scope = str(form.get("scope", ""))
        if grant_type != "client_credentials":
            return _aad_error(
                400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
            )
        app = self.apps.get(client_id)
        if app is None:
            return _aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{self.tenant}'.",
            )
        if not app.secret or not secrets.compare_digest(secret.encode(), app.secret.encode()):
            # Never echo the secret: only say which client it was for.
            return _aad_error(
                401,
                "invalid_client",
                7000215,
                f"Invalid client secret provided. Ensure the secret being sent in the request is the client "
                f"secret value, not the client secret ID, for a secret added to app '{client_id}'.",
            )
        if not scope or not all(s.endswith("/.default") for s in scope.split()):
            return _aad_error(
                400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                "Client credential flows must have a scope value with /.default suffixed to the resource identifier."
            )
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": self.tokens.issue(app),
            }
        )


def _aad_error(status: int, error: str, code: int, description: str) -> JSONResponse:
    """An Entra ID (AADSTS) error body."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace_id} "
            f"Correlation ID: {correlation_id} Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        },
        status_code=status,
    )


class BearerGuard:
    """Refuse requests under ``prefix`` that lack a bearer token this emulator issued."""

    def __init__(self, app: ASGIApp, *, tokens: TokenRegistry, prefix: str = "/v1.0") -> None:
        self.app = app
        self.tokens = tokens
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(self.prefix + "/"):
            request = Request(scope, receive)
            authorization = request.headers.get("authorization", "")
            problem = self._problem(authorization)
            if problem:
                response = graph_error_response(request, 401, "InvalidAuthenticationToken", problem)
                response.headers["WWW-Authenticate"] = 'Bearer realm="", error="invalid_token"'
                await response(scope, receive, send)
                return
            scope[SCOPE_KEY] = self.tokens.app_for(authorization.partition(" ")[2].strip())
        await self.app(scope, receive, send)

    def _problem(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if not authorization:
            return "Access token is empty."
        if scheme.lower() != "bearer" or not token.strip():
            return "Access token validation failure: expected 'Authorization: Bearer <token>'."
        if not self.tokens.is_valid(token.strip()):
            return "Access token validation failure. Invalid or expired token; request a new one."
        return None
