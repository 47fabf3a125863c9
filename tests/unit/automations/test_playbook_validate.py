"""`sesame playbook validate`: each kind of problem, located at file:line:column with a hint; the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from automations.playbooks.schema import schema_text
from automations.playbooks.validate import validate_file, validate_paths
from workers.cli import main

SHIPPED = Path(__file__).resolve().parents[3] / "playbooks"

HEAD = """id: p
version: 1
owner: n1
description: d
intents: [unlock]
"""
TAIL = """reply: {template: r.j2}
closure: {close_notes: "{{ account.sam }} done"}
"""


def write(tmp_path: Path, body: str, template: str = "Bonjour {{ account.sam }} ({{ ticket }})") -> Path:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "r.j2").write_text(template, encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + body + TAIL, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    found, _ = validate_file(path)
    return [p.format() for p in found if p.severity == "error"]


def test_the_shipped_playbooks_are_valid_and_their_schema_is_the_committed_one() -> None:
    found, checked = validate_paths([SHIPPED])
    assert [p.format() for p in found] == [] and checked >= 9
    assert (SHIPPED / "playbook.schema.json").read_text(encoding="utf-8") == schema_text(), (
        "regenerate: python -m automations.playbooks.schema > playbooks/playbook.schema.json")
    schema = json.loads(schema_text())
    assert schema["additionalProperties"] is False and "content_hash" not in schema["properties"]
    for path in sorted(SHIPPED.glob("*.yaml")):
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=playbook.schema.json")


@pytest.mark.parametrize(
    ("body", "where", "message", "hint"),
    [
        ("steps:\n  - {id: u, action: directory.unlok}\n", ":7:", "unknown action 'directory.unlok'",
         "did you mean 'directory.unlock'"),
        ("guards:\n  - {id: g, check: policy.require_lockd}\n", ":7:", "unknown action 'policy.require_lockd'",
         "'policy.require_locked'"),
        ("steps:\n  - id: r\n    action: directory.reset_password\n    with: {length: sixteen}\n", ":9:",
         "argument 'length' of directory.reset_password: expected integer, got str", ""),
        ("steps:\n  - id: r\n    action: directory.reset_password\n    with: {lenght: 16}\n", ":9:",
         "unknown argument 'lenght'", "did you mean 'length'"),
        ("steps:\n  - id: r\n    action: directory.reset_password\n    with: {length: 8}\n", ":9:",
         "expected at least 15", ""),
        ("guards:\n  - {id: g, condition: account.lockd, reason: X}\n", ":7:", "undefined variable 'account.lockd'",
         ""),
        ("steps:\n  - {id: a, action: directory.unlock, when: steps.b.x}\n  - {id: b, action: directory.unlock}\n",
         ":7:", "undefined variable 'steps.b'", "steps.<id> reads only guards and steps before this one"),
        ("steps:\n  - {id: stop, action: flow.hand_over, with: {reason: X}}\n  - {id: u, action: directory.unlock}\n",
         ":8:", "step 'u' can never run: step 'stop' always hands over before it", ""),
        ("steps:\n  - {id: u, action: directory.unlock, when: 1 > 2}\n", ":7:", "its `when` is always false", ""),
        ("guards:\n  - {id: g, check: directory.unlock}\n", ":7:", "directory.unlock is a write action, not a check",
         "put it in `steps`"),
        ("target: none\nsteps:\n  - {id: u, action: directory.unlock}\n", ":8:", "acts on an account", ""),
        ("steps:\n  - {id: stop, action: flow.hand_over}\n", ":7:", "needs the argument 'reason'", ""),
        ("stesp: []\n", ":6:", "unknown key", "did you mean 'steps'"),
        ("mode: sometimes\n", ":6:", "mode", "expected 'live', 'shadow' or 'off'"),
        ("steps:\n  - {id: Bad-Id, action: directory.unlock}\n", ":7:", "steps.0.id", "lower case letters"),
        ("guards:\n  - {id: g, condition: 'account.sam ==', reason: X}\n", ":7:", "invalid expression", ""),
    ],
)
def test_each_problem_is_located_and_explained(tmp_path: Path, body: str, where: str, message: str,
                                               hint: str) -> None:
    found = problems(write(tmp_path, body))
    assert any(where in text and message in text and hint in text for text in found), found


def test_a_hand_over_playbook_must_always_end_in_a_hand_over(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text(HEAD + "target: none\nsteps:\n  - id: s\n    action: flow.hand_over\n"
                    "    when: request.intent == 'x'\n    with: {reason: X}\n")
    (problem,) = problems(path)
    assert ":8:3:" in problem and "every hand-over step has a `when`" in problem
    path.write_text(HEAD + "target: none\nsteps:\n  - {id: s, action: flow.hand_over, with: {reason: X}}\n")
    assert problems(path) == []


def test_templates_are_checked_for_existence_and_undefined_values(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "", template="Bonjour {{ acount.sam }}"))
    assert any("reply.template" in p and "undefined variable 'acount'" in p and "did you mean 'account'" in p
               for p in found), found
    path = write(tmp_path, "")
    path.write_text(path.read_text().replace("r.j2", "missing.j2"))
    assert any("template 'missing.j2' not found" in p for p in problems(path))


def test_invalid_yaml_points_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("id: p\nsteps: [\n  - x: {\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:") and "invalid YAML" in problem


def test_two_live_playbooks_for_one_intent_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "steps:\n  - {id: u, action: directory.unlock}\n")
    (tmp_path / "q.yaml").write_text((tmp_path / "p.yaml").read_text().replace("id: p", "id: q"))
    found, checked = validate_paths([tmp_path])
    assert checked == 2 and any("already handled by the live playbook 'p'" in p.format() for p in found)


def test_the_command_exits_1_on_errors_and_0_when_valid(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["playbook", "validate", str(SHIPPED)])
    assert good.exit_code == 0, good.output
    bad = runner.invoke(main, ["playbook", "validate", str(write(tmp_path, "stesp: []\n"))])
    assert bad.exit_code == 1 and "p.yaml:6:1: error: stesp: unknown key" in bad.output
    assert "1 error(s)" in bad.output
