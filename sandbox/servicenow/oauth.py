"""``POST /oauth_token.do``: password, client-credentials and refresh-token grants issuing opaque Bearer tokens."""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from sandbox.servicenow.asgi import JSON_TYPE

ACCESS_TOKEN_SECONDS = 1799  # what an instance announces in expires_in
REFRESH_TOKEN_SECONDS = 100 * 24 * 3600  # the instance's default refresh token lifespan
SCOPE = "useraccount"

PasswordCheck = Callable[[str, str], bool]
Seconds = Callable[[], float]


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth application registry entry; ``application_user`` is who client-credentials tokens act as."""

    client_id: str
    secret: str
    application_user: str | None = None


@dataclass(frozen=True)
class _Grant:
    user: str
    client_id: str
    expires_at: float


class TokenRegistry:
    """Opaque access and refresh tokens remembered with the user they act as and their expiry."""

    def __init__(self, clock: Seconds) -> None:
        self._clock = clock
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._lock = threading.Lock()

    def issue_access(self, user: str, client_id: str) -> str:
        """A new access token for ``user``, valid ``ACCESS_TOKEN_SECONDS``."""
        return self._issue(self._access, user, client_id, ACCESS_TOKEN_SECONDS)

    def issue_refresh(self, user: str, client_id: str) -> str:
        """A new refresh token for ``user``, valid ``REFRESH_TOKEN_SECONDS``."""
        return self._issue(self._refresh, user, client_id, REFRESH_TOKEN_SECONDS)

    def user_of_access(self, token: str) -> str | None:
        """The user an unexpired access token acts as, or None."""
        grant = self._valid(self._access, token)
        return grant.user if grant else None

    def user_of_refresh(self, token: str, client_id: str) -> str | None:
        """The user of an unexpired refresh token issued to this client, or None."""
        grant = self._valid(self._refresh, token)
        return grant.user if grant and grant.client_id == client_id else None

    def _issue(self, tokens: dict[str, _Grant], user: str, client_id: str, lifetime: int) -> str:
        token = secrets.token_urlsafe(64)
        with self._lock:
            tokens[token] = _Grant(user, client_id, self._clock() + lifetime)
        return token

    def _valid(self, tokens: dict[str, _Grant], token: str) -> _Grant | None:
        with self._lock:
            grant = tokens.get(token)
            if grant is not None and grant.expires_at <= self._clock():
                del tokens[token]  # forget expired tokens as they are met
                return None
            return grant


class TokenEndpoint:
    """The token endpoint; every refusal is the instance's 401 ``access_denied`` body, whatever went wrong."""

    def __init__(
        self,
        clients: Mapping[str, OAuthClient],
        check_password: PasswordCheck,
        tokens: TokenRegistry,
        decode_basic: Callable[[str], tuple[str, str] | None],
    ) -> None:
        self._clients = dict(clients)
        self._check_password = check_password
        self._tokens = tokens
        self._decode_basic = decode_basic
        self._grants: dict[str, Callable[[OAuthClient, Mapping[str, str]], dict[str, object] | None]] = {
            "password": self._password,
            "client_credentials": self._client_credentials,
            "refresh_token": self._refresh_token,
        }

    async def respond(self, request: Request) -> Response:
        """Answer one token request (a method, not ``__call__``: Starlette would take the object for an ASGI app)."""
        form = _form(await request.body())
        client = self._client(request, form)
        grant = self._grants.get(form.get("grant_type", ""))
        issued = grant(client, form) if client is not None and grant is not None else None
        if issued is None:
            return _token_response({"error_description": "access_denied", "error": "server_error"}, 401)
        return _token_response(issued, 200)

    def _client(self, request: Request, form: Mapping[str, str]) -> OAuthClient | None:
        # Client credentials come in a Basic header (requests-oauthlib) or in the body (docs, pysnc's flow).
        header = self._decode_basic(request.headers.get("authorization", ""))
        client_id, secret = header if header is not None else (form.get("client_id", ""), form.get("client_secret", ""))
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None
        return client

    def _password(self, client: OAuthClient, form: Mapping[str, str]) -> dict[str, object] | None:
        user = form.get("username", "")
        if not user or not self._check_password(user, form.get("password", "")):
            return None
        refresh = self._tokens.issue_refresh(user, client.client_id)
        return self._access_body(user, client, refresh)

    def _client_credentials(self, client: OAuthClient, form: Mapping[str, str]) -> dict[str, object] | None:
        if not client.application_user:
            return None  # the instance refuses the grant until the entity names an OAuth application user
        return self._access_body(client.application_user, client, None)

    def _refresh_token(self, client: OAuthClient, form: Mapping[str, str]) -> dict[str, object] | None:
        refresh = form.get("refresh_token", "")
        user = self._tokens.user_of_refresh(refresh, client.client_id) if refresh else None
        return self._access_body(user, client, refresh) if user else None

    def _access_body(self, user: str, client: OAuthClient, refresh: str | None) -> dict[str, object]:
        body: dict[str, object] = {
            "access_token": self._tokens.issue_access(user, client.client_id),
            "scope": SCOPE,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body


def _form(raw: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, first value of each key (python-multipart is not needed)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def _token_response(payload: Mapping[str, object], status: int) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    body = json.dumps(payload).encode("utf-8")
    return Response(body, status_code=status, headers=headers, media_type=JSON_TYPE)
