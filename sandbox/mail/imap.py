"""The IMAP side: pymap's in-memory (dict) backend with one user, loaded from and saved to plain data.

pymap is an asyncio IMAP4rev1 server; its command-line entry point owns the process, so we assemble
the same pieces (config, login, ``IMAPServer``) on our own event loop. The dict backend cannot reload
a mailbox by itself: ``restore_folders``/``snapshot_folders`` move its contents to and from
``sandbox.mail.state`` so UIDs, UIDVALIDITY and flags survive a restart.
"""

from __future__ import annotations

import asyncio
import ssl
from argparse import Namespace
from collections.abc import Iterable
from datetime import datetime

from proxyprotocol.reader import ProxyProtocolReader
from proxyprotocol.sock import SocketInfo
from proxyprotocol.version import ProxyProtocolVersion
from pymap.backend.dict import Config as DictConfig
from pymap.backend.dict import Identity, Login
from pymap.backend.dict.filter import FilterSet
from pymap.backend.dict.mailbox import MailboxData, MailboxSet
from pymap.concurrent import Subsystem
from pymap.imap import IMAPServer
from pymap.mailbox import MailboxSnapshot
from pymap.parsing.message import AppendMessage
from pymap.parsing.specials import FetchRequirement
from pymap.parsing.specials.flag import Flag
from pymap.user import Passwords, UserMetadata
from pysasl.hashing import BuiltinHash

from sandbox.mail.state import MailState, StoredFolder, StoredMessage

INBOX = "INBOX"
SENT = "Sent"
FOLDERS = (INBOX, SENT, "Drafts", "Trash")
# pymap numbers the first message 101 in a new dict mailbox; any start works, this one matches it.
FIRST_UID = 101
SEEN = "\\Seen"


class _SandboxConfig(DictConfig):
    """pymap's dict config with a fixed greeting: the default resolves the host's FQDN, slow without DNS."""

    @property
    def greeting(self) -> bytes:
        return b"Sesame sandbox IMAP4rev1 ready"


def imap_config(*, tls: ssl.SSLContext | None) -> DictConfig:
    """A pymap config offering STARTTLS when ``tls`` is given (pymap still lets loopback clients log in plain)."""
    return _SandboxConfig(
        Namespace(),
        host=None,
        port=0,
        demo_data=False,
        demo_user="",
        demo_password="",
        ssl_context=tls,
        tls_enabled=tls is not None,
        # Password checks run on the loop: the default is a thread pool that would outlive stop().
        cpu_subsystem=Subsystem.for_asyncio(),
        # Few rounds: each LOGIN hashes on the loop, and 500,000 (the default) cost 0.2 s for a sandbox secret.
        hash_context=BuiltinHash(rounds=1000),
        proxy_protocol=ProxyProtocolVersion.get(None),
        invalid_user_sleep=0.05,
        reject_dnsbl=False,
    )


async def add_user(config: DictConfig, login: Login, user: str, password: str, mailboxes: MailboxSet) -> None:
    """Register the sandbox's one login and give it ``mailboxes`` (pymap's demo user, without the demo data)."""
    hashed = await Passwords(config).hash_password(password)
    await Identity(user, login, None, frozenset()).set(UserMetadata(config, user, password=hashed))
    config.set_cache[user] = (mailboxes, FilterSet())


async def start_imap(
    config: DictConfig, login: Login, host: str, port: int, connections: set[asyncio.WriteTransport]
) -> asyncio.Server:
    """Listen for IMAP clients on ``host:port`` (0 = a free port); open client sockets are kept in ``connections``."""
    imap = IMAPServer(login, config)

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sock_info: SocketInfo) -> None:
        # The socket transport, not the TLS one STARTTLS puts on top: aborting it closes at once.
        transport = writer.transport
        connections.add(transport)
        try:
            await imap(reader, writer, sock_info)
        finally:
            connections.discard(transport)

    handler = ProxyProtocolReader(config.proxy_protocol).get_callback(tracked)
    server = await asyncio.start_server(handler, host=host, port=port)
    await server.start_serving()
    return server


def seed_state(messages: Iterable[tuple[bytes, datetime]]) -> MailState:
    """A fresh state: the given messages unread in INBOX, the other folders empty."""
    stored = [
        StoredMessage(uid=FIRST_UID + index, flags=(), internal_date=when, raw=raw)
        for index, (raw, when) in enumerate(messages)
    ]
    state = {name: StoredFolder(MailboxSnapshot.new_uid_validity(), FIRST_UID) for name in FOLDERS}
    state[INBOX] = StoredFolder(MailboxSnapshot.new_uid_validity(), FIRST_UID + len(stored), stored)
    return state


async def restore_folders(state: MailState) -> MailboxSet:
    """A pymap mailbox set holding exactly ``state``: same UIDs, UIDVALIDITY and flags."""
    mailboxes = MailboxSet()
    for name in {*FOLDERS, *state}:
        if name.upper() != INBOX:
            await mailboxes.add_mailbox(name)
    for name, folder in state.items():
        data = await mailboxes.get_mailbox(name)
        _set_numbering(data, folder.uid_validity, FIRST_UID - 1)
        for message in sorted(folder.messages, key=lambda m: m.uid):
            # The dict backend gives an appended message the UID after ``_max_uid``: aim it at the stored one.
            _set_numbering(data, folder.uid_validity, message.uid - 1)
            await data.append(AppendMessage(message.raw, message.internal_date, _flags(message.flags)))
        _set_numbering(data, folder.uid_validity, max(folder.next_uid - 1, _max_uid(data)))
    return mailboxes


async def snapshot_folders(mailboxes: MailboxSet) -> MailState:
    """The current contents of every folder as plain data (what a restart must give back)."""
    state: MailState = {}
    for entry in (await mailboxes.list_mailboxes()).list():
        if not entry.exists:
            continue
        name = entry.name
        data = await mailboxes.get_mailbox(name)
        snapshot = await data.snapshot()
        messages = []
        async for message in data.messages():
            loaded = await message.load_content(FetchRequirement.CONTENT)
            messages.append(StoredMessage(
                uid=message.uid,
                flags=tuple(sorted(flag.value.decode("ascii") for flag in message.permanent_flags)),
                internal_date=message.internal_date,
                raw=bytes(loaded),
            ))
        state[name] = StoredFolder(snapshot.uid_validity, snapshot.next_uid, messages)
    return state


async def deliver(mailboxes: MailboxSet, folder: str, raw: bytes, *, seen: bool = False) -> int:
    """Put a message in ``folder`` as a new arrival (\\Recent) and return its UID."""
    data = await mailboxes.get_mailbox(folder)
    flags = _flags((SEEN,) if seen else ())
    message = await data.append(AppendMessage(raw, datetime.now().astimezone(), flags), recent=not seen)
    return message.uid


def _flags(names: Iterable[str]) -> frozenset[Flag]:
    return frozenset(Flag(name) for name in names if name.lower() != "\\recent")


def _max_uid(data: MailboxData) -> int:
    return int(data._max_uid)


def _set_numbering(data: MailboxData, uid_validity: int, max_uid: int) -> None:
    # pymap 0.36's dict backend keeps these private and has no restore API; this is the one place touching them.
    data._uid_validity = uid_validity
    data._max_uid = max_uid
