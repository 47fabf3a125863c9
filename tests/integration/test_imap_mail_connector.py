"""``ImapMailbox`` against the sandbox IMAP/SMTP servers, with a real ``imapclient`` and ``smtplib`` underneath."""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from imapclient import IMAPClient

from connectors.errors import ConnectorError, NotFoundError, PermissionMissingError, TransientError
from connectors.imap_mail import ImapMailbox, authentication_results
from connectors.mailbox import Mailbox
from connectors.observability import METRICS
from connectors.resilience import RetryPolicy
from sandbox.mail import MailEndpoints, MailServers
from sandbox.scenario import Email, Scenario
from sandbox.tls import TlsFiles

USER, PASSWORD = "helpdesk", "s3cret-sandbox"
SHARED = "support-partenaires@agence.local"
CLAIRE = "claire.fabre@mission-locale-lyon.fr"
KARIM = "karim.benali@mission-locale-lyon.fr"


def scenario() -> Scenario:
    return Scenario(partners=(), users=(), tickets=(), emails=(
        Email(id="m1", from_address=CLAIRE, from_name="Claire Fabre", to=SHARED, subject="Compte bloqué",
              body="Bonjour,\nmerci de débloquer jdupont.\nClaire",
              headers={"Message-ID": "<m1@mission-locale-lyon.fr>", "Date": "Mon, 23 Nov 2026 08:12:00 +0100",
                       "Authentication-Results": "mx.agence.local; spf=pass; dkim=pass; dmarc=pass"}),
        Email(id="m2", from_address=KARIM, from_name="Karim Benali", to=SHARED, subject="Déblocage nroux",
              body="Débloquez nroux svp.",
              headers={"Message-ID": "<m2@mission-locale-lyon.fr>", "Date": "Mon, 23 Nov 2026 09:05:00 +0100",
                       "References": "<earlier@mission-locale-lyon.fr>",
                       "Authentication-Results": "mx.agence.local; spf=pass; dkim=pass; dmarc=pass",
                       "Reply-To": "Karim <karim@evil.example>"}),
    ))


MakeServers = Callable[..., MailServers]
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, deadline=10)


@pytest.fixture
def make_servers(tmp_path: Path, sandbox_tls: TlsFiles) -> Iterator[MakeServers]:
    started: list[MailServers] = []

    def make(**options: object) -> MailServers:
        servers = MailServers(scenario(), user=USER, password=PASSWORD, state_dir=tmp_path, tls=sandbox_tls,
                              **options)  # type: ignore[arg-type]
        servers.start()
        started.append(servers)
        return servers

    yield make
    for servers in started:
        servers.stop()


@pytest.fixture
def servers(make_servers: MakeServers) -> MailServers:
    return make_servers()


def connector(endpoints: MailEndpoints, tls: TlsFiles, *, password: str = PASSWORD, **options: object) -> ImapMailbox:
    options.setdefault("retry", FAST)
    return ImapMailbox(imap_host=endpoints.imap_host, imap_port=endpoints.imap_port, smtp_host=endpoints.smtp_host,
                       smtp_port=endpoints.smtp_port, user=USER, password=password, address=SHARED,
                       ca_file=str(tls.ca_file), timeout=5, **options)  # type: ignore[arg-type]


@pytest.fixture
def mailbox(servers: MailServers, sandbox_tls: TlsFiles) -> Iterator[ImapMailbox]:
    assert servers.endpoints is not None
    with connector(servers.endpoints, sandbox_tls) as box:
        yield box


def raw_imap(endpoints: MailEndpoints, tls: TlsFiles) -> IMAPClient:
    client = IMAPClient(endpoints.imap_host, endpoints.imap_port, ssl=False, timeout=5)
    client.starttls(ssl.create_default_context(cafile=str(tls.ca_file)))
    client.login(USER, PASSWORD)
    return client


