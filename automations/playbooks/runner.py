"""Run a playbook's steps in order against the connectors; the first refusal hands the request to a human."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from automations.playbooks.actions import HandOver
from automations.playbooks.engine import execute_step, prepare
from automations.playbooks.reset_actions import RESET_DELIVERY_FAILED, after_reset_failure
from automations.playbooks.spec import Playbook, Step
from automations.registry import Partner
from automations.replies import Templates
from automations.secrets import SecretScratch
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.spray import SprayDetector
from connectors.devices import DeviceManagement, ManagedDevice
from connectors.directory import Account, Change, Directory
from connectors.identity import CloudIdentities, CloudIdentity
from connectors.messaging import SmsGateway


def _utcnow() -> datetime:
    return datetime.now(UTC)


class WriteGuard(Protocol):
    """What a run needs of the kill switch."""

    def guard(self) -> None:
        """Raise when writes are paused."""
        ...


class RunJournal(Protocol):
    """What a run needs of its step journal (``automations.playbooks.journal``): skip, mark, record."""

    def replay(self, run: PlaybookRun, step: Step) -> bool:
        """True when ``step`` completed in an earlier attempt (its state is restored into ``run``)."""
        ...

    def writing(self, run: PlaybookRun) -> None:
        """The current step is about to write."""
        ...

    def done(self, run: PlaybookRun, step: Step) -> None:
        """``step`` completed: record it before the next one starts."""
        ...

    def once(self, name: str, action: str, do: Callable[[], None], *, repeatable: bool = True) -> bool:
        """Run ``do`` (the closure, the reply) unless an earlier attempt completed it."""
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
    # Entra ID user of a `target: cloud_identity` playbook; Intune and the one device the run acts on.
    identity: CloudIdentity | None = None
    devices: DeviceManagement | None = None
    device: ManagedDevice | None = None
    # What expressions read as `request.*` (intent, channel, sender, targets…; never the e-mail's text).
    request: dict[str, Any] = field(default_factory=dict)
    # Steps a person approved in the ticket (a step with `approval` stops the run until it is listed here).
    approvals: frozenset[str] = frozenset()
    # Plain outputs of each guard and step, read as `steps.<id>.*`; guards passed, steps skipped or compensated.
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)  # None: engine's
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
    # The step journal (live runs of the fleet): completed steps are recorded and, on a resume, not run again.
    journal: RunJournal | None = None
    step: str | None = None  # the step being run, for the journal's "writing" mark

    def guard_writes(self) -> None:
        """Raise ``WritesPaused`` when the kill switch is engaged (or unreadable); nothing in dry run.

        Then, the write being certain to go out, the journal marks the step as writing (its outcome unknown
        until the step completes)."""
        if self.kill_switch is not None and not self.dry_run:
            self.kill_switch.guard()
        if self.journal is not None and not self.dry_run:
            self.journal.writing(self)

    def reply_values(self) -> dict[str, Any]:
        """Values the reply and closure templates may show, on top of the handler's (never a secret)."""
        from automations.playbooks.device_actions import device_values

        return {"delivery": self.delivery or "none", "intent": self.request.get("intent", ""),
                "device": device_values(self.device) if self.device is not None else None}


def run_playbook(run: PlaybookRun) -> PlaybookRun:
    """Resolve the target, check the guards, run every step; raises ``HandOver`` from the step that refused.

    What ran so far is in ``run``.

    Once the password was reset, any failure becomes one ``RESET_DELIVERY_FAILED`` hand-over (no retry: the
    person must be helped by the desk). The run's secrets are forgotten when it ends, whatever the outcome.
    """
    try:
        # The target and the guards first; a resumed run does not check the guards again (see engine.prepare).
        prepare(run, resumed=bool(getattr(run.journal, "resumed", False)))
        for step in run.playbook.steps:
            if run.journal is not None and run.journal.replay(run, step):
                continue  # completed before an interruption: its recorded result stands
            try:
                ran = execute_step(run, step)  # when, approval, retry, timeout, on_error: engine.execute_step
            except Exception as error:
                if not run.password_reset or (isinstance(error, HandOver) and error.reason == RESET_DELIVERY_FAILED):
                    raise
                raise after_reset_failure(run, step.id, error) from None
            if ran:
                run.completed.append(step.id)
            if run.journal is not None:
                run.journal.done(run, step)
    finally:
        run.secrets.clear()
    return run


__all__ = ["HandOver", "PlaybookRun", "run_playbook"]
