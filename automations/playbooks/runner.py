"""Run a playbook's steps in order against the connectors; the first refusal hands the request to a human."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from automations.playbooks.actions import ACTIONS, HandOver
from automations.playbooks.reset_actions import RESET_DELIVERY_FAILED, after_reset_failure
from automations.playbooks.spec import Playbook
from automations.registry import Partner
from automations.replies import Templates
from automations.secrets import SecretScratch
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.spray import SprayDetector
from connectors.directory import Account, Change, Directory
from connectors.identity import CloudIdentities
from connectors.messaging import SmsGateway


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WriteGuard(Protocol):
    """What a run needs of the kill switch."""

    def guard(self) -> None:
        """Raise when writes are paused."""
        ...


@dataclass
class PlaybookRun:
    """The state of one run: plain data, so a later version can journal and resume it.

    Optional collaborators (``sms``, ``templates``, ``identities``, ``exclusion_policy``, ``spray``) are needed
    only by the steps that name them; a step that needs one that is missing hands over before any write.
    ``secrets`` holds what the run generated (the temporary password) in memory only: it is masked in ``repr``,
    empty in copies, refused by pickle, never journaled, and cleared when the run ends, whatever the outcome.
    """

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
    # Out-of-band delivery of a temporary password (SMS to the mobile on file) and the templates of its text.
    sms: SmsGateway | None = None
    templates: Templates | None = None
    # Entra ID, when configured: roles (active or eligible) for the exclusions, SSPR registration, session revoke.
    identities: CloudIdentities | None = None
    exclusion_policy: ExclusionPolicy | None = None
    spray: SprayDetector | None = None
    # Whether the target is registered for self-service password reset; None = unknown (AD only: never offered).
    sspr_registered: bool | None = None
    now: Callable[[], datetime] = _utcnow
    # How the request was answered: "self_service" (link), "sms" (password sent to the holder), None (not yet).
    delivery: str | None = None
    # Set once a reset was sent to the directory: every later failure is then RESET_DELIVERY_FAILED.
    password_reset: bool = False
    secrets: SecretScratch = field(default_factory=SecretScratch, repr=False, compare=False)
    # The kill switch, read again right before each directory write (security note DET-02).
    kill_switch: WriteGuard | None = None

    def guard_writes(self) -> None:
        """Raise ``WritesPaused`` when the kill switch is engaged (or unreadable); nothing in dry run."""
        if self.kill_switch is not None and not self.dry_run:
            self.kill_switch.guard()

    def reply_values(self) -> dict[str, Any]:
        """Values the reply and closure templates may show, on top of the handler's (never a secret)."""
        return {"delivery": self.delivery or "none"}


def run_playbook(run: PlaybookRun) -> PlaybookRun:
    """Execute every step; raises ``HandOver`` from the step that refused, with what ran so far in ``run``.

    Once the password was reset, any failure becomes one ``RESET_DELIVERY_FAILED`` hand-over (no retry: the
    person must be helped by the desk). The run's secrets are forgotten when it ends, whatever the outcome.
    """
    try:
        for step in run.playbook.steps:
            try:
                ACTIONS[step.action](run, dict(step.with_))
            except Exception as error:
                if not run.password_reset or (isinstance(error, HandOver) and error.reason == RESET_DELIVERY_FAILED):
                    raise
                raise after_reset_failure(run, step.id, error) from None
            run.completed.append(step.id)
    finally:
        run.secrets.clear()
    return run


__all__ = ["HandOver", "PlaybookRun", "run_playbook"]
