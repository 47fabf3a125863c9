"""OpenID Connect sign-in of the dashboard against a tiny identity provider served on loopback.

The provider is real HTTP (uvicorn on 127.0.0.1): discovery document, JWKS and token endpoint; ID tokens are
RS256-signed with a key generated here. What is NOT covered: Entra ID itself, its consent screens, and the
browser's trip through the provider's login page (the test goes straight from the authorization redirect to
the callback with the code the provider would have given).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from automations.ledger import Ledger
from tests.fixtures.services import free_port
from workers.dashboard.app import create_app
from workers.dashboard.settings import load_dashboard_config

CLIENT_ID, CLIENT_SECRET, GROUP = "dashboard-app", "s3cret-value", "grp-managers"


@dataclass
class Provider:
    """A loopback identity provider; ``claims`` and ``key`` decide the next ID token it issues."""

    issuer: str
    key: RSAKey
    claims: dict[str, Any] = field(default_factory=dict)
    signing_key: RSAKey | None = None  # another key: a forged token
    token_requests: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    port = free_port()
    state = Provider(issuer=f"http://127.0.0.1:{port}/tenant/v2.0",
                     key=RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"}))

    async def discovery(_request: Request) -> Response:
        return JSONResponse({
            "issuer": state.issuer, "authorization_endpoint": f"{state.issuer}/authorize",
            "token_endpoint": f"{state.issuer}/token", "jwks_uri": f"{state.issuer}/keys",
            "response_types_supported": ["code"], "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })

    async def keys(_request: Request) -> Response:
        return JSONResponse({"keys": [state.key.as_dict(private=False)]})

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            user, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form |= {"client_id": user, "client_secret": secret}
        state.token_requests.append(form)
        if form.get("code") != "the-code" or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {"iss": state.issuer, "aud": CLIENT_ID, "sub": "u-1", "iat": now, "exp": now + 600,
                  "preferred_username": "manon@agence.fr", "groups": [GROUP]} | state.claims
        signer = state.signing_key or state.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)
        return JSONResponse({"access_token": "at", "token_type": "Bearer", "expires_in": 600, "id_token": id_token})

    app = Starlette(routes=[Route("/tenant/v2.0/.well-known/openid-configuration", discovery),
                            Route("/tenant/v2.0/keys", keys), Route("/tenant/v2.0/token", token, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield state
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def client(provider: Provider, tmp_path: Path) -> TestClient:
    provider.claims, provider.signing_key = {}, None
    Ledger(f"sqlite:///{tmp_path / 'ledger.db'}").engine.dispose()
    config = tmp_path / "sesame.yaml"
    config.write_text(f"ledger_url: sqlite:///{tmp_path / 'ledger.db'}\ndashboard:\n  oidc_issuer: {provider.issuer}\n"
                      f"  oidc_client_id: {CLIENT_ID}\n  oidc_allowed_groups: [{GROUP}]\n", encoding="utf-8")
    settings = load_dashboard_config(config, environ={"SESAME_DASHBOARD_OIDC_CLIENT_SECRET": CLIENT_SECRET})
    return TestClient(create_app(settings, cache_seconds=0))


def start(client: TestClient, provider: Provider) -> dict[str, str]:
    """Follow the dashboard to the provider; the authorization request's parameters."""
    assert client.get("/tickets/queue", follow_redirects=False).headers["location"] == "/signin?next=%2Ftickets%2Fqueue"
    redirect = client.get("/signin/oidc?next=/tickets/queue", follow_redirects=False)
    assert redirect.status_code == 302
    url = urlsplit(redirect.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{provider.issuer}/authorize"
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def test_redirect_to_the_issuer_with_the_right_parameters(client: TestClient, provider: Provider) -> None:
    params = start(client, provider)
    assert params["client_id"] == CLIENT_ID and params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver/auth/callback"
    assert params["scope"] == "openid profile email"
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    assert CLIENT_SECRET not in str(params)


def test_callback_with_a_valid_token_signs_in(client: TestClient, provider: Provider) -> None:
    params = start(client, provider)
    provider.claims = {"nonce": params["nonce"]}
    done = client.get(f"/auth/callback?code=the-code&state={params['state']}", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/tickets/queue"
    assert provider.token_requests[-1]["code_verifier"]  # PKCE: the verifier reached the token endpoint
    page = client.get("/")
    assert page.status_code == 200 and "Connecté : manon@agence.fr" in page.text


@pytest.mark.parametrize(("claims", "status", "text"), [
    ({"groups": ["someone-else"]}, 403, "aucun groupe autorisé"),
    ({"groups": [], "roles": [GROUP]}, 303, ""),  # an app role is as good as a group
    ({"aud": "another-app"}, 401, "Connexion impossible"),
    ({"iss": "http://127.0.0.1:1/evil"}, 401, "Connexion impossible"),
    ({"exp": int(time.time()) - 3600}, 401, "Connexion impossible"),
])
def test_callback_checks_the_token(client: TestClient, provider: Provider, claims: dict[str, Any], status: int,
                                   text: str) -> None:
    params = start(client, provider)
    provider.claims = {"nonce": params["nonce"]} | claims
    answer = client.get(f"/auth/callback?code=the-code&state={params['state']}", follow_redirects=False)
    assert answer.status_code == status and text in answer.text
    if status != 303:
        assert client.get("/", follow_redirects=False).status_code == 303  # still signed out


def test_forged_signature_wrong_nonce_and_wrong_state_are_refused(client: TestClient, provider: Provider) -> None:
    params = start(client, provider)
    provider.claims = {"nonce": params["nonce"]}
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    forged = client.get(f"/auth/callback?code=the-code&state={params['state']}")
    assert forged.status_code == 401 and "BadSignatureError" in forged.text

    provider.signing_key = None
    params = start(client, provider)
    provider.claims = {"nonce": "not-the-one-sent"}
    replayed = client.get(f"/auth/callback?code=the-code&state={params['state']}")
    assert replayed.status_code == 401 and "InvalidClaimError" in replayed.text

    params = start(client, provider)
    provider.claims = {"nonce": params["nonce"]}
    csrf = client.get("/auth/callback?code=the-code&state=forged")
    assert csrf.status_code == 401 and "MismatchingStateError" in csrf.text
    assert client.get("/", follow_redirects=False).status_code == 303
