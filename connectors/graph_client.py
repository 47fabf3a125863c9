"""The msgraph-sdk plumbing shared by the Graph connectors (mailbox, Entra ID, Intune).

``GraphConnector`` is what the Entra ID and Intune connectors have in common: features checked against their
permissions, a client of their own or one lent to them, ``doctor()`` and ``close()``.

The SDK is asyncio-only while the fleet is synchronous (Celery prefork), so each ``GraphClient`` owns one
private event loop in a daemon thread; every call submits a coroutine to it and waits. The HTTP client and the
token cache therefore live as long as the instance, as the SDK intends: create one per worker process (after
the fork, threads do not survive it) and ``close()`` it.

Retries: the SDK's own RetryHandler is switched off (``max_retries=0``) so that ``call_with_retries`` with the
connector's ``RetryPolicy`` is the only layer — two layers would multiply attempts and waits, and the SDK's
retries POSTs blindly. Graph's ``503`` with ``Retry-After`` is its "overloaded, come back later" (the request
was not processed) and maps to ``ThrottledError`` like ``429``; other 5xx and timeouts map to
``TransientError``, which is never retried for writes.

TLS trust: ``ca_file`` (a PEM bundle, e.g. the sandbox CA) is trusted by both the token requests
(``connection_verify``) and the Graph calls (an ``ssl`` context). When ``ca_file`` is None the token
requests go through ``requests``, which honours ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, while the Graph
calls honour ``SSL_CERT_FILE``/``SSL_CERT_DIR``: keep them consistent. An explicit ``ca_file`` wins.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar
from urllib.parse import urlparse

import httpx
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.identity import ClientSecretCredential
from kiota_abstractions.api_error import APIError
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from kiota_http.middleware.options.retry_handler_option import RetryHandlerOption
from msgraph import GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_request_adapter import options as graph_default_options
from msgraph_core import GraphClientFactory

from connectors.errors import (
    ConflictError,
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    ThrottledError,
    TransientError,
)
from connectors.health import Finding
from connectors.observability import observed
from connectors.resilience import RetryPolicy, call_with_retries, retry_after_seconds

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=30.0, deadline=120.0)
# The SDK's RetryHandler off: call_with_retries is the one retry layer.
NO_SDK_RETRIES = RetryHandlerOption(delay=0, max_retries=0, should_retry=False)

T = TypeVar("T")
Work = Callable[[GraphServiceClient], Awaitable[T]]
TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]


class _PrivateLoop:
    """An asyncio loop running in a daemon thread, fed from synchronous callers."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


