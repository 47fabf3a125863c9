"""Acceptance (issue 8): a run killed after the directory write and before the ticket closure resumes when the
fleet restarts — exactly one directory write (the directory emulator's request log), one reply (the mailbox's
Sent Items) and one closure (the ServiceNow sandbox) — through real Redis, real `sesame run` processes and the
sandbox (directory emulator, not Samba).

The worker is killed by the test-only fault hook ``TESTING_SESAME_SIGKILL_AFTER_STEP``: the process SIGKILLs
itself right after the named step is journaled, the way a host loss or an OOM kill would stop it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from pysnc import ServiceNowClient

from automations.ledger import Ledger
from automations.playbooks.journal import CLOSURE, KILL_AFTER_STEP_ENV, REPLY
from sandbox.graph import MailboxStore
from tests.fixtures.fleet import DEMO_SCENARIO, REPO, fleet_env

pytestmark = pytest.mark.integration


def _scenario(directory: Path) -> dict[str, Any]:
    """The demo's partners, directory and tickets, and one e-mail: Claire asks to unlock jdupont."""
    directory.mkdir()
    for name in ("partners.json", "directory.json", "tickets.jsonl"):
        shutil.copyfile(DEMO_SCENARIO / name, directory / name)
    first = json.loads((DEMO_SCENARIO / "emails.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert "jdupont" in first["body"]
    (directory / "emails.jsonl").write_text(json.dumps(first, ensure_ascii=False) + "\n", encoding="utf-8")
    return dict(first)


def _log(http: requests.Session, emulator: str) -> list[dict[str, Any]]:
    return list(http.get(f"{emulator}/requests").json())


@pytest.mark.parametrize("kill_after", ["unlock", "verify", CLOSURE])
def test_a_run_killed_after_the_unlock_resumes_with_one_write_one_reply_one_closure(
    kill_after: str, tmp_path: Path, redis_url: str, start_sandbox: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests lets them override pysnc's verify=
        monkeypatch.delenv(name, raising=False)
    # The session's Redis is shared: forget other tests' Message-IDs (replay guard) and mailbox delta state.
    redis.Redis.from_url(redis_url).flushdb()
    email = _scenario(tmp_path / "scenario")
    info = start_sandbox(tmp_path / "scenario", tmp_path / "state", "emulator", redis_url)
    config = Path(info["config"])
    http = requests.Session()
    http.trust_env = False
    http.verify = str(info["ca_file"])

    # First worker: killed right after the step is committed to the journal (the unlock, the read-back after
    # it, or the closure: each time after the directory write and before the reply).
    killed = subprocess.run(
        [sys.executable, "-m", "workers.cli", "run", "--config", str(config), "--concurrency", "1"],
        cwd=REPO, env={**fleet_env(config), KILL_AFTER_STEP_ENV: kill_after}, capture_output=True, text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]

    key = email["headers"]["Message-ID"]
    ledger = Ledger(f"sqlite:///{Path(info['state']) / 'ledger.db'}")
    journal = {entry.step: entry for entry in ledger.journal(key)}
    assert journal["unlock"].status == "done" and journal["unlock"].wrote
    assert journal[kill_after].status == "done" and REPLY not in journal
    assert (CLOSURE in journal) == (kill_after == CLOSURE)
    assert ledger.status(key) == "received"
    unlocks = [e for e in _log(http, info["directory_emulator"]) if e["method"] == "POST"]
    assert [e["path"].endswith("/unlock") for e in unlocks] == [True]
    mailbox = MailboxStore.load(Path(info["state"]) / "mailbox.json")
    assert mailbox.messages(info["mailbox"], "sentitems") == []

    # The fleet restarts (another process, same host): the abandoned request is resumed and finished.
    resumed = subprocess.run(
        [sys.executable, "-m", "workers.cli", "run", "--config", str(config), "--until-idle", "--timeout", "120"],
        cwd=REPO, env={k: v for k, v in fleet_env(config).items() if k != KILL_AFTER_STEP_ENV},
        capture_output=True, text=True, timeout=180,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    # Exactly one directory write, in the directory emulator's own log.
    writes = [(e["method"], e["path"]) for e in _log(http, info["directory_emulator"]) if e["method"] != "GET"]
    assert len(writes) == 1 and writes[0][0] == "POST" and writes[0][1].endswith("/unlock"), writes

    # Exactly one reply, in the mailbox's Sent Items, to the correspondent.
    sent = MailboxStore.load(Path(info["state"]) / "mailbox.json").messages(info["mailbox"], "sentitems")
    assert len(sent) == 1, [m["body"]["content"][:80] for m in sent]
    assert sent[0]["toRecipients"][0]["emailAddress"]["address"] == email["from"]
    assert "jdupont" in sent[0]["body"]["content"]

    # Exactly one closure in ServiceNow: closed once, one KB link, one tag.
    row = next(r for r in ledger.summary()["requests"] if r["key"] == key)
    assert row["decision"] == "automated"
    sn = info["servicenow"]
    client = ServiceNowClient(sn["url"], (sn["user"], sn["password"]), verify=info["ca_file"])
    incident = client.GlideRecord("incident")
    assert incident.get("number", row["ticket"])
    assert incident.state == "7"
    calls = [(e["method"], e["path"]) for e in _log(http, sn["emulator"])]
    for table in ("m2m_kb_task", "label_entry"):
        assert sum(1 for method, path in calls if method == "POST" and path.endswith(f"/{table}")) == 1, table
    closing = [path for method, path in calls if method in ("PATCH", "PUT") and incident.sys_id.get_value() in path]
    assert len(closing) == 2, closing  # resolve, then close: once each
    assert [a["action"] for a in ledger.actions(key)] == ["unlock"]
    assert {e.step: e.status for e in ledger.journal(key)}[REPLY] == "done"
    ledger.engine.dispose()
    assert os.environ.get(KILL_AFTER_STEP_ENV) is None
