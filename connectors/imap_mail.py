"""The shared mailbox over IMAP (read, flag) and SMTP (reply), for mail services other than Exchange Online.

Message ids are ``"<UIDVALIDITY>:<UID>"``: a UID names a message only while the folder keeps its
UIDVALIDITY, so an id from an older numbering is refused (NotFoundError) instead of pointing at
another message. Reading uses ``BODY.PEEK[]``, which leaves ``\\Seen`` alone: only ``mark_read`` sets it.

TLS: with ``use_tls`` (the default) port 993 means IMAP over TLS and port 465 SMTP over TLS; any other
port must offer STARTTLS, which is then required. ``ca_file`` replaces the system's trusted CAs.
Plain text (``use_tls=False``) is for a loopback sandbox only.

One IMAP connection is kept and reused; a broken one is reopened once per call. SMTP connects per
reply (replies are rare and servers drop idle sessions). After SMTP has accepted a reply nothing
raises any more: a caller retrying on error would send it twice, so a copy that cannot be saved in
the sent folder is logged instead.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import smtplib
import ssl
import threading
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    TransientError,
)
from connectors.mailbox import InboundMessage

SYSTEM = "imap"
IMAPS_PORT = 993
SMTPS_PORT = 465
SEEN = b"\\Seen"
ANSWERED = b"\\Answered"
# Server answers that mean "later", not "never" (RFC 5530 response codes).
TRANSIENT_CODES = ("[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]", "[LIMIT]")
REPLY_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)

_log = logging.getLogger(__name__)
T = TypeVar("T")


class ImapMailbox:
    """``connectors.mailbox.Mailbox`` for a mailbox reached over IMAP4rev1 and SMTP submission.

    Thread-safe (one lock around the connection). ``close()`` it, or use it as a context manager.
    """

    def __init__(
        self,
        *,
        imap_host: str,
        imap_port: int,
        smtp_host: str,
        smtp_port: int,
        user: str,
        password: str,
        address: str,
        use_tls: bool = True,
        ca_file: str | None = None,
        timeout: float = 30.0,
        folder: str = "INBOX",
        sent_folder: str = "Sent",
    ) -> None:
        self.address = address.lower()
        self._imap_at = (imap_host, imap_port)
        self._smtp_at = (smtp_host, smtp_port)
        self._user = user
        self._password = password
        self._use_tls = use_tls
        self._ca_file = ca_file
        self._timeout = timeout
        self._folder = folder
        self._sent_folder = sent_folder
        self._lock = threading.RLock()
        self._client: IMAPClient | None = None
        self._selected: str | None = None
        self._uid_validity: int | None = None

    def __repr__(self) -> str:
        return f"ImapMailbox({self.address}, imap={_where(self._imap_at)}, smtp={_where(self._smtp_at)})"

    # ----- Mailbox ------------------------------------------------------------------------------

    def list_unread(self, limit: int = 50) -> list[str]:
        """Ids of messages without ``\\Seen`` in the folder, oldest (lowest UID) first."""

        def unread(client: IMAPClient) -> list[str]:
            # NOOP first: a server may only take in new arrivals for the selected folder between commands.
            client.noop()
            uids = sorted(int(uid) for uid in client.search(["UNSEEN"]))
            return [self._message_id(uid) for uid in uids[: max(0, limit)]]

        return self._imap(unread, f"list unread messages of {self._folder}")

    def get(self, message_id: str) -> InboundMessage:
        """The whole message: headers in order, text body, sender; does not mark it read."""
        raw, arrived = self._imap(lambda client: self._fetch(client, message_id), f"read message {message_id}")
        return inbound_message(message_id, raw, arrived)

    def reply(self, message_id: str, body_text: str, *, to: str) -> None:
        """Answer ``message_id`` in plain text to ``to`` only (never its Reply-To), then file a copy in Sent."""
        header = self._imap(lambda client: self._fetch(client, message_id, headers_only=True)[0],
                            f"read message {message_id} to answer it")
        original = BytesHeaderParser(policy=policy.default).parsebytes(header)
        message = reply_message(original, sender=self.address, to=to, body_text=body_text)
        self._send(message, to, f"send the reply to message {message_id}")
        # From here on the reply is gone: filing and flagging are best effort, never an error to retry on.
        try:
            self._imap(lambda client: self._file_sent(client, message), f"save the reply in {self._sent_folder}")
            self._imap(lambda client: self._flag(client, message_id, ANSWERED), f"flag message {message_id}")
        except ConnectorError as exc:
            _log.warning("reply to message %s sent to %s but not filed: %s", message_id, to, exc)

    def mark_read(self, message_id: str) -> None:
        """Set ``\\Seen`` on the message so the poller skips it."""
        self._imap(lambda client: self._flag(client, message_id, SEEN), f"mark message {message_id} read")

    def close(self) -> None:
        """Log out and close the IMAP connection."""
        with self._lock:
            client, self._client, self._selected = self._client, None, None
            if client is not None:
                try:
                    client.logout()
                except (IMAPClientError, OSError):
                    _shutdown(client)

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- IMAP operations (run under the lock, on a connected client) -------------------------

    def _fetch(self, client: IMAPClient, message_id: str, *, headers_only: bool = False) -> tuple[bytes, Any]:
        uid = self._uid(client, message_id)
        part = b"BODY[HEADER]" if headers_only else b"BODY[]"
        wanted = ["BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]", "INTERNALDATE"]
        data = client.fetch([uid], wanted).get(uid)
        if not data or part not in data:
            raise NotFoundError(f"message {message_id} is no longer in {self._folder} of {self.address}",
                                system=SYSTEM)
        return bytes(data[part]), data.get(b"INTERNALDATE")

    def _flag(self, client: IMAPClient, message_id: str, flag: bytes) -> None:
        uid = self._uid(client, message_id)
        if uid not in client.add_flags([uid], [flag]):
            raise NotFoundError(f"message {message_id} is no longer in {self._folder} of {self.address}",
                                system=SYSTEM)

    def _file_sent(self, client: IMAPClient, message: EmailMessage) -> None:
        # Some services (Gmail, Exchange, the sandbox by default) file submitted mail themselves.
        client.select_folder(self._sent_folder)
        self._selected = self._sent_folder
        if not client.search(["HEADER", "Message-ID", str(message["Message-ID"])]):
            client.append(self._sent_folder, message.as_bytes(policy=policy.SMTP), flags=[SEEN],
                          msg_time=datetime.now().astimezone())
        self._select_folder(client)

    def _uid(self, client: IMAPClient, message_id: str) -> int:
        validity, _, uid = message_id.partition(":")
        if not (validity.isdigit() and uid.isdigit()):
            raise NotFoundError(f"{message_id!r} is not a message id of this mailbox (expected UIDVALIDITY:UID)",
                                system=SYSTEM)
        if self._selected != self._folder:
            self._select_folder(client)
        if int(validity) != self._uid_validity:
            raise NotFoundError(
                f"message {message_id} belongs to an earlier numbering of {self._folder} in {self.address} "
                f"(UIDVALIDITY is now {self._uid_validity}); list the unread messages again",
                system=SYSTEM,
            )
        return int(uid)

    def _message_id(self, uid: int) -> str:
        return f"{self._uid_validity}:{uid}"

    # ----- IMAP connection ----------------------------------------------------------------------

    def _imap(self, work: Callable[[IMAPClient], T], action: str) -> T:
        with self._lock:
            for attempt in (1, 2):
                try:
                    return work(self._connected())
                except ConnectorError:
                    raise
                except LoginError as exc:
                    self._drop()
                    raise PermissionMissingError(
                        f"the IMAP server {_where(self._imap_at)} refused the login of {self._user} "
                        f"(needed to {action}): {_reason(exc)}. Check the user and password.",
                        system=SYSTEM,
                    ) from exc
                except ssl.SSLCertVerificationError as exc:
                    self._drop()
                    raise _untrusted(self._imap_at, exc) from exc
                except (IMAPClientAbortError, OSError) as exc:
                    # A dropped or timed-out connection: reopen it once, then give up for now.
                    self._drop()
                    if attempt == 2:
                        raise TransientError(
                            f"the IMAP server {_where(self._imap_at)} did not answer while trying to {action}: "
                            f"{type(exc).__name__}: {_reason(exc)}",
                            system=SYSTEM,
                        ) from exc
                except IMAPClientError as exc:
                    raise _refused(exc, action, self._imap_at) from exc
        raise AssertionError("unreachable")

    def _connected(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        host, port = self._imap_at
        implicit_tls = self._use_tls and port == IMAPS_PORT
        client = IMAPClient(host, port, ssl=implicit_tls, ssl_context=self._tls_context() if implicit_tls else None,
                            timeout=self._timeout)
        try:
            if self._use_tls and not implicit_tls:
                if not client.has_capability("STARTTLS"):
                    raise ConnectorError(
                        f"the IMAP server {_where(self._imap_at)} does not offer STARTTLS; use port {IMAPS_PORT} "
                        "for IMAP over TLS (use_tls=False is for a loopback sandbox only)",
                        system=SYSTEM,
                    )
                client.starttls(self._tls_context())
            client.login(self._user, self._password)
            client.normalise_times = False  # keep INTERNALDATE's offset instead of a naive local time
            self._client = client
            self._select_folder(client)
        except BaseException:
            self._client = None
            _shutdown(client)
            raise
        return client

    def _select_folder(self, client: IMAPClient) -> None:
        try:
            info = client.select_folder(self._folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise NotFoundError(f"folder {self._folder!r} not found in {self.address}: {_reason(exc)}",
                                system=SYSTEM) from exc
        self._selected = self._folder
        self._uid_validity = int(info[b"UIDVALIDITY"])

    def _drop(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            _shutdown(client)

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._ca_file)

    # ----- SMTP ---------------------------------------------------------------------------------

    def _send(self, message: EmailMessage, to: str, action: str) -> None:
        host, port = self._smtp_at
        try:
            with self._smtp(host, port) as smtp:
                smtp.send_message(message, from_addr=self.address, to_addrs=[to])
        except smtplib.SMTPAuthenticationError as exc:
            raise PermissionMissingError(
                f"the SMTP server {_where(self._smtp_at)} refused the login of {self._user} (needed to {action}): "
                f"{exc.smtp_code} {_smtp_text(exc.smtp_error)}. Check the user and password.",
                system=SYSTEM,
            ) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise PermissionMissingError(
                f"the SMTP server {_where(self._smtp_at)} refused {self.address} as sender (needed to {action}): "
                f"{exc.smtp_code} {_smtp_text(exc.smtp_error)}; {self._user} may lack the right to send as it",
                system=SYSTEM,
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            error_type = TransientError if 400 <= code < 500 else InvalidRequestError
            raise error_type(f"the SMTP server {_where(self._smtp_at)} refused recipient {to} while trying to "
                             f"{action}: {code} {_smtp_text(text)}", system=SYSTEM) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ConnectorError(
                f"the SMTP server {_where(self._smtp_at)} does not offer STARTTLS; use port {SMTPS_PORT} for SMTP "
                "over TLS (use_tls=False is for a loopback sandbox only)",
                system=SYSTEM,
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise _untrusted(self._smtp_at, exc) from exc
        except smtplib.SMTPResponseException as exc:
            error_type = TransientError if 400 <= exc.smtp_code < 500 else InvalidRequestError
            raise error_type(f"the SMTP server {_where(self._smtp_at)} refused to {action}: {exc.smtp_code} "
                             f"{_smtp_text(exc.smtp_error)}", system=SYSTEM) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"the SMTP server {_where(self._smtp_at)} did not answer while trying to {action}: "
                                 f"{type(exc).__name__}: {_reason(exc)}", system=SYSTEM) from exc

    def _smtp(self, host: str, port: int) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self._use_tls and port == SMTPS_PORT:
            smtp = smtplib.SMTP_SSL(host, port, timeout=self._timeout, context=self._tls_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if self._use_tls and port != SMTPS_PORT:
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if smtp.has_extn("auth"):
                smtp.login(self._user, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp


# ----- messages ---------------------------------------------------------------------------------


def inbound_message(message_id: str, raw: bytes, arrived: datetime | None = None) -> InboundMessage:
    """Parse an RFC 5322 message into ``InboundMessage``; ``arrived`` (INTERNALDATE) wins over the Date header."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    from_name, from_address = _first_address(message, "From")
    return InboundMessage(
        id=message_id,
        internet_message_id=str(message.get("Message-ID", "")).strip(),
        from_address=from_address.lower(),
        from_name=from_name,
        to=tuple(address.lower() for _, address in _addresses(message, "To")),
        subject=str(message.get("Subject", "")),
        body_text=_body_text(message),
        headers=tuple((name, str(value)) for name, value in message.items()),
        received_at=arrived if isinstance(arrived, datetime) else _date(message),
    )