class GraphClient:
    """One signed-in ``GraphServiceClient`` with its loop thread, error mapping, retries and observability."""

    def __init__(
        self,
        *,
        graph_url: str,
        authority: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        system: str = "graph",
        ca_file: str | None = None,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        wrap_transport: TransportWrapper | None = None,
    ) -> None:
        for name, url in (("graph_url", graph_url), ("authority", authority)):
            parsed = urlparse(url)
            if parsed.scheme != "https" or not parsed.hostname:
                raise ValueError(f"{name} must be an https:// URL (Entra ID and the SDK refuse others), got {url!r}")
        self.system = system
        self.client_id = client_id
        self.tenant = tenant
        self.policy = policy
        self.timeout = timeout
        self.graph_url = graph_url.rstrip("/")
        verify_kwargs: dict[str, Any] = {"connection_verify": ca_file} if ca_file else {}
        # MSAL's first call is instance discovery at login.microsoftonline.com unless disabled:
        # wrong for sovereign clouds, private authorities and offline sandboxes alike.
        self._credential = ClientSecretCredential(
            tenant, client_id, client_secret, authority=authority, disable_instance_discovery=True,
            connection_timeout=timeout, read_timeout=timeout, **verify_kwargs,
        )
        host = urlparse(self.graph_url).hostname or ""
        # A non-empty allowed_hosts keeps the bearer token from following a link to any other host.
        auth = AzureIdentityAuthenticationProvider(self._credential, scopes=[GRAPH_SCOPE], allowed_hosts=[host])
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        # Kept to close it ourselves: msgraph-core's AsyncGraphTransport does not pass aclose() on,
        # so closing the client alone leaves TLS connections open until the process exits.
        self._transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(verify=verify)
        if wrap_transport is not None:
            self._transport = wrap_transport(self._transport)
        options = {**graph_default_options, RetryHandlerOption.get_key(): NO_SDK_RETRIES}
        self._http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=self._transport, timeout=httpx.Timeout(timeout)), options=options
        )
        adapter = GraphRequestAdapter(auth, client=self._http)
        adapter.base_url = self.graph_url
        self.sdk = GraphServiceClient(request_adapter=adapter)
        self._loop = _PrivateLoop(name=f"{system}-graph-{client_id}")

    # ----- calls ---------------------------------------------------------------------------------

    def call(
        self, operation: str, work: Work[T], *, action: str, write: bool = False, needs: Iterable[str] = (),
        system: str | None = None,
    ) -> T:
        """Run ``work(sdk)`` observed and retried under the policy; errors come out in the connector taxonomy.

        ``action`` says what was tried in the error message; ``needs`` names the application permissions
        the call requires, put in the message of a 403. ``write`` forbids retries after which the change may
        have been applied (see ``connectors.resilience``).
        """
        needed, name = tuple(needs), system or self.system
        with observed(name, operation):
            return call_with_retries(
                lambda: self.once(work, action=action, needs=needed, system=name),
                policy=self.policy, system=name, operation=operation, write=write,
            )

    def once(self, work: Work[T], *, action: str, needs: Iterable[str] = (), system: str | None = None) -> T:
        """One attempt of ``work(sdk)``, not observed nor retried (for callers composing their own)."""
        name = system or self.system

        async def run() -> T:
            return await work(self.sdk)

        try:
            return self._loop.run(run(), self.timeout + 5)
        except FutureTimeout as exc:
            raise TransientError(f"Graph did not answer in time to {action}", system=name) from exc
        except APIError as exc:
            raise graph_error(exc, action, system=name, needs=tuple(needs)) from exc
        except ClientAuthenticationError as exc:
            raise self._credentials_refused(exc, action, name) from exc
        except (ServiceRequestError, ServiceResponseError, httpx.TransportError) as exc:
            raise TransientError(
                f"Graph or Entra ID unreachable while trying to {action}: {type(exc).__name__}", system=name
            ) from exc

    def token_roles(self) -> tuple[str, ...] | None:
        """Obtain a token (checks the client id and secret); its ``roles`` claim if it is a JWT, else None.

        The token itself is never returned nor logged.
        """
        with observed(self.system, "token"):
            try:
                token = call_with_retries(
                    lambda: self._credential.get_token(GRAPH_SCOPE), policy=self.policy, system=self.system,
                    operation="token",
                )
            except ClientAuthenticationError as exc:
                raise self._credentials_refused(exc, "obtain a token", self.system) from exc
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise TransientError(f"Entra ID unreachable to obtain a token: {type(exc).__name__}",
                                     system=self.system) from exc
        return jwt_roles(token.token)

    def _credentials_refused(self, exc: ClientAuthenticationError, action: str, system: str) -> PermissionMissingError:
        return PermissionMissingError(
            f"Entra ID refused the credentials of app {self.client_id} in tenant {self.tenant} "
            f"(needed to {action}): {_first_line(exc.message)}. Check the client id and secret.",
            system=system,
        )

    # ----- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client, its transport and the credential, and stop the loop thread."""
        try:
            self._loop.run(self._close_http(), self.timeout)
        finally:
            self._credential.close()
            self._loop.stop()

    async def _close_http(self) -> None:
        await self._http.aclose()
        await self._transport.aclose()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ----- error mapping -----------------------------------------------------------------------------


