"""Understanding a request: what is asked (intent) and for whom (targets, names), behind pluggable backends."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Protocol

INTENTS = (
    "unlock",
    "reset_password",
    "unlock_and_reset",
    "mfa",
    "mdm_device",
    "access_request",
    "app_incident",
    "hardware",
    "info_request",
    "thanks_or_closure",
    "auto_reply",
    "spam_phishing",
    "other",
)
# The intents a playbook may act on without a person; everything else is routed or recorded.
AUTOMATABLE = frozenset({"unlock", "reset_password", "unlock_and_reset"})
# Nothing to do for the desk beyond recording the message.
IGNORABLE = frozenset({"thanks_or_closure", "auto_reply", "spam_phishing"})

AUTO, HUMAN, IGNORE = "auto", "human", "ignore"
DECISIONS = (AUTO, HUMAN, IGNORE)
TARGET_KINDS = ("login", "email", "name")

# Built-in backends, resolved lazily; third parties add theirs through this entry-point group.
ENTRY_POINT_GROUP = "sesame.understanders"
_BUILTIN = {
    "rules": "automations.understanding.rules:RulesUnderstander",
    "model": "automations.understanding.model:ModelUnderstander",
    "rules+model": "automations.understanding.policy:RulesAndModelUnderstander",
}


@dataclass(frozen=True)
class Mention:
    """One account the text is about, as written: ``kind`` is "login", "email" or "name"."""

    kind: str
    value: str


@dataclass(frozen=True)
class Understanding:
    """What a backend made of one request; ``reasons`` say which rules fired and why it is unsure.

    ``targets`` are the identifiers (logins, addresses) the domain resolves; ``mentions`` add people's names and
    say which kind each is. ``decision`` judges the text alone: "auto" (clear enough to automate), "human" or
    "ignore" (nothing to do beyond recording). ``scores`` are per-intent probabilities when a model gave them.
    """

    intent: str
    confidence: float
    targets: tuple[str, ...]
    names: tuple[str, ...]
    reasons: tuple[str, ...]
    decision: str = HUMAN
    mentions: tuple[Mention, ...] = ()
    scores: Mapping[str, float] = field(default_factory=dict)
    # A model's probability that the text is a clear request to automate (its decision head), when it has one.
    auto_probability: float | None = None


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
    "AUTO",
    "AUTOMATABLE",
    "DECISIONS",
    "HUMAN",
    "IGNORABLE",
    "IGNORE",
    "INTENTS",
    "TARGET_KINDS",
    "Mention",
    "Understander",
    "Understanding",
    "UnknownUnderstanderError",
    "get_understander",
]
