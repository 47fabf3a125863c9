"""`sesame playbook plan` against a running sandbox (directory emulator, ServiceNow, Graph) and a real Redis: it
says what would happen — playbook, checks, steps with arguments, reply, ticket changes — and the sandboxes'
request logs show only reads, Redis is unchanged and no ledger is created."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from tests.fixtures.fleet import DEMO_SCENARIO, REPO, fleet_env

pytestmark = pytest.mark.integration

CORRESPONDENT = "claire.fabre@mission-locale-lyon.fr"
AUTH = ("mx.agence.local; spf=pass smtp.mailfrom=mission-locale-lyon.fr; dkim=pass header.d=mission-locale-lyon.fr; "
        "dmarc=pass header.from=mission-locale-lyon.fr")


def _request(path: Path, body: str, message_id: str, sender: str = CORRESPONDENT) -> Path:
    path.write_text(json.dumps({
        "from": f"Claire Fabre <{sender}>", "subject": "Compte bloqué", "body": body,
        "headers": {"Message-ID": message_id, "Date": format_datetime(datetime.now(UTC)),
                    "Authentication-Results": AUTH},
    }, ensure_ascii=False), encoding="utf-8")
    return path


def _redis_state(client: redis.Redis) -> dict[bytes, Any]:
    """Every key with its value, whatever its type (TTLs left out: they tick)."""
    state: dict[bytes, Any] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        state[key] = {b"string": lambda k: client.get(k), b"zset": lambda k: client.zrange(k, 0, -1, withscores=True),
                      b"list": lambda k: client.lrange(k, 0, -1), b"hash": lambda k: client.hgetall(k),
                      b"set": lambda k: client.smembers(k)}[kind](key)
    return state


class Logs:
    """The request logs of the sandbox's emulators, over their loopback control endpoints."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.bases = {"directory": info["directory_emulator"], "servicenow": info["servicenow"]["emulator"],
                      "graph": info["graph"]["emulator"]}
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = str(info["ca_file"])

    def clear(self) -> None:
        for base in self.bases.values():
            assert self.http.delete(f"{base}/requests").status_code == 204

    def entries(self) -> dict[str, list[dict[str, Any]]]:
        return {name: self.http.get(f"{base}/requests").json() for name, base in self.bases.items()}


def _plan(config: Path, request: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", "playbook", "plan", "--request", str(request),
                           "--config", str(config), *extra],
                          cwd=REPO, env=fleet_env(config), capture_output=True, text=True, timeout=120)


def test_plan_shows_the_whole_unlock_and_only_reads(
    tmp_path: Path, redis_url: str, start_sandbox: Callable[..., dict[str, Any]]
) -> None:
    info = start_sandbox(DEMO_SCENARIO, tmp_path / "state", "emulator", redis_url)
    config = Path(info["config"])
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    # Another request's traffic, so the plan has counters and lockouts to read (and must leave as they are).
    client.zadd("sesame:rate:unrelated", {"<other@x>": 1.0})
    logs = Logs(info)
    logs.clear()
    before = _redis_state(client)
    request = _request(tmp_path / "unlock.json", "Bonjour,\nmerci de débloquer le compte jdupont svp.\nClaire",
                       "<plan-1@mission-locale-lyon.fr>")

    done = _plan(config, request, "--json")

    assert done.returncode == 0, done.stderr[-3000:]
    plan = json.loads(done.stdout)
    assert plan["decision"] == "automated", json.dumps(plan, ensure_ascii=False)[-2500:]
    assert plan["playbook"].startswith("account_unlock@")
    assert plan["understanding"]["intent"] == "unlock" and "jdupont" in plan["understanding"]["targets"]
    assert all(check["passed"] for check in plan["checks"]), plan["checks"]
    unlock = next(step for step in plan["steps"] if step["action"] == "directory.unlock")
    assert unlock["result"] == "ok" and unlock["changes"][0]["dry_run"] is True
    assert unlock["changes"][0]["after"]["locked"] == "false" and "Jean Dupont" in unlock["changes"][0]["target"]
    assert "jdupont" in plan["reply"] and "would create" in plan["ticket"]
    assert plan["ticket"]["would close"]["kb_article"] == "KB0010001"

    seen = logs.entries()
    assert seen["directory"], "the plan read the directory"
    assert seen["servicenow"], "the plan looked the ticket up"
    # Getting an OAuth token (Entra checks read roles and registration) changes nothing; any other POST would.
    writes = {name: [(e["method"], e["path"]) for e in entries
                     if e["method"] not in ("GET", "HEAD") and not e["path"].endswith("/oauth2/v2.0/token")]
              for name, entries in seen.items()}
    assert writes == {"directory": [], "servicenow": [], "graph": []}
    assert _redis_state(client) == before, "the plan changed Redis (replay key, counters or lockouts)"
    assert not (tmp_path / "state" / "ledger.db").exists(), "the plan created the ledger"

    # The account is still locked: a real fleet run would still find it so.
    readable = _plan(config, request)
    assert readable.returncode == 0, readable.stderr[-3000:]
    assert "[  ok   ] unlock: directory.unlock" in readable.stdout or "directory.unlock" in readable.stdout
    assert "would write unlock" in readable.stdout and "Nothing was written." in readable.stdout


def test_plan_of_a_refused_request_says_why_and_writes_nothing(
    tmp_path: Path, redis_url: str, start_sandbox: Callable[..., dict[str, Any]]
) -> None:
    info = start_sandbox(DEMO_SCENARIO, tmp_path / "state", "emulator", redis_url)
    logs = Logs(info)
    logs.clear()
    request = _request(tmp_path / "privileged.json", "Bonjour, merci de débloquer le compte pgarnier. Claire",
                       "<plan-2@mission-locale-lyon.fr>")

    done = _plan(Path(info["config"]), request, "--json")

    assert done.returncode == 0, done.stderr[-3000:]
    plan = json.loads(done.stdout)
    assert plan["decision"] == "handed_over" and plan["reason"] in ("out_of_scope", "privileged_account")
    refused = [s for s in plan["steps"] if s["result"] == "refused"]
    assert len(refused) == 1 and plan["reason"] in refused[0]["detail"]
    assert not any(s["action"] == "directory.unlock" for s in plan["steps"])
    assert plan["ticket"]["would hand to"] and "transmise" in plan["reply"]
    assert all(e["method"] == "GET" or e["path"].endswith("/oauth2/v2.0/token")
               for entries in logs.entries().values() for e in entries)


def test_plan_reads_an_eml_file(tmp_path: Path) -> None:
    from workers.playbook_plan import read_request

    eml = tmp_path / "m.eml"
    eml.write_bytes(("From: Claire Fabre <Claire.Fabre@mission-locale-lyon.fr>\r\nTo: support@agence.local\r\n"
                     "Subject: Compte bloqué\r\nMessage-ID: <eml-1@x>\r\nAuthentication-Results: " + AUTH + "\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n\r\nMerci de débloquer jdupont.\r\n").encode())
    request = read_request(eml)
    assert (request.key, request.sender_address, request.sender_name) == (
        "<eml-1@x>", "claire.fabre@mission-locale-lyon.fr", "Claire Fabre")
    assert "jdupont" in request.text and request.header("Authentication-Results") == [AUTH]
