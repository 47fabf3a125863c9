"""Active Directory over ldap3: find accounts, read their state, unlock them; LDAPS or StartTLS only."""

from __future__ import annotations

import contextlib
import math
import ssl
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ldap3
import structlog
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from connectors.directory import Account, Change
from connectors.errors import (
    ConflictError,
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PolicyRefusalError,
    TransientError,
)

SYSTEM = "active-directory"
UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
# LDAP_MATCHING_RULE_IN_CHAIN: the DC walks nested group membership for us (Samba supports it too).
IN_CHAIN = "1.2.840.113556.1.4.1941"
USER_FILTER = "(objectCategory=person)(objectClass=user)"
ACCOUNT_ATTRIBUTES = [
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "displayName",
    "cn",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "adminCount",
    "lockoutTime",
]

log = structlog.get_logger(__name__)
_warned_unverified: set[str] = set()
T = TypeVar("T")

_TRANSIENT = (
    ldap_errors.LDAPCommunicationError,  # socket open/send/receive, session terminated by server
    ldap_errors.LDAPResponseTimeoutError,
    ldap_errors.LDAPBusyResult,
    ldap_errors.LDAPUnavailableResult,
    ldap_errors.LDAPTimeLimitExceededResult,
    ldap_errors.LDAPAdminLimitExceededResult,
)
_BROKEN_CONNECTION = (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPResponseTimeoutError)