def sent_messages(endpoints: MailEndpoints, tls: TlsFiles) -> list[EmailMessage]:
    with raw_imap(endpoints, tls) as client:
        client.select_folder("Sent", readonly=True)
        uids = sorted(client.search(["ALL"]))
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
        parsed = [BytesParser(policy=policy.default).parsebytes(fetched[uid][b"BODY[]"]) for uid in uids]
    return [m for m in parsed if isinstance(m, EmailMessage)]


def test_satisfies_the_mailbox_protocol(mailbox: ImapMailbox) -> None:
    as_protocol: Mailbox = mailbox
    assert as_protocol.address == SHARED


def test_lists_unread_oldest_first_and_reads_without_marking(mailbox: ImapMailbox) -> None:
    ids = mailbox.list_unread()
    assert len(ids) == 2
    assert mailbox.list_unread(limit=1) == ids[:1]
    first, second = (mailbox.get(i) for i in ids)
    assert (first.from_address, first.from_name) == (CLAIRE, "Claire Fabre")
    assert first.to == (SHARED,)
    assert first.subject == "Compte bloqué"
    assert first.internet_message_id == "<m1@mission-locale-lyon.fr>"
    assert first.body_text == "Bonjour,\nmerci de débloquer jdupont.\nClaire\n"
    assert first.received_at is not None and first.received_at.isoformat() == "2026-11-23T08:12:00+01:00"
    names = [name for name, _ in second.headers]
    assert names[:6] == ["Authentication-Results", "From", "To", "Subject", "Date", "Message-ID"]
    # Reply-To is kept as evidence, in its place.
    assert ("Reply-To", "Karim <karim@evil.example>") in second.headers
    assert names.index("Reply-To") > names.index("Message-ID")
    assert second.from_address == KARIM
    assert mailbox.list_unread() == ids  # reading did not set \Seen


def test_reply_goes_to_the_given_address_only_and_is_filed_once(
    servers: MailServers, mailbox: ImapMailbox, sandbox_tls: TlsFiles
) -> None:
    assert servers.endpoints is not None
    karims = mailbox.list_unread()[1]
    mailbox.reply(karims, "Bonjour Karim,\nle compte nroux est débloqué.", to=KARIM)

    delivery = servers.deliveries()[-1]
    assert delivery.rcpt_tos == (KARIM,)  # the envelope, not only the header: never the Reply-To
    assert delivery.mail_from == SHARED and delivery.authenticated_as == USER
    sent = sent_messages(servers.endpoints, sandbox_tls)
    assert len(sent) == 1  # the server filed it; the connector saw that and did not append a second copy
    reply = sent[0]
    assert str(reply["To"]) == KARIM and str(reply["From"]) == SHARED
    assert str(reply["Subject"]) == "RE: Déblocage nroux"
    assert str(reply["In-Reply-To"]) == "<m2@mission-locale-lyon.fr>"
    assert str(reply["References"]) == "<earlier@mission-locale-lyon.fr> <m2@mission-locale-lyon.fr>"
    assert reply.get_content_type() == "text/plain" and reply.get_content_charset() == "utf-8"
    assert reply.get_content().replace("\r\n", "\n") == "Bonjour Karim,\nle compte nroux est débloqué.\n"
    with raw_imap(servers.endpoints, sandbox_tls) as client:
        client.select_folder("INBOX", readonly=True)
        uid = int(karims.split(":")[1])
        assert b"\\Answered" in client.get_flags([uid])[uid]
    assert karims in mailbox.list_unread()  # answering is not handling: mark_read stays the caller's decision


def test_reply_is_appended_to_sent_when_the_server_does_not_file_it(
    make_servers: MakeServers, sandbox_tls: TlsFiles
) -> None:
    servers = make_servers(save_sent=False)
    assert servers.endpoints is not None
    with connector(servers.endpoints, sandbox_tls) as box:
        box.reply(box.list_unread()[0], "C'est fait.", to=CLAIRE)
    assert servers.deliveries()[-1].folders == ()
    sent = sent_messages(servers.endpoints, sandbox_tls)
    assert [str(m["To"]) for m in sent] == [CLAIRE]
    assert str(sent[0]["Subject"]) == "RE: Compte bloqué"


