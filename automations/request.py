"""The immutable ``Request``: one e-mail or ticket as intake saw it, before anything is decided."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Request:
    """One support request; ``key`` makes handling it idempotent (the Internet Message-ID for e-mail)."""

    key: str
    channel: str
    sender_address: str
    sender_name: str
    subject: str
    text: str
    headers: tuple[tuple[str, str], ...]
    received_at: datetime | None = None
    source_id: str = ""

    @property
    def correlation_id(self) -> str:
        """A short stable id for the ticket's ``correlation_id``, so a retry finds the ticket it opened."""
        return "sesame-" + hashlib.sha256(self.key.encode("utf-8")).hexdigest()[:32]

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        return [value for key, value in self.headers if key.lower() == name.lower()]
