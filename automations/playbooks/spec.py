"""The playbook format: pydantic models, loaded from YAML with errors that name the file, the line and the key.

A playbook runs in four phases: the request's target is resolved (``target``), the ``guards`` must all pass
(each refusal hands the request to people with its reason code), the ``steps`` run in order (each may have a
``when`` condition, ``retry``, ``timeout``, ``on_error`` and an ``approval``), then the handler sends the
``reply`` and applies the ``closure``. ``playbooks/playbook.schema.json`` is generated from these models
(``python -m automations.playbooks.schema``) so that editors validate and complete playbooks as they are typed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from automations.playbooks.expressions import ExpressionError, argument_expression, parse

IDENTIFIER = r"^[a-z][a-z0-9_]*$"
# A hand-over reason: lower-case codes (ours) or upper-case ones (the trust checks').
REASON = r"^[A-Za-z][A-Za-z0-9_]*$"


_INPUT_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "list": list,
}


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and the key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expression(value: str | None) -> str | None:
    if value is not None:
        try:
            parse(value)
        except ExpressionError as error:
            raise ValueError(f"invalid expression {value!r}: {error}") from None
    return value


def _arguments(value: dict[str, Any]) -> dict[str, Any]:
    for name, argument in value.items():
        source = argument_expression(argument)
        if source is not None:
            try:
                parse(source)
            except ExpressionError as error:
                raise ValueError(f"argument {name!r}: invalid expression {source!r}: {error}") from None
    return value


class Input(Strict):
    """A typed value the playbook's author can tune without touching the steps (``inputs.<name>``)."""

    type: Literal["string", "integer", "number", "boolean", "list"] = Field(description="The value's type.")
    default: Any = Field(description="The value used by the playbook (an input is never read from the e-mail).")
    description: str = ""

    @model_validator(mode="after")
    def _typed_default(self) -> Input:
        expected = _INPUT_TYPES[self.type]
        if not isinstance(self.default, expected) or (self.type in ("integer", "number")
                                                      and isinstance(self.default, bool)):
            raise ValueError(f"default {self.default!r} is not of type {self.type}")
        return self


class Guard(Strict):
    """A policy check that must pass before any step runs; a failing guard hands over with its reason code.

    Either ``check`` names a check action (``policy.*``, ``devices.require_one_device``…), which refuses with its
    own documented codes (``reason`` then replaces the code), or ``condition`` is an expression that must be
    true, and ``reason`` is required.
    """

    id: str = Field(pattern=IDENTIFIER, description="Unique among guards and steps.")
    check: str | None = Field(None, description="A check action of the catalogue (see docs/playbooks.md).")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="The check action's arguments.")
    condition: str | None = Field(None, description="An expression that must be true, e.g. `account.enabled`.")
    reason: str | None = Field(None, pattern=REASON, description="The hand-over reason code when the guard fails.")
    detail: str | None = Field(None, description="What the work note says when the guard fails.")
    when: str | None = Field(None, description="Run the guard only when this expression is true.")

    _check_when = field_validator("condition", "when")(_expression)
    _check_args = field_validator("with_")(_arguments)

    @model_validator(mode="after")
    def _one_kind(self) -> Guard:
        if (self.check is None) == (self.condition is None):
            raise ValueError("a guard has either `check` (an action) or `condition` (an expression), not both")
        if self.condition is not None and self.reason is None:
            raise ValueError("a `condition` guard needs the `reason` code it hands over with")
        if self.condition is not None and self.with_:
            raise ValueError("`with` applies to a `check` guard only")
        return self


class Retry(Strict):
    """Retry a step on a transient failure (timeouts, 429, 5xx): never for a write that is not idempotent."""

    attempts: int = Field(2, ge=1, le=5, description="Total attempts, the first included.")
    backoff: float = Field(1.0, ge=0, le=60, description="Seconds before the 2nd attempt, doubled each time.")


class Compensation(Strict):
    """The action run when the step fails with ``on_error: compensate`` (best effort), before the hand-over."""

    action: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    _check_args = field_validator("with_")(_arguments)


class Approval(Strict):
    """The step needs a person's approval recorded in the ticket; without it the run stops and hands over."""

    required: bool = True
    approvers: str | None = Field(None, description="Who may approve (a group name), shown in the work note.")
    note: str = Field("", description="What the work note asks the approver to check (a template).")


class Step(Strict):
    """One step: a named action from the catalogue, with arguments (literals, or expressions written ``${…}``)."""

    id: str = Field(pattern=IDENTIFIER, description="Unique among guards and steps; `steps.<id>.*` reads its output.")
    action: str = Field(description="An action of the catalogue (see docs/playbooks.md).")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="The action's arguments.")
    when: str | None = Field(None, description="Run the step only when this expression is true (else skipped).")
    retry: Retry | None = None
    timeout: float | None = Field(None, gt=0, le=600, description="Seconds before the step is abandoned.")
    on_error: Literal["hand_over", "compensate"] = "hand_over"
    compensate: Compensation | None = None
    approval: Approval | None = None

    _check_when = field_validator("when")(_expression)
    _check_args = field_validator("with_")(_arguments)

    @model_validator(mode="after")
    def _compensation(self) -> Step:
        if self.on_error == "compensate" and self.compensate is None:
            raise ValueError("`on_error: compensate` needs a `compensate: {action: …}` block")
        if self.on_error == "hand_over" and self.compensate is not None:
            raise ValueError("`compensate` is used only with `on_error: compensate`")
        return self


