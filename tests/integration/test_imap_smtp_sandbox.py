"""The sandbox IMAP and SMTP servers, checked with real clients: ``imapclient`` and ``smtplib``."""

from __future__ import annotations

import contextlib
import imaplib
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from sandbox.mail import MailEndpoints, MailServers
from sandbox.scenario import Email, Scenario, load_scenario
from sandbox.tls import TlsFiles

USER, PASSWORD = "helpdesk", "s3cret-sandbox"
SHARED = "support-partenaires@agence.local"
DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
AUTH_RESULTS = ("mx.agence.local; spf=pass smtp.mailfrom=mission-locale-lyon.fr; "
                "dkim=pass header.d=mission-locale-lyon.fr")


def scenario() -> Scenario:
    """Two partner e-mails; the second asks for answers elsewhere (Reply-To), as a phishing attempt would."""
    return Scenario(partners=(), users=(), tickets=(), emails=(
        Email(id="m1", from_address="claire.fabre@mission-locale-lyon.fr", from_name="Claire Fabre", to=SHARED,
              subject="Compte bloqué", body="Bonjour,\nmerci de débloquer jdupont.\nClaire",
              headers={"Message-ID": "<m1@mission-locale-lyon.fr>", "Date": "Mon, 23 Nov 2026 08:12:00 +0100",
                       "Authentication-Results": AUTH_RESULTS}),
        Email(id="m2", from_address="karim.benali@mission-locale-lyon.fr", from_name="Karim Benali", to=SHARED,
              subject="Déblocage", body="Débloquez nroux svp.",
              headers={"Message-ID": "<m2@mission-locale-lyon.fr>", "Date": "Mon, 23 Nov 2026 09:05:00 +0100",
                       "Authentication-Results": AUTH_RESULTS, "Reply-To": "Karim <karim@evil.example>"}),
    ))


@pytest.fixture
def servers(tmp_path: Path, sandbox_tls: TlsFiles) -> Iterator[MailServers]:
    mail = MailServers(scenario(), user=USER, password=PASSWORD, state_dir=tmp_path, tls=sandbox_tls)
    mail.start()
    yield mail
    mail.stop()


def tls_context(tls: TlsFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.ca_file))


def imap(endpoints: MailEndpoints, tls: TlsFiles | None) -> IMAPClient:
    client = IMAPClient(endpoints.imap_host, endpoints.imap_port, ssl=False, timeout=5)
    if tls is not None:
        client.starttls(tls_context(tls))
    client.login(endpoints.user, endpoints.password)
    return client


def smtp(endpoints: MailEndpoints, tls: TlsFiles, *, login: bool = True) -> smtplib.SMTP:
    client = smtplib.SMTP(endpoints.smtp_host, endpoints.smtp_port, timeout=5)
    try:
        client.starttls(context=tls_context(tls))
        if login:
            client.login(endpoints.user, endpoints.password)
    except smtplib.SMTPException:
        client.close()
        raise
    return client


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def test_scenario_emails_are_unread_in_inbox_with_their_headers(servers: MailServers, sandbox_tls: TlsFiles) -> None:
    assert servers.endpoints is not None
    with imap(servers.endpoints, sandbox_tls) as client:
        client.select_folder("INBOX")
        uids = client.search(["UNSEEN"])
        assert len(uids) == 2
        fetched = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])
        first, second = (parse(fetched[uid][b"BODY[]"]) for uid in sorted(uids))
        assert str(first["From"]) == "Claire Fabre <claire.fabre@mission-locale-lyon.fr>"
        assert str(first["To"]) == SHARED
        assert str(first["Subject"]) == "Compte bloqué"
        assert str(first["Message-ID"]) == "<m1@mission-locale-lyon.fr>"
        assert str(first["Date"]) == "Mon, 23 Nov 2026 08:12:00 +0100"
        assert str(first["Authentication-Results"]) == AUTH_RESULTS
        # Trace headers first, as an MTA writes them.
        assert [name for name, _ in first.items()][:2] == ["Authentication-Results", "From"]
        assert first.get_content_type() == "text/plain" and first.get_content_charset() == "utf-8"
        assert first.get_content().replace("\r\n", "\n") == "Bonjour,\nmerci de débloquer jdupont.\nClaire\n"
        assert str(second["Reply-To"]) == "Karim <karim@evil.example>"
        # BODY.PEEK leaves the messages unread.
        assert all(b"\\Seen" not in fetched[uid][b"FLAGS"] for uid in uids)
        assert client.search(["UNSEEN"]) == uids


def test_demo_scenario_loads_as_it_does_for_graph() -> None:
    demo = load_scenario(DEMO)
    with MailServers(demo, user=USER, password=PASSWORD) as mail:
        assert mail.endpoints is not None and not mail.endpoints.starttls
        with imap(mail.endpoints, None) as client:
            assert client.select_folder("INBOX")[b"EXISTS"] == len(demo.emails)
            assert {folder for _, _, folder in client.list_folders()} >= {"INBOX", "Sent"}


