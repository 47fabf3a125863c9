"""Understanding a request: what is asked (intent) and for whom (targets, names), behind pluggable backends."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol

INTENTS = ("unlock", "reset_password", "unlock_and_reset", "access_request", "other")

# Built-in backends, resolved lazily; third parties add theirs through this entry-point group.
ENTRY_POINT_GROUP = "sesame.understanders"
_BUILTIN = {"rules": "automations.understanding.rules:RulesUnderstander"}


@dataclass(frozen=True)
class Understanding:
    """What a backend made of one request; ``reasons`` say which rules fired and why it is unsure."""

    intent: str
    confidence: float
    targets: tuple[str, ...]
    names: tuple[str, ...]
    reasons: tuple[str, ...]


class Understander(Protocol):
    """A classification and extraction backend."""

    name: str

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        """Classify the request and extract its targets; ``sender`` is the requester's own address."""
        ...


class UnknownUnderstanderError(LookupError):
    """No backend is registered under the configured name."""


def _known() -> dict[str, str]:
    known = dict(_BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        known.setdefault(point.name, point.value)
    return known


def get_understander(name: str = "rules") -> Understander:
    """A new instance of the backend registered as ``name`` (built-in or entry point)."""
    known = _known()
    target = known.get(name)
    if target is None:
        raise UnknownUnderstanderError(
            f"no understanding backend named {name!r}; known: {', '.join(sorted(known))}. "
            f"Fix the configured backend name or install the package providing it ({ENTRY_POINT_GROUP})."
        )
    module_name, _, attribute = target.partition(":")
    backend: type[Understander] = getattr(importlib.import_module(module_name), attribute)
    return backend()


__all__ = [
    "INTENTS",
    "Understander",
    "Understanding",
    "UnknownUnderstanderError",
    "get_understander",
]
