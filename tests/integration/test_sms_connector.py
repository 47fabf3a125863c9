"""``HttpSmsGateway`` against the sandbox SMS sink over real HTTPS (httpx underneath, nothing mocked).

Throttling, 5xx and a slow answer are injected by a small ASGI wrapper in front of the sink, the way a real
gateway misbehaves; the sink's own list tells how many messages really went out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.errors import InvalidRequestError, PermissionMissingError, ThrottledError, TransientError
from connectors.messaging import SmsGateway
from connectors.observability import METRICS
from connectors.resilience import RetryPolicy
from connectors.sms import DEFAULT_TEMPLATE, BodyTemplate, HttpSmsGateway, SmsAuth
from sandbox.https import BackgroundServer
from sandbox.sms import SmsSink, build_sms_app
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

API_KEY = "sms-key-for-connector-tests"
SECRET_HALF = "Kq7#vR2m-9xT"
TEXT = f"Sésame : 2e moitié du mot de passe provisoire : {SECRET_HALF}"
NUMBER = "+33611223344"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, deadline=10)


@dataclass
class Faults:
    """What the wrapper does to the next POSTs: answer 429/503 itself, or let the sink answer but late."""

    plan: list[tuple[int, float]] = field(default_factory=list)  # (status or 0 = pass through, delay seconds)
    posts: int = 0
    waits: list[float] = field(default_factory=list)
    _last: float | None = None


class FaultyGateway:
    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app, self.faults = app, faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self.faults.plan:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        if self.faults._last is not None:
            self.faults.waits.append(now - self.faults._last)
        self.faults._last = now
        self.faults.posts += 1
        status, delay = self.faults.plan.pop(0)
        if status:
            headers = [(b"content-type", b"application/json")]
            if status == 429:
                headers.append((b"retry-after", b"1"))
            body = json.dumps({"error": {"code": "busy", "message": f"try later ({status})"}}).encode()
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def late(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(delay)
            await send(message)

        await self.app(scope, receive, late)


@pytest.fixture(scope="module")
def served(sandbox_tls: TlsFiles) -> Iterator[tuple[str, SmsSink, Faults]]:
    sink, faults = SmsSink(), Faults()
    app = FaultyGateway(build_sms_app(sink, api_key=API_KEY), faults)
    with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
        yield f"{server.url}/sms/v1/messages", sink, faults


@pytest.fixture
def sink(served: tuple[str, SmsSink, Faults]) -> SmsSink:
    served[1].clear()
    served[2].plan.clear()
    served[2].posts, served[2].waits, served[2]._last = 0, [], None
    return served[1]


@pytest.fixture
def faults(served: tuple[str, SmsSink, Faults], sink: SmsSink) -> Faults:
    return served[2]


def gateway(url: str, tls: TlsFiles, *, key: str = API_KEY, **options: object) -> HttpSmsGateway:
    options.setdefault("retry", FAST)
    return HttpSmsGateway(url, auth=SmsAuth("bearer", key), ca_file=str(tls.ca_file), timeout=5,
                          **options)  # type: ignore[arg-type]


@pytest.fixture
def sms(served: tuple[str, SmsSink, Faults], sink: SmsSink, sandbox_tls: TlsFiles) -> Iterator[HttpSmsGateway]:
    with gateway(served[0], sandbox_tls, check_url=served[0]) as connector:
        yield connector


def test_satisfies_the_protocol_and_sends_through_the_template(sms: HttpSmsGateway, sink: SmsSink) -> None:
    as_protocol: SmsGateway = sms
    receipt = as_protocol.send(NUMBER, TEXT)
    kept = sink.messages()
    assert len(kept) == 1
    assert (kept[0].to, kept[0].text, kept[0].sender) == (NUMBER, TEXT, "SESAME")
    assert receipt.id == kept[0].id and receipt.status == "queued"
    assert SECRET_HALF not in repr(receipt)


def test_values_are_json_escaped_and_literal_braces_kept(
    served: tuple[str, SmsSink, Faults], sink: SmsSink, sandbox_tls: TlsFiles
) -> None:
    template = '{"to": "{to}", "text": "{{Sésame}} {text}", "from": "{sender}", "meta": {"n": 1}}'
    hostile = 'a"}, "to": "+33700000000", "x": "{sender}\\n'
    with gateway(served[0], sandbox_tls, body_template=template, sender="AGENCE") as connector:
        connector.send(NUMBER, hostile)
    [kept] = sink.messages()
    assert kept.to == NUMBER and kept.sender == "AGENCE"
    assert kept.text == "{Sésame} " + hostile  # placeholders inside a value are not expanded again


@pytest.mark.parametrize("template, complaint", [
    ('{"to": "{to}", "text": "{text}", "x": "{password}"}', "may only use"),
    ('{"to": "{to}", "text": "{text.__class__}"}', "may only use"),
    ('{"to": "{to}"}', "both {to} and {text}"),
    ('{"to": "{to}", "text": {text}}', "not valid JSON"),
    ('{"to": "{to}", "text": "{text} }"}', "may only use"),
])
def test_unsafe_or_incomplete_templates_are_refused_at_start(template: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint.replace("{", r"\{").replace("}", r"\}")):
        BodyTemplate(template)


def test_other_auth_schemes_put_the_key_where_configured() -> None:
    assert SmsAuth("bearer", "k").headers() == {"Authorization": "Bearer k"}
    assert SmsAuth("basic", "pw", user="acct").headers() == {"Authorization": "Basic YWNjdDpwdw=="}
    assert SmsAuth("header", "k", header="X-Api-Token").headers() == {"X-Api-Token": "k"}
    assert "k" not in repr(SmsAuth("header", "k"))
    assert BodyTemplate(DEFAULT_TEMPLATE).render({"to": NUMBER, "text": "t", "sender": "S"}) == {
        "to": NUMBER, "text": "t", "from": "S"}


@pytest.mark.parametrize("number", ["0611223344", "+33 6 11 22 33 44", "33611223344", "+0611223344", "+33", ""])
def test_numbers_are_checked_before_anything_is_sent(sms: HttpSmsGateway, sink: SmsSink, number: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"E\.164") as raised:
        sms.send(number, TEXT)
    assert SECRET_HALF not in str(raised.value)
    assert "611223344" not in str(raised.value)  # masked to the last two digits
    assert sink.messages() == []


def test_dry_run_validates_and_sends_nothing(sms: HttpSmsGateway, sink: SmsSink, faults: Faults) -> None:
    receipt = sms.send(NUMBER, TEXT, dry_run=True)
    assert (receipt.id, receipt.status) == ("", "dry-run")
    assert sink.messages() == [] and faults.posts == 0
    with pytest.raises(InvalidRequestError):
        sms.send("06 11", TEXT, dry_run=True)


def test_throttling_is_waited_out_with_retry_after_and_sent_once(
    sms: HttpSmsGateway, sink: SmsSink, faults: Faults
) -> None:
    faults.plan = [(429, 0), (429, 0), (0, 0)]
    receipt = sms.send(NUMBER, TEXT)
    assert faults.posts == 3
    assert all(0.9 <= wait < 2.0 for wait in faults.waits), faults.waits  # Retry-After: 1 honoured
    assert [m.id for m in sink.messages()] == [receipt.id]


def test_throttling_that_lasts_gives_up_as_throttled(
    served: tuple[str, SmsSink, Faults], sink: SmsSink, faults: Faults, sandbox_tls: TlsFiles
) -> None:
    faults.plan = [(429, 0)] * 3
    with gateway(served[0], sandbox_tls, retry=RetryPolicy(attempts=2, deadline=5)) as short, \
            pytest.raises(ThrottledError) as raised:
        short.send(NUMBER, TEXT)
    assert raised.value.retry_after == 1.0 and faults.posts == 2
    assert sink.messages() == []


def test_a_5xx_on_a_send_is_not_retried(sms: HttpSmsGateway, sink: SmsSink, faults: Faults) -> None:
    faults.plan = [(503, 0), (0, 0)]
    with pytest.raises(TransientError, match="503") as raised:
        sms.send(NUMBER, TEXT)
    assert faults.posts == 1  # the message may have gone out: the caller decides, never a blind resend
    assert SECRET_HALF not in str(raised.value) and NUMBER not in str(raised.value)


def test_a_timeout_after_the_gateway_took_the_message_is_not_resent(
    served: tuple[str, SmsSink, Faults], sink: SmsSink, faults: Faults, sandbox_tls: TlsFiles
) -> None:
    faults.plan = [(0, 1.0)]
    with HttpSmsGateway(served[0], auth=SmsAuth("bearer", API_KEY), ca_file=str(sandbox_tls.ca_file), timeout=0.3,
                        retry=FAST) as slow, pytest.raises(TransientError, match="may have been sent"):
        slow.send(NUMBER, TEXT)
    time.sleep(0.8)
    assert faults.posts == 1 and len(sink.messages()) == 1  # it went out once; no duplicate


def test_wrong_key_is_a_permission_error_without_secrets(
    served: tuple[str, SmsSink, Faults], sink: SmsSink, sandbox_tls: TlsFiles
) -> None:
    with gateway(served[0], sandbox_tls, key="wrong-key-123") as bad, pytest.raises(PermissionMissingError) as raised:
        bad.send(NUMBER, TEXT)
    text = str(raised.value)
    assert "401" in text and "wrong-key-123" not in text and SECRET_HALF not in text
    assert not raised.value.retryable and sink.messages() == []


def test_the_text_never_reaches_the_logs(
    sms: HttpSmsGateway, faults: Faults, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    faults.plan = [(429, 0), (0, 0)]
    sms.send(NUMBER, TEXT)
    faults.plan = [(400, 0)]
    with pytest.raises(InvalidRequestError):
        sms.send(NUMBER, TEXT)
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err
    assert "connector.call" in everything or "send" in everything
    assert SECRET_HALF not in everything and API_KEY not in everything


def test_every_send_is_observed(sms: HttpSmsGateway) -> None:
    before = METRICS.snapshot().get("sms", {}).get("send")
    sms.send(NUMBER, "un")
    after = METRICS.snapshot()["sms"]["send"]
    assert after.calls == (before.calls if before else 0) + 1


def test_doctor_is_green_with_the_right_key(sms: HttpSmsGateway, sink: SmsSink) -> None:
    findings = sms.doctor()
    assert [(f.check, f.ok) for f in findings] == [("reachable", True), ("authenticated", True)]
    assert sink.messages() == []


def test_doctor_names_a_refused_key_and_the_fix(served: tuple[str, SmsSink, Faults], sandbox_tls: TlsFiles) -> None:
    with gateway(served[0], sandbox_tls, key="nope-nope", check_url=served[0]) as bad:
        findings = bad.doctor()
    auth = next(f for f in findings if f.check == "authenticated")
    assert not auth.ok and "401" in auth.detail and "SESAME_SMS_API_KEY" in auth.fix
    assert all("nope-nope" not in f.detail + f.fix for f in findings)


def test_doctor_without_check_url_still_sees_a_refused_key(
    served: tuple[str, SmsSink, Faults], sandbox_tls: TlsFiles
) -> None:
    with gateway(served[0], sandbox_tls) as good:
        assert all(f.ok for f in good.doctor())
    with gateway(served[0], sandbox_tls, key="nope-nope") as bad:
        assert [f.ok for f in bad.doctor()] == [True, False]


def test_doctor_names_an_untrusted_certificate_and_a_dead_gateway(served: tuple[str, SmsSink, Faults]) -> None:
    with HttpSmsGateway(served[0], auth=SmsAuth("bearer", API_KEY), timeout=2) as untrusting:
        [finding] = untrusting.doctor()
    assert not finding.ok and "ca_file" in finding.fix
    with HttpSmsGateway("https://127.0.0.1:9/sms/v1/messages", auth=SmsAuth("bearer", API_KEY), timeout=1) as dead:
        [finding] = dead.doctor()
    assert not finding.ok and "did not answer" in finding.detail


def test_plain_http_is_refused_except_on_loopback() -> None:
    with pytest.raises(ValueError, match="https"):
        HttpSmsGateway("http://sms.example.com/send", auth=SmsAuth("bearer", "k"))
    HttpSmsGateway("http://127.0.0.1:9/send", auth=SmsAuth("bearer", "k")).close()