class Reply(Strict):
    """The reply sent to the requester when the playbook succeeds."""

    template: str = Field(description="A file of playbooks/templates/.")


class ClosureSpec(Strict):
    """How the ticket is closed when the playbook succeeds; unset keys take the desk configuration."""

    close_code: str | None = Field(None, description="Default: desk.close_code; e.g. \"Hors périmètre\".")
    close_notes: str = Field(description="A template; the values of the reply are available.")
    kb_article: str | None = Field(None, description="Default: desk.kb_article.")
    count_as_automated: bool = Field(True, description="Tag the ticket with desk.automation_tag (UO-TR1.1).")


class UnderstandingSpec(Strict):
    """How sure the understanding must be for this playbook to run."""

    decisions: tuple[Literal["auto", "human", "ignore"], ...] = Field(
        ("auto",), min_length=1, description="The understanding's verdicts on the text this playbook accepts.")
    min_confidence: float = Field(0.8, ge=0, le=1)


class Playbook(Strict):
    """A versioned playbook; ``content_hash`` ties every record to the exact text that ran."""

    id: str = Field(pattern=IDENTIFIER)
    version: int = Field(ge=1, description="Raise it on every change; the ledger records id@version#hash.")
    owner: str
    description: str
    intents: tuple[str, ...] = Field(min_length=1, description="The understood intents it handles.")
    channels: tuple[str, ...] = ("email",)
    mode: Literal["live", "shadow", "off"] = Field("live", description="`off` must be quoted in YAML.")
    target: Literal["account", "cloud_identity", "none"] = Field(
        "account", description="What the request's identifier is resolved to before the guards: an AD account, "
                               "an Entra ID user, or nothing (answers that act on no account).")
    ticket: Literal["new", "existing", "none"] = Field(
        "new", description="new: open (or find) the request's ticket; existing: add a work note to the ticket of "
                           "the conversation the message answers; none: no ticket (auto-replies).")
    understanding: UnderstandingSpec = Field(default_factory=UnderstandingSpec)
    inputs: dict[str, Input] = Field(default_factory=dict)
    guards: tuple[Guard, ...] = ()
    steps: tuple[Step, ...] = ()
    reply: Reply | None = None
    closure: ClosureSpec | None = None
    work_note: str | None = Field(None, description="ticket: existing — the work note added (a template).")
    content_hash: str = Field("", description="Set when loaded; not written in the file.")

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as false; operators mean the mode.
        return "off" if value is False else value

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        seen: set[str] = set()
        for item_id in [guard.id for guard in self.guards] + [step.id for step in self.steps]:
            if item_id in seen:
                raise ValueError(f"step id {item_id!r} is used twice")
            seen.add(item_id)
        for name in self.inputs:
            if not re.fullmatch(IDENTIFIER, name):
                raise ValueError(f"input name {name!r} must be lower case, digits and _")
        if self.ticket == "new" and (self.reply is None) != (self.closure is None):
            raise ValueError("a playbook that closes its ticket needs both `reply` and `closure`")
        if self.ticket != "new" and (self.closure is not None or self.reply is not None):
            raise ValueError(f"`ticket: {self.ticket}` playbooks neither reply nor close a ticket")
        if self.ticket == "existing" and not self.work_note:
            raise ValueError("`ticket: existing` needs the `work_note` it adds to the ticket")
        if self.ticket == "new" and self.reply is None and not any(s.action == "flow.hand_over" for s in self.steps):
            raise ValueError("a playbook with `ticket: new` needs `reply` and `closure`, or a flow.hand_over step")
        return self

    @property
    def label(self) -> str:
        """``id@version#hash`` as recorded in the ledger."""
        return f"{self.id}@{self.version}#{self.content_hash[:12]}"


def load_playbook(path: Path, known_actions: frozenset[str], templates: Path) -> Playbook:
    """Parse and validate one playbook file; the first problem raises ``PlaybookError`` (file:line:column)."""
    from automations.playbooks.validate import validate_file

    problems, playbook = validate_file(path, known_actions=known_actions, templates=templates)
    errors = [p for p in problems if p.severity == "error"]
    if errors or playbook is None:
        raise PlaybookError("; ".join(p.format() for p in errors) or f"{path}: invalid playbook")
    return playbook


def read_playbook(path: Path) -> tuple[str, Any]:
    """The text of ``path`` and its YAML data; ``PlaybookError`` for a YAML syntax error."""
    text = path.read_text(encoding="utf-8")
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise PlaybookError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def model_of(data: Any, text: str) -> Playbook:
    """The model of already parsed YAML ``data``, its content hash taken from ``text``; raises ValidationError."""
    if not isinstance(data, dict):
        raise ValueError("a playbook is a mapping of keys")
    return Playbook.model_validate({**data, "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest()})


def load_playbooks(directory: Path, known_actions: frozenset[str]) -> dict[str, Playbook]:
    """Every playbook of ``directory`` not switched off, by the intent it handles; two for one intent is an error."""
    by_intent: dict[str, Playbook] = {}
    for path in sorted(directory.glob("*.yaml")):
        playbook = load_playbook(path, known_actions, directory / "templates")
        if playbook.mode == "off":
            continue
        for intent in playbook.intents:
            if intent in by_intent:
                raise PlaybookError(f"{path}: intent {intent!r} is already handled by {by_intent[intent].id!r}")
            by_intent[intent] = playbook
    return by_intent


__all__ = ["Playbook", "PlaybookError", "ValidationError", "load_playbook", "load_playbooks", "model_of"]
