"""``Directory`` over the sandbox's directory emulator (HTTPS JSON), for demos where Samba cannot run."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import quote

import httpx

from connectors.directory import Account, Change
from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    TransientError,
)

SYSTEM = "sandbox-directory"


def _account(record: dict[str, Any]) -> Account:
    return Account(
        dn=str(record["dn"]),
        sam=str(record["sam"]),
        upn=str(record["upn"]),
        mail=record.get("mail") or None,
        display_name=str(record["display_name"]),
        enabled=bool(record["enabled"]),
        locked=bool(record["locked"]),
        admin_count=int(record.get("admin_count") or 0),
        groups=frozenset(str(group) for group in record.get("groups", [])),
    )


def _lockout_state(record: dict[str, Any]) -> dict[str, str]:
    return {"locked": str(bool(record["locked"])).lower(), "lockoutTime": str(record["lockout_time"])}


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error", "")) if isinstance(body, dict) else ""


class SandboxDirectory:
    """Finds, reads and unlocks accounts in the sandbox's directory emulator."""

    def __init__(
        self,
        url: str,
        bind_dn: str,
        password: str,
        *,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._client = httpx.Client(base_url=url, auth=(bind_dn, password), verify=verify, timeout=timeout)

    def find_accounts(self, login: str) -> list[Account]:
        """Accounts whose sAMAccountName, userPrincipalName or mail equals ``login`` exactly."""
        body = self._call("GET", "accounts", params={"login": login}, what=f"search for {login!r}")
        return [_account(record) for record in body["accounts"]]

    def read_account(self, dn: str) -> Account:
        """Fresh state of one account; raises ``NotFoundError``."""
        return _account(self._call("GET", f"accounts/{quote(dn, safe='')}", what=f"account {dn!r}"))

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        """Clear the lockout of ``account``; in dry run, say what would change without calling."""
        if dry_run:
            return Change(
                action="unlock",
                target=account.dn,
                before={"locked": str(account.locked).lower()},
                after={"locked": "false", "lockoutTime": "0"},
                dry_run=True,
            )
        body = self._call("POST", f"accounts/{quote(account.dn, safe='')}/unlock", what=f"unlock {account.dn!r}")
        return Change(
            action="unlock",
            target=account.dn,
            before=_lockout_state(body["before"]),
            after=_lockout_state(body["after"]),
        )

    def close(self) -> None:
        """Release connections."""
        self._client.close()

    def _call(self, method: str, path: str, *, what: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._client.request(method, path, params=params)
        except httpx.TransportError as exc:
            raise TransientError(
                f"sandbox directory at {self._client.base_url} did not answer ({what}): {type(exc).__name__}; "
                "is the sandbox running?",
                system=SYSTEM,
            ) from exc
        request_id = response.headers.get("x-request-id")
        status = response.status_code
        if status < 400:
            return response.json()
        detail = _error_text(response)
        if status in (401, 403):
            raise PermissionMissingError(
                f"sandbox directory refused our bind DN or password ({what}): {detail}; "
                "check the directory credentials in the configuration",
                system=SYSTEM,
                request_id=request_id,
            )
        if status == 404:
            raise NotFoundError(f"sandbox directory has no {what}: {detail}", system=SYSTEM, request_id=request_id)
        if status >= 500:
            raise TransientError(
                f"sandbox directory failed on {what} (HTTP {status}): {detail}", system=SYSTEM, request_id=request_id
            )
        if status == 400:
            raise InvalidRequestError(
                f"sandbox directory rejected {what}: {detail}", system=SYSTEM, request_id=request_id
            )
        raise ConnectorError(
            f"sandbox directory answered HTTP {status} to {what}: {detail}", system=SYSTEM, request_id=request_id
        )
