"""In-memory fakes of Sésame's own connector interfaces, for unit tests of the domain (never of the clients).

They live in ``automations.playbooks.memory`` so that ``sesame playbook test`` runs playbooks on the same ones;
the names below are the ones the tests have always used.
"""

from __future__ import annotations

from automations.playbooks.memory import MemoryDirectory as FakeDirectory
from automations.playbooks.memory import MemoryTicket as FakeTicket
from automations.playbooks.memory import MemoryTickets as FakeTickets

__all__ = ["FakeDirectory", "FakeTicket", "FakeTickets"]