class ActiveDirectory:
    """The ``connectors.directory.Directory`` interface over one reused, TLS-protected ldap3 connection."""

    def __init__(
        self,
        url: str,
        bind_dn: str,
        password: str,
        base_dn: str,
        *,
        ca_file: str | None = None,
        tls_server_name: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ldaps", "ldap") or not parts.hostname:
            raise InvalidRequestError(
                f"directory URL {url!r} must be ldaps://host[:port] or ldap://host[:port]", system=SYSTEM
            )
        self._url = url
        self._start_tls = parts.scheme == "ldap"
        self._host = parts.hostname
        self._port = parts.port or (389 if self._start_tls else 636)
        self._bind_dn = bind_dn
        self._password = password
        self._base_dn = base_dn
        self._ca_file = ca_file
        self._tls_server_name = tls_server_name
        self._timeout = timeout
        self._connection: ldap3.Connection | None = None
        # ldap3's synchronous connection is not thread-safe; one operation at a time on it.
        self._lock = threading.RLock()

    # -- Directory interface ------------------------------------------------------------------
    def find_accounts(self, login: str) -> list[Account]:
        """User accounts whose sAMAccountName, userPrincipalName or mail equals ``login`` exactly."""
        if not login.strip():
            return []
        value = escape_filter_chars(login.strip())
        search_filter = f"(&{USER_FILTER}(|(sAMAccountName={value})(userPrincipalName={value})(mail={value})))"
        entries = self._search(self._base_dn, search_filter, ldap3.SUBTREE, ACCOUNT_ATTRIBUTES)
        return [self._account(dn, attributes) for dn, attributes in entries]

    def read_account(self, dn: str) -> Account:
        """Fresh state of the user ``dn``; raises ``NotFoundError``."""
        return self._account(dn, self._read(dn))

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        """Clear the lockout of ``account`` by writing ``lockoutTime`` = 0, then re-read it."""
        before = self._lock_state(self._read(account.dn))
        if dry_run:
            return Change(
                action="unlock",
                target=account.dn,
                before=before,
                after={"locked": "false", "lockoutTime": "0"},
                dry_run=True,
            )
        self._run(lambda conn: conn.modify(account.dn, {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]}))
        after = self._lock_state(self._read(account.dn))
        log.info("directory.unlock", system=SYSTEM, target=account.dn, before=before, after=after)
        return Change(action="unlock", target=account.dn, before=before, after=after)

    def close(self) -> None:
        """Unbind and forget the connection; the next call opens a new one."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None and connection.bound:
            # The server may already have dropped us; nothing is left to release then.
            with contextlib.suppress(ldap_errors.LDAPException):
                connection.unbind()

    # -- reading -----------------------------------------------------------------------------
    def _read(self, dn: str) -> dict[str, list[str]]:
        entries = self._search(dn, f"(&{USER_FILTER})", ldap3.BASE, ACCOUNT_ATTRIBUTES)
        if not entries:
            raise NotFoundError(f"{dn} is not a user account", system=SYSTEM)
        return entries[0][1]

    def _account(self, dn: str, attributes: dict[str, list[str]]) -> Account:
        sam = _first(attributes, "sAMAccountName")
        return Account(
            dn=dn,
            sam=sam,
            upn=_first(attributes, "userPrincipalName"),
            mail=_first(attributes, "mail") or None,
            display_name=_first(attributes, "displayName") or _first(attributes, "cn") or sam,
            enabled=not _int(attributes, "userAccountControl") & UF_ACCOUNTDISABLE,
            locked=bool(_int(attributes, "msDS-User-Account-Control-Computed") & UF_LOCKOUT),
            admin_count=_int(attributes, "adminCount"),
            groups=frozenset(self._groups(dn)),
        )

    def _groups(self, dn: str) -> list[str]:
        search_filter = f"(&(objectClass=group)(member:{IN_CHAIN}:={escape_filter_chars(dn)}))"
        entries = self._search(self._base_dn, search_filter, ldap3.SUBTREE, ["cn"])
        return [_first(attributes, "cn") for _, attributes in entries]

    def _lock_state(self, attributes: dict[str, list[str]]) -> dict[str, str]:
        locked = bool(_int(attributes, "msDS-User-Account-Control-Computed") & UF_LOCKOUT)
        return {"locked": "true" if locked else "false", "lockoutTime": _first(attributes, "lockoutTime") or "0"}

    def _search(
        self, base: str, search_filter: str, scope: str, attributes: list[str]
    ) -> list[tuple[str, dict[str, list[str]]]]:
        def search(conn: ldap3.Connection) -> list[tuple[str, dict[str, list[str]]]]:
            conn.search(base, search_filter, search_scope=scope, attributes=attributes)
            # Referrals (no "dn") point to other partitions we neither need nor follow.
            return [(entry["dn"], dict(entry["attributes"])) for entry in conn.response if "dn" in entry]

        return self._run(search)

    # -- connection and errors ----------------------------------------------------------------
    def _run(self, operation: Callable[[ldap3.Connection], T]) -> T:
        """Run ``operation`` on the shared connection, reopening it once if it broke; map ldap3 errors."""
        with self._lock:
            return self._run_locked(operation)

    def _run_locked(self, operation: Callable[[ldap3.Connection], T]) -> T:
        try:
            reused = self._connection is not None
            try:
                return operation(self._connect())
            except _BROKEN_CONNECTION:
                if not reused:
                    raise
                # A DC restart or an idle timeout dropped the kept socket; one fresh connection is worth a try.
                self.close()
                return operation(self._connect())
        except ldap_errors.LDAPException as exc:
            if isinstance(exc, _BROKEN_CONNECTION):
                self.close()
            raise self._mapped(exc) from None

    def _connect(self) -> ldap3.Connection:
        if self._connection is not None and self._connection.bound and not self._connection.closed:
            return self._connection
        self.close()
        # get_info=NONE: ldap3's anonymous schema read before StartTLS fails on AD (operationsError).
        server = ldap3.Server(
            self._host,
            port=self._port,
            use_ssl=not self._start_tls,
            tls=self._tls(),
            get_info=ldap3.NONE,
            connect_timeout=self._timeout,
        )
        connection = ldap3.Connection(
            server,
            user=self._bind_dn,
            password=self._password,
            authentication=ldap3.SIMPLE,
            raise_exceptions=True,
            receive_timeout=math.ceil(self._timeout),  # ldap3 packs it as an integer
            read_only=False,
        )
        try:
            connection.open()
            if self._start_tls:
                connection.start_tls()
            connection.bind()
        except ldap_errors.LDAPInvalidCredentialsResult:
            connection.unbind()
            raise PermissionMissingError(
                f"the directory refused the bot's credentials for {self._bind_dn!r} on {self._url} "
                "(wrong password, or the service account is locked, disabled or expired)",
                system=SYSTEM,
            ) from None
        except ldap_errors.LDAPException:
            if not connection.closed:
                connection.unbind()
            raise
        self._connection = connection
        return connection

    def _tls(self) -> ldap3.Tls:
        if self._ca_file:
            return ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=self._ca_file,
                valid_names=[self._tls_server_name or self._host],
            )
        if self._url not in _warned_unverified:
            _warned_unverified.add(self._url)
            log.warning(
                "directory.tls_unverified",
                system=SYSTEM,
                url=self._url,
                hint="set ca_file so the directory's certificate is validated",
            )
        return ldap3.Tls(validate=ssl.CERT_NONE)

    def _mapped(self, exc: ldap_errors.LDAPException) -> ConnectorError:
        detail = f"{type(exc).__name__}: {exc}"
        if self._password:
            detail = detail.replace(self._password, "***")  # never echo the secret, even if a server does
        where = f"on {self._url}"
        if "certificate" in detail.lower() and isinstance(exc, ldap_errors.LDAPSocketOpenError):
            return ConnectorError(
                f"TLS certificate of {self._host} not trusted {where} (ca_file={self._ca_file!r}, "
                f"expected name {self._tls_server_name or self._host!r}): {detail}",
                system=SYSTEM,
            )
        if isinstance(exc, _TRANSIENT):
            return TransientError(f"directory unavailable {where}: {detail}", system=SYSTEM)
        if isinstance(exc, ldap_errors.LDAPInsufficientAccessRightsResult):
            return PermissionMissingError(
                f"{self._bind_dn!r} lacks the right for this operation {where}: {detail}", system=SYSTEM
            )
        if isinstance(exc, ldap_errors.LDAPNoSuchObjectResult):
            return NotFoundError(f"no such directory object {where}: {detail}", system=SYSTEM)
        if isinstance(exc, ldap_errors.LDAPEntryAlreadyExistsResult):
            return ConflictError(f"directory object exists already {where}: {detail}", system=SYSTEM)
        if isinstance(exc, ldap_errors.LDAPConstraintViolationResult | ldap_errors.LDAPUnwillingToPerformResult):
            return PolicyRefusalError(f"the directory refused by policy {where}: {detail}", system=SYSTEM)
        if isinstance(exc, ldap_errors.LDAPStrongerAuthRequiredResult):
            return InvalidRequestError(f"the directory requires TLS or signing {where}: {detail}", system=SYSTEM)
        if isinstance(exc, ldap_errors.LDAPInvalidFilterError | ldap_errors.LDAPInvalidDnError):
            return InvalidRequestError(f"malformed directory request {where}: {detail}", system=SYSTEM)
        return ConnectorError(f"directory operation failed {where}: {detail}", system=SYSTEM)


def _first(attributes: dict[str, Any], name: str) -> str:
    """First value of an attribute as text; without a schema, ldap3 gives lists of strings."""
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return "" if value is None else str(value)


def _int(attributes: dict[str, Any], name: str) -> int:
    text = _first(attributes, name)
    try:
        return int(text)
    except ValueError:
        return 0
