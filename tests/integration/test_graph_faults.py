"""Fault injection in front of the Graph emulator: throttling and 5xx in Graph's words, met by the real msgraph-sdk."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_http.middleware.options.retry_handler_option import RetryHandlerOption
from msgraph import GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

from sandbox.faults import FaultMiddleware, FaultPlan, FaultPlanError, GraphDialect, RateLimit
from sandbox.graph import MailboxStore, build_graph_app
from sandbox.graph.devices import ACTION_PERMISSIONS, READ_PERMISSIONS, DeviceRoutes, DeviceStore
from sandbox.graph.permissions import GraphApp
from sandbox.https import BackgroundServer
from sandbox.request_log import RequestLog, RequestLogMiddleware
from sandbox.scenario import load_scenario
from sandbox.tls import TlsFiles
from tests.integration.test_graph_devices import CLIENT_ID, OPERATOR, OPERATOR_SECRET, SECRET, TENANT, IntuneSandbox

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
DEVICES = "/v1.0/deviceManagement/managedDevices"


def graph_with_devices() -> tuple[Starlette, DeviceStore]:
    """The Graph emulator with the Intune routes, Sésame's app and an operator app registered."""
    store = DeviceStore.from_scenario(load_scenario(DEMO), domain="agence.onmicrosoft.com")
    operator = GraphApp.of(OPERATOR, [READ_PERMISSIONS[0], *ACTION_PERMISSIONS], OPERATOR_SECRET)
    app = build_graph_app(MailboxStore(), tenant=TENANT, client_id=CLIENT_ID, client_secret=SECRET, apps=[operator])

    def origin(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    app.router.routes.extend(DeviceRoutes(store, origin=origin).routes())
    return app, store


@pytest.fixture(scope="module")
def served(sandbox_tls: TlsFiles) -> Iterator[tuple[IntuneSandbox, FaultMiddleware, RequestLog]]:
    app, store = graph_with_devices()
    faults = FaultMiddleware(app, dialect=GraphDialect())
    log = RequestLog()
    # As the sandbox serves it: the log outside (it sees injected faults too), then faults, then the emulator.
    with BackgroundServer(
        RequestLogMiddleware(faults, log), certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file
    ) as server:
        yield IntuneSandbox(url=server.url, store=store, tls=sandbox_tls), faults, log


@pytest.fixture
def graph(served: tuple[IntuneSandbox, FaultMiddleware, RequestLog]) -> Iterator[IntuneSandbox]:
    sandbox, faults, log = served
    faults.set_plan(FaultPlan())
    log.clear()
    yield sandbox
    faults.set_plan(FaultPlan())


async def _count_devices(client: GraphServiceClient, config: RequestConfiguration[object] | None = None) -> int:
    page = await client.device_management.managed_devices.get(config)  # type: ignore[arg-type]
    return len(page.value or []) if page else 0


def test_the_sdk_waits_out_a_429_and_succeeds_on_its_retry(
    graph: IntuneSandbox, served: tuple[IntuneSandbox, FaultMiddleware, RequestLog]
) -> None:
    _, faults, log = served
    # A 3 s window: the second call lands inside it even when the first one pays for the SDK's first parse.
    faults.set_plan(FaultPlan(rate_limit=RateLimit(1, 3)))

    async def twice(client: GraphServiceClient) -> list[int]:
        return [await _count_devices(client), await _count_devices(client)]

    started = time.monotonic()
    counts = graph.call(twice)
    elapsed = time.monotonic() - started

    assert counts == [2, 2]
    # The second call was refused once, with a Retry-After up to the window's end, then let through.
    assert [e.status for e in log.entries(path_prefix="/v1.0/")] == [200, 429, 200]
    assert elapsed >= 1.0
    # The token service is never throttled: a client can always sign in.
    assert {e.status for e in log.entries(path_prefix=f"/{TENANT}/")} == {200}


def test_503_on_every_call_ends_in_odata_error_503_after_the_retries(
    graph: IntuneSandbox, served: tuple[IntuneSandbox, FaultMiddleware, RequestLog]
) -> None:
    _, faults, log = served
    faults.set_plan(FaultPlan(error_rate=1.0, error_statuses=(503,), error_retry_after_s=1))
    one_retry: RequestConfiguration[object] = RequestConfiguration(options=[RetryHandlerOption(delay=0, max_retries=1)])

    async def count(client: GraphServiceClient) -> int:
        return await _count_devices(client, one_retry)

    with pytest.raises(ODataError) as caught:
        graph.call(count)

    error = caught.value
    assert error.response_status_code == 503
    assert error.error is not None and error.error.code == "ServiceUnavailable"
    assert error.error.inner_error is not None and error.error.inner_error.request_id
    assert [e.status for e in log.entries(path_prefix="/v1.0/")] == [503, 503]  # the try and its one retry


@pytest.mark.parametrize(
    ("plan", "status", "code", "retry_after"),
    [
        (FaultPlan(rate_limit=RateLimit(1, 60)), 429, "TooManyRequests", "60"),
        (FaultPlan(error_rate=1.0, error_statuses=(503,), error_retry_after_s=7), 503, "ServiceUnavailable", "7"),
        (FaultPlan(error_rate=1.0, error_statuses=(504,)), 504, "GatewayTimeout", "1"),
        (FaultPlan(error_rate=1.0, error_statuses=(500,)), 500, "generalException", None),
    ],
)
def test_injected_answers_are_graph_errors_with_request_ids(
    plan: FaultPlan, status: int, code: str, retry_after: str | None
) -> None:
    app, _ = graph_with_devices()
    faulty = FaultMiddleware(app, plan, dialect=GraphDialect())
    http = TestClient(faulty, base_url="https://testserver", client=("127.0.0.1", 50000))
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
            "scope": "https://graph.microsoft.com/.default"}
    token = http.post(f"/{TENANT}/oauth2/v2.0/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "client-request-id": "c-1"}

    answers = [http.get(DEVICES, headers=headers) for _ in range(2)]
    refused = answers[-1]

    assert refused.status_code == status
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.headers.get("Retry-After") == retry_after
    error = refused.json()["error"]
    assert error["code"] == code and error["message"]
    assert error["innerError"]["client-request-id"] == refused.headers["client-request-id"] == "c-1"
    assert error["innerError"]["request-id"] == refused.headers["request-id"]
    assert http.get("/__emu/faults").json()["result"] == plan.to_json()  # control endpoint never faulted


def test_a_flag_prefix_gives_the_graph_emulator_its_own_plan() -> None:
    plan = FaultPlan.parse(["--graph-error-rate", "1", "--graph-error-statuses", "503,504"], prefix="graph-")

    assert plan == FaultPlan(error_rate=1.0, error_statuses=(503, 504))
    assert FaultPlan.parse([], prefix="graph-") == FaultPlan()
    with pytest.raises(FaultPlanError, match="--graph-latency-ms"):
        FaultPlan.parse(["--error-rate", "1"], prefix="graph-")
