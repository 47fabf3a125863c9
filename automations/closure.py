"""The closure conventions, in one place: how an automated ticket is resolved and closed, and what counts as UO-TR1.1.

- **Resolved and closed** with the playbook's close code, notes and knowledge article, else the desk's
  (``desk.close_code``, ``desk.kb_article`` in the configuration), by the automation's ServiceNow account
  (``desk.automation_user``: ServiceNow records it as resolved-by and closed-by).
- **Tagged** ``desk.automation_tag`` (UO-TR1.1) only when the playbook counts as automated
  (``closure.count_as_automated``, true by default): an out-of-scope answer is closed « Hors périmètre » untagged.
- **Counts as UO-TR1.1** (tender §7.3.3.4.2) a ticket the automation *created and closed*, tagged so
  (``counts_as_uo_tr11``). A ticket a person created and the automation closed is recorded with its provenance and
  counted apart, never as UO-TR1.1; so is one closed without the tag.

The ledger keeps, per request, whether it counts and the provenance (``ledger.TicketProvenance``): which worker
created and closed the ticket, when, as which ServiceNow account, with which playbook (its label
``id@version#hash``) and which tag. The figures (``reporting.figures.is_uo_tr11``) read that flag only.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from automations.ledger import TicketProvenance
from automations.playbooks.spec import ClosureSpec
from connectors.tickets import Closure


@dataclass(frozen=True)
class DeskPolicy:
    """The desk's organisation in ServiceNow and its closure conventions (the configuration's ``desk``)."""

    automation_group: str
    human_group: str
    close_code: str
    kb_article: str | None
    automation_tag: str
    # The ServiceNow account the automation writes as (its tickets' created-by, resolved-by, closed-by); recorded
    # with each ticket's provenance. None where it is not known (offline playbook tests).
    automation_user: str | None = None

    def closure(self, spec: ClosureSpec, close_notes: str) -> Closure:
        """The closure of a ticket a playbook resolved: its own values first, the desk's otherwise."""
        return Closure(
            close_code=spec.close_code or self.close_code,
            close_notes=close_notes,
            kb_article=spec.kb_article or self.kb_article,
            tag=self.automation_tag if spec.count_as_automated else None,
        )


def counts_as_uo_tr11(provenance: TicketProvenance) -> bool:
    """Created and closed by the automation, and tagged for the bonus: the only tickets UO-TR1.1 counts."""
    return provenance.created_by_automation and provenance.closed_by_automation and bool(provenance.tag)


def this_worker() -> str:
    """The process acting now, as provenance names it (``host:pid``)."""
    return f"{socket.gethostname()}:{os.getpid()}"
