"""Graph connectors under 429 and 503 storms and lost answers: Retry-After waits, no duplicate write, one retry layer.

Faults are injected by ``Storms``, a thin ASGI wrapper in front of the Graph sandbox: the first ``count`` requests
matching a method and a path suffix are refused with ``status`` before reaching the sandbox — or, with
``after=True``, reach it (the write is applied) and their answer is replaced by the error, as when a gateway loses
the response. The refusals are worded by the shared ``sandbox.faults.GraphDialect``. ``FaultMiddleware`` itself
does not fit these tests: its ``FaultPlan`` draws faults at a rate over all of ``/v1.0/``, with no "the next N
POSTs to this path" and no lost answer, and 429 only from its rate limit (``Retry-After`` at least 1).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.entra import EntraIdentities
from connectors.errors import ThrottledError, TransientError
from connectors.intune import IntuneDevices
from connectors.resilience import RetryPolicy
from sandbox.faults import GraphDialect
from sandbox.graph import DEFAULT_PERMISSIONS, EntraStore, GraphApp, MailboxStore
from sandbox.graph.devices import ACTION_PERMISSIONS, DeviceStore
from sandbox.scenario import load_scenario
from tests.fixtures.graph import CLIENT_ID, DEMO, SECRET, LoopbackOnly, ServeGraph
from tests.fixtures.graph import GraphSandbox as Served

pytestmark = pytest.mark.integration

APP = GraphApp.of(CLIENT_ID, DEFAULT_PERMISSIONS | set(ACTION_PERMISSIONS), SECRET)
OWNER = "alefebvre@agence.local"
POLICY = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2, deadline=20.0)
GRAPH = GraphDialect()  # the paths faults touch and the words of Graph's refusals


@dataclasses.dataclass
class Storm:
    """Fail the next ``count`` requests whose method is ``method`` and path ends with ``suffix``."""

    status: int = 0
    count: int = 0
    method: str = "GET"
    suffix: str = ""
    retry_after: int = 1  # seconds, sent where Graph sends Retry-After (429, 503, 504)
    after: bool = False  # let the request through (applied), then replace its answer by the error
    seen: int = 0  # matching requests received, faulted or not

    def matches(self, scope: Scope) -> bool:
        return (scope["type"] == "http" and scope["method"] == self.method and GRAPH.guards(scope["path"])
                and scope["path"].endswith(self.suffix))


class Storms:
    """The current ``Storm``, applied in front of the Graph sandbox by the ASGI app ``around(app)`` returns."""

    def __init__(self) -> None:
        self.current = Storm()

    def start(self, **kwargs: Any) -> Storm:
        """Replace the current storm by ``Storm(**kwargs)``."""
        self.current = Storm(**kwargs)
        return self.current

    def around(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind the storms."""

        async def faulted(scope: Scope, receive: Receive, send: Send) -> None:
            storm = self.current
            if not storm.matches(scope):
                await app(scope, receive, send)
                return
            storm.seen += 1
            if storm.count <= 0:
                await app(scope, receive, send)
                return
            storm.count -= 1
            if storm.after:
                async def swallow(message: Message) -> None:
                    return None

                await app(scope, receive, swallow)
            # send_error words any status Graph refuses with, 429 included, and sets Retry-After where Graph does.
            await GRAPH.send_error(scope, send, storm.status, storm.retry_after)

        return faulted


@pytest.fixture(scope="module")
def storms() -> Storms:
    return Storms()


@pytest.fixture(scope="module")
def served(serve_graph: ServeGraph, storms: Storms) -> Iterator[Served]:
    demo = load_scenario(DEMO)
    with serve_graph(MailboxStore.from_scenario(demo), apps=[APP], wrap=storms.around,
                     entra=EntraStore.from_scenario(demo, domain="sandbox.onmicrosoft.test"),
                     devices=DeviceStore.from_scenario(demo, domain="agence.onmicrosoft.com")) as graph:
        yield graph


@pytest.fixture
def entra(served: Served) -> Iterator[EntraIdentities]:
    with served.entra_identities(policy=POLICY) as connector:
        yield connector