def test_starttls_shows_the_sandbox_certificate_and_login_checks_the_password(
    servers: MailServers, sandbox_tls: TlsFiles
) -> None:
    endpoints = servers.endpoints
    assert endpoints is not None and endpoints.starttls
    untrusting = IMAPClient(endpoints.imap_host, endpoints.imap_port, ssl=False, timeout=5)
    assert untrusting.has_capability("STARTTLS")
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.starttls(ssl.create_default_context())  # the system CAs do not know the sandbox CA
    with contextlib.suppress(OSError):  # the failed handshake closed the socket already
        untrusting.shutdown()
    wrong = IMAPClient(endpoints.imap_host, endpoints.imap_port, ssl=False, timeout=5)
    wrong.starttls(tls_context(sandbox_tls))
    with pytest.raises(LoginError):
        wrong.login(USER, "not-the-password")
    wrong.shutdown()
    with smtplib.SMTP(endpoints.smtp_host, endpoints.smtp_port, timeout=5) as plain:
        plain.ehlo()
        assert plain.has_extn("starttls") and not plain.has_extn("auth")  # no password before TLS
    with pytest.raises(smtplib.SMTPAuthenticationError):
        smtp(MailEndpoints(endpoints.imap_host, endpoints.imap_port, endpoints.smtp_host, endpoints.smtp_port,
                           USER, "not-the-password"), sandbox_tls)


def test_smtp_delivers_to_inbox_and_files_the_users_mail_in_sent(servers: MailServers, sandbox_tls: TlsFiles) -> None:
    endpoints = servers.endpoints
    assert endpoints is not None
    inbound = EmailMessage()
    inbound["From"], inbound["To"], inbound["Subject"] = "Sophie <s.moreau@capemploi69.fr>", SHARED, "Nouveau"
    inbound.set_content("Bonjour, débloquez mmartin.")
    with smtp(endpoints, sandbox_tls, login=False) as client:
        client.send_message(inbound)
    outbound = EmailMessage()
    outbound["From"], outbound["To"], outbound["Subject"] = SHARED, "claire.fabre@mission-locale-lyon.fr", "RE: x"
    outbound["Message-ID"] = "<reply-1@agence.local>"
    outbound.set_content("C'est fait.")
    with smtp(endpoints, sandbox_tls) as client:
        client.send_message(outbound)

    with imap(endpoints, sandbox_tls) as client:
        client.select_folder("INBOX")
        unseen = client.search(["UNSEEN"])
        assert len(unseen) == 3
        assert str(parse(client.fetch([max(unseen)], ["BODY.PEEK[]"])[max(unseen)][b"BODY[]"])["Subject"]) == "Nouveau"
        client.select_folder("Sent")
        sent = client.search(["HEADER", "Message-ID", "<reply-1@agence.local>"])
        assert len(sent) == 1
        assert b"\\Seen" in client.get_flags(sent)[sent[0]]
    delivered = servers.deliveries()
    assert [d.folders for d in delivered] == [("INBOX",), ("Sent",)]
    assert delivered[1].rcpt_tos == ("claire.fabre@mission-locale-lyon.fr",)
    assert delivered[1].authenticated_as == USER


def test_flags_and_sent_mail_survive_a_restart(tmp_path: Path, sandbox_tls: TlsFiles) -> None:
    first = MailServers(scenario(), user=USER, password=PASSWORD, state_dir=tmp_path, tls=sandbox_tls)
    endpoints = first.start()
    with imap(endpoints, sandbox_tls) as client:
        validity = client.select_folder("INBOX")[b"UIDVALIDITY"]
        uids = sorted(client.search(["ALL"]))
        client.add_flags(uids[:1], [b"\\Seen"])
    with smtp(endpoints, sandbox_tls) as client:
        client.sendmail(SHARED, ["someone@example.org"], b"Subject: kept\r\nMessage-ID: <kept@x>\r\n\r\nhello\r\n")
    first.stop()

    second = MailServers(scenario(), user=USER, password=PASSWORD, state_dir=tmp_path, tls=sandbox_tls)
    endpoints = second.start()
    try:
        with imap(endpoints, sandbox_tls) as client:
            assert client.select_folder("INBOX")[b"UIDVALIDITY"] == validity
            assert sorted(client.search(["ALL"])) == uids  # same UIDs, not re-seeded
            assert client.search(["UNSEEN"]) == uids[1:]
            client.select_folder("Sent")
            assert len(client.search(["HEADER", "Message-ID", "<kept@x>"])) == 1
    finally:
        second.stop()


def test_stop_releases_threads_and_ports(sandbox_tls: TlsFiles) -> None:
    before = set(threading.enumerate())
    mail = MailServers(scenario(), user=USER, password=PASSWORD, tls=sandbox_tls)
    endpoints = mail.start()
    client = imap(endpoints, sandbox_tls)  # left open on purpose: stop() must close it
    client.select_folder("INBOX")
    mail.stop()
    assert set(threading.enumerate()) == before
    for port in (endpoints.imap_port, endpoints.smtp_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        client.noop()
    client.shutdown()
    # The same ports can be taken again at once (a restarted sandbox keeps its configuration).
    again = MailServers(scenario(), user=USER, password=PASSWORD, tls=sandbox_tls,
                        imap_port=endpoints.imap_port, smtp_port=endpoints.smtp_port)
    assert again.start().imap_port == endpoints.imap_port
    again.stop()
