"""``MailServers``: the sandbox's IMAP and SMTP servers for one scenario, on one event loop in one thread.

Both servers share the loop, so SMTP delivery appends to the IMAP folders without crossing threads.
The mailbox is saved to ``state_dir`` when it changes (checked every second) and on ``stop``; a restart
on the same directory gives back the same messages, UIDs, UIDVALIDITY and flags.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from pymap.backend.dict import Login
from pymap.backend.dict.mailbox import MailboxSet

from sandbox.mail.imap import add_user, deliver, imap_config, restore_folders, seed_state, snapshot_folders, start_imap
from sandbox.mail.messages import arrival_time, scenario_message, seed_times
from sandbox.mail.smtp import Delivery, MailboxDelivery, start_smtp
from sandbox.mail.state import STATE_FILE, MailState, load_state, save_state
from sandbox.scenario import Scenario
from sandbox.tls import TlsFiles

LOOPBACK = "127.0.0.1"
AUTOSAVE_SECONDS = 1.0
START_TIMEOUT = 10.0

T = TypeVar("T")
_log = logging.getLogger(__name__)
# pymap logs every protocol line at DEBUG and aiosmtpd at INFO (LOGIN and AUTH lines included, so the
# password): quiet unless an operator chose a level for them.
CHATTY_LOGGERS = {"pymap": logging.INFO, "mail.log": logging.WARNING}


class MailServerError(RuntimeError):
    """The mail servers could not start or answer; the message says which and why."""


@dataclass(frozen=True)
class MailEndpoints:
    """Where clients reach the sandbox mailbox, and its login (``starttls``: both servers offer STARTTLS)."""

    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    user: str
    password: str = field(repr=False)
    address: str = ""
    starttls: bool = False


class MailServers:
    """An IMAP4rev1 server (pymap) whose INBOX holds the scenario e-mails, and an SMTP server (aiosmtpd) feeding it.

    ``tls`` (the sandbox CA's server certificate) makes both servers offer STARTTLS, so clients can
    verify the certificate as in production; SMTP then offers AUTH only after STARTTLS. Plain text
    stays possible, as the servers listen on loopback only.
    ``save_sent=False`` stops filing the user's outgoing mail into Sent, to rehearse servers that
    leave that to the client (most but Gmail and Exchange).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        user: str,
        password: str,
        state_dir: Path | None = None,
        tls: TlsFiles | None = None,
        imap_port: int = 0,
        smtp_port: int = 0,
        save_sent: bool = True,
    ) -> None:
        self._scenario = scenario
        self._user = user
        self._password = password
        self._state_file = Path(state_dir) / STATE_FILE if state_dir is not None else None
        self._tls = tls
        self._ports = (imap_port, smtp_port)
        self._save_sent = save_sent
        self._deliveries: list[Delivery] = []
        self._deliveries_lock = threading.Lock()
        self._last_state: MailState | None = None
        self._saved_state: MailState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._mailboxes: MailboxSet | None = None
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.WriteTransport] = set()
        self.endpoints: MailEndpoints | None = None

    @property
    def address(self) -> str:
        """The shared mailbox address: mail to it is delivered to INBOX."""
        return self._scenario.mailbox

    # ----- life cycle ---------------------------------------------------------------------------

    def start(self) -> MailEndpoints:
        """Load (or seed) the mailbox, start both servers on free loopback ports, return where they listen."""
        if self._loop is not None:
            raise MailServerError("the mail servers are already running; stop() them first")
        state = self._initial_state()
        for name, level in CHATTY_LOGGERS.items():
            if logging.getLogger(name).level == logging.NOTSET:
                logging.getLogger(name).setLevel(level)
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="sandbox-mail", daemon=True)
        self._thread.start()
        try:
            self.endpoints = self._run(self._open(state), START_TIMEOUT)
        except OSError as exc:
            self.stop()
            raise MailServerError(f"the sandbox mail servers cannot listen on {LOOPBACK} (ports {self._ports}, "
                                  f"0 = any): {exc}") from exc
        except BaseException:
            self.stop()
            raise
        return self.endpoints

    def stop(self) -> None:
        """Close both servers and every client connection, save the mailbox, end the loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if thread.is_alive():
                try:
                    self._run(self._close(), START_TIMEOUT)
                except Exception as exc:  # stopping must go on: the thread and ports matter more
                    _log.warning("sandbox mail servers: could not save the mailbox while stopping: %s", exc)
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=START_TIMEOUT)
        finally:
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = self._mailboxes = None
            self.endpoints = None

    def __enter__(self) -> MailServers:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ----- inspection ---------------------------------------------------------------------------

    def deliveries(self) -> list[Delivery]:
        """Messages the SMTP server accepted since start, oldest first, with their envelopes."""
        with self._deliveries_lock:
            return list(self._deliveries)

    def folders(self) -> MailState:
        """The mailbox contents now (every folder, with UIDs and flags)."""
        return self._run(self._snapshot(), START_TIMEOUT)

    # ----- inside the loop ----------------------------------------------------------------------

    async def _open(self, state: MailState) -> MailEndpoints:
        config = imap_config(tls=self._server_tls())
        login = Login(config)
        self._mailboxes = await restore_folders(state)
        await add_user(config, login, self._user, self._password, self._mailboxes)
        self._saved_state = state
        imap = await start_imap(config, login, LOOPBACK, self._ports[0], self._connections)
        self._servers.append(imap)
        handler = MailboxDelivery(
            address=self.address, user=self._user, file_message=self._file, record=self._record,
            save_sent=self._save_sent,
        )
        smtp = await start_smtp(handler, user=self._user, password=self._password, host=LOOPBACK,
                                port=self._ports[1], tls=self._server_tls(), connections=self._connections)
        self._servers.append(smtp)
        asyncio.get_running_loop().create_task(self._autosave(), name="sandbox-mail-autosave")
        return MailEndpoints(
            imap_host=LOOPBACK, imap_port=_port(imap), smtp_host=LOOPBACK, smtp_port=_port(smtp),
            user=self._user, password=self._password, address=self.address, starttls=self._tls is not None,
        )

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()
        # Abort, not close: a TLS close waits for the client's close_notify, which a stopped loop never reads.
        for transport in list(self._connections):
            transport.abort()
        self._connections.clear()
        current = asyncio.current_task()
        # Client connections and the autosave are tasks of this loop: cancelling them closes their sockets.
        others = [task for task in asyncio.all_tasks() if task is not current]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._mailboxes is not None:
            await self._save(await self._snapshot())

    async def _file(self, folder: str, raw: bytes, seen: bool) -> int:
        if self._mailboxes is None:
            raise MailServerError("the mailbox is not loaded")
        return await deliver(self._mailboxes, folder, raw, seen=seen)

    def _record(self, delivery: Delivery) -> None:
        with self._deliveries_lock:
            self._deliveries.append(delivery)

    async def _snapshot(self) -> MailState:
        if self._mailboxes is None:
            raise MailServerError("the mail servers are not running")
        return await snapshot_folders(self._mailboxes)

    async def _autosave(self) -> None:
        while True:
            await asyncio.sleep(AUTOSAVE_SECONDS)
            await self._save(await self._snapshot())

    async def _save(self, state: MailState) -> None:
        if state == self._saved_state:
            return
        self._saved_state = self._last_state = state
        if self._state_file is not None:
            save_state(self._state_file, state)

    # ----- helpers ------------------------------------------------------------------------------

    def _initial_state(self) -> MailState:
        if self._last_state is not None:
            return self._last_state
        if self._state_file is not None and self._state_file.is_file():
            return load_state(self._state_file)
        emails = self._scenario.emails
        fallbacks = seed_times(len(emails))
        state = seed_state(
            (scenario_message(email, self.address, fallback_date=when), arrival_time(email, when))
            for email, when in zip(emails, fallbacks, strict=True)
        )
        self._last_state = state
        if self._state_file is not None:
            save_state(self._state_file, state)
        return state

    def _server_tls(self) -> ssl.SSLContext | None:
        if self._tls is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._tls.cert_file, self._tls.key_file)
        return context

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None:
            coro.close()
            raise MailServerError("the mail servers are not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])
