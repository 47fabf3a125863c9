"""The playbook format: one pydantic model, loaded from YAML with errors that name the file and the key."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and the key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Step(Strict):
    """One step: a named action from the action registry, with literal arguments."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    action: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")


class Reply(Strict):
    """The reply sent to the requester when the playbook succeeds."""

    template: str


class ClosureSpec(Strict):
    """How the ticket is closed when the playbook succeeds; unset keys take the desk configuration."""

    close_code: str | None = None
    close_notes: str
    kb_article: str | None = None
    count_as_automated: bool = True


class Playbook(Strict):
    """A versioned playbook; ``content_hash`` ties every record to the exact text that ran."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    owner: str
    description: str
    intents: tuple[str, ...] = Field(min_length=1)
    channels: tuple[str, ...] = ("email",)
    mode: Literal["live", "shadow", "off"] = "live"
    steps: tuple[Step, ...] = Field(min_length=1)
    reply: Reply
    closure: ClosureSpec
    content_hash: str = ""

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as false; operators mean the mode.
        return "off" if value is False else value

    @model_validator(mode="after")
    def _unique_steps(self) -> Playbook:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return self

    @property
    def label(self) -> str:
        """``id@version#hash`` as recorded in the ledger."""
        return f"{self.id}@{self.version}#{self.content_hash[:12]}"


def load_playbook(path: Path, known_actions: frozenset[str], templates: Path) -> Playbook:
    """Parse and validate one playbook file."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise PlaybookError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise PlaybookError(f"{path}: a playbook is a mapping of keys")
    data["content_hash"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise PlaybookError(f"{path}: {problems}") from None
    for step in playbook.steps:
        if step.action not in known_actions:
            known = ", ".join(sorted(known_actions))
            raise PlaybookError(f"{path}: steps.{step.id}.action: unknown action {step.action!r}; known: {known}")
    if not (templates / playbook.reply.template).is_file():
        raise PlaybookError(f"{path}: reply.template: {playbook.reply.template!r} not found in {templates}")
    return playbook


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
