"""The walking skeleton end to end: partner e-mails through real Redis, real Celery workers, real Samba AD and
the sandbox, checked the way an outsider would (binds, pysnc read-back, the mailbox)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pysnc import ServiceNowClient

from sandbox.graph import MailboxStore
from tests.fixtures.fleet import REPO, fleet_env
from tests.fixtures.services import AdUsers

pytestmark = pytest.mark.integration

CORRESPONDENT = "claire.fabre@partner.example"
MAILBOX = "support@agence.test"


def _email(n: int, sender: str, body: str, **headers: str) -> dict[str, Any]:
    domain = sender.split("@")[1]
    return {
        "id": f"e{n}", "from": sender, "from_name": "Expéditeur", "to": MAILBOX, "subject": "Compte bloqué",
        "body": body,
        "headers": {"Message-ID": f"<slice-{n}@{domain}>",
                    "Authentication-Results": f"mx.agence.test; dkim=pass header.d={domain}; "
                                              f"spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}",
                    **headers},
    }


def _scenario(directory: Path, ad_users: AdUsers) -> None:
    directory.mkdir()
    (directory / "partners.json").write_text(json.dumps([{
        "id": "p-test", "name": "Partenaire de test", "domains": ["partner.example"],
        "correspondents": [CORRESPONDENT], "ou": ad_users.ou,
    }]))
    (directory / "directory.json").write_text("[]")
    locked, other_locked = ad_users.locked
    emails = [
        _email(1, CORRESPONDENT, f"Bonjour,\nmerci de débloquer le compte {locked.sam} svp.\nCordialement,\nClaire",
               # Same domain, so the mail passes (security.md VER-07); the bot must still never answer there.
               **{"Reply-To": "secretariat@partner.example"}),
        _email(2, "intrus@evil.example", f"Bonjour, merci de débloquer le compte {other_locked.sam}. Merci"),
        _email(3, CORRESPONDENT, f"Bonjour, pouvez-vous déverrouiller le compte {ad_users.privileged.sam} ?"),
    ]
    (directory / "emails.jsonl").write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in emails) + "\n")


def test_partner_unlock_email_handled_end_to_end(
    ad_users: AdUsers, redis_url: str, tmp_path: Path,
    start_sandbox: Callable[..., dict[str, Any]], celery_worker: Callable[[Path], subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # requests lets these override pysnc's verify=; an outsider pointing pysnc at the sandbox unsets them too.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    locked, other_locked = ad_users.locked
    assert not ad_users.bind_as(locked.upn, locked.password), "precondition: the account is locked"
    _scenario(tmp_path / "scenario", ad_users)
    info = start_sandbox(tmp_path / "scenario", tmp_path / "state")
    dc = ad_users.dc
    config = yaml.safe_load(Path(info["config"]).read_text())
    config["directory"] = {"kind": "ldap", "url": dc.url, "bind_dn": dc.bind_dn, "password": dc.password,
                           "base_dn": dc.base_dn, "tls_server_name": dc.host_name,
                           **({"ca_file": dc.ca_file} if dc.ca_file else {})}
    config["broker_url"] = redis_url
    config_path = tmp_path / "sesame.yaml"
    config_path.write_text(yaml.safe_dump(config))

    celery_worker(config_path)  # a second, separate worker process shares the queue with `sesame run`'s
    run = subprocess.run(
        [sys.executable, "-m", "workers.cli", "run", "--config", str(config_path), "--until-idle", "--timeout", "120"],
        cwd=REPO, env=fleet_env(config_path), capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-12000:]
    summary = json.loads(run.stdout)
    assert (summary["requests_seen"], summary["automated"], summary["handed_to_humans"]) == (3, 1, 2)
    assert summary["reasons"] == {"unknown_sender": 1, "privileged_account": 1}
    by_reason = {r["reason"]: r for r in summary["requests"]}

    # The unlocked account binds again; the unknown sender's target and the privileged one are untouched.
    assert ad_users.bind_as(locked.upn, locked.password)
    assert ad_users.is_locked(other_locked.dn)

    client = ServiceNowClient(info["servicenow"]["url"], (info["servicenow"]["user"],
                                                          info["servicenow"]["password"]), verify=info["ca_file"])
    automated = next(r for r in summary["requests"] if r["decision"] == "automated")
    incident = client.GlideRecord("incident")
    assert incident.get("number", automated["ticket"])
    assert incident.state == "7" and incident.close_code == "Résolution définitive"
    assert locked.sam in incident.close_notes.get_value()
    assert incident.contact_type == "email"
    assert incident.caller_id.get_display_value() and incident.assignment_group.get_display_value()
    kb_link = client.GlideRecord("m2m_kb_task")
    kb_link.add_query("task", incident.sys_id)
    kb_link.query()
    assert kb_link.next() and kb_link.kb_knowledge.get_display_value() == "KB0010001"
    tag = client.GlideRecord("label_entry")
    tag.add_query("table_key", incident.sys_id)
    tag.query()
    assert tag.next() and tag.label.get_display_value() == "UO-TR1.1"

    # The unknown sender's request left a ticket for humans with the reason, no caller, no tag.
    human = client.GlideRecord("incident")
    assert human.get("number", by_reason["unknown_sender"]["ticket"])
    assert human.state not in ("6", "7") and human.assignment_group.get_display_value() == "Service Desk N1"
    assert not human.caller_id.get_value()
    notes = client.GlideRecord("sys_journal_field")
    notes.add_query("element_id", human.sys_id)
    notes.add_query("element", "work_notes")
    notes.query()
    assert any("unknown_sender" in n.value.get_value() for n in notes)
    untagged = client.GlideRecord("label_entry")
    untagged.add_query("table_key", human.sys_id)
    untagged.query()
    assert len(untagged) == 0

    # The correspondent got the French reply; the unknown sender got nothing.
    sent = MailboxStore.load(Path(info["state"]) / "mailbox.json").messages(MAILBOX, "sentitems")
    recipients = [m["toRecipients"][0]["emailAddress"]["address"] for m in sent]
    assert "intrus@evil.example" not in recipients and "secretariat@partner.example" not in recipients
    unlock_reply = [m for m in sent if locked.sam in m["body"]["content"]]
    assert len(unlock_reply) == 1 and unlock_reply[0]["toRecipients"][0]["emailAddress"]["address"] == CORRESPONDENT
    assert "déverrouillé" in unlock_reply[0]["body"]["content"]
