"""What `sesame doctor` asks of every connector: checks of reachability, authentication and permissions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Finding:
    """One check: ``ok`` or not, what was seen, and — when not ok — how to fix it."""

    system: str
    check: str
    ok: bool
    detail: str
    fix: str = ""


class Checkable(Protocol):
    """A connector that can examine its own access: reachable, authenticated, exactly the permissions needed."""

    def doctor(self) -> list[Finding]:
        """Run the connector's checks without changing anything; never raises for a failed check."""
        ...
