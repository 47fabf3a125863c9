"""The mailbox interface: the shared support mailbox the partners write to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class InboundMessage:
    """One e-mail as the mailbox holds it; ``headers`` keep order and repeats (they are evidence)."""

    id: str
    internet_message_id: str
    from_address: str
    from_name: str
    to: tuple[str, ...]
    subject: str
    body_text: str
    headers: tuple[tuple[str, str], ...]
    received_at: datetime | None = None


class Mailbox(Protocol):
    """What the fleet needs from a mailbox."""

    address: str

    def list_unread(self, limit: int = 50) -> list[str]:
        """Ids of unread messages in the inbox, oldest first."""
        ...

    def get(self, message_id: str) -> InboundMessage:
        """The whole message with its Internet headers."""
        ...

    def reply(self, message_id: str, body_text: str, *, to: str) -> None:
        """Answer ``message_id`` with plain text, to ``to`` only (the verified sender, never a Reply-To)."""
        ...

    def mark_read(self, message_id: str) -> None:
        """Flag the message as handled so the poller skips it."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