def _first_line(text: str | None) -> str:
    stripped = (text or "").strip()
    return stripped.splitlines()[0] if stripped else "no reason given"


def _header(exc: APIError, name: str) -> str | None:
    headers = exc.response_headers
    if headers is None:
        return None
    value = headers.get(name) or headers.get(name.lower())
    if isinstance(value, set | list | tuple):
        return next(iter(value), None)
    return str(value) if value else None


def graph_error_code(exc: APIError) -> tuple[str, str]:
    """Graph's error ``code`` and ``message`` of an SDK error ('' when the body had none)."""
    if isinstance(exc, ODataError) and exc.error is not None:
        return exc.error.code or "", exc.error.message or exc.message or ""
    return "", exc.message or ""


def graph_error(exc: APIError, action: str, *, system: str, needs: tuple[str, ...] = ()) -> ConnectorError:
    """Translate an SDK error into the connector taxonomy, keeping Graph's request id for the audit."""
    status = exc.response_status_code or 0
    code, detail = graph_error_code(exc)
    request_id = _header(exc, "request-id")
    if isinstance(exc, ODataError) and exc.error is not None and exc.error.inner_error is not None:
        request_id = exc.error.inner_error.request_id or request_id
    text = f"Graph refused to {action}: {code or 'HTTP ' + str(status)}: {_first_line(detail)}"
    if status in (401, 403):
        hint = ""
        if needs:
            hint = (f" (the app registration needs the application permission {' or '.join(needs)}, "
                    "admin-consented)")
        return PermissionMissingError(text + hint, system=system, request_id=request_id)
    if status == 404:
        return NotFoundError(text, system=system, request_id=request_id)
    if status in (409, 412):
        return ConflictError(text, system=system, request_id=request_id)
    retry_after = retry_after_seconds(_header(exc, "Retry-After"))
    if status == 429 or (status == 503 and retry_after is not None):
        return ThrottledError(text, retry_after=retry_after, system=system, request_id=request_id)
    if status >= 500 or status == 0:
        return TransientError(text, system=system, request_id=request_id)
    return InvalidRequestError(text, system=system, request_id=request_id)