def reply_message(original: Message, *, sender: str, to: str, body_text: str) -> EmailMessage:
    """A plain-text UTF-8 answer to ``original`` for ``to`` alone, threaded by In-Reply-To and References."""
    reply = EmailMessage(policy=policy.default)
    reply["From"] = sender
    reply["To"] = to
    subject = str(original.get("Subject", "")).strip()
    reply["Subject"] = subject if REPLY_PREFIX.match(subject) else f"RE: {subject}".rstrip()
    reply["Date"] = format_datetime(datetime.now().astimezone())
    reply["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    original_id = str(original.get("Message-ID", "")).strip()
    if original_id:
        reply["In-Reply-To"] = original_id
        references = str(original.get("References", "")).split()
        reply["References"] = " ".join([*references, original_id])
    # RFC 3834: an automatic answer, so vacation responders do not answer it back.
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content(body_text, charset="utf-8")
    return reply


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    values = [str(value) for value in message.get_all(name, [])]
    return [(display, address) for display, address in getaddresses(values) if address]


def _first_address(message: Message, name: str) -> tuple[str, str]:
    header = message.get(name)
    addresses = getattr(header, "addresses", None)
    if addresses:
        return addresses[0].display_name, addresses[0].addr_spec
    return parseaddr(str(header or ""))


def _date(message: Message) -> datetime | None:
    header = message.get("Date")
    moment = getattr(header, "datetime", None)
    return moment if isinstance(moment, datetime) else None


def _body_text(message: EmailMessage | Message) -> str:
    part = message.get_body(preferencelist=("plain", "html")) if isinstance(message, EmailMessage) else None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        # Unknown or lying charset: keep what can be read rather than lose the request.
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    text = str(content).replace("\r\n", "\n")
    return _html_text(text) if part.get_content_subtype() == "html" else text


def _html_text(content: str) -> str:
    content = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", content)
    content = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", content)
    text = html.unescape(re.sub(r"<[^>]+>", "", content))
    return "\n".join(line.strip() for line in text.splitlines()).strip()


# ----- errors -----------------------------------------------------------------------------------


def _where(at: tuple[str, int]) -> str:
    return f"{at[0]}:{at[1]}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return text.splitlines()[0] if text else "no reason given"


def _smtp_text(text: bytes | str) -> str:
    return text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text)


def _refused(exc: IMAPClientError, action: str, at: tuple[str, int]) -> ConnectorError:
    reason = _reason(exc)
    error_type = TransientError if any(code in reason.upper() for code in TRANSIENT_CODES) else InvalidRequestError
    return error_type(f"the IMAP server {_where(at)} refused to {action}: {reason}", system=SYSTEM)


def _untrusted(at: tuple[str, int], exc: ssl.SSLCertVerificationError) -> ConnectorError:
    return ConnectorError(
        f"the TLS certificate of {_where(at)} is not trusted ({exc.verify_message}); set ca_file to the CA "
        "that signed it",
        system=SYSTEM,
    )


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(IMAPClientError, OSError):
        client.shutdown()
