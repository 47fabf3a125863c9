"""The directory emulator over HTTPS JSON: find, read, unlock accounts, reset passwords, check passwords.

Routes are relative so the sandbox can mount the app under any prefix (``/ad``). Every call needs
HTTP Basic credentials: the service account's bind DN and password.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.directory.store import DirectoryStore


def _reply(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    # A request id on every answer lets the client's audit record point at this exact call.
    return JSONResponse(body, status_code=status_code, headers={"X-Request-Id": uuid.uuid4().hex})


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, separator, password = decoded.partition(":")
    return (user, password) if separator else None


def _authorised(request: Request, bind_dn: str, password: str) -> bool:
    given = _basic_credentials(request)
    if given is None:
        return False
    # DNs compare case-insensitively in AD; both checks run so timing says nothing about which failed.
    dn_ok = secrets.compare_digest(given[0].lower().encode(), bind_dn.lower().encode())
    password_ok = secrets.compare_digest(given[1].encode(), password.encode())
    return dn_ok and password_ok


def _unauthorised() -> JSONResponse:
    response = _reply({"error": "invalid bind DN or password for the sandbox directory"}, 401)
    response.headers["WWW-Authenticate"] = 'Basic realm="sesame-sandbox-directory"'
    return response


def build_directory_app(store: DirectoryStore, *, bind_dn: str, password: str) -> Starlette:
    """The emulator's ASGI app over ``store``, accepting only ``bind_dn``/``password`` as Basic auth."""

    async def find_accounts(request: Request) -> JSONResponse:
        if not _authorised(request, bind_dn, password):
            return _unauthorised()
        login = request.query_params.get("login")
        display_name = request.query_params.get("display_name")
        if display_name is not None:
            return _reply({"accounts": [entry.public() for entry in store.find_by_display_name(display_name)]})
        if login is None:
            return _reply({"error": "query parameter 'login' or 'display_name' is required"}, 400)
        return _reply({"accounts": [entry.public() for entry in store.find(login)]})

    async def read_account(request: Request) -> JSONResponse:
        if not _authorised(request, bind_dn, password):
            return _unauthorised()
        dn = request.path_params["dn"]
        entry = store.get(dn)
        if entry is None:
            return _reply({"error": f"no account with DN {dn!r}"}, 404)
        return _reply(entry.public())

    async def unlock_account(request: Request) -> JSONResponse:
        if not _authorised(request, bind_dn, password):
            return _unauthorised()
        dn = request.path_params["dn"]
        changed = store.unlock(dn)
        if changed is None:
            return _reply({"error": f"no account with DN {dn!r}"}, 404)
        before, after = changed
        return _reply({"before": before.public(), "after": after.public()})

    async def reset_password(request: Request) -> JSONResponse:
        if not _authorised(request, bind_dn, password):
            return _unauthorised()
        try:
            body = await request.json()
        except ValueError:
            body = None
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("password"), str)
            or not body["password"]
            or not isinstance(body.get("must_change", True), bool)
        ):
            return _reply({"error": 'body must be JSON: {"password": "...", "must_change": true}'}, 400)
        dn = request.path_params["dn"]
        changed = store.reset_password(dn, body["password"], must_change=body.get("must_change", True))
        if changed is None:
            return _reply({"error": f"no account with DN {dn!r}"}, 404)
        before, after = changed
        # The password is never echoed: public() leaves it out.
        return _reply({"before": before.public(), "after": after.public()})

    async def bind(request: Request) -> JSONResponse:
        if not _authorised(request, bind_dn, password):
            return _unauthorised()
        try:
            body = await request.json()
        except ValueError:
            return _reply({"error": 'body must be JSON: {"login": ..., "password": ...}'}, 400)
        if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("login", "password")):
            return _reply({"error": "body must hold string fields 'login' and 'password'"}, 400)
        result = store.bind(body["login"], body["password"])
        return _reply({"ok": result.ok, "reason": result.reason})

    return Starlette(
        routes=[
            Route("/accounts", find_accounts, methods=["GET"]),
            # Before the plain read route: its {dn:path} would otherwise swallow "/unlock".
            Route("/accounts/{dn:path}/unlock", unlock_account, methods=["POST"]),
            Route("/accounts/{dn:path}/password", reset_password, methods=["POST"]),
            Route("/accounts/{dn:path}", read_account, methods=["GET"]),
            Route("/bind", bind, methods=["POST"]),
        ]
    )
