"""Shadow mode end to end: a playbook in `mode: shadow` plans but does not act — no directory write, no playbook
reply, tickets to people with a neutral work note, the plan in the ledger — and `sesame report shadow` compares the
plans with how people then closed the same tickets in ServiceNow (agreement rate, disagreements, still open)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from pysnc import ServiceNowClient

from automations.ledger import Ledger
from sandbox.graph import MailboxStore
from tests.fixtures.fleet import DEMO_SCENARIO, REPO, fleet_env

pytestmark = pytest.mark.integration

CORRESPONDENT = "claire.fabre@mission-locale-lyon.fr"
AUTH = ("mx.agence.local; spf=pass smtp.mailfrom=mission-locale-lyon.fr; dkim=pass header.d=mission-locale-lyon.fr; "
        "dmarc=pass header.from=mission-locale-lyon.fr")
TARGETS = ("jdupont", "alefebvre", "pgarnier", "mmartin")


def _email(n: int, sam: str) -> dict[str, Any]:
    return {"id": f"s{n}", "from": CORRESPONDENT, "from_name": "Claire Fabre", "to": "support-partenaires@agence.local",
            "subject": f"Compte bloqué {sam}", "body": f"Bonjour,\nmerci de débloquer le compte {sam} svp.\nClaire",
            "headers": {"Message-ID": f"<shadow-{n}@mission-locale-lyon.fr>", "Date": "Mon, 23 Nov 2026 08:12:00 +0100",
                        "Authentication-Results": AUTH}}


def _sesame(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args, "--config", str(config)], cwd=REPO,
                          env=fleet_env(config), capture_output=True, text=True, timeout=180)


def _close(client: ServiceNowClient, number: str, code: str) -> None:
    incident = client.GlideRecord("incident")
    assert incident.get("number", number)
    incident.state = "7"
    incident.close_code = code
    incident.close_notes = "Traité par le niveau 1."
    incident.update()


def test_shadow_plans_without_acting_and_the_report_compares_with_people(
    tmp_path: Path, start_sandbox: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    scenario = tmp_path / "scenario"
    scenario.mkdir()
    for name in ("partners.json", "directory.json", "tickets.jsonl"):
        shutil.copyfile(DEMO_SCENARIO / name, scenario / name)
    (scenario / "emails.jsonl").write_text(
        "\n".join(json.dumps(_email(n, sam), ensure_ascii=False) for n, sam in enumerate(TARGETS, 1)) + "\n")
    info = start_sandbox(scenario, tmp_path / "state")
    playbooks = tmp_path / "playbooks"
    shutil.copytree(REPO / "playbooks", playbooks)
    unlock = playbooks / "account_unlock.yaml"
    unlock.write_text(unlock.read_text(encoding="utf-8").replace("mode: live", "mode: shadow", 1), encoding="utf-8")
    config = Path(info["config"])
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["playbooks_dir"] = str(playbooks)
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    started = datetime.now(UTC)

    run = _sesame(config, "run", "--until-idle", "--timeout", "120")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert (summary["requests_seen"], summary["automated"]) == (4, 0)
    reason_of = {r["subject"].split()[-1]: r for r in summary["requests"]}
    assert reason_of["jdupont"]["reason"] == reason_of["alefebvre"]["reason"] == "shadow_mode"
    assert reason_of["pgarnier"]["reason"] == reason_of["mmartin"]["reason"] == "out_of_scope"

    # Nothing was done: no directory write, no playbook reply (acknowledgements only), tickets with people.
    http = requests.Session()
    http.trust_env = False
    http.verify = str(info["ca_file"])
    directory_calls = http.get(f"{info['directory_emulator']}/requests").json()
    assert directory_calls and all(e["method"] == "GET" for e in directory_calls)
    sent = MailboxStore.load(Path(info["state"]) / "mailbox.json").messages(info["mailbox"], "sentitems")
    assert len(sent) == 4 and all("transmise" in m["body"]["content"] for m in sent)
    assert not any("déverrouillé" in m["body"]["content"] for m in sent)
    sn = info["servicenow"]
    client = ServiceNowClient(sn["url"], (sn["user"], sn["password"]), verify=info["ca_file"])
    incident = client.GlideRecord("incident")
    assert incident.get("number", reason_of["jdupont"]["ticket"])
    assert incident.state not in ("6", "7") and incident.assignment_group.get_display_value() == "Service Desk N1"
    notes = client.GlideRecord("sys_journal_field")
    notes.add_query("element_id", incident.sys_id)
    notes.add_query("element", "work_notes")
    notes.query()
    note = " ".join(n.value.get_value() for n in notes)
    # The note says it is an observation, never what the bot would have done (the people's call stays independent).
    assert "shadow mode" in note and "independent" in note and "would have acted" not in note

    ledger = Ledger(f"sqlite:///{Path(info['state']) / 'ledger.db'}")
    plans = {p.ticket_number: p for p in ledger.shadow_plans()}
    ledger.engine.dispose()
    assert len(plans) == 4
    planned = plans[reason_of["jdupont"]["ticket"]]
    assert planned.outcome == "automated" and planned.close_code == "Résolution définitive"
    assert planned.playbook_id == "account_unlock" and len(planned.playbook_hash) == 64
    assert [a["action"] for a in planned.actions] == ["unlock"] and planned.actions[0]["dry_run"] is True
    assert plans[reason_of["pgarnier"]["ticket"]].reason == "out_of_scope"

    # People resolve three of them: as planned, otherwise than planned, and a refusal they also closed otherwise.
    _close(client, reason_of["jdupont"]["ticket"], "Résolution définitive")
    _close(client, reason_of["alefebvre"]["ticket"], "Non reproductible")
    _close(client, reason_of["pgarnier"]["ticket"], "Hors périmètre")

    report = _sesame(config, "report", "shadow", "--since", f"{started:%Y-%m-%d}", "--json")
    assert report.returncode == 0, report.stderr[-3000:]
    figures = json.loads(report.stdout)
    assert (figures["plans"], figures["resolved_by_people"], figures["pending"], figures["agree"]) == (4, 3, 1, 2)
    assert figures["agreement_pct"] == 66.7
    (wrong,) = figures["disagreements"]
    assert wrong["ticket"] == reason_of["alefebvre"]["ticket"] and wrong["kind"] == "wrong_action"
    assert figures["pending_tickets"] == [reason_of["mmartin"]["ticket"]]

    text = _sesame(config, "report", "shadow", "--since", f"{started:%Y-%m-%d}")
    assert text.returncode == 0 and "Agreement  2/3 (66.7 %)" in text.stdout
    assert reason_of["alefebvre"]["ticket"] in text.stdout
