"""Run a playbook's steps in order against the connectors; the first refusal hands the request to a human."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from automations.playbooks.actions import ACTIONS, HandOver
from automations.playbooks.spec import Playbook
from automations.registry import Partner
from connectors.directory import Account, Change, Directory


@dataclass
class PlaybookRun:
    """The state of one run: plain data, so a later version can journal and resume it."""

    playbook: Playbook
    targets: tuple[str, ...]
    partner: Partner
    directory: Directory
    is_correspondent: Callable[[str], bool]
    on_change: Callable[[str, Change], None]
    dry_run: bool = False
    account: Account | None = None
    changes: list[Change] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)


def run_playbook(run: PlaybookRun) -> PlaybookRun:
    """Execute every step; raises ``HandOver`` from the step that refused, with what ran so far in ``run``."""
    for step in run.playbook.steps:
        ACTIONS[step.action](run, dict(step.with_))
        run.completed.append(step.id)
    return run


__all__ = ["HandOver", "PlaybookRun", "run_playbook"]
