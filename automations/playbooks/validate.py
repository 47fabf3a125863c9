"""``sesame playbook validate``: every problem of a playbook file, with file:line:column and a hint.

Beyond the model's own checks (types, unknown keys), it checks what only the catalogue and the templates know:
unknown actions (with "did you mean"), argument names and types, actions that need an account in a playbook
that resolves none, undefined variables in expressions and templates, steps that can never run, missing
template files, and two live playbooks for one intent. Line and column come from the YAML nodes
(``yaml.compose`` marks), so an error points at the key in the file.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, TemplateSyntaxError, meta
from pydantic import BaseModel, ValidationError

from automations.playbooks.catalog import CATALOG, ActionSpec, Arg
from automations.playbooks.engine import ACCOUNT_FIELDS, REQUEST_FIELDS, step_outputs_schema
from automations.playbooks.expressions import ANY, ExpressionError, argument_expression, parse, undefined
from automations.playbooks.spec import (
    Approval,
    ClosureSpec,
    Compensation,
    Guard,
    Input,
    Playbook,
    PlaybookError,
    Reply,
    Retry,
    Step,
    UnderstandingSpec,
    model_of,
    read_playbook,
)

Loc = tuple[str | int, ...]

# What the handler gives the templates (docs/playbooks.md, "Templates"); `run.reply_values()` adds the rest.
REPLY_VALUES = frozenset({"account", "ticket", "playbook", "requester", "partner", "delivery", "device", "intent"})
WORK_NOTE_VALUES = frozenset({"ticket", "playbook", "requester", "partner", "intent"})
APPROVAL_VALUES = frozenset({"account", "device", "playbook"})
SMS_VALUES = frozenset({"account", "password"})
_IS_DEFINED = re.compile(r"\b([A-Za-z_]\w*)\s+is\s+(?:not\s+)?defined\b")
_JINJA = Environment(autoescape=False)
_INPUT_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "list": "list"}


@dataclass(frozen=True)
class Problem:
    """One finding; ``line`` and ``column`` are 1-based (0 when unknown)."""

    path: Path
    line: int
    column: int
    message: str
    hint: str = ""
    severity: str = "error"

    def format(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else str(self.path)
        hint = f"\n    hint: {self.hint}" if self.hint else ""
        return f"{where}: {self.severity}: {self.message}{hint}"


# ----- locating YAML nodes ---------------------------------------------------------------------------------------


def _node(root: yaml.Node | None, loc: Loc, *, key: bool = False) -> yaml.Node | None:
    """The node at ``loc`` (the key's node when ``key``), or the deepest one found on the way."""
    node = root
    for depth, part in enumerate(loc):
        last = depth == len(loc) - 1
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            wanted = {part, part.removesuffix("_")}
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) in wanted), None)
            if pair is None:
                return node
            node = pair[0] if last and key else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


class _Located:
    """Problems of one file, located with its YAML nodes."""

    def __init__(self, path: Path, root: yaml.Node | None) -> None:
        self.path, self.root = path, root
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, hint: str = "", *, key: bool = False, severity: str = "error") -> None:
        node = _node(self.root, loc, key=key)
        mark = node.start_mark if node is not None else None
        where = ".".join(str(p) for p in loc)
        self.problems.append(Problem(self.path, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0,
                                     f"{where}: {message}" if where else message, hint, severity))


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


# ----- the model's own errors -------------------------------------------------------------------------------------

_MODELS: list[tuple[tuple[str | type, ...], type[BaseModel]]] = [
    ((), Playbook), (("steps", int), Step), (("guards", int), Guard), (("steps", int, "retry"), Retry),
    (("steps", int, "compensate"), Compensation), (("steps", int, "approval"), Approval), (("reply",), Reply),
    (("closure",), ClosureSpec), (("understanding",), UnderstandingSpec), (("inputs", str), Input),
]


def _keys_at(loc: Loc) -> list[str]:
    """The keys allowed in the mapping at ``loc``."""
    for pattern, model in _MODELS:
        if len(pattern) == len(loc) and all(p == part or (isinstance(p, type) and isinstance(part, p))
                                            for p, part in zip(pattern, loc, strict=True)):
            return [f.alias or name for name, f in model.model_fields.items() if name != "content_hash"]
    return []


def _model_problems(found: _Located, error: ValidationError) -> None:
    for item in error.errors():
        loc: Loc = tuple(p for p in item["loc"] if p != "content_hash")
        kind, message = item["type"], item["msg"].removeprefix("Value error, ")
        hint = ""
        if kind == "extra_forbidden":
            hint = _did_you_mean(str(loc[-1]), _keys_at(loc[:-1])) or f"allowed keys: {', '.join(_keys_at(loc[:-1]))}"
            found.add(loc, "unknown key", hint, key=True)
            continue
        if kind == "missing":
            found.add(loc[:-1], f"missing key {loc[-1]!r}", "see docs/playbooks.md, “Format reference”")
            continue
        if kind == "literal_error":
            hint = f"expected {message.removeprefix('Input should be ')}"
        elif kind == "string_pattern_mismatch":
            hint = "lower case letters, digits and _, starting with a letter"
        found.add(loc, message, hint)


