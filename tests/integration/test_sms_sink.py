"""The SMS gateway sink over real HTTPS: sends as a gateway client makes them, inspection, refusals, no text in logs."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from sandbox.https import BackgroundServer
from sandbox.sms import SmsSink, build_sms_app
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

API_KEY = "sms-key-for-tests-only"
SECRET_HALF = "Kq7#vR2m"  # what the bot really sends: half of a temporary password


@pytest.fixture(scope="module")
def served(sandbox_tls: TlsFiles) -> Iterator[tuple[str, SmsSink, ssl.SSLContext]]:
    sink = SmsSink()
    with BackgroundServer(
        build_sms_app(sink, api_key=API_KEY), certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file
    ) as server:
        yield server.url, sink, ssl.create_default_context(cafile=sandbox_tls.ca_file)


@pytest.fixture
def gateway(served: tuple[str, SmsSink, ssl.SSLContext]) -> Iterator[httpx.Client]:
    url, sink, trust = served
    sink.clear()
    with httpx.Client(base_url=url, verify=trust, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client


def test_a_json_send_is_queued_and_can_be_read_back(gateway: httpx.Client) -> None:
    text = f"Sésame : la 2e moitié de votre mot de passe provisoire est {SECRET_HALF}"

    sent = gateway.post("/sms/v1/messages", json={"to": "+33611223344", "text": text, "from": "SESAME"})

    assert sent.status_code == 201
    body = sent.json()
    assert body == {"id": body["id"], "status": "queued", "segments": 1}
    assert sent.headers["location"] == f"{str(gateway.base_url).rstrip('/')}/sms/v1/messages/{body['id']}"
    one = gateway.get(f"/sms/v1/messages/{body['id']}").json()
    assert (one["to"], one["from"], one["text"], one["encoding"]) == ("+33611223344", "SESAME", text, "GSM-7")


def test_form_encoded_sends_default_the_sender_and_list_filters_by_number_and_time(gateway: httpx.Client) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    first = gateway.post("/sms/v1/messages", data={"to": "+33611223344", "text": "un"})
    gateway.post("/sms/v1/messages", data={"to": "+33622334455", "text": "deux", "from": "+33700000000"})

    to_first = gateway.get("/sms/v1/messages", params={"to": "+33611223344"}).json()["messages"]
    recent = gateway.get("/sms/v1/messages", params={"since": before.isoformat()}).json()["messages"]
    future = (datetime.now(UTC) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    none_yet = gateway.get("/sms/v1/messages", params={"since": future}).json()["messages"]

    assert first.status_code == 201
    assert [(m["text"], m["from"]) for m in to_first] == [("un", "SESAME")]
    assert [m["text"] for m in recent] == ["un", "deux"]
    assert none_yet == []
    assert gateway.get("/sms/v1/messages", params={"since": "yesterday"}).status_code == 400


def test_six_segments_are_the_limit_in_gsm_7_and_in_ucs_2(gateway: httpx.Client) -> None:
    longest = gateway.post("/sms/v1/messages", json={"to": "+33611223344", "text": "a" * 918})
    too_long = gateway.post("/sms/v1/messages", json={"to": "+33611223344", "text": "a" * 919})
    # 'ê' is outside the GSM alphabet: the message goes as UCS-2, 67 characters per part.
    accented = gateway.post("/sms/v1/messages", json={"to": "+33611223344", "text": "ê" * 403})
    two_parts = gateway.post("/sms/v1/messages", json={"to": "+33611223344", "text": "ê" * 71})

    assert (longest.status_code, longest.json()["segments"]) == (201, 6)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "text_too_long"
    assert "7 segments" in too_long.json()["error"]["message"]
    assert accented.status_code == 400 and "UCS-2" in accented.json()["error"]["message"]
    assert two_parts.json()["segments"] == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"to": "0611223344", "text": "x"},
        {"to": "+33 6 11 22 33 44", "text": "x"},
        {"to": "+33611223344", "text": ""},
        {"to": "+33611223344", "text": "x", "from": "SESAME-SERVICE-DESK"},
        {"text": "x"},
    ],
)
def test_bad_numbers_senders_and_empty_texts_are_400s_saying_what_is_wrong(
    gateway: httpx.Client, payload: dict[str, str]
) -> None:
    refused = gateway.post("/sms/v1/messages", json=payload)

    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] in {"invalid_number", "invalid_text", "invalid_sender"}
    assert error["message"]
    assert gateway.get("/sms/v1/messages").json()["messages"] == []


def test_a_missing_or_wrong_api_key_is_a_401(served: tuple[str, SmsSink, ssl.SSLContext]) -> None:
    url, sink, trust = served
    with httpx.Client(base_url=url, verify=trust) as anonymous:
        no_key = anonymous.post("/sms/v1/messages", json={"to": "+33611223344", "text": "x"})
        wrong = anonymous.get("/sms/v1/messages", headers={"Authorization": "Bearer nope"})

    assert no_key.status_code == wrong.status_code == 401
    assert no_key.json()["error"]["code"] == "unauthorized"
    assert sink.messages(to="+33611223344", since=datetime.now(UTC) - timedelta(seconds=5)) == []


def test_the_text_reaches_neither_logs_nor_errors(
    served: tuple[str, SmsSink, ssl.SSLContext], gateway: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    gateway.post("/sms/v1/messages", json={"to": "+33611223344", "text": f"Mot de passe : {SECRET_HALF}"})
    # A client swapping the fields must not get the secret back in the error either.
    swapped = gateway.post("/sms/v1/messages", json={"to": f"Mot de passe provisoire : {SECRET_HALF}", "text": "x"})
    [message] = gateway.get("/sms/v1/messages").json()["messages"]

    assert any("queued" in r.getMessage() for r in caplog.records)
    assert SECRET_HALF not in caplog.text
    assert swapped.status_code == 400 and SECRET_HALF not in swapped.text
    # The record itself prints without its text, should anyone log it.
    assert SECRET_HALF not in repr(served[1].get(message["id"]))


def test_messages_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sms.json"
    sent = SmsSink(persist_to=state).send(to="+33611223344", text="bonjour")

    reloaded = SmsSink(persist_to=state)

    assert reloaded.messages() == [sent]
    assert reloaded.get(sent.id) == sent
