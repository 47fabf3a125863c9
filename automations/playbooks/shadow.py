"""Shadow mode: a playbook that plans but does not act. Its plan is kept in the ledger for ``report shadow``.

What happens to a request whose playbook is in ``mode: shadow``:

- every check runs as in live mode (sender, correspondent, understanding, rate limits read, kill switch not
  needed), the steps run in dry run: reads happen, no write is sent (directory, SMS, Entra);
- the ticket goes to the level-1 group exactly as a hand-over does today, with a work note saying the playbook
  is in observation. When the plan succeeded, the note does not say what the bot would have done: the people's
  resolution must stay an independent judgement, or the comparison proves nothing. A refusal is given with
  its reason as in live mode (a privileged account or a spray is something people must know), and alerts are
  raised as in live mode;
- the requester gets the usual acknowledgement, never the playbook's reply; nothing is counted in the rate
  limits (nothing was done);
- the plan — outcome (``automated`` or ``handed_over`` with the reason), the actions it would have made with
  their before/after, the close code and KB article — is recorded once per request with the playbook's id,
  version and hash.
"""

from __future__ import annotations

import dataclasses

from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, ShadowPlan
from automations.playbooks.runner import PlaybookRun
from automations.request import Request
from connectors.tickets import TicketRef

SHADOW_MODE = "shadow_mode"


def shadow_note(run: PlaybookRun) -> str:
    """The hand-over detail of a shadow run that would have acted (nothing about what it would have done)."""
    return (f"playbook {run.playbook.label} is in shadow mode (observation): handle this request as usual. What it "
            "would have done is recorded for `sesame report shadow` and not shown here, so that your resolution "
            "stays an independent judgement.")


def record_shadow_plan(ledger: Ledger, request: Request, ticket: TicketRef, run: PlaybookRun, *, intent: str | None,
                       reason: str | None = None, detail: str | None = None, close_code: str | None = None,
                       kb_article: str | None = None) -> ShadowPlan:
    """Keep what the shadow run would have done: ``reason`` None means it would have acted and closed."""
    playbook = run.playbook
    closure = playbook.closure  # the playbook's own choice first, the desk's defaults otherwise
    plan = ShadowPlan(
        request_key=request.key, ticket_sys_id=ticket.sys_id, ticket_number=ticket.number, intent=intent,
        playbook_id=playbook.id, playbook_version=playbook.version, playbook_hash=playbook.content_hash,
        outcome=AUTOMATED if reason is None else HANDED_OVER, reason=reason, detail=detail,
        # The code and article it closes with when it acts, kept for refusals too: the report compares them with
        # how people closed the ticket.
        close_code=(closure.close_code if closure else None) or close_code,
        kb_article=(closure.kb_article if closure else None) or kb_article,
        actions=tuple(dataclasses.asdict(change) for change in run.changes),
    )
    ledger.record_shadow(plan)
    return plan
