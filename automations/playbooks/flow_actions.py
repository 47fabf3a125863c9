"""Actions that steer a run rather than touch a system: hand the request to people with a reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automations.playbooks.actions import Action, HandOver

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun


def hand_over(run: PlaybookRun, args: dict[str, Any]) -> None:
    """Stop here and give the request to the level-1 group with ``reason`` and ``detail`` (never writes)."""
    raise HandOver(str(args["reason"]), str(args.get("detail") or f"playbook {run.playbook.id} hands over"))


FLOW_ACTIONS: dict[str, Action] = {"flow.hand_over": hand_over}