def test_mark_read_sets_seen(servers: MailServers, mailbox: ImapMailbox, sandbox_tls: TlsFiles) -> None:
    assert servers.endpoints is not None
    first, second = mailbox.list_unread()
    mailbox.mark_read(first)
    assert mailbox.list_unread() == [second]
    with raw_imap(servers.endpoints, sandbox_tls) as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["SEEN"]) == [int(first.split(":")[1])]


def test_new_mail_shows_up_on_the_same_connection_and_html_becomes_text(
    servers: MailServers, mailbox: ImapMailbox
) -> None:
    assert servers.endpoints is not None
    before = mailbox.list_unread()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Sophie <s.moreau@capemploi69.fr>", SHARED, "HTML"
    message.set_content("<p>Bonjour,</p><p>d&eacute;bloquez <b>mmartin</b></p>", subtype="html")
    with smtplib.SMTP(servers.endpoints.smtp_host, servers.endpoints.smtp_port, timeout=5) as smtp:
        smtp.send_message(message)
    after = mailbox.list_unread()
    assert after[:-1] == before and len(after) == len(before) + 1
    assert mailbox.get(after[-1]).body_text == "Bonjour,\ndébloquez mmartin"


def test_unknown_and_stale_ids_are_not_found(mailbox: ImapMailbox) -> None:
    validity, _, _ = mailbox.list_unread()[0].partition(":")
    with pytest.raises(NotFoundError):
        mailbox.get(f"{validity}:99999")
    with pytest.raises(NotFoundError):
        mailbox.mark_read(f"{validity}:99999")
    with pytest.raises(NotFoundError, match="earlier numbering"):
        mailbox.get(f"{int(validity) + 1}:101")
    with pytest.raises(NotFoundError):
        mailbox.get("not-an-id")


def test_wrong_password_is_a_permission_error_without_the_password(
    servers: MailServers, sandbox_tls: TlsFiles
) -> None:
    assert servers.endpoints is not None
    with connector(servers.endpoints, sandbox_tls, password="wrong-Passw0rd") as box, \
            pytest.raises(PermissionMissingError) as raised:
        box.list_unread()
    assert USER in str(raised.value) and "wrong-Passw0rd" not in str(raised.value)
    assert not raised.value.retryable


def test_untrusted_certificate_is_not_retried(servers: MailServers, sandbox_tls: TlsFiles) -> None:
    assert servers.endpoints is not None
    e = servers.endpoints
    with ImapMailbox(imap_host=e.imap_host, imap_port=e.imap_port, smtp_host=e.smtp_host, smtp_port=e.smtp_port,
                     user=USER, password=PASSWORD, address=SHARED, timeout=5, retry=FAST) as box, \
            pytest.raises(ConnectorError, match="ca_file") as raised:
        box.list_unread()
    assert not raised.value.retryable


def test_stopped_server_is_transient_and_the_connector_reconnects(
    make_servers: MakeServers, sandbox_tls: TlsFiles
) -> None:
    servers = make_servers()
    endpoints = servers.endpoints
    assert endpoints is not None
    with connector(endpoints, sandbox_tls) as box:
        ids = box.list_unread()
        servers.stop()
        with pytest.raises(TransientError):
            box.list_unread()
        with pytest.raises(TransientError):
            box.reply(ids[0], "x", to=CLAIRE)
        make_servers(imap_port=endpoints.imap_port, smtp_port=endpoints.smtp_port)
        assert box.list_unread() == ids  # same UIDVALIDITY after the restart: old ids still valid
        box.mark_read(ids[0])
        assert box.list_unread() == ids[1:]


