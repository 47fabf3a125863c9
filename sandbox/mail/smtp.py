"""The SMTP side: an aiosmtpd server that files what it accepts into the sandbox mailbox.

Mail sent by the mailbox user (authenticated as it, or with the shared address as envelope sender)
lands in Sent, as hosted mail services do; mail for the shared address lands in INBOX unread, so a
test or an operator can inject a new partner e-mail with plain ``smtplib``. Every accepted message is
also kept as a ``Delivery`` for inspection: the envelope says where a reply really went.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sandbox.mail.imap import INBOX, SENT

SMTP_HOSTNAME = "smtp.sandbox.test"

FileMessage = Callable[[str, bytes, bool], Awaitable[int]]


@dataclass(frozen=True)
class Delivery:
    """One message the SMTP server accepted: its envelope, bytes, and the folders it was filed in."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    authenticated_as: str | None
    folders: tuple[str, ...]


class MailboxDelivery:
    """aiosmtpd handler: file accepted mail into Sent and/or INBOX of the sandbox mailbox."""

    def __init__(
        self, *, address: str, user: str, file_message: FileMessage, record: Callable[[Delivery], None],
        save_sent: bool = True,
    ) -> None:
        self._address = address.lower()
        self._user = user
        self._file = file_message
        self._record = record
        self._save_sent = save_sent

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """File the message, then answer 250 (so a client that returns has its copy in Sent already)."""
        content = envelope.original_content or b""
        sender = (envelope.mail_from or "").lower()
        login = session.auth_data if session.authenticated else None
        folders: list[str] = []
        if self._save_sent and (login == self._user or sender in (self._address, self._user.lower())):
            await self._file(SENT, content, True)
            folders.append(SENT)
        if any(rcpt.lower() == self._address for rcpt in envelope.rcpt_tos):
            await self._file(INBOX, content, False)
            folders.append(INBOX)
        self._record(Delivery(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=content,
            authenticated_as=login if isinstance(login, str) else None,
            folders=tuple(folders),
        ))
        return "250 Message accepted for delivery"


def password_check(user: str, password: str) -> Callable[..., AuthResult]:
    """An aiosmtpd authenticator accepting only ``user``/``password`` (AUTH PLAIN or LOGIN)."""

    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = secrets.compare_digest(data.login, user.encode()) & secrets.compare_digest(
            data.password, password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return authenticate


async def start_smtp(
    handler: MailboxDelivery, *, user: str, password: str, host: str, port: int, tls: ssl.SSLContext | None,
    connections: set[asyncio.WriteTransport],
) -> asyncio.Server:
    """Listen for SMTP clients on the running loop (STARTTLS offered when ``tls`` is given); see ``start_imap``."""
    loop = asyncio.get_running_loop()

    class TrackedSMTP(SMTP):
        _socket_transport: asyncio.WriteTransport | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # Called again after STARTTLS with the TLS transport: keep the first, the socket's.
            if self.transport is None and isinstance(transport, asyncio.WriteTransport):
                self._socket_transport = transport
                connections.add(transport)
            super().connection_made(transport)

        def connection_lost(self, error: Exception | None) -> None:
            if self._socket_transport is not None:
                connections.discard(self._socket_transport)
            super().connection_lost(error)

    def protocol() -> SMTP:
        return TrackedSMTP(
            handler,
            hostname=SMTP_HOSTNAME,
            tls_context=tls,
            # Offered, not required, like pymap's IMAP side: loopback clients may stay plain.
            require_starttls=False,
            auth_required=False,
            auth_require_tls=tls is not None,
            authenticator=password_check(user, password),
            loop=loop,
        )

    return await loop.create_server(protocol, host=host, port=port)
