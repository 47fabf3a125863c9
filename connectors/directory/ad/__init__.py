"""Active Directory over ldap3: look accounts up, read their state, unlock, reset passwords; LDAPS or StartTLS
only, several domain controllers with failover, every call observed and retried under one policy.

Writes are never retried blindly: when a write's outcome is unknown (the connection broke after it was sent),
the account is read again and the write is sent once more only if the directory does not show it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ldap3
import structlog
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from connectors.directory import Account, Change, Lookup
from connectors.directory.ad import doctor as checks
from connectors.directory.ad.attributes import (
    ACCOUNT_ATTRIBUTES,
    IN_CHAIN,
    USER_FILTER,
    Attributes,
    account,
    first,
    is_locked,
    lock_state,
    password_state,
)
from connectors.directory.ad.servers import (
    BROKEN_CONNECTION,
    SYSTEM,
    Credentials,
    DomainController,
    mapped,
    open_connection,
    parse_urls,
    server_for,
    tls_settings,
)
from connectors.errors import ConnectorError, InvalidRequestError, NotFoundError, TransientError
from connectors.health import Finding
from connectors.observability import observed
from connectors.resilience import RetryPolicy, call_with_retries

__all__ = ["SYSTEM", "ActiveDirectory", "DomainController"]

DEFAULT_RETRY = RetryPolicy(attempts=3, base_delay=0.5, max_delay=5.0, deadline=30.0)
log = structlog.get_logger(__name__)
T = TypeVar("T")
Entries = list[tuple[str, Attributes]]


class ActiveDirectory:
    """The ``connectors.directory.Directory`` interface over one reused, TLS-protected ldap3 connection.

    ``url`` is one ``ldaps://``/``ldap://`` (StartTLS) URL or several (a list, or comma-separated), tried in
    order: when the DC in use stops answering, the next one is used and the switch is logged. Every write's
    ``Change.server`` and every error message name the DC that answered.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        bind_dn: str,
        password: str,
        base_dn: str,
        *,
        ca_file: str | None = None,
        tls_server_name: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._dcs = parse_urls(url)
        self._credentials = Credentials(bind_dn, password)
        self._base_dn = base_dn
        self._ca_file = ca_file
        self._tls_server_name = tls_server_name
        self._timeout = timeout
        self._retry = retry
        self._servers = [server_for(dc, tls_settings(dc, ca_file, tls_server_name), timeout) for dc in self._dcs]
        self._current = 0  # the DC tried first by the next connection
        self._connected: int | None = None  # the DC of the last successful connection
        self._connection: ldap3.Connection | None = None
        # ldap3's synchronous connection is not thread-safe; one operation at a time on it.
        self._lock = threading.RLock()

    @property
    def current_server(self) -> str:
        """URL of the DC in use (or tried first next), for the audit."""
        return self._dcs[self._current].url

    # -- lookups ------------------------------------------------------------------------------
    def find_accounts(self, login: str) -> list[Account]:
        """User accounts whose sAMAccountName, userPrincipalName or mail equals ``login`` exactly."""
        with observed(SYSTEM, "find_accounts"):
            if not login.strip():
                return []
            value = escape_filter_chars(login.strip())
            return self._find(f"(|(sAMAccountName={value})(userPrincipalName={value})(mail={value}))", "find_accounts")

    def find_by_display_name(self, name: str) -> list[Account]:
        """User accounts whose displayName equals ``name`` exactly (AD compares ignoring case)."""
        with observed(SYSTEM, "find_by_display_name"):
            if not name.strip():
                return []
            return self._find(f"(displayName={escape_filter_chars(name.strip())})", "find_by_display_name")

    def look_up(self, identifier: str) -> Lookup:
        """Every account whose sAMAccountName, UPN, mail or display name equals ``identifier``; never picks one."""
        with observed(SYSTEM, "look_up"):
            if not identifier.strip():
                return Lookup(identifier)
            value = escape_filter_chars(identifier.strip())
            found = self._find(
                f"(|(sAMAccountName={value})(userPrincipalName={value})(mail={value})(displayName={value}))", "look_up"
            )
            return Lookup(identifier, tuple(sorted(found, key=lambda a: a.dn.lower())))

    def read_account(self, dn: str) -> Account:
        """Fresh state of the user ``dn``; raises ``NotFoundError``."""
        with observed(SYSTEM, "read_account"):

            def read(connection: ldap3.Connection) -> Account:
                return self._account(connection, dn, self._entry(connection, dn))

            return self._reading(read, "read_account")

    # -- writes -------------------------------------------------------------------------------
    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        """Clear the lockout of ``account`` by writing ``lockoutTime`` = 0, then re-read it."""
        with observed(SYSTEM, "unlock"):
            before = lock_state(self._state(account.dn, "unlock"))
            if dry_run:
                return Change("unlock", account.dn, before, {"locked": "false", "lockoutTime": "0"}, True,
                              self.current_server)  # fmt: skip
            server = self._write("unlock", account.dn, {"lockoutTime": [(ldap3.MODIFY_REPLACE, ["0"])]},
                                 applied=lambda state: not is_locked(state))  # fmt: skip
            after = lock_state(self._state(account.dn, "unlock"))
            log.info("directory.unlock", system=SYSTEM, target=account.dn, server=server, before=before, after=after)
            return Change("unlock", account.dn, before, after, False, server)

    def reset_password(
        self, account: Account, new_password: str, *, must_change: bool = True, dry_run: bool = False
    ) -> Change:
        """Set ``new_password`` (``unicodePwd``, always over TLS) and, by default, ``pwdLastSet`` = 0 so the
        user must change it at next logon. The password is never logged nor returned; the Change says only
        that a reset happened."""
        with observed(SYSTEM, "reset_password"):
            if not new_password:
                raise InvalidRequestError("a password reset needs a non-empty new password", system=SYSTEM)
            before = password_state(self._state(account.dn, "reset_password"))
            wanted = {"passwordReset": "true", "mustChangePassword": "true" if must_change else "false"}
            if dry_run:
                return Change("reset_password", account.dn, before,
                              {**wanted, "pwdLastSet": "0" if must_change else "(now)"}, True, self.current_server)
            changes: dict[str, Any] = {
                "unicodePwd": [(ldap3.MODIFY_REPLACE, [f'"{new_password}"'.encode("utf-16-le")])]
            }  # fmt: skip
            if must_change:
                changes["pwdLastSet"] = [(ldap3.MODIFY_REPLACE, ["0"])]

            def applied(state: Attributes) -> bool:
                # pwdLastSet moves on every reset; with must-change it goes to 0 (undecidable if it was 0 already).
                now = first(state, "pwdLastSet") or "0"
                return now != before["pwdLastSet"] and (now == "0") == must_change

            server = self._write("reset_password", account.dn, changes, applied=applied, secrets=(new_password,))
            after = {**wanted, **password_state(self._state(account.dn, "reset_password"))}
            log.info("directory.reset_password", system=SYSTEM, target=account.dn, server=server,
                     must_change=must_change, before=before, after=after)  # fmt: skip
            return Change("reset_password", account.dn, before, after, False, server)

    # -- operators ----------------------------------------------------------------------------
    def doctor(self, partner_ous: Sequence[str] = ()) -> list[Finding]:
        """Each DC reachable and accepting the bot; under each partner OU: read, unlock, must-change and reset
        rights present, and no write of ``userAccountControl`` nor any other excess right. Never raises."""
        with observed(SYSTEM, "doctor"):
            findings = self._dc_findings()
            if not any(f.ok for f in findings if f.check.startswith("bind ")):
                return findings

            def search(base: str, flt: str, scope: str, attributes: list[str], controls: list[object] | None,
                       size_limit: int) -> Entries:  # fmt: skip
                def run(connection: ldap3.Connection) -> Entries:
                    return self._search(connection, base, flt, scope, attributes, controls, size_limit)

                return self._reading(run, "doctor")

            try:
                bot = checks.bot_identity(search, self._credentials.bind_dn, self._base_dn)
            except ConnectorError as exc:
                return [*findings, checks.failed("service account identity", exc,
                                                 "bind as an account that can read its own entry under the base DN")]
            findings += checks.identity_findings(bot)
            for ou in partner_ous:
                try:
                    findings += checks.ou_findings(search, bot, ou)
                except ConnectorError as exc:
                    findings.append(checks.failed(f"rights in {ou}", exc, "run doctor again; check the DC's logs"))
            return findings

    def _dc_findings(self) -> list[Finding]:
        findings: list[Finding] = []
        for dc, server in zip(self._dcs, self._servers, strict=True):
            connection: ldap3.Connection | None = None
            try:
                connection = open_connection(dc, server, self._credentials, self._timeout, bind=False)
                findings.append(Finding(SYSTEM, f"reachable {dc.url}", True, "TLS session established"))
                connection.bind()
                findings.append(Finding(SYSTEM, f"bind {dc.url}", True, f"bound as {self._credentials.bind_dn}"))
            except ldap_errors.LDAPInvalidCredentialsResult:
                findings.append(Finding(SYSTEM, f"bind {dc.url}", False,
                                        f"{self._credentials.bind_dn!r} refused (bad password, locked or disabled)",
                                        "check directory.bind_dn and SESAME_DIRECTORY_PASSWORD"))  # fmt: skip
            except ldap_errors.LDAPException as exc:
                error = self._mapped(exc, dc)
                check = f"bind {dc.url}" if connection is not None else f"reachable {dc.url}"
                findings.append(checks.failed(check, error, f"check that {dc.host}:{dc.port} is up and reachable "
                                              "from this host, and its certificate (directory.ca_file)"))
            finally:
                if connection is not None and not connection.closed:
                    with contextlib.suppress(ldap_errors.LDAPException):
                        connection.unbind()
        return findings

    def close(self) -> None:
        """Unbind and forget the connection; the next call opens a new one."""
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None and connection.bound:
            # The server may already have dropped us; nothing is left to release then.
            with contextlib.suppress(ldap_errors.LDAPException):
                connection.unbind()

    # -- reading -----------------------------------------------------------------------------
    def _find(self, condition: str, operation: str) -> list[Account]:
        def find(connection: ldap3.Connection) -> list[Account]:
            entries = self._search(connection, self._base_dn, f"(&{USER_FILTER}{condition})", ldap3.SUBTREE,
                                   ACCOUNT_ATTRIBUTES)  # fmt: skip
            return [self._account(connection, dn, attributes) for dn, attributes in entries]

        return self._reading(find, operation)

    def _state(self, dn: str, operation: str) -> Attributes:
        return self._reading(lambda connection: self._entry(connection, dn), operation)

    def _entry(self, connection: ldap3.Connection, dn: str) -> Attributes:
        entries = self._search(connection, dn, f"(&{USER_FILTER})", ldap3.BASE, ACCOUNT_ATTRIBUTES)
        if not entries:
            raise NotFoundError(f"{dn} is not a user account (on {self.current_server})", system=SYSTEM)
        return entries[0][1]

    def _account(self, connection: ldap3.Connection, dn: str, attributes: Attributes) -> Account:
        search_filter = f"(&(objectClass=group)(member:{IN_CHAIN}:={escape_filter_chars(dn)}))"
        groups = self._search(connection, self._base_dn, search_filter, ldap3.SUBTREE, ["cn"])
        return account(dn, attributes, (first(group, "cn") for _, group in groups))

    @staticmethod
    def _search(
        connection: ldap3.Connection, base: str, search_filter: str, scope: str, attributes: list[str],
        controls: list[object] | None = None, size_limit: int = 0,
    ) -> Entries:  # fmt: skip
        connection.search(base, search_filter, search_scope=scope, attributes=attributes, controls=controls,
                          size_limit=size_limit)  # fmt: skip
        # Referrals (no "dn") point to other partitions we neither need nor follow.
        return [(entry["dn"], dict(entry["attributes"])) for entry in connection.response if "dn" in entry]

    def _reading(self, operation: Callable[[ldap3.Connection], T], name: str) -> T:
        """A read under the retry policy: transient failures are retried, on the next DC when one failed."""
        return call_with_retries(lambda: self._run(operation), policy=self._retry, system=SYSTEM, operation=name)

    # -- writing -----------------------------------------------------------------------------
    def _write(
        self, name: str, dn: str, changes: dict[str, Any], *, applied: Callable[[Attributes], bool],
        secrets: Sequence[str] = (),
    ) -> str:  # fmt: skip
        """Send one modify; when its outcome is unknown, re-read and send it again only if it did not land.

        Returns the URL of the DC that took the write.
        """

        def modify(connection: ldap3.Connection) -> str:
            connection.modify(dn, changes)
            return self.current_server

        try:
            return call_with_retries(lambda: self._run(modify, write=True, secrets=secrets), policy=self._retry,
                                     system=SYSTEM, operation=name, write=True)  # fmt: skip
        except TransientError as lost:
            log.warning("directory.write_outcome_unknown", system=SYSTEM, operation=name, target=dn,
                        server=self.current_server, error=type(lost).__name__)  # fmt: skip
        try:
            state = self._state(dn, name)
        except TransientError as exc:
            raise TransientError(
                f"{name} of {dn}: the outcome is unknown (connection lost after sending) and the account could not "
                f"be read again: {exc}; check it by hand before retrying",
                system=SYSTEM,
            ) from None
        if applied(state):
            log.info("directory.write_confirmed", system=SYSTEM, operation=name, target=dn, server=self.current_server)
            return self.current_server
        log.warning("directory.write_resent", system=SYSTEM, operation=name, target=dn, server=self.current_server)
        return self._run(modify, write=True, secrets=secrets)

    # -- connection, failover and errors -------------------------------------------------------
    def _run(
        self, operation: Callable[[ldap3.Connection], T], *, write: bool = False, secrets: Sequence[str] = ()
    ) -> T:
        """Run ``operation`` on the shared connection; a read on a kept connection that broke is tried once more
        on a fresh one (which may be another DC). ldap3 errors come out as the taxonomy's."""
        with self._lock:
            reused = self._connection is not None
            connection = self._connect()
            dc = self._dcs[self._current]
            try:
                return operation(connection)
            except BROKEN_CONNECTION as exc:
                self._drop(advance=True)
                if write or not reused:
                    raise self._mapped(exc, dc, secrets) from None
                # A DC restart or an idle timeout dropped the kept socket; one fresh connection is worth a try.
            except ldap_errors.LDAPException as exc:
                raise self._mapped(exc, dc, secrets) from None
            connection = self._connect()
            dc = self._dcs[self._current]
            try:
                return operation(connection)
            except ldap_errors.LDAPException as exc:
                if isinstance(exc, BROKEN_CONNECTION):
                    self._drop(advance=True)
                raise self._mapped(exc, dc, secrets) from None

    def _connect(self) -> ldap3.Connection:
        """The kept connection, or a new one to the first DC that answers, starting with the current one."""
        kept = self._connection
        if kept is not None and kept.bound and not kept.closed:
            return kept
        self._drop(advance=False)
        failures: list[str] = []
        for step in range(len(self._dcs)):
            index = (self._current + step) % len(self._dcs)
            dc = self._dcs[index]
            try:
                connection = open_connection(dc, self._servers[index], self._credentials, self._timeout)
            except ldap_errors.LDAPException as exc:
                error = self._mapped(exc, dc)
                if not isinstance(error, TransientError):
                    raise error from None
                failures.append(str(error))
                log.warning("directory.dc_unavailable", system=SYSTEM, server=dc.url, error=type(exc).__name__)
                continue
            if self._connected is not None and index != self._connected:
                log.warning("directory.failover", system=SYSTEM, from_server=self._dcs[self._connected].url,
                            to_server=dc.url)  # fmt: skip
            elif self._connected is None and index != 0:
                log.warning("directory.failover", system=SYSTEM, from_server=self._dcs[0].url, to_server=dc.url)
            self._current = self._connected = index
            self._connection = connection
            log.debug("directory.connected", system=SYSTEM, server=dc.url)
            return connection
        raise TransientError(f"no domain controller answered: {' | '.join(failures)}", system=SYSTEM)

    def _drop(self, *, advance: bool) -> None:
        """Forget the connection; ``advance`` makes the next connection start with the next DC."""
        self.close()
        if advance:
            self._current = (self._current + 1) % len(self._dcs)

    def _mapped(
        self, exc: ldap_errors.LDAPException, dc: DomainController, secrets: Sequence[str] = ()
    ) -> ConnectorError:
        return mapped(exc, dc, self._credentials, ca_file=self._ca_file, tls_server_name=self._tls_server_name,
                      secrets=secrets)  # fmt: skip