def test_silent_server_times_out_as_transient() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never greets
    port = listener.getsockname()[1]
    try:
        with ImapMailbox(imap_host="127.0.0.1", imap_port=port, smtp_host="127.0.0.1", smtp_port=port,
                         user=USER, password=PASSWORD, address=SHARED, use_tls=False, timeout=0.3,
                         retry=FAST) as box, \
                pytest.raises(TransientError, match="did not answer"):
            box.list_unread()
    finally:
        listener.close()


def test_plain_sandbox_without_tls() -> None:
    with MailServers(scenario(), user=USER, password=PASSWORD) as servers:
        e = servers.endpoints
        assert e is not None
        with ImapMailbox(imap_host=e.imap_host, imap_port=e.imap_port, smtp_host=e.smtp_host,
                         smtp_port=e.smtp_port, user=USER, password=PASSWORD, address=SHARED,
                         use_tls=False, timeout=5) as box:
            first = box.list_unread()[0]
            box.reply(first, "ok", to=CLAIRE)
            box.mark_read(first)
            assert len(box.list_unread()) == 1
        assert servers.deliveries()[-1].rcpt_tos == (CLAIRE,)


# ----- polling: duplicates, Authentication-Results, IDLE, retries, observability ----------------------------


def deliver(endpoints: MailEndpoints, *, message_id: str | None, subject: str = "Compte bloqué",
            sender: str = CLAIRE) -> None:
    """Mail to the shared mailbox through the sandbox SMTP server, as a partner's server would."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, SHARED, subject
    if message_id:
        message["Message-ID"] = message_id
    message["Authentication-Results"] = "mx.agence.local; spf=pass; dkim=pass; dmarc=pass"
    message.set_content("Merci de débloquer jdupont.")
    with smtplib.SMTP(endpoints.smtp_host, endpoints.smtp_port, timeout=5) as smtp:
        smtp.send_message(message)


def test_a_message_delivered_twice_is_listed_once_across_polls(servers: MailServers, mailbox: ImapMailbox) -> None:
    assert servers.endpoints is not None
    before = mailbox.list_unread()
    deliver(servers.endpoints, message_id="<dup-1@mission-locale-lyon.fr>")
    deliver(servers.endpoints, message_id="<dup-1@mission-locale-lyon.fr>")  # same poll: both copies present
    first_poll = mailbox.list_unread()
    assert len(first_poll) == len(before) + 1
    new = first_poll[-1]
    assert mailbox.get(new).internet_message_id == "<dup-1@mission-locale-lyon.fr>"
    mailbox.mark_read(new)
    deliver(servers.endpoints, message_id="<dup-1@mission-locale-lyon.fr>")  # a later poll: a third copy
    assert mailbox.list_unread() == before
    # Without a Message-ID nothing can be told apart: both are listed.
    deliver(servers.endpoints, message_id=None, subject="sans id")
    deliver(servers.endpoints, message_id=None, subject="sans id")
    assert len(mailbox.list_unread()) == len(before) + 2


def test_authentication_results_are_exposed_topmost_first(servers: MailServers, mailbox: ImapMailbox) -> None:
    first = mailbox.get(mailbox.list_unread()[0])
    assert authentication_results(first) == ("mx.agence.local; spf=pass; dkim=pass; dmarc=pass",)
    assert first.headers[0][0] == "Authentication-Results"


def test_wait_for_mail_idles_and_wakes_on_arrival_without_blocking_reads(
    servers: MailServers, mailbox: ImapMailbox
) -> None:
    assert servers.endpoints is not None
    endpoints = servers.endpoints
    before = mailbox.list_unread()
    assert mailbox.wait_for_mail(0.3) is False  # nothing new since the last poll
    woke: list[tuple[bool, float]] = []

    def wait() -> None:
        started = time.monotonic()
        woke.append((mailbox.wait_for_mail(20), time.monotonic() - started))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    started = time.monotonic()
    assert mailbox.list_unread() == before  # reads go on while the other connection IDLEs
    assert time.monotonic() - started < 1.0
    deliver(endpoints, message_id="<idle-1@mission-locale-lyon.fr>")
    waiter.join(timeout=25)
    assert woke and woke[0][0] is True and woke[0][1] < 10, woke
    assert len(mailbox.list_unread()) == len(before) + 1
    assert mailbox.wait_for_mail(0.2) is False  # that arrival was reported once


def test_wait_for_mail_polls_when_idle_is_off(servers: MailServers, sandbox_tls: TlsFiles) -> None:
    assert servers.endpoints is not None
    endpoints = servers.endpoints
    with connector(endpoints, sandbox_tls, idle=False, poll_seconds=0.2) as box:
        box.list_unread()
        timer = threading.Timer(0.5, deliver, kwargs={"endpoints": endpoints, "message_id": "<poll-1@x.fr>"})
        timer.start()
        started = time.monotonic()
        assert box.wait_for_mail(10) is True
        assert time.monotonic() - started < 5
        timer.join()
        assert box.wait_for_mail(0.3) is False


def test_a_server_back_within_the_retry_policy_is_waited_for(make_servers: MakeServers, sandbox_tls: TlsFiles) -> None:
    servers = make_servers()
    endpoints = servers.endpoints
    assert endpoints is not None
    patient = RetryPolicy(attempts=8, base_delay=0.2, max_delay=0.4, deadline=15)
    with connector(endpoints, sandbox_tls, retry=patient) as box:
        ids = box.list_unread()
        servers.stop()
        restart = threading.Timer(0.5, make_servers, kwargs={"imap_port": endpoints.imap_port,
                                                              "smtp_port": endpoints.smtp_port})
        restart.start()
        assert box.list_unread() == ids  # retried (a read) until the server was back
        restart.join()


def test_every_operation_is_observed(mailbox: ImapMailbox) -> None:
    before = METRICS.snapshot().get("imap", {})
    first = mailbox.list_unread()[0]
    mailbox.get(first)
    mailbox.mark_read(first)
    after = METRICS.snapshot()["imap"]
    for operation in ("list_unread", "get", "mark_read"):
        previous = before.get(operation)
        assert after[operation].calls == (previous.calls if previous else 0) + 1


# ----- doctor -------------------------------------------------------------------------------------------------


def test_doctor_is_green_on_the_sandbox(servers: MailServers, mailbox: ImapMailbox) -> None:
    findings = mailbox.doctor()
    assert {f.check: f.ok for f in findings} == {
        "login": True, "folder": True, "flags": True, "sent folder": True, "idle": True, "smtp auth": True}
    assert "IDLE" in next(f.detail for f in findings if f.check == "idle")
    assert servers.deliveries() == []  # checking sends nothing


def test_doctor_names_a_refused_login_for_imap_and_smtp(servers: MailServers, sandbox_tls: TlsFiles) -> None:
    assert servers.endpoints is not None
    with connector(servers.endpoints, sandbox_tls, password="wrong-Passw0rd") as box:
        findings = box.doctor()
    failed = {f.check: f for f in findings if not f.ok}
    assert set(failed) == {"login", "smtp auth"}
    assert "SESAME_IMAP_PASSWORD" in failed["login"].fix and USER in failed["login"].detail
    assert all("wrong-Passw0rd" not in f.detail + f.fix for f in findings)


def test_doctor_names_a_missing_folder_and_sent_folder(servers: MailServers, sandbox_tls: TlsFiles) -> None:
    assert servers.endpoints is not None
    with connector(servers.endpoints, sandbox_tls, folder="Partenaires") as box:
        folder = next(f for f in box.doctor() if f.check == "folder")
    assert not folder.ok and "imap.folder" in folder.fix
    with connector(servers.endpoints, sandbox_tls, sent_folder="Envoyés") as box:
        sent = next(f for f in box.doctor() if f.check == "sent folder")
    assert not sent.ok and "imap.sent_folder" in sent.fix
