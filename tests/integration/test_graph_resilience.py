"""Graph connectors under 429 and 503 storms and lost answers: Retry-After waits, no duplicate write, one retry layer.

Faults are injected by ``Storm``, a tiny ASGI wrapper around the Graph sandbox (until the shared Graph fault
injection of ``sandbox/faults.py`` lands): the first ``count`` requests matching a method and a path suffix are
answered with ``status`` and ``Retry-After`` before reaching the sandbox — or, with ``after=True``, reach it (the
write is applied) and their answer is replaced by the error, as when a gateway loses the response.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.entra import EntraIdentities
from connectors.errors import ThrottledError, TransientError
from connectors.graph_mail import GraphMailbox
from connectors.intune import IntuneDevices
from connectors.resilience import RetryPolicy
from sandbox.graph import DEFAULT_PERMISSIONS, EntraStore, GraphApp, MailboxStore, build_graph_app
from sandbox.graph.devices import ACTION_PERMISSIONS, DeviceStore
from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

TENANT, CLIENT_ID, SECRET = "contoso-tenant", "sesame-app", "secret-for-tests-only"
DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
APP = GraphApp.of(CLIENT_ID, DEFAULT_PERMISSIONS | set(ACTION_PERMISSIONS), SECRET)
OWNER = "alefebvre@agence.local"
POLICY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2, deadline=20.0)


@dataclasses.dataclass
class Storm:
    """Fail the next ``count`` requests whose method is ``method`` and path ends with ``suffix``."""

    status: int = 0
    count: int = 0
    method: str = "GET"
    suffix: str = ""
    retry_after: int | None = 1
    after: bool = False  # let the request through (applied), then replace its answer by the error
    seen: int = 0  # matching requests received, faulted or not

    def matches(self, scope: Scope) -> bool:
        return (scope["type"] == "http" and scope["method"] == self.method and scope["path"].startswith("/v1.0/")
                and scope["path"].endswith(self.suffix))


class FaultInjector:
    """ASGI wrapper applying the current ``Storm`` to the Graph sandbox."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.storm = Storm()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        storm = self.storm
        if not storm.matches(scope):
            await self.app(scope, receive, send)
            return
        storm.seen += 1
        if storm.count <= 0:
            await self.app(scope, receive, send)
            return
        storm.count -= 1
        if storm.after:
            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
        await self._error(send, storm)

    @staticmethod
    async def _error(send: Send, storm: Storm) -> None:
        code = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(storm.status, "InternalServerError")
        request_id = str(uuid.uuid4())
        body = json.dumps({"error": {"code": code, "message": "injected", "innerError": {"request-id": request_id}}})
        headers = [(b"content-type", b"application/json"), (b"request-id", request_id.encode())]
        if storm.retry_after is not None:
            headers.append((b"retry-after", str(storm.retry_after).encode()))
        await send({"type": "http.response.start", "status": storm.status, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})


