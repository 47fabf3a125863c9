"""The domain controllers of one connector: their URLs, TLS, opening a bound connection, and error mapping."""

from __future__ import annotations

import contextlib
import math
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import ldap3
import structlog
from ldap3.core import exceptions as ldap_errors

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
log = structlog.get_logger(__name__)
_warned_unverified: set[str] = set()

TRANSIENT = (
    ldap_errors.LDAPCommunicationError,  # socket open/send/receive, session terminated by server
    ldap_errors.LDAPResponseTimeoutError,
    ldap_errors.LDAPBusyResult,
    ldap_errors.LDAPUnavailableResult,
    ldap_errors.LDAPTimeLimitExceededResult,
    ldap_errors.LDAPAdminLimitExceededResult,
)
BROKEN_CONNECTION = (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPResponseTimeoutError)


@dataclass(frozen=True)
class DomainController:
    """One DC: ``ldaps://host[:636]`` or ``ldap://host[:389]`` (StartTLS); plain LDAP is never used."""

    url: str
    host: str
    port: int
    start_tls: bool

    @classmethod
    def parse(cls, url: str) -> DomainController:
        """Parse and check one URL; ``InvalidRequestError`` names it when it is not LDAPS/LDAP."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("ldaps", "ldap") or not parts.hostname:
            raise InvalidRequestError(
                f"directory URL {url!r} must be ldaps://host[:port] or ldap://host[:port]", system=SYSTEM
            )
        start_tls = parts.scheme == "ldap"
        return cls(url.strip(), parts.hostname, parts.port or (389 if start_tls else 636), start_tls)


def parse_urls(urls: str | Sequence[str]) -> list[DomainController]:
    """The DCs in the order given (a comma-separated string works too); at least one."""
    given = [u for u in urls.split(",")] if isinstance(urls, str) else list(urls)
    controllers = [DomainController.parse(url) for url in given if url.strip()]
    if not controllers:
        raise InvalidRequestError("no directory URL given: at least one ldaps://host is needed", system=SYSTEM)
    return controllers


class Credentials:
    """The bot's bind identity; the password is kept out of repr and redacted from every message."""

    def __init__(self, bind_dn: str, password: str) -> None:
        self.bind_dn = bind_dn
        self._password = password

    @property
    def password(self) -> str:
        return self._password

    def __repr__(self) -> str:
        return f"Credentials(bind_dn={self.bind_dn!r}, password=***)"


def tls_settings(dc: DomainController, ca_file: str | None, tls_server_name: str | None) -> ldap3.Tls:
    """Certificate validation against ``ca_file`` when given; otherwise unverified, with a warning once per DC."""
    if ca_file:
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file, valid_names=[tls_server_name or dc.host])
    if dc.url not in _warned_unverified:
        _warned_unverified.add(dc.url)
        log.warning("directory.tls_unverified", system=SYSTEM, server=dc.url,
                    hint="set ca_file so the directory's certificate is validated")  # fmt: skip
    return ldap3.Tls(validate=ssl.CERT_NONE)


def server_for(dc: DomainController, tls: ldap3.Tls, timeout: float) -> ldap3.Server:
    """The ldap3 server object of one DC (created once, reused for every connection)."""
    # get_info=NONE: ldap3's anonymous schema read before StartTLS fails on AD (operationsError).
    return ldap3.Server(dc.host, port=dc.port, use_ssl=not dc.start_tls, tls=tls, get_info=ldap3.NONE,
                        connect_timeout=timeout)  # fmt: skip


def open_connection(
    dc: DomainController, server: ldap3.Server, credentials: Credentials, timeout: float, *, bind: bool = True
) -> ldap3.Connection:
    """A TLS-protected connection to ``dc``, bound as the bot unless ``bind`` is False; ldap3 errors pass through."""
    connection = ldap3.Connection(
        server,
        user=credentials.bind_dn,
        password=credentials.password,
        authentication=ldap3.SIMPLE,
        raise_exceptions=True,
        receive_timeout=math.ceil(timeout),  # ldap3 packs it as an integer
        read_only=False,
    )
    try:
        connection.open()
        if dc.start_tls:
            connection.start_tls()
        if bind:
            connection.bind()
    except ldap_errors.LDAPInvalidCredentialsResult:
        connection.unbind()
        raise PermissionMissingError(
            f"the directory refused the bot's credentials for {credentials.bind_dn!r} on {dc.url} "
            "(wrong password, or the service account is locked, disabled or expired)",
            system=SYSTEM,
        ) from None
    except ldap_errors.LDAPException:
        if not connection.closed:
            with contextlib.suppress(ldap_errors.LDAPException):
                connection.unbind()
        raise
    return connection


def mapped(
    exc: ldap_errors.LDAPException, dc: DomainController, credentials: Credentials, *,
    ca_file: str | None, tls_server_name: str | None, secrets: Sequence[str] = (),
) -> ConnectorError:  # fmt: skip
    """The taxonomy error for an ldap3 exception on ``dc``; the DC is named, no secret ever is."""
    detail = f"{type(exc).__name__}: {exc}"
    for secret in (credentials.password, *secrets):
        if secret:
            detail = detail.replace(secret, "***")  # never echo a secret, even if a server does
    where = f"on {dc.url}"
    if "certificate" in detail.lower() and isinstance(exc, ldap_errors.LDAPSocketOpenError):
        return ConnectorError(
            f"TLS certificate of {dc.host} not trusted {where} (ca_file={ca_file!r}, "
            f"expected name {tls_server_name or dc.host!r}): {detail}",
            system=SYSTEM,
        )
    if isinstance(exc, TRANSIENT):
        return TransientError(f"directory unavailable {where}: {detail}", system=SYSTEM)
    if isinstance(exc, ldap_errors.LDAPInsufficientAccessRightsResult):
        return PermissionMissingError(
            f"{credentials.bind_dn!r} lacks the right for this operation {where}: {detail}", system=SYSTEM
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
