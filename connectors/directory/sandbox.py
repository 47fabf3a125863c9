"""``Directory`` over the sandbox's directory emulator (HTTPS JSON), for demos where Samba cannot run."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from connectors.directory import Account, Change, Lookup
from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    TransientError,
)
from connectors.health import Finding
from connectors.observability import observed
from connectors.resilience import RetryPolicy, call_with_retries

SYSTEM = "sandbox-directory"
DEFAULT_RETRY = RetryPolicy(attempts=3, base_delay=0.2, max_delay=2.0, deadline=10.0)
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def _filetime(value: Any) -> datetime | None:
    try:
        ticks = int(value)
    except (TypeError, ValueError):
        return None
    return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10) if ticks > 0 else None


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
        bad_password_count=int(record.get("bad_pwd_count") or 0),
        lockout_time=_filetime(record.get("lockout_time")),
        password_last_set=_filetime(record.get("pwd_last_set")),
        must_change_password=record.get("pwd_last_set") == "0",
        mobile=str(record.get("mobile") or "").strip() or None,
    )


def _lockout_state(record: dict[str, Any]) -> dict[str, str]:
    return {"locked": str(bool(record["locked"])).lower(), "lockoutTime": str(record["lockout_time"])}


def _password_state(record: dict[str, Any]) -> dict[str, str]:
    pwd_last_set = str(record.get("pwd_last_set") or "")
    return {"pwdLastSet": pwd_last_set, "mustChangePassword": "true" if pwd_last_set == "0" else "false"}


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error", "")) if isinstance(body, dict) else ""


class SandboxDirectory:
    """Finds, reads, unlocks accounts and resets passwords in the sandbox's directory emulator."""

    def __init__(
        self,
        url: str,
        bind_dn: str,
        password: str,
        *,
        ca_file: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._client = httpx.Client(base_url=url, auth=(bind_dn, password), verify=verify, timeout=timeout)
        self._retry = retry
        self._url = url

    def find_accounts(self, login: str) -> list[Account]:
        """Accounts whose sAMAccountName, userPrincipalName or mail equals ``login`` exactly."""
        body = self._call("find_accounts", "GET", "accounts", params={"login": login}, what=f"search for {login!r}")
        return [_account(record) for record in body["accounts"]]

    def find_by_display_name(self, name: str) -> list[Account]:
        """Accounts whose display name equals ``name`` exactly (ignoring case)."""
        body = self._call("find_by_display_name", "GET", "accounts", params={"display_name": name},
                          what=f"search for display name {name!r}")  # fmt: skip
        return [_account(record) for record in body["accounts"]]

    def look_up(self, identifier: str) -> Lookup:
        """Every account whose login, mail or display name equals ``identifier``; ambiguity kept."""
        found = {a.dn.lower(): a for a in [*self.find_accounts(identifier), *self.find_by_display_name(identifier)]}
        return Lookup(identifier, tuple(found[key] for key in sorted(found)))

    def read_account(self, dn: str) -> Account:
        """Fresh state of one account; raises ``NotFoundError``."""
        return _account(self._call("read_account", "GET", f"accounts/{quote(dn, safe='')}", what=f"account {dn!r}"))

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        """Clear the lockout of ``account``; in dry run, say what would change without calling."""
        if dry_run:
            return Change(
                action="unlock",
                target=account.dn,
                before={"locked": str(account.locked).lower()},
                after={"locked": "false", "lockoutTime": "0"},
                dry_run=True,
                server=self._url,
            )
        body = self._call("unlock", "POST", f"accounts/{quote(account.dn, safe='')}/unlock",
                          what=f"unlock {account.dn!r}", write=True)  # fmt: skip
        return Change(
            action="unlock",
            target=account.dn,
            before=_lockout_state(body["before"]),
            after=_lockout_state(body["after"]),
            server=self._url,
        )

    def reset_password(
        self, account: Account, new_password: str, *, must_change: bool = True, dry_run: bool = False
    ) -> Change:
        """Set a new password (to be changed at next logon by default); the password is never returned."""
        wanted = {"passwordReset": "true", "mustChangePassword": "true" if must_change else "false"}
        if dry_run:
            before = {"mustChangePassword": str(account.must_change_password).lower()}
            return Change("reset_password", account.dn, before, wanted, True, self._url)
        if not new_password:
            raise InvalidRequestError("a password reset needs a non-empty new password", system=SYSTEM)
        body = self._call("reset_password", "POST", f"accounts/{quote(account.dn, safe='')}/password",
                          what=f"reset the password of {account.dn!r}", write=True,
                          json={"password": new_password, "must_change": must_change})  # fmt: skip
        return Change("reset_password", account.dn, _password_state(body["before"]),
                      {**wanted, **_password_state(body["after"])}, False, self._url)  # fmt: skip

    def doctor(self, partner_ous: Sequence[str] = ()) -> list[Finding]:
        """Reachable and accepting the bot's credentials; the emulator has no ACLs, so rights are not checked."""
        try:
            self._call("doctor", "GET", "accounts", params={"login": "sesame-doctor-probe"}, what="doctor probe")
        except PermissionMissingError as exc:
            return [Finding(SYSTEM, "reachable", True, f"{self._url} answered"),
                    Finding(SYSTEM, "bind", False, str(exc), "check directory.bind_dn and its password")]  # fmt: skip
        except ConnectorError as exc:
            return [Finding(SYSTEM, "reachable", False, str(exc), "start the sandbox: sesame sandbox up")]
        findings = [Finding(SYSTEM, "reachable", True, f"{self._url} answered"),
                    Finding(SYSTEM, "bind", True, "the emulator accepted the bot's credentials")]  # fmt: skip
        findings += [
            Finding(SYSTEM, f"rights in {ou}", True, "the emulator has no ACLs: the bot may read, unlock and reset")
            for ou in partner_ous
        ]
        return findings

    def close(self) -> None:
        """Release connections."""
        self._client.close()

    def _call(
        self, operation: str, method: str, path: str, *, what: str, params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None, write: bool = False,
    ) -> Any:  # fmt: skip
        with observed(SYSTEM, operation):
            return call_with_retries(lambda: self._send(method, path, what=what, params=params, json=json),
                                     policy=self._retry, system=SYSTEM, operation=operation, write=write)  # fmt: skip

    def _send(
        self, method: str, path: str, *, what: str, params: dict[str, str] | None, json: dict[str, Any] | None
    ) -> Any:
        try:
            response = self._client.request(method, path, params=params, json=json)
        except httpx.TransportError as exc:
            raise TransientError(
                f"sandbox directory at {self._client.base_url} did not answer ({what}): {type(exc).__name__}; "
                "is the sandbox running?",
                system=SYSTEM,
            ) from None
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