class LoopbackOnly(httpx.AsyncBaseTransport):
    """Refuse any request leaving loopback."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert request.url.host == "127.0.0.1", f"request left loopback: {request.url}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclasses.dataclass
class Served:
    url: str
    faults: FaultInjector
    entra: EntraStore
    devices: DeviceStore
    mail: MailboxStore
    tls: TlsFiles

    def storm(self, **kwargs: Any) -> Storm:
        self.faults.storm = Storm(**kwargs)
        return self.faults.storm

    def kwargs(self) -> dict[str, Any]:
        return {"graph_url": f"{self.url}/v1.0", "authority": self.url, "tenant": TENANT, "client_id": CLIENT_ID,
                "client_secret": SECRET, "ca_file": str(self.tls.ca_file), "timeout": 10.0, "policy": POLICY,
                "wrap_transport": LoopbackOnly}


@pytest.fixture(scope="module")
def served(sandbox_tls: TlsFiles) -> Iterator[Served]:
    demo = load_scenario(DEMO)
    entra = EntraStore.from_scenario(demo, domain="sandbox.onmicrosoft.test")
    devices = DeviceStore.from_scenario(demo, domain="agence.onmicrosoft.com")
    mail = MailboxStore.from_scenario(demo)
    app = build_graph_app(mail, tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET, entra=entra,
                          devices=devices, apps=[APP])
    faults = FaultInjector(app)
    with BackgroundServer(faults, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
        yield Served(server.url, faults, entra, devices, mail, sandbox_tls)


@pytest.fixture
def entra(served: Served) -> Iterator[EntraIdentities]:
    with EntraIdentities.connect(**served.kwargs()) as connector:
        yield connector


@pytest.fixture
def intune(served: Served) -> Iterator[IntuneDevices]:
    with IntuneDevices.connect(**served.kwargs(), features={"read", "actions"}) as connector:
        yield connector


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.parametrize("status", [429, 503])
def test_a_storm_on_a_write_is_waited_out_and_the_write_lands_once(
    served: Served, entra: EntraIdentities, status: int
) -> None:
    user = entra.find_user("jdupont@agence.local")
    before = len(served.entra.revocations(user.id))
    storm = served.storm(status=status, count=2, method="POST", suffix="/revokeSignInSessions")

    _, elapsed = _timed(lambda: entra.revoke_sessions(user))

    assert storm.seen == 3  # two refused, one through: the SDK did not retry on its own as well
    assert elapsed >= 2.0  # Retry-After: 1, twice
    assert len(served.entra.revocations(user.id)) == before + 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_storm_on_a_device_action_is_waited_out_and_the_action_sent_once(
    served: Served, intune: IntuneDevices, status: int
) -> None:
    [phone] = intune.devices_of(OWNER)
    sent = len(served.devices.action_requests(phone.id))
    storm = served.storm(status=status, count=2, method="POST", suffix="/remoteLock")

    _, elapsed = _timed(lambda: intune.remote_lock(phone))

    assert storm.seen == 3 and elapsed >= 2.0
    assert len(served.devices.action_requests(phone.id)) == sent + 1


def test_a_read_storm_on_mail_delta_is_survived(served: Served) -> None:
    address = f"storm-{uuid.uuid4().hex[:8]}@contoso.test"
    served.mail.ensure_mailbox(address)
    served.mail.add_message(address, from_address="p@partner.test", subject="Hello")
    with GraphMailbox(mailbox=address, **served.kwargs()) as mailbox:
        storm = served.storm(status=503, count=2, method="GET", suffix="/delta()")
        unread, elapsed = _timed(mailbox.list_unread)
    assert len(unread) == 1 and storm.seen == 3 and elapsed >= 2.0


def test_an_endless_storm_gives_up_after_the_policy_attempts_with_the_request_id(
    served: Served, entra: EntraIdentities
) -> None:
    user = entra.find_user("mmartin@agence.local")
    before = len(served.entra.revocations(user.id))
    storm = served.storm(status=429, count=100, method="POST", suffix="/revokeSignInSessions", retry_after=0)

    with pytest.raises(ThrottledError) as caught:
        entra.revoke_sessions(user)

    assert storm.seen == POLICY.attempts  # one retry layer: attempts, not attempts x SDK retries
    assert caught.value.request_id and caught.value.retry_after == 0
    assert len(served.entra.revocations(user.id)) == before


def test_a_write_whose_answer_is_lost_is_not_retried(served: Served, entra: EntraIdentities) -> None:
    user = entra.find_user("nroux@agence.local")
    before = len(served.entra.revocations(user.id))
    storm = served.storm(status=502, count=1, method="POST", suffix="/revokeSignInSessions", retry_after=None,
                         after=True)

    with pytest.raises(TransientError) as caught:
        entra.revoke_sessions(user)

    assert not isinstance(caught.value, ThrottledError)
    assert storm.seen == 1  # no blind retry: the caller re-reads and decides
    assert len(served.entra.revocations(user.id)) == before + 1  # it was applied once


def test_a_device_action_whose_answer_is_lost_is_confirmed_by_reading_the_device(
    served: Served, intune: IntuneDevices
) -> None:
    [phone] = intune.devices_of(OWNER)
    sent = len(served.devices.action_requests(phone.id))
    storm = served.storm(status=504, count=1, method="POST", suffix="/syncDevice", retry_after=None, after=True)

    change = intune.sync(phone)

    assert storm.seen == 1 and not change.dry_run
    assert len(served.devices.action_requests(phone.id)) == sent + 1
    assert change.after["syncDevice"] != change.before["syncDevice"]
