"""`sesame playbook test`: the shipped playbooks' YAML cases pass, cover every guard and a failing step, and a
failing case is reported with a readable diff."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from automations.playbooks.spec import model_of
from automations.playbooks.testing import run_test_path
from workers.cli import main

SHIPPED = Path(__file__).resolve().parents[3] / "playbooks"


def test_the_shipped_playbooks_pass_their_cases() -> None:
    result = CliRunner().invoke(main, ["playbook", "test", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output.splitlines()[-1]


def test_every_shipped_playbook_has_cases_for_success_each_guard_and_a_failing_step() -> None:
    for path in sorted(SHIPPED.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        playbook = model_of(yaml.safe_load(text), text)
        cases = yaml.safe_load((SHIPPED / "tests" / f"{playbook.id}.yaml").read_text(encoding="utf-8"))["cases"]
        names = [case["name"] for case in cases]
        for guard in playbook.guards:
            assert any(name.startswith(f"guard {guard.id}:") for name in names), (playbook.id, guard.id)
        hands_over_only = playbook.reply is None and playbook.ticket == "new"
        succeeded = [c for c in cases if c["expect"].get("decision") in ("automated", "ignored")
                     or (hands_over_only and c["expect"].get("reason") == "intent_not_automated")]
        assert succeeded, playbook.id
        failing = [c for c in cases if "fail" in c or "ineffective" in c or "raises" in c["expect"]]
        assert failing, playbook.id


def _case_files(tmp_path: Path, expect: str) -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "r.j2").write_text("Compte {{ account.sam }} déverrouillé ({{ ticket }}).")
    (tmp_path / "tests").mkdir()
    (tmp_path / "p.yaml").write_text(
        "id: p\nversion: 1\nowner: n1\ndescription: d\nintents: [unlock]\n"
        "steps:\n  - {id: unlock, action: directory.unlock}\n"
        "reply: {template: r.j2}\nclosure: {close_notes: ok}\n")
    (tmp_path / "tests" / "p.yaml").write_text(
        "playbook: p\n"
        "defaults:\n  partner: {id: ml, ou: 'OU=ML,DC=a', domains: [ml.fr], correspondents: [c@ml.fr]}\n"
        "  request: {intent: unlock, sender: c@ml.fr, targets: [jdupont]}\n"
        "  accounts: [{sam: jdupont, locked: true}]\n"
        f"cases:\n  - name: unlocks\n    expect: {expect}\n")
    return tmp_path / "p.yaml"


def test_a_passing_case_passes(tmp_path: Path) -> None:
    report = run_test_path(_case_files(tmp_path, "{decision: automated, writes: [unlock], reply: [déverrouillé]}"))
    assert report.ok and report.passed == 1, report.text


def test_a_failing_case_prints_a_diff_and_the_command_exits_1(tmp_path: Path) -> None:
    path = _case_files(tmp_path, "{decision: handed_over, reason: account_not_locked, writes: [], reply: [bloqué]}")
    result = CliRunner().invoke(main, ["playbook", "test", str(path)])
    assert result.exit_code == 1
    assert "FAIL p › unlocks" in result.output
    assert "decision: expected 'handed_over', got 'automated'" in result.output
    assert "-[]" in result.output and "+- unlock" in result.output  # the writes, as a unified diff
    assert "reply: does not contain ['bloqué']" in result.output and "| Compte jdupont déverrouillé" in result.output
    assert result.output.splitlines()[-1] == "1 case(s): 0 passed, 1 failed"


def test_a_playbook_without_cases_fails(tmp_path: Path) -> None:
    path = _case_files(tmp_path, "{decision: automated}")
    (tmp_path / "tests" / "p.yaml").unlink()
    report = run_test_path(path)
    assert not report.ok and "no test cases" in report.text


def test_the_worked_example_of_the_authoring_guide_validates_and_passes(tmp_path: Path) -> None:
    """docs/playbooks.md's example files (code blocks starting with a `file:` comment) are kept true."""
    import re
    import shutil

    from automations.playbooks.validate import validate_paths

    guide = (SHIPPED.parent / "docs" / "playbooks.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:yaml|jinja)\n(?:# |\{# )file: (\S+?)(?: #\})?\n(.*?)```", guide, re.S)
    assert {name for name, _ in blocks} == {"cap_emploi_unlock.yaml", "templates/unlock_cap.fr.txt.j2",
                                            "tests/cap_emploi_unlock.yaml"}
    shutil.copytree(SHIPPED / "templates", tmp_path / "templates")
    (tmp_path / "tests").mkdir()
    for name, text in blocks:
        (tmp_path / name).write_text(text, encoding="utf-8")
    problems, checked = validate_paths([tmp_path / "cap_emploi_unlock.yaml"])
    assert checked == 1 and problems == []
    report = run_test_path(tmp_path / "cap_emploi_unlock.yaml")
    assert report.ok and report.passed == 5, report.text
