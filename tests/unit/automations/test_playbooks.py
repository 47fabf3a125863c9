"""Loading and validating playbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from automations.playbooks import PlaybookError, load_playbooks
from automations.playbooks.actions import ACTIONS

SHIPPED = Path(__file__).resolve().parents[3] / "playbooks"


def test_shipped_playbooks_load_and_cover_unlock() -> None:
    playbooks = load_playbooks(SHIPPED, frozenset(ACTIONS))
    unlock = playbooks["unlock"]
    assert unlock.id == "account_unlock" and unlock.mode == "live"
    assert unlock.label.startswith(f"account_unlock@{unlock.version}#") and len(unlock.content_hash) == 64
    assert [s.action for s in unlock.steps] == ["directory.unlock", "directory.verify_unlocked"]
    assert unlock.target == "account" and [g.id for g in unlock.guards][-2:] == ["locked", "no_spray"]
    # One live playbook per intent; the alternatives shipped switched off are not loaded.
    assert {intent: p.id for intent, p in playbooks.items()} == {
        "unlock": "account_unlock", "reset_password": "password_reset", "access_request": "out_of_scope",
        "app_incident": "out_of_scope", "thanks_or_closure": "thanks_or_closure", "auto_reply": "auto_reply",
        "mfa": "human_handover", "hardware": "human_handover", "unlock_and_reset": "human_handover",
    }


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "r.j2").write_text("ok")
    (tmp_path / "p.yaml").write_text(text)
    return tmp_path


GOOD = """id: p
version: 1
owner: n1
description: d
intents: [unlock]
steps:
  - {id: find, action: directory.find_account}
reply: {template: r.j2}
closure: {close_notes: done}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("directory.find_account", "directory.explode"), "unknown action 'directory.explode'"),
        (GOOD.replace("r.j2", "missing.j2"), "'missing.j2' not found"),
        (GOOD.replace("version: 1", "version: zero"), "version"),
        (GOOD + "surprise: 1\n", "surprise"),
        (GOOD.replace("steps:\n", "steps:\n  - {id: find, action: policy.require_locked}\n"), "used twice"),
        ("id: [unclosed", "invalid YAML"),
    ],
)
def test_invalid_playbooks_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PlaybookError, match=r"p\.yaml") as error:
        load_playbooks(_write(tmp_path, text), frozenset(ACTIONS))
    assert message in str(error.value)


def test_playbook_switched_off_is_not_loaded(tmp_path: Path) -> None:
    assert load_playbooks(_write(tmp_path, GOOD + "mode: off\n"), frozenset(ACTIONS)) == {}