@pytest.fixture
def intune(served: Served) -> Iterator[IntuneDevices]:
    with served.intune_devices(policy=POLICY, features={"read", "actions"}) as connector:
        yield connector


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.parametrize("status", [429, 503])
def test_a_storm_on_a_write_is_waited_out_and_the_write_lands_once(
    served: Served, storms: Storms, entra: EntraIdentities, status: int
) -> None:
    user = entra.find_user("jdupont@agence.local")
    before = len(served.entra.revocations(user.id))
    storm = storms.start(status=status, count=2, method="POST", suffix="/revokeSignInSessions")

    _, elapsed = _timed(lambda: entra.revoke_sessions(user))

    assert storm.seen == 3  # two refused, one through: the SDK did not retry on its own as well
    assert elapsed >= 2.0  # Retry-After: 1, twice
    assert len(served.entra.revocations(user.id)) == before + 1


@pytest.mark.parametrize("status", [429, 503])
def test_a_storm_on_a_device_action_is_waited_out_and_the_action_sent_once(
    served: Served, storms: Storms, intune: IntuneDevices, status: int
) -> None:
    [phone] = intune.devices_of(OWNER)
    sent = len(served.devices.action_requests(phone.id))
    storm = storms.start(status=status, count=2, method="POST", suffix="/remoteLock")

    _, elapsed = _timed(lambda: intune.remote_lock(phone))

    assert storm.seen == 3 and elapsed >= 2.0
    assert len(served.devices.action_requests(phone.id)) == sent + 1


def test_a_read_storm_on_mail_delta_is_survived(served: Served, storms: Storms) -> None:
    address = f"storm-{uuid.uuid4().hex[:8]}@contoso.test"
    served.mail.ensure_mailbox(address)
    served.mail.add_message(address, from_address="p@partner.test", subject="Hello")
    with served.mailbox(address, policy=POLICY, wrap_transport=LoopbackOnly) as mailbox:
        storm = storms.start(status=503, count=2, method="GET", suffix="/delta()")
        unread, elapsed = _timed(mailbox.list_unread)
    assert len(unread) == 1 and storm.seen == 3 and elapsed >= 2.0


def test_an_endless_storm_gives_up_after_the_policy_attempts_with_the_request_id(
    served: Served, storms: Storms, entra: EntraIdentities
) -> None:
    user = entra.find_user("mmartin@agence.local")
    before = len(served.entra.revocations(user.id))
    storm = storms.start(status=429, count=100, method="POST", suffix="/revokeSignInSessions", retry_after=0)

    with pytest.raises(ThrottledError) as caught:
        entra.revoke_sessions(user)

    assert storm.seen == POLICY.attempts  # one retry layer: attempts, not attempts x SDK retries
    assert caught.value.request_id and caught.value.retry_after == 0
    assert len(served.entra.revocations(user.id)) == before


def test_a_write_whose_answer_is_lost_is_not_retried(
    served: Served, storms: Storms, entra: EntraIdentities
) -> None:
    user = entra.find_user("nroux@agence.local")
    before = len(served.entra.revocations(user.id))
    storm = storms.start(status=502, count=1, method="POST", suffix="/revokeSignInSessions", after=True)

    with pytest.raises(TransientError) as caught:
        entra.revoke_sessions(user)

    assert not isinstance(caught.value, ThrottledError)
    assert storm.seen == 1  # no blind retry: the caller re-reads and decides
    assert len(served.entra.revocations(user.id)) == before + 1  # it was applied once


def test_a_device_action_whose_answer_is_lost_is_confirmed_by_reading_the_device(
    served: Served, storms: Storms, intune: IntuneDevices
) -> None:
    [phone] = intune.devices_of(OWNER)
    sent = len(served.devices.action_requests(phone.id))
    storm = storms.start(status=504, count=1, method="POST", suffix="/syncDevice", after=True)

    change = intune.sync(phone)

    assert storm.seen == 1 and not change.dry_run
    assert len(served.devices.action_requests(phone.id)) == sent + 1
    assert change.after["syncDevice"] != change.before["syncDevice"]
