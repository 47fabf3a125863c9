"""The out-of-band channel interface: an SMS gateway that carries half of a temporary password."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DRY_RUN = "dry-run"


@dataclass(frozen=True)
class SmsReceipt:
    """What the gateway said about one send: its own message id (for the audit) and status (``queued``…).

    A dry run returns ``id=""`` and ``status="dry-run"``. The text is never part of a receipt.
    """

    id: str
    status: str


class SmsGateway(Protocol):
    """What the playbooks need from an SMS gateway."""

    def send(self, to: str, text: str, *, dry_run: bool = False) -> SmsReceipt:
        """Send ``text`` to the E.164 number ``to``; in dry run, validate everything and send nothing."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