def jwt_roles(token: str) -> tuple[str, ...] | None:
    """The ``roles`` claim (application permissions) of a JWT access token; None for an opaque token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    roles = payload.get("roles") if isinstance(payload, dict) else None
    if not isinstance(roles, list):
        return None
    return tuple(sorted(str(r) for r in roles))


# ----- doctor ------------------------------------------------------------------------------------

PROBE_USER = "00000000-0000-0000-0000-000000000000"  # no such object: a write probe on it changes nothing


@dataclass(frozen=True)
class PermissionProbe:
    """A feature's application permission and a harmless call showing whether the app holds it.

    Graph checks permissions before it looks the object up, so a write aimed at an object that does not exist
    answers 403 without the permission and 404 (or 400 for an empty action) with it: nothing is changed.
    """

    feature: str
    permission: str
    work: Work[Any]


def permission_findings(
    client: GraphClient, probes: Iterable[PermissionProbe], *, system: str | None = None
) -> list[Finding]:
    """Token obtained, then each needed permission held; extra permissions when the token shows them (JWT)."""
    system, probes = system or client.system, list(probes)
    try:
        roles = client.token_roles()
    except PermissionMissingError as exc:
        return [Finding(system, "token", False, str(exc),
                        fix=f"check the client id and secret of app {client.client_id} in tenant {client.tenant}")]
    except ConnectorError as exc:
        return [Finding(system, "token", False, str(exc), fix="check the authority URL, the network and the CA")]
    findings = [Finding(system, "token", True, f"token obtained for app {client.client_id} in tenant {client.tenant}")]
    needed = sorted({p.permission for p in probes})
    if roles is not None:
        findings += [_held(system, p, p in roles, "in the token's roles") for p in needed]
        extra = sorted(set(roles) - set(needed))
        findings.append(Finding(system, "extra permissions", not extra,
                                f"granted but not needed: {', '.join(extra)}" if extra else "none",
                                fix=f"remove {', '.join(extra)} from the app registration" if extra else ""))
        return findings
    for probe in probes:
        try:
            with observed(system, f"doctor.{probe.feature}"):
                client.once(probe.work, action=f"check {probe.permission}", needs=(probe.permission,), system=system)
            held: bool | None = True
        except PermissionMissingError:
            held = False
        except (NotFoundError, InvalidRequestError):
            held = True  # past the permission check: refused on the (absent) object or empty body only
        except ConnectorError as exc:
            findings.append(Finding(system, f"permission {probe.permission}", False,
                                    f"could not check ({probe.feature}): {exc}", fix="run doctor again"))
            continue
        findings.append(_held(system, probe.permission, bool(held), f"probed for {probe.feature}"))
    findings.append(Finding(system, "extra permissions", True,
                            "not detectable: the access token is opaque (not a JWT with a roles claim); "
                            "review the app registration's API permissions"))
    return findings


def _held(system: str, permission: str, held: bool, how: str) -> Finding:
    if held:
        return Finding(system, f"permission {permission}", True, f"{permission} held ({how})")
    return Finding(system, f"permission {permission}", False, f"missing permission {permission}",
                   fix=f"grant {permission} (application) and admin-consent it")


# ----- connectors on one client ------------------------------------------------------------------


class GraphConnector:
    """A Graph connector with application permissions: ``features`` (keys of ``FEATURES``) say what is enabled.

    A subclass declares, in its class line, its ``system``, its ``product`` name for messages, its ``features``
    (feature -> the least-privileged application permission it needs), ``default_features`` and the ``probes``
    of ``doctor()``, which checks exactly the permissions of the enabled features.
    """

    SYSTEM: ClassVar[str]
    PRODUCT: ClassVar[str]
    FEATURES: ClassVar[Mapping[str, str]]
    DEFAULT_FEATURES: ClassVar[frozenset[str]]
    PROBES: ClassVar[tuple[PermissionProbe, ...]]

    def __init_subclass__(
        cls, *, system: str, product: str, features: Mapping[str, str], default_features: frozenset[str],
        probes: Iterable[PermissionProbe], **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.SYSTEM, cls.PRODUCT, cls.FEATURES = system, product, features
        cls.DEFAULT_FEATURES, cls.PROBES = default_features, tuple(probes)

    def __init__(self, client: GraphClient, *, features: Iterable[str] | None = None,
                 owns_client: bool = False) -> None:
        enabled = frozenset(self.DEFAULT_FEATURES if features is None else features)
        unknown = enabled - set(self.FEATURES)
        if unknown:
            raise ValueError(f"unknown {self.PRODUCT} features {sorted(unknown)}; known: {sorted(self.FEATURES)}")
        self.features = enabled
        self._client = client
        self._owns_client = owns_client

    @classmethod
    def connect(
        cls, *, graph_url: str, authority: str, tenant: str, client_id: str, client_secret: str,
        ca_file: str | None = None, timeout: float = 30.0, policy: RetryPolicy = DEFAULT_POLICY,
        features: Iterable[str] | None = None, wrap_transport: TransportWrapper | None = None,
    ) -> Self:
        """A connector with its own ``GraphClient`` (closed with it); ``features`` None: ``DEFAULT_FEATURES``."""
        client = GraphClient(graph_url=graph_url, authority=authority, tenant=tenant, client_id=client_id,
                             client_secret=client_secret, system=cls.SYSTEM, ca_file=ca_file, timeout=timeout,
                             policy=policy, wrap_transport=wrap_transport)
        return cls(client, features=features, owns_client=True)

    def doctor(self) -> list[Finding]:
        """Token obtained and exactly the permissions of the enabled features (see ``FEATURES``)."""
        probes = [p for p in self.PROBES if p.feature in self.features]
        return permission_findings(self._client, probes, system=self.SYSTEM)

    def close(self) -> None:
        """Close the Graph client if this connector created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
