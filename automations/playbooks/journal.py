"""The step journal: every completed step of a live run is committed to the ledger before the next one starts.

A run interrupted at any point (worker killed, host lost) is handled again from the start by another worker;
the journal makes that a resume: a completed step is not run again, the run's state after it (the account
found, the changes made, the delivery chosen…) is restored from its record, and the closure and the reply are
done once. Every entry carries the playbook's id, version and content hash.

Rules a careful operator expects:

- A write whose outcome is unknown is never repeated: the runner marks a step ``writing`` right before its
  write (after the kill switch was read) and ``done`` after it; a resume finding ``writing`` hands the request
  to people with ``INTERRUPTED_WRITE`` — except for writes that are the same when done twice (``IDEMPOTENT``).
- The playbook must be the one that started: when the file changed between the interruption and the resume
  and something was already written, the request goes to people with ``RESUME_PLAYBOOK_CHANGED``; when only
  reads were journaled, the journal is dropped and the new version starts from scratch.
- Secrets are never journaled: only plain data of the run is kept (``run.secrets`` never is). A reset whose
  SMS was not sent cannot be resumed — the password is gone — and ends as ``RESET_DELIVERY_FAILED``.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Union

import structlog

from automations.ledger import STEP_DONE, WRITING, JournalEntry, Ledger
from automations.playbooks.actions import HandOver
from automations.playbooks.spec import Playbook, Step
from connectors.directory import Account, Change

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun

log = structlog.get_logger(__name__)

INTERRUPTED_WRITE = "INTERRUPTED_WRITE"
RESUME_PLAYBOOK_CHANGED = "RESUME_PLAYBOOK_CHANGED"
# Writes that leave the same state when sent twice: resumed even when their outcome is unknown.
IDEMPOTENT = frozenset({"directory.unlock"})
# For the acceptance test only: the process SIGKILLs itself right after journaling the step of that id (or
# "@closure", "@reply"). Never set it in production. Not SESAME_-prefixed: those are configuration overrides.
KILL_AFTER_STEP_ENV = "TESTING_SESAME_SIGKILL_AFTER_STEP"
CLOSURE, REPLY = "@closure", "@reply"

# PlaybookRun fields that are wiring or inputs of this attempt (approvals are read from the ticket again), never
# state to restore.
_WIRING = frozenset({"playbook", "targets", "partner", "directory", "is_correspondent", "on_change", "dry_run",
                     "sms", "templates", "identities", "exclusion_policy", "spray", "now", "secrets", "kill_switch",
                     "journal", "step", "request", "approvals", "devices", "sleep"})
# Dataclasses a snapshot may hold; anything else is left out rather than turned into something unsafe.
_DATACLASSES: dict[str, type[Any]] = {"Account": Account, "Change": Change}
_SKIP = object()


def identity(playbook: Playbook | None) -> tuple[str, int, str]:
    """(id, version, content hash) as every journal record carries it."""
    return (playbook.id, playbook.version, playbook.content_hash) if playbook else ("", 0, "")


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, (frozenset, set)):
        items = sorted(_encode(v) for v in value)
        return {"__set__": items}
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and type(value).__name__ in _DATACLASSES:
        return {"__dataclass__": type(value).__name__,
                "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, (list, tuple)):
        items = [_encode(v) for v in value]
        return _SKIP if any(i is _SKIP for i in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        encoded = {k: _encode(v) for k, v in value.items()}
        return _SKIP if any(v is _SKIP for v in encoded.values()) else encoded
    return _SKIP


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__datetime__" in value:
        return datetime.fromisoformat(value["__datetime__"])
    if "__set__" in value:
        return frozenset(_decode(v) for v in value["__set__"])
    if "__dataclass__" in value:
        cls = _DATACLASSES[value["__dataclass__"]]
        hints = typing.get_type_hints(cls)
        return cls(**{name: _as_hint(_decode(raw), hints.get(name)) for name, raw in value["fields"].items()})
    return {k: _decode(v) for k, v in value.items()}


def _as_hint(value: Any, hint: Any) -> Any:
    """Tuples and frozensets come back from JSON as lists; give the field its declared kind again."""
    if not isinstance(value, list):
        return value
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        origin = next((typing.get_origin(a) for a in typing.get_args(hint) if typing.get_origin(a)), None)
    if origin is tuple:
        return tuple(value)
    if origin is frozenset:
        return frozenset(value)
    return value


def snapshot(run: PlaybookRun) -> dict[str, Any]:
    """The run's plain state (never a secret, never a connection), as JSON-ready data."""
    state: dict[str, Any] = {}
    for field in dataclasses.fields(run):
        if field.name in _WIRING:
            continue
        encoded = _encode(getattr(run, field.name))
        if encoded is not _SKIP:
            state[field.name] = encoded
    return state


def restore(run: PlaybookRun, state: dict[str, Any]) -> None:
    """Put a snapshot back into ``run``."""
    names = {f.name for f in dataclasses.fields(run)} - _WIRING
    for name, value in state.items():
        if name in names:
            setattr(run, name, _decode(value))


