"""Trust: the checks a request must pass before anything acts on it, each "no" a ``Refusal`` a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Why a request goes to a human: a stable upper-case ``reason`` code, a ``detail`` a person can act on,
    and ``alert`` when the security team must also be told (a look-alike domain, a forged header...)."""

    reason: str
    detail: str
    alert: bool = False
    # For COLLECTIVE_INCIDENT: the burst's group, so the handler can attach the request to one parent incident.
    group: str | None = None
