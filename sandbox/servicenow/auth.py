"""Who is calling: HTTP Basic against the configured users (or ``sys_user.user_password``) and OAuth Bearer tokens."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from starlette.requests import Request

from sandbox.servicenow.errors import NotAuthenticatedError
from sandbox.servicenow.oauth import TokenRegistry
from sandbox.servicenow.store import TableStore, password_matches


def decode_basic(header: str) -> tuple[str, str] | None:
    """``(name, secret)`` from an ``Authorization: Basic ...`` value, or None when it is not readable Basic."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        name, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (name, secret) if colon else None


class Authenticator:
    """Resolves a request to a user_name: Basic credentials or an unexpired Bearer token; 401 otherwise."""

    def __init__(self, store: TableStore, users: Mapping[str, str], tokens: TokenRegistry) -> None:
        self.store = store
        self._users = dict(users)
        self.tokens = tokens

    def __call__(self, request: Request) -> str:
        """The authenticated user_name; ``NotAuthenticatedError`` (the instance's 401) otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            user = self.tokens.user_of_access(credential.strip())
            if user is not None and self._may_log_in(user):
                return user
            raise NotAuthenticatedError()
        basic = decode_basic(header)
        if basic is not None and self.check_password(*basic):
            return basic[0]
        raise NotAuthenticatedError()

    def check_password(self, user: str, password: str) -> bool:
        """True when the password is the user's (configured users first, then ``sys_user.user_password``)."""
        expected = self._users.get(user)
        if expected is not None:
            matches = hmac.compare_digest(expected.encode(), password.encode())
        else:
            record = self.store.user_by_name(user) if user else None
            matches = password_matches((record or {}).get("user_password", ""), password)
        return matches and self._may_log_in(user)

    def _may_log_in(self, user: str) -> bool:
        # An instance refuses inactive and locked-out accounts whatever the password.
        record = self.store.user_by_name(user)
        return record is None or (record.get("active") != "false" and record.get("locked_out") != "true")