# ----- semantic checks -------------------------------------------------------------------------------------------


def _scope(playbook: Playbook, earlier: Iterable[str], outputs: Mapping[str, Any]) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "request": dict(REQUEST_FIELDS),
        "partner": {"id": "string", "name": "string", "ou": "string", "domains": "list"},
        "inputs": {name: _INPUT_TYPES[spec.type] for name, spec in playbook.inputs.items()},
        "steps": {name: outputs.get(name, ANY) or {} for name in earlier},
    }
    if playbook.target != "none":
        scope["account"] = dict(ACCOUNT_FIELDS)
    return scope


def _template_names(source: str) -> set[str] | str:
    """The variables a template reads (minus those it tests with ``is defined``), or the syntax error."""
    try:
        names = meta.find_undeclared_variables(_JINJA.parse(source))
    except TemplateSyntaxError as error:
        return f"template syntax error line {error.lineno}: {error.message}"
    return set(names) - set(_IS_DEFINED.findall(source))


def _check_template_text(found: _Located, loc: Loc, source: str, known: frozenset[str], what: str) -> None:
    names = _template_names(source)
    if isinstance(names, str):
        found.add(loc, f"{what}: {names}")
        return
    for name in sorted(names - known):
        found.add(loc, f"{what}: undefined variable {name!r}", _did_you_mean(name, known)
                  or f"templates can show: {', '.join(sorted(known))}")


def _check_template_file(found: _Located, loc: Loc, templates: Path | None, name: str, known: frozenset[str]) -> None:
    if templates is None:
        return
    file = templates / name
    if not file.is_file():
        existing = sorted(p.name for p in templates.glob("*")) if templates.is_dir() else []
        found.add(loc, f"template {name!r} not found in {templates}", _did_you_mean(name, existing))
        return
    _check_template_text(found, loc, file.read_text(encoding="utf-8"), known, f"template {name}")


def _check_expression(found: _Located, loc: Loc, source: str, scope: Mapping[str, Any]) -> Any:
    """Check one expression; ``(known, value)`` of ``constant()`` when it is fine, else None."""
    try:
        expression = parse(source)
    except ExpressionError as error:
        found.add(loc, f"invalid expression {source!r}: {error}")
        return None
    for problem in undefined(expression, scope):
        found.add(loc, f"{problem} in {source!r}",
                  "steps.<id> reads only guards and steps before this one" if "'steps." in problem else "")
    return expression.constant()


def _check_action(found: _Located, loc: Loc, name: str, args: Mapping[str, Any], playbook: Playbook,
                  scope: Mapping[str, Any], templates: Path | None, known_actions: frozenset[str]) -> ActionSpec | None:
    spec = CATALOG.get(name)
    if spec is None or name not in known_actions:
        found.add(loc, f"unknown action {name!r}", _did_you_mean(name, known_actions)
                  or "the actions are listed in docs/playbooks.md")
        return None
    if spec.needs_account and playbook.target == "none":
        found.add(loc, f"{name} acts on an account, but this playbook has `target: none`",
                  "set `target: account` (or cloud_identity), or remove the step")
    with_loc = (*loc[:-1], "with")
    for arg_name, value in args.items():
        arg: Arg | None = spec.args.get(arg_name)
        if arg is None:
            hint = _did_you_mean(arg_name, spec.args) or (
                f"{name} takes: {', '.join(spec.args)}" if spec.args else f"{name} takes no argument")
            found.add((*with_loc, arg_name), f"unknown argument {arg_name!r} of {name}", hint, key=True)
            continue
        source = argument_expression(value)
        if source is not None:
            _check_expression(found, (*with_loc, arg_name), source, scope)
            continue
        problem = arg.problem(value)
        if problem:
            found.add((*with_loc, arg_name), f"argument {arg_name!r} of {name}: {problem}")
        elif arg.type == "template":
            _check_template_file(found, (*with_loc, arg_name), templates, str(value), SMS_VALUES)
    for arg_name, arg in spec.args.items():
        if arg.required and arg_name not in args:
            found.add(loc, f"{name} needs the argument {arg_name!r}", f"add `with: {{{arg_name}: …}}`")
    return spec


