"""Playbooks reload when their files change; a broken file never replaces the good set, and is retried once fixed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from automations.playbooks import load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.playbooks.library import PlaybookLibrary

REPO_PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"


def _library(tmp_path: Path) -> tuple[PlaybookLibrary, Path]:
    directory = tmp_path / "playbooks"
    shutil.copytree(REPO_PLAYBOOKS, directory)
    return PlaybookLibrary(directory, lambda: load_playbooks(directory, frozenset(ACTIONS))), directory


def _touch_later(path: Path) -> None:
    stat = path.stat()  # a later mtime even on a coarse clock, so the change is seen
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_nothing_changed_is_the_same_set(tmp_path: Path) -> None:
    library, _ = _library(tmp_path)
    assert library.current() is library.playbooks is library.current()


def test_an_edit_is_loaded_and_a_broken_edit_keeps_the_previous_set(tmp_path: Path) -> None:
    library, directory = _library(tmp_path)
    path = directory / "account_unlock.yaml"
    text = path.read_text(encoding="utf-8")
    before = library.current()["unlock"]

    path.write_text(text + "\n# reworded\n", encoding="utf-8")
    _touch_later(path)
    edited = library.current()["unlock"]
    assert edited.content_hash != before.content_hash and library.error is None

    path.write_text(text.replace("id: account_unlock", "id: Account Unlock!"), encoding="utf-8")
    _touch_later(path)
    assert library.current()["unlock"] is edited
    assert library.error is not None and "account_unlock.yaml" in library.error

    path.write_text(text, encoding="utf-8")
    _touch_later(path)
    assert library.current()["unlock"].content_hash == before.content_hash and library.error is None


def test_a_template_change_counts_as_a_change(tmp_path: Path) -> None:
    library, directory = _library(tmp_path)
    template = directory / "templates" / "unlock_done.fr.txt.j2"
    fingerprint = library._fingerprint
    template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    _touch_later(template)
    library.current()
    assert library._fingerprint != fingerprint
