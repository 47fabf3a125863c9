"""The shared mailbox over IMAP (read, flag) and SMTP (reply), for mail services other than Exchange Online.

Message ids are ``"<UIDVALIDITY>:<UID>"``: a UID names a message only while the folder keeps its
UIDVALIDITY, so an id from an older numbering is refused (NotFoundError) instead of pointing at
another message. Reading uses ``BODY.PEEK[]``, which leaves ``\\Seen`` alone: only ``mark_read`` sets it.

TLS: with ``use_tls`` (the default) port 993 means IMAP over TLS and port 465 SMTP over TLS; any other
port must offer STARTTLS, which is then required. ``ca_file`` replaces the system's trusted CAs.
Plain text (``use_tls=False``) is for a loopback sandbox only.

One IMAP connection is kept and reused; a broken one is reopened once per call. ``wait_for_mail`` uses a
second connection of its own, so IDLE never blocks the reads of other threads. SMTP connects per
reply (replies are rare and servers drop idle sessions). After SMTP has accepted a reply nothing
raises any more: a caller retrying on error would send it twice, so a copy that cannot be saved in
the sent folder is logged instead.

Every operation runs under ``observed("imap", operation)`` and ``call_with_retries`` with the connector's
``RetryPolicy``: reads and flag changes (idempotent) are retried on transient errors, the SMTP submission
of a reply never is. ``list_unread`` skips a message whose Internet Message-ID it already returned under
another UID (a duplicate delivery), in this poll or an earlier one of this process; the ledger's idempotency
key covers restarts. ``InboundMessage.headers`` keep every header in order, the receiving server's
``Authentication-Results`` (topmost first) included: see ``authentication_results``.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import smtplib
import ssl
import threading
import time
from collections import OrderedDict
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
from connectors.health import Finding
from connectors.mailbox import InboundMessage
from connectors.observability import observed
from connectors.resilience import NO_RETRY, RetryPolicy, call_with_retries

SYSTEM = "imap"
IMAPS_PORT = 993
SMTPS_PORT = 465
SEEN = b"\\Seen"
ANSWERED = b"\\Answered"
# Server answers that mean "later", not "never" (RFC 5530 response codes).
TRANSIENT_CODES = ("[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]", "[LIMIT]")
REPLY_PREFIX = re.compile(r"^\s*re\s*:", re.IGNORECASE)
MESSAGE_ID_FIELD = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
# RFC 2177: a client should re-issue IDLE at least every 29 minutes.
IDLE_RENEW_SECONDS = 29 * 60
MAIN, WATCH = "main", "watch"

_log = logging.getLogger(__name__)
T = TypeVar("T")


class ImapMailbox:
    """``connectors.mailbox.Mailbox`` for a mailbox reached over IMAP4rev1 and SMTP submission.

    Thread-safe (one lock per connection). ``close()`` it, or use it as a context manager.
    ``idle=False`` makes ``wait_for_mail`` poll every ``poll_seconds`` even when the server offers IDLE.
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
        retry: RetryPolicy | None = None,
        idle: bool = True,
        poll_seconds: float = 10.0,
        remember_message_ids: int = 10_000,
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
        self._retry = retry or RetryPolicy(attempts=3, deadline=max(30.0, 3 * timeout))
        self._idle = idle
        self._poll_seconds = poll_seconds
        self._locks = {MAIN: threading.RLock(), WATCH: threading.RLock()}
        self._clients: dict[str, IMAPClient | None] = {MAIN: None, WATCH: None}
        self._selected: dict[str, str | None] = {MAIN: None, WATCH: None}
        self._uid_validity: int | None = None
        # De-duplication: Internet Message-ID -> our id of its first copy, and our id -> its Message-ID.
        self._remember = remember_message_ids
        self._first_copy: OrderedDict[str, str] = OrderedDict()
        self._message_id_of: OrderedDict[str, str] = OrderedDict()
        self._uid_next: int | None = None
        self._memory = threading.Lock()

    def __repr__(self) -> str:
        return f"ImapMailbox({self.address}, imap={_where(self._imap_at)}, smtp={_where(self._smtp_at)})"

    # ----- Mailbox ------------------------------------------------------------------------------

    def list_unread(self, limit: int = 50) -> list[str]:
        """Ids of messages without ``\\Seen`` in the folder, oldest (lowest UID) first, duplicates left out."""

        def unread(client: IMAPClient) -> list[str]:
            # NOOP first: a server may only take in new arrivals for the selected folder between commands.
            client.noop()
            uids = sorted(int(uid) for uid in client.search(["UNSEEN"]))
            self._learn_message_ids(client, uids)
            if uids:
                self._advance(max(uids) + 1)
            fresh = [uid for uid in uids if not self._is_duplicate(self._message_id(uid))]
            return [self._message_id(uid) for uid in fresh[: max(0, limit)]]

        return self._call("list_unread", unread, f"list unread messages of {self._folder}")

    def get(self, message_id: str) -> InboundMessage:
        """The whole message: headers in order, text body, sender; does not mark it read."""
        raw, arrived = self._call("get", lambda client: self._fetch(client, message_id),
                                  f"read message {message_id}")
        return inbound_message(message_id, raw, arrived)

    def reply(self, message_id: str, body_text: str, *, to: str) -> None:
        """Answer ``message_id`` in plain text to ``to`` only (never its Reply-To), then file a copy in Sent."""
        header = self._call("reply.read", lambda client: self._fetch(client, message_id, headers_only=True)[0],
                            f"read message {message_id} to answer it")
        original = BytesHeaderParser(policy=policy.default).parsebytes(header)
        message = reply_message(original, sender=self.address, to=to, body_text=body_text)
        with observed(SYSTEM, "reply.send"):
            # A write that cannot be undone: retried only if the server refused it as throttled (SMTP never does).
            call_with_retries(lambda: self._send(message, to, f"send the reply to message {message_id}"),
                              policy=self._retry, system=SYSTEM, operation="reply.send", write=True)
        # From here on the reply is gone: filing and flagging are best effort, never an error to retry on.
        try:
            self._call("reply.file", lambda client: self._file_sent(client, message),
                       f"save the reply in {self._sent_folder}")
            self._call("reply.flag", lambda client: self._flag(client, message_id, ANSWERED),
                       f"flag message {message_id}")
        except ConnectorError as exc:
            _log.warning("reply to message %s sent to %s but not filed: %s", message_id, to, exc)

    def mark_read(self, message_id: str) -> None:
        """Set ``\\Seen`` on the message so the poller skips it (idempotent, so retried like a read)."""
        self._call("mark_read", lambda client: self._flag(client, message_id, SEEN),
                   f"mark message {message_id} read")

    def wait_for_mail(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for mail newer than any seen; True as soon as some arrived.

        IDLE (RFC 2177) on a connection of its own when the server offers it, else a check every
        ``poll_seconds``. Returns at once when mail arrived since the last ``list_unread``.
        """
        deadline = time.monotonic() + max(0.0, timeout)

        def wait(client: IMAPClient) -> bool:
            if self._has_new(client):
                return True
            if self._idle and client.has_capability("IDLE"):
                return self._idle_until(client, deadline)
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(left, self._poll_seconds))
                client.noop()
                if self._has_new(client):
                    return True
            return False

        return self._call("wait_for_mail", wait, f"wait for new mail in {self._folder}", slot=WATCH)

    def close(self) -> None:
        """Log out and close the IMAP connections."""
        for slot in (MAIN, WATCH):
            with self._locks[slot]:
                client, self._clients[slot], self._selected[slot] = self._clients[slot], None, None
                if client is not None:
                    try:
                        client.logout()
                    except (IMAPClientError, OSError):
                        _shutdown(client)

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- doctor -------------------------------------------------------------------------------

    def doctor(self) -> list[Finding]:
        """Login, the polled folder (writable flags), the Sent folder, IDLE and SMTP AUTH; sends nothing."""
        findings: list[Finding] = []
        where = _where(self._imap_at)
        try:
            # One attempt: the doctor reports a failure at once rather than waiting it out.
            info = self._call("doctor", lambda client: self._examine(client), f"check {self._folder}",
                              policy=NO_RETRY)
        except PermissionMissingError:
            return [Finding(SYSTEM, "login", False, f"{where} refused the login of {self._user}",
                            "check imap.user and the password (SESAME_IMAP_PASSWORD)"), *self._doctor_smtp()]
        except NotFoundError as exc:
            return [Finding(SYSTEM, "login", True, f"logged in as {self._user} at {where}"),
                    Finding(SYSTEM, "folder", False, str(exc),
                            f"set imap.folder to an existing folder of {self.address} or create {self._folder!r}"),
                    *self._doctor_smtp()]
        except ConnectorError as exc:
            fix = ("set imap.ca_file to the CA that signed the server's certificate" if "ca_file" in str(exc)
                   else "check imap.host, imap.port (993 = IMAPS, 143 = STARTTLS), the firewall and the server")
            check = "reachable" if isinstance(exc, TransientError) or "ca_file" in str(exc) else "login"
            return [Finding(SYSTEM, check, False, str(exc), fix), *self._doctor_smtp()]
        findings.append(Finding(SYSTEM, "login", True, f"logged in as {self._user} at {where}"))
        findings.append(Finding(SYSTEM, "folder", True, f"{self._folder!r} exists ({info['messages']} messages)"))
        if info["writable"]:
            findings.append(Finding(SYSTEM, "flags", True, f"can set \\Seen and \\Answered in {self._folder!r}"))
        else:
            findings.append(Finding(
                SYSTEM, "flags", False, f"{self._folder!r} is read-only for {self._user} or refuses \\Seen/\\Answered",
                f"give {self._user} write access to the flags of {self._folder!r} (ACL 'w', 's' on shared folders)",
            ))
        if info["sent"]:
            findings.append(Finding(SYSTEM, "sent folder", True, f"{self._sent_folder!r} exists"))
        else:
            findings.append(Finding(SYSTEM, "sent folder", False, f"{self._sent_folder!r} does not exist",
                                    f"create {self._sent_folder!r} or set imap.sent_folder to the Sent folder"))
        findings.append(Finding(SYSTEM, "idle", True, "the server offers IDLE: new mail wakes the poller" if
                                info["idle"] else f"no IDLE: the poller checks every {self._poll_seconds:g} s"))
        return findings + self._doctor_smtp()

    def _examine(self, client: IMAPClient) -> dict[str, Any]:
        info = client.select_folder(self._folder)
        self._selected[MAIN] = self._folder
        permanent = {bytes(flag) for flag in info.get(b"PERMANENTFLAGS", ())}
        writable = not info.get(b"READ-ONLY") and (b"\\*" in permanent or {SEEN, ANSWERED} <= permanent)
        return {"messages": int(info.get(b"EXISTS", 0)), "writable": writable,
                "sent": bool(client.folder_exists(self._sent_folder)), "idle": client.has_capability("IDLE")}

    def _doctor_smtp(self) -> list[Finding]:
        host, port = self._smtp_at
        where = _where(self._smtp_at)
        try:
            with observed(SYSTEM, "doctor.smtp"), self._smtp(host, port) as smtp:
                offered = smtp.has_extn("auth")
        except smtplib.SMTPAuthenticationError as exc:
            return [Finding(SYSTEM, "smtp auth", False,
                            f"{where} refused the login of {self._user}: {exc.smtp_code}",
                            "check imap.user and the password (SESAME_IMAP_PASSWORD); the mailbox needs SMTP AUTH "
                            "enabled (Exchange Online disables it per mailbox by default)")]
        except smtplib.SMTPNotSupportedError:
            return [Finding(SYSTEM, "smtp auth", False, f"{where} does not offer STARTTLS",
                            f"use port {SMTPS_PORT} (SMTP over TLS) or a server offering STARTTLS on 587")]
        except ssl.SSLCertVerificationError as exc:
            return [Finding(SYSTEM, "smtp auth", False, f"the TLS certificate of {where} is not trusted "
                            f"({exc.verify_message})", "set imap.ca_file to the CA that signed it")]
        except (smtplib.SMTPException, OSError) as exc:
            return [Finding(SYSTEM, "smtp auth", False, f"{where} did not answer: {type(exc).__name__}",
                            "check imap.smtp_host, imap.smtp_port, the firewall and the server")]
        detail = (f"{where} accepted the login of {self._user}" if offered
                  else f"{where} offers no AUTH: replies are relayed on our address alone")
        return [Finding(SYSTEM, "smtp auth", True, detail)]

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
        self._selected[MAIN] = self._sent_folder
        if not client.search(["HEADER", "Message-ID", str(message["Message-ID"])]):
            client.append(self._sent_folder, message.as_bytes(policy=policy.SMTP), flags=[SEEN],
                          msg_time=datetime.now().astimezone())
        self._select_folder(client, MAIN)

    def _uid(self, client: IMAPClient, message_id: str) -> int:
        validity, _, uid = message_id.partition(":")
        if not (validity.isdigit() and uid.isdigit()):
            raise NotFoundError(f"{message_id!r} is not a message id of this mailbox (expected UIDVALIDITY:UID)",
                                system=SYSTEM)
        if self._selected[MAIN] != self._folder:
            self._select_folder(client, MAIN)
        if int(validity) != self._uid_validity:
            raise NotFoundError(
                f"message {message_id} belongs to an earlier numbering of {self._folder} in {self.address} "
                f"(UIDVALIDITY is now {self._uid_validity}); list the unread messages again",
                system=SYSTEM,
            )
        return int(uid)

    def _message_id(self, uid: int) -> str:
        return f"{self._uid_validity}:{uid}"

    # ----- de-duplication and new-mail watermark -------------------------------------------------

    def _learn_message_ids(self, client: IMAPClient, uids: list[int]) -> None:
        """Fetch the Message-ID header of the UIDs not met before (one FETCH for all of them)."""
        with self._memory:
            unknown = [uid for uid in uids if self._message_id(uid) not in self._message_id_of]
        if not unknown:
            return
        fetched = client.fetch(unknown, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        parser = BytesHeaderParser(policy=policy.default)
        with self._memory:
            for uid in unknown:
                raw = fetched.get(uid, {}).get(MESSAGE_ID_FIELD, b"")
                internet_id = str(parser.parsebytes(bytes(raw)).get("Message-ID", "")).strip()
                ours = self._message_id(uid)
                self._message_id_of[ours] = internet_id
                if internet_id:
                    self._first_copy.setdefault(internet_id, ours)
            for memory in (self._message_id_of, self._first_copy):
                while len(memory) > self._remember:
                    memory.popitem(last=False)

    def _is_duplicate(self, ours: str) -> bool:
        with self._memory:
            internet_id = self._message_id_of.get(ours, "")
            first = self._first_copy.get(internet_id) if internet_id else None
        if first is None or first == ours:
            return False
        _log.info("message %s skipped: same Message-ID as message %s, already listed", ours, first)
        return True

    def _advance(self, uid_next: int) -> None:
        with self._memory:
            self._uid_next = max(self._uid_next or 0, uid_next)

    def _has_new(self, client: IMAPClient) -> bool:
        """Whether a message with a UID above the watermark exists; moves the watermark past it."""
        with self._memory:
            mark = self._uid_next
        if mark is None:
            mark = int(client.folder_status(self._folder, [b"UIDNEXT"])[b"UIDNEXT"])
            self._advance(mark)
            return False
        newer = [int(uid) for uid in client.search(["UID", f"{mark}:*"]) if int(uid) >= mark]
        if newer:
            self._advance(max(newer) + 1)
        return bool(newer)

    def _idle_until(self, client: IMAPClient, deadline: float) -> bool:
        while (left := deadline - time.monotonic()) > 0:
            client.idle()
            try:
                responses = client.idle_check(timeout=min(left, IDLE_RENEW_SECONDS))
            finally:
                client.idle_done()
            # EXISTS announces arrivals; EXPUNGE/FETCH do not: check the UIDs to be sure.
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses) and self._has_new(client):
                return True
        return self._has_new(client)

    # ----- IMAP connection ----------------------------------------------------------------------

    def _call(self, operation: str, work: Callable[[IMAPClient], T], action: str, *, slot: str = MAIN,
              policy: RetryPolicy | None = None) -> T:
        """One observed operation, retried under the policy (every IMAP operation here is safe to repeat)."""
        with observed(SYSTEM, operation):
            return call_with_retries(lambda: self._imap(work, action, slot), policy=policy or self._retry,
                                     system=SYSTEM, operation=operation)

    def _imap(self, work: Callable[[IMAPClient], T], action: str, slot: str = MAIN) -> T:
        with self._locks[slot]:
            for attempt in (1, 2):
                try:
                    return work(self._connected(slot))
                except ConnectorError:
                    raise
                except LoginError as exc:
                    self._drop(slot)
                    raise PermissionMissingError(
                        f"the IMAP server {_where(self._imap_at)} refused the login of {self._user} "
                        f"(needed to {action}): {_reason(exc)}. Check the user and password.",
                        system=SYSTEM,
                    ) from exc
                except ssl.SSLCertVerificationError as exc:
                    self._drop(slot)
                    raise _untrusted(self._imap_at, exc) from exc
                except (IMAPClientAbortError, OSError) as exc:
                    # A dropped or timed-out connection: reopen it once, then give up for now.
                    self._drop(slot)
                    if attempt == 2:
                        raise TransientError(
                            f"the IMAP server {_where(self._imap_at)} did not answer while trying to {action}: "
                            f"{type(exc).__name__}: {_reason(exc)}",
                            system=SYSTEM,
                        ) from exc
                except IMAPClientError as exc:
                    raise _refused(exc, action, self._imap_at) from exc
        raise AssertionError("unreachable")

    def _connected(self, slot: str) -> IMAPClient:
        existing = self._clients[slot]
        if existing is not None:
            return existing
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
            self._clients[slot] = client
            self._select_folder(client, slot)
        except BaseException:
            self._clients[slot] = None
            _shutdown(client)
            raise
        return client

    def _select_folder(self, client: IMAPClient, slot: str) -> None:
        try:
            info = client.select_folder(self._folder)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as exc:
            raise NotFoundError(f"folder {self._folder!r} not found in {self.address}: {_reason(exc)}",
                                system=SYSTEM) from exc
        self._selected[slot] = self._folder
        validity = int(info[b"UIDVALIDITY"])
        with self._memory:
            if self._uid_validity is not None and validity != self._uid_validity:
                # A new numbering: every UID we remembered now names another message, or none.
                self._first_copy.clear()
                self._message_id_of.clear()
                self._uid_next = None
            self._uid_validity = validity

    def _drop(self, slot: str) -> None:
        client, self._clients[slot], self._selected[slot] = self._clients[slot], None, None
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


def authentication_results(message: InboundMessage) -> tuple[str, ...]:
    """The message's ``Authentication-Results`` headers, topmost (added last, by our own server) first.

    Only the topmost ones from the organisation's own server are evidence; the trust layer checks their
    authserv-id, since a sender can forge any header below them (RFC 8601 §5).
    """
    return tuple(value for name, value in message.headers if name.lower() == "authentication-results")


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