def _semantics(found: _Located, playbook: Playbook, known_actions: frozenset[str], templates: Path | None) -> None:
    outputs = step_outputs_schema(playbook)
    earlier: list[str] = []
    for index, guard in enumerate(playbook.guards):
        loc: Loc = ("guards", index)
        scope = _scope(playbook, earlier, outputs)
        if guard.when is not None:
            known = _check_expression(found, (*loc, "when"), guard.when, scope)
            if known and known[0] and not known[1]:
                found.add((*loc, "when"), "this guard never runs: its `when` is always false")
        if guard.check is not None:
            spec = _check_action(found, (*loc, "check"), guard.check, guard.with_, playbook, scope, templates,
                                 known_actions)
            if spec is not None and spec.kind != "check":
                found.add((*loc, "check"), f"{guard.check} is a {spec.kind} action, not a check",
                          "guards only check; put it in `steps`")
        if guard.condition is not None:
            known = _check_expression(found, (*loc, "condition"), guard.condition, scope)
            if known and known[0] and not known[1]:
                found.add((*loc, "condition"), "this guard always fails: its condition is always false",
                          "every request would be handed over here")
        earlier.append(guard.id)
    stopped_by: str | None = None
    for index, step in enumerate(playbook.steps):
        loc = ("steps", index)
        scope = _scope(playbook, earlier, outputs)
        if stopped_by is not None:
            found.add((*loc, "id"), f"step {step.id!r} can never run: step {stopped_by!r} always hands over before it",
                      "give the hand-over a `when`, or remove the steps after it")
        never = False
        if step.when is not None:
            known = _check_expression(found, (*loc, "when"), step.when, scope)
            if known and known[0] and not known[1]:
                never = True
                found.add((*loc, "when"), f"step {step.id!r} can never run: its `when` is always false")
        spec = _check_action(found, (*loc, "action"), step.action, step.with_, playbook, scope, templates,
                             known_actions)
        if step.compensate is not None:
            _check_action(found, (*loc, "compensate", "action"), step.compensate.action, step.compensate.with_,
                          playbook, scope, templates, known_actions)
        if spec is not None:
            if step.retry is not None and spec.kind == "write" and not spec.idempotent:
                found.add((*loc, "retry"), f"{step.action} is never retried (a second attempt could write twice)",
                          "remove `retry`; the step runs once", severity="warning")
            if spec.terminal and step.when is None and not never and stopped_by is None:
                stopped_by = step.id
        if step.approval is not None and step.approval.note:
            _check_template_text(found, (*loc, "approval", "note"), step.approval.note, APPROVAL_VALUES,
                                 "approval note")
        earlier.append(step.id)
    if playbook.ticket == "new" and playbook.reply is None and stopped_by is None and playbook.steps:
        found.add(("steps",), "every hand-over step has a `when`: a request may get past them all, and the playbook "
                  "has no `reply` and `closure` to end with", "end with a `flow.hand_over` without `when`, or add "
                  "`reply` and `closure`")
    if playbook.reply is not None:
        _check_template_file(found, ("reply", "template"), templates, playbook.reply.template, REPLY_VALUES)
    if playbook.closure is not None:
        _check_template_text(found, ("closure", "close_notes"), playbook.closure.close_notes, REPLY_VALUES,
                             "close_notes")
    if playbook.work_note:
        _check_template_text(found, ("work_note",), playbook.work_note, WORK_NOTE_VALUES, "work_note")


def validate_file(path: Path, *, known_actions: frozenset[str] | None = None,
                  templates: Path | None = None) -> tuple[list[Problem], Playbook | None]:
    """Every problem of one playbook file, and its model when the model itself is valid."""
    known = known_actions if known_actions is not None else frozenset(CATALOG)
    templates = templates if templates is not None else path.parent / "templates"
    try:
        text, data = read_playbook(path)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except PlaybookError as error:
        message = str(error)
        match = re.match(r"^(.*?):(\d+):(\d+): (.*)$", message, re.S)
        if match:
            return [Problem(path, int(match[2]), int(match[3]), match[4], "check the indentation and quoting")], None
        return [Problem(path, 0, 0, message)], None
    except OSError as error:
        return [Problem(path, 0, 0, f"cannot read: {error}")], None
    found = _Located(path, root)
    try:
        playbook = model_of(data, text)
    except ValidationError as error:
        _model_problems(found, error)
        return found.problems, None
    except ValueError as error:
        found.add((), str(error), "a playbook starts with `id:`, `version:`…")
        return found.problems, None
    _semantics(found, playbook, known, templates)
    return found.problems, playbook


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    """The playbook files named, directories expanded to their ``*.yaml`` (test cases and the schema excluded)."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return files


def validate_paths(paths: Iterable[Path]) -> tuple[list[Problem], int]:
    """Problems of every playbook file under ``paths`` (and two live playbooks for one intent), files checked."""
    problems: list[Problem] = []
    files = playbook_files(paths)
    by_intent: dict[tuple[Path, str], str] = {}
    for file in files:
        found, playbook = validate_file(file)
        problems.extend(found)
        if playbook is None or playbook.mode == "off":
            continue
        for intent in playbook.intents:
            other = by_intent.setdefault((file.parent, intent), playbook.id)
            if other != playbook.id:
                located = _Located(file, yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
                located.add(("intents",), f"intent {intent!r} is already handled by the live playbook {other!r}",
                            "one live playbook per intent: set `mode: \"off\"` on one of them")
                problems.extend(located.problems)
    return problems, len(files)
