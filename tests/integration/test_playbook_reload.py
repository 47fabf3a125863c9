"""Hot reload: a playbook edited while the fleet runs takes effect for the next request, without a restart; a
broken edit is reported and the previous good version keeps running. Through the fleet's own task
(``sesame.handle_email``, run in this process) against the sandbox (directory emulator, ServiceNow, Graph)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from automations.intake import request_from_message
from automations.ledger import Ledger
from tests.fixtures.fleet import DEMO_SCENARIO, REPO

pytestmark = pytest.mark.integration

CORRESPONDENT = "claire.fabre@mission-locale-lyon.fr"
AUTH = ("mx.agence.local; spf=pass smtp.mailfrom=mission-locale-lyon.fr; dkim=pass header.d=mission-locale-lyon.fr; "
        "dmarc=pass header.from=mission-locale-lyon.fr")


def _email(n: int, sam: str) -> dict[str, Any]:
    return {"id": f"r{n}", "from": CORRESPONDENT, "from_name": "Claire Fabre", "to": "support-partenaires@agence.local",
            "subject": "Compte bloqué", "body": f"Bonjour,\nmerci de débloquer le compte {sam} svp.\nClaire",
            "headers": {"Message-ID": f"<reload-{n}@mission-locale-lyon.fr>", "Date": "Mon, 23 Nov 2026 08:12:00 +0100",
                        "Authentication-Results": AUTH}}


@pytest.fixture
def fleet_settings(tmp_path: Path, start_sandbox: Callable[..., dict[str, Any]]) -> Iterator[tuple[Any, Path]]:
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    for name in ("partners.json", "directory.json", "tickets.jsonl"):
        shutil.copyfile(DEMO_SCENARIO / name, scenario / name)
    emails = [_email(1, "jdupont"), _email(2, "alefebvre"), _email(3, "pgarnier")]
    (scenario / "emails.jsonl").write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in emails) + "\n")
    info = start_sandbox(scenario, tmp_path / "state")
    playbooks = tmp_path / "playbooks"
    shutil.copytree(REPO / "playbooks", playbooks)
    config = Path(info["config"])
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["playbooks_dir"] = str(playbooks)
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    from workers.celery_app import configure
    from workers.config import load_settings
    from workers.runtime import reset_fleet

    settings = load_settings(config)
    configure(settings, config)
    try:
        yield settings, playbooks
    finally:
        reset_fleet()


def test_an_edited_playbook_is_used_for_the_next_request_and_a_broken_one_never_replaces_it(
    fleet_settings: tuple[Any, Path],
) -> None:
    from workers.runtime import current_fleet
    from workers.tasks import handle_email

    settings, playbooks = fleet_settings
    fleet = current_fleet(settings)
    by_target = {request_from_message(fleet.mailbox.get(i)).text.split("compte ")[1].split()[0]: i
                 for i in fleet.mailbox.list_unread()}
    ledger = Ledger(settings.ledger_url)

    def handle(sam: str) -> None:
        assert handle_email(by_target[sam]) is not None  # the fleet's task, as a worker runs it

    path = playbooks / "account_unlock.yaml"
    original = yaml.safe_load(path.read_text(encoding="utf-8"))
    handle("jdupont")
    first = _playbook_of(ledger, 1)
    assert first.startswith(f"account_unlock@{original['version']}#")

    # An operator raises the version and rewords the closure while the fleet runs.
    text = path.read_text(encoding="utf-8").replace(f"version: {original['version']}",
                                                    f"version: {original['version'] + 1}", 1)
    path.write_text(text.replace("déverrouillé automatiquement par Sésame", "déverrouillé (v2) par Sésame"),
                    encoding="utf-8")
    handle("alefebvre")
    second = _playbook_of(ledger, 2)
    assert second.startswith(f"account_unlock@{original['version'] + 1}#") and second != first

    # A broken edit: reported, and the previous good version keeps running.
    path.write_text(text + "\nsteps: [this is: not a step\n", encoding="utf-8")
    # Captured at structlog itself: where its output goes depends on whoever configured logging last.
    with structlog.testing.capture_logs() as logged:
        handle("pgarnier")
    assert _playbook_of(ledger, 3) == second
    assert fleet.library is not None and fleet.library.error and str(path) in fleet.library.error
    assert any(entry["event"] == "playbooks.reload_failed" for entry in logged)


def _playbook_of(ledger: Ledger, n: int) -> str:
    with ledger.engine.connect() as connection:
        from sqlalchemy import text

        value = connection.execute(text("SELECT playbook FROM requests WHERE key = :k"),
                                   {"k": f"<reload-{n}@mission-locale-lyon.fr>"}).scalar()
    assert value, f"request {n} has no playbook recorded"
    return str(value)
