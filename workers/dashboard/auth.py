"""Who may see the dashboard: OpenID Connect (the customer's Entra ID), local accounts, or loopback only.

- OIDC (``dashboard.oidc_*``): authorization-code flow through authlib; the ID token is checked against the
  issuer's JWKS (signature, ``iss``, ``aud``, ``exp``, ``nonce``) and its ``groups`` or ``roles`` claim must hold
  one of ``oidc_allowed_groups``. With Entra ID, prefer app roles: a user in more than 200 groups gets no
  ``groups`` claim (« groups overage ») and is refused.
- Local accounts (``dashboard.local_accounts``, off by default): ``user:scrypt$…`` lines made by
  ``sesame dashboard hash-password``; meant for a test bench, not for production.
- Neither: the dashboard is open, which ``serve`` allows on a loopback address only.

Sessions are signed cookies (itsdangerous), limited to ``session_max_age_seconds``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.dashboard.settings import DashboardConfig

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SESSION_USER = "user"


class SignInError(Exception):
    """A sign-in that must not succeed; the message is safe to show (it holds no secret)."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SignInPolicy:
    oidc: bool
    local: bool

    @property
    def required(self) -> bool:
        return self.oidc or self.local

    @classmethod
    def of(cls, config: DashboardConfig) -> SignInPolicy:
        return cls(oidc=config.dashboard.oidc_issuer is not None, local=config.dashboard.local_accounts)


def check_exposure(config: DashboardConfig, host: str) -> None:
    """Refuse to serve an open dashboard (no sign-in) anywhere but on loopback."""
    if not SignInPolicy.of(config).required and not is_loopback(host):
        raise SignInError(f"refusing to listen on {host} without sign-in: configure dashboard.oidc_* (Entra ID) "
                          "or dashboard.local_accounts, or listen on 127.0.0.1")


# --- local accounts ---

def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64), for a local accounts file."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=2**27)
    return "$".join(("scrypt", str(n), str(SCRYPT_R), str(SCRYPT_P),
                     base64.b64encode(salt).decode(), base64.b64encode(digest).decode()))


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=2**27, dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def read_accounts(path: Path) -> dict[str, str]:
    """``user:hash`` lines; blank lines and ``#`` comments are skipped."""
    accounts = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        if not sep or not user or not stored.startswith("scrypt$"):
            raise SignInError(f"{path}:{number}: expected user:scrypt$…, made by `sesame dashboard hash-password`")
        accounts[user] = stored
    return accounts


def check_local(accounts: dict[str, str], user: str, password: str) -> bool:
    """Constant work whether the user exists or not, so timing does not tell which accounts exist."""
    stored = accounts.get(user)
    if stored is None:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))


# --- OpenID Connect ---

def oidc_client(config: DashboardConfig) -> Any:
    """The authlib Starlette client of the configured issuer (metadata and JWKS fetched on first use)."""
    from authlib.integrations.starlette_client import OAuth

    settings = config.dashboard
    assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret
    issuer = settings.oidc_issuer.rstrip("/")
    oauth = OAuth()
    return oauth.register(
        "idp", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret.get_secret_value(),
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": settings.oidc_scopes, "code_challenge_method": "S256"},
    )


def allowed_user(claims: dict[str, Any], config: DashboardConfig) -> str:
    """The signed-in user's name when the validated ID token's groups or roles allow them; else ``SignInError``."""
    settings = config.dashboard
    held = {str(g) for g in claims.get("groups") or []} | {str(r) for r in claims.get("roles") or []}
    if not held & set(settings.oidc_allowed_groups):
        raise SignInError("votre compte n'appartient à aucun groupe autorisé à consulter le tableau de bord")
    name = claims.get("preferred_username") or claims.get("email") or claims.get("name") or claims.get("sub")
    if not name:
        raise SignInError("le jeton d'identité ne nomme pas l'utilisateur")
    return str(name)


def id_token_claims_options(config: DashboardConfig) -> dict[str, Any]:
    """The issuer must be exactly the configured one (authlib checks aud, exp, nonce itself)."""
    issuer = config.dashboard.oidc_issuer
    return {"iss": {"essential": True, "values": [issuer, (issuer or "").rstrip("/")]},
            "exp": {"essential": True}, "sub": {"essential": True}}
