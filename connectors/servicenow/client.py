"""The one HTTP client of the ServiceNow connector: a requests session under pysnc, retries, errors, observability.

Retries: pysnc's own urllib3 retry (``Retry(total=4)`` on 429/500/502/503 for GET/DELETE, mounted on the instance
URL) is switched OFF (``auto_retry=False``), so ``call_with_retries`` with the connector's ``RetryPolicy`` is the
only retry layer: reads are retried on transient and throttled errors, writes only on throttled ones (a 429 is
refused before anything is done). The two layers therefore never multiply, and every wait is the policy's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pysnc
import requests
from pysnc import exceptions as snc

from connectors.errors import (
    ConflictError,
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PolicyRefusalError,
    ThrottledError,
    TransientError,
)
from connectors.observability import observed
from connectors.resilience import RetryPolicy, call_with_retries

T = TypeVar("T")
SYSTEM = "servicenow"
# The instance's id of a transaction, sent on every answer (``X-Transaction-ID: e3003cb2db8c``); kept on errors.
TRANSACTION_HEADER = "X-Transaction-ID"
DEFAULT_POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=10.0, deadline=60.0)


class _LastAnswer(threading.local):
    status: int | None = None
    retry_after: float | None = None
    transaction_id: str | None = None


class BotSession(requests.Session):
    """Basic auth, a default timeout, no environment overrides, and the last answer kept for error mapping.

    ``trust_env=False`` because requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=`` (our CA file).
    """

    def __init__(self, user: str, password: str, timeout: float) -> None:
        super().__init__()
        self.trust_env = False
        self.auth = requests.auth.HTTPBasicAuth(user, password)
        self.timeout = timeout
        self.last = _LastAnswer()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with the default timeout and remember status, Retry-After and transaction id (pysnc hides them)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().send(request, **kwargs)
        self.last.status = response.status_code
        retry_after = response.headers.get("Retry-After", "")
        self.last.retry_after = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
        self.last.transaction_id = response.headers.get(TRANSACTION_HEADER)
        return response


class ServiceNowClient:
    """pysnc over one ``BotSession``; ``read``/``write`` run a step under ``observed`` and ``call_with_retries``."""

    def __init__(
        self, url: str, user: str, password: str, *, ca_file: str | None, timeout: float, policy: RetryPolicy
    ) -> None:
        self.user = user
        self.policy = policy
        self.session = BotSession(user, password, timeout)
        try:
            self.pysnc = pysnc.ServiceNowClient(url, self.session, verify=ca_file, auto_retry=False)
        except snc.InstanceException as exc:
            raise InvalidRequestError(f"ServiceNow URL {url!r} is not usable: {exc}", system=SYSTEM) from exc
        self.instance: str = self.pysnc.instance

    def record(self, table: str, *, fields: list[str] | None = None, batch_size: int = 100) -> pysnc.GlideRecord:
        """A new GlideRecord on ``table`` (values only, no display values: half the payload)."""
        gr = self.pysnc.GlideRecord(table, batch_size=batch_size)
        gr.display_value = False
        if fields:
            gr.fields = list(dict.fromkeys(["sys_id", *fields]))
        return gr

    def read(self, operation: str, action: str, call: Callable[[], T]) -> T:
        """A read: retried on transient and throttled errors."""
        return self._run(operation, action, call, write=False)

    def write(self, operation: str, action: str, call: Callable[[], T]) -> T:
        """A write: retried only when throttled (refused before doing anything); other failures are raised."""
        return self._run(operation, action, call, write=True)

    def _run(self, operation: str, action: str, call: Callable[[], T], *, write: bool) -> T:
        def attempt() -> T:
            with self.translated(action, write=write):
                return call()

        with observed(SYSTEM, operation):
            return call_with_retries(attempt, policy=self.policy, system=SYSTEM, operation=operation, write=write)

    def stats(self, table: str, params: dict[str, str]) -> Any:
        """``GET /api/now/stats/{table}`` (the Aggregate API, which pysnc lacks) on the same session; the result."""
        response = self.session.get(
            f"{self.instance}/api/now/stats/{table}",
            params=params,
            headers={"Accept": "application/json"},
            verify=self.session.verify,
        )
        if response.status_code >= 400:
            raise snc.RequestException(_error_text(response))
        return response.json()["result"]

    def close(self) -> None:
        """Release connections."""
        self.session.close()

    @contextmanager
    def translated(self, action: str, *, write: bool = False) -> Iterator[None]:
        """Turn pysnc/requests failures into ``connectors.errors`` naming what was being done, with the request id."""
        last = self.session.last
        last.status = last.retry_after = last.transaction_id = None
        try:
            yield
        except ConnectorError as raised:
            raised.request_id = raised.request_id or last.transaction_id
            raise
        except Exception as exc:  # every failure leaves as a taxonomy error (or unchanged)
            error = self._mapped(action, exc, write)
            if error is None:
                raise
            error.request_id = error.request_id or last.transaction_id
            raise error from exc

    def _mapped(self, action: str, exc: Exception, write: bool) -> ConnectorError | None:
        if isinstance(exc, snc.AuthenticationException):
            return PermissionMissingError(
                f"ServiceNow refused our credentials (401) while {action}: check the integration user's password",
                system=SYSTEM,
            )
        if isinstance(exc, snc.RoleException):
            if "Data Policy Exception" in str(exc) or "Business Rule" in str(exc):
                return PolicyRefusalError(f"ServiceNow policy refused {action}: {_detail(exc)}", system=SYSTEM)
            return PermissionMissingError(
                f"ServiceNow refused {action} (403): the integration user lacks a role or ACL; {_detail(exc)}",
                system=SYSTEM,
            )
        if isinstance(exc, snc.NotFoundException):
            return NotFoundError(f"ServiceNow found nothing while {action}: {_detail(exc)}", system=SYSTEM)
        if isinstance(exc, requests.exceptions.SSLError):
            return ConnectorError(
                f"TLS verification failed while {action}: check ca_file points to the instance's CA", system=SYSTEM
            )
        if isinstance(exc, requests.exceptions.RetryError):  # only if someone re-enables pysnc's auto retry
            if "429" in str(exc):
                return ThrottledError(f"ServiceNow kept throttling (429) while {action}", system=SYSTEM)
            return TransientError(f"ServiceNow kept failing while {action}", system=SYSTEM)
        if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
            return TransientError(f"ServiceNow unreachable while {action}: {type(exc).__name__}", system=SYSTEM)
        if isinstance(exc, snc.RequestException | snc.RestException):
            return self._by_status(action, exc, write)
        return None

    def _by_status(self, action: str, exc: Exception, write: bool) -> ConnectorError:
        last = self.session.last
        status = getattr(exc, "status_code", None) or last.status
        text = f"ServiceNow answered {status} while {action}: {_detail(exc)}"
        if status == 429:
            return ThrottledError(text, retry_after=last.retry_after, system=SYSTEM)
        if status == 503 and last.retry_after is not None and not write:
            # A read may simply wait as told; a write stays a TransientError (re-read and decide, never blind).
            return ThrottledError(text, retry_after=last.retry_after, system=SYSTEM)
        if status is None or status >= 500:
            return TransientError(text, system=SYSTEM)
        if status in (401, 403):
            return PermissionMissingError(text, system=SYSTEM)
        if status == 404:
            return NotFoundError(text, system=SYSTEM)
        if status == 409:
            return ConflictError(text, system=SYSTEM)
        return InvalidRequestError(text, system=SYSTEM)


def literal(value: str) -> str:
    """A value safe inside an encoded query: '^' would let e-mail content add conditions of its own."""
    if "^" in value:
        raise InvalidRequestError(f"value {value!r} contains '^', which ServiceNow queries cannot carry", system=SYSTEM)
    return value


def _detail(exc: Exception) -> str:
    parts = [str(part) for part in exc.args if not isinstance(part, Exception)]
    text = " ".join(parts) or type(exc).__name__
    if "<html" in text.lower():  # a load balancer's page: the status says it all
        return "an HTML error page"
    return text[:500]


def _error_text(response: requests.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('message', '')}: {error.get('detail', '')}".strip(": ")
    except ValueError:
        return "an HTML error page" if "<html" in response.text.lower() else response.text[:200]