def _fault_hook(step: str) -> None:
    # Tests only: prove that a run killed right after this record resumes without repeating it.
    if os.environ.get(KILL_AFTER_STEP_ENV) == step:
        log.warning("journal.test_kill", step=step, env=KILL_AFTER_STEP_ENV)
        os.kill(os.getpid(), signal.SIGKILL)


class StepJournal:
    """The journal of one request's run; the runner calls ``replay`` before a step, ``writing`` right before a
    write and ``done`` after the step; the handler calls ``once`` for the closure and the reply."""

    def __init__(self, ledger: Ledger, key: str, playbook: Playbook | None, *,
                 renew: Callable[[], None] | None = None) -> None:
        self.ledger, self.key, self.playbook = ledger, key, playbook
        self.identity = identity(playbook)
        self._renew = renew
        self._changes_before = 0
        self.conflict: HandOver | None = None
        self.entries: dict[str, JournalEntry] = {e.step: e for e in ledger.journal(key)}
        other = [e for e in self.entries.values()
                 if (e.playbook_id, e.playbook_version, e.playbook_hash) != self.identity]
        if other:
            written = sorted(e.step for e in self.entries.values() if e.wrote or e.status == WRITING)
            if written:
                first = other[0]
                self.conflict = HandOver(RESUME_PLAYBOOK_CHANGED, (
                    f"the run was interrupted under {first.playbook_id}@{first.playbook_version}"
                    f"#{first.playbook_hash[:12]} after writing ({', '.join(written)}); the playbook is now "
                    f"{self.label}: check the account and finish by hand (see the ledger's actions)"))
            else:
                log.info("journal.restart", key=key, playbook=self.label, dropped=len(self.entries))
                ledger.discard_journal(key)
                self.entries = {}

    @property
    def label(self) -> str:
        playbook_id, version, content_hash = self.identity
        return f"{playbook_id}@{version}#{content_hash[:12]}"

    @property
    def resumed(self) -> bool:
        """Whether this run continues an interrupted one."""
        return bool(self.entries)

    def replay(self, run: PlaybookRun, step: Step) -> bool:
        """True when ``step`` completed in an earlier attempt: its recorded state is restored, it is not run."""
        if self.conflict is not None:
            raise self.conflict
        run.step = step.id
        self._changes_before = len(run.changes)
        entry = self.entries.get(step.id)
        if entry is None:
            return False
        if entry.status == WRITING:
            if step.action in IDEMPOTENT:
                log.info("journal.write_repeated", key=self.key, step=step.id, reason="idempotent")
                return False
            raise HandOver(INTERRUPTED_WRITE, (
                f"the run stopped while step {step.id!r} ({step.action}) was writing: its outcome is unknown and "
                "it is never sent twice; check the account and finish by hand"))
        restore(run, entry.result)
        log.info("journal.step_reused", key=self.key, step=step.id, playbook=self.label)
        return True

    def writing(self, run: PlaybookRun) -> None:
        """Record that the current step is about to write (called after the kill switch was read)."""
        if run.step is None or run.dry_run:
            return
        action = next((s.action for s in run.playbook.steps if s.id == run.step), "")
        self.ledger.journal_step(self.key, run.step, action=action, status=WRITING, playbook=self.identity,
                                 result=snapshot(run), wrote=True)

    def done(self, run: PlaybookRun, step: Step) -> None:
        """Commit the completed step with the run's state after it, before the next step starts."""
        wrote = len(run.changes) > self._changes_before
        self.ledger.journal_step(self.key, step.id, action=step.action, status=STEP_DONE, playbook=self.identity,
                                 result=snapshot(run), wrote=wrote)
        run.step = None
        if self._renew is not None:
            self._renew()
        _fault_hook(step.id)

    def once(self, name: str, action: str, do: Callable[[], None], *, repeatable: bool = True) -> bool:
        """Run ``do`` unless an earlier attempt completed it; False when skipped.

        ``repeatable`` says whether ``do`` may run again when an attempt stopped during it (closing a closed
        ticket changes nothing); a reply is not repeatable: a second e-mail is worse than the ticket's own word.
        """
        entry = self.entries.get(name)
        if entry is not None and (entry.status == STEP_DONE or not repeatable):
            log.info("journal.once_skipped", key=self.key, step=name, status=entry.status)
            return False
        if not repeatable:
            self.ledger.journal_step(self.key, name, action=action, status=WRITING, playbook=self.identity,
                                     wrote=True)
        do()
        self.ledger.journal_step(self.key, name, action=action, status=STEP_DONE, playbook=self.identity, wrote=True)
        if self._renew is not None:
            self._renew()
        _fault_hook(name)
        return True


JournalFactory = Callable[[str, Playbook | None], StepJournal]


def ledger_journal(ledger: Ledger, renew: Callable[[str], None] | None = None) -> JournalFactory:
    """A factory of per-request journals over ``ledger``; ``renew(key)`` extends the worker's lease."""

    def make(key: str, playbook: Playbook | None) -> StepJournal:
        return StepJournal(ledger, key, playbook, renew=(lambda: renew(key)) if renew else None)

    return make
