"""`sesame sandbox up` as an outsider uses it: one JSON line, real clients against it, clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import requests
from imapclient import IMAPClient
from pysnc import ServiceNowClient

from connectors.graph_mail import GraphMailbox
from sandbox.scenario import load_scenario
from tests.fixtures.fleet import REPO

pytestmark = pytest.mark.integration
DEMO = REPO / "sandbox" / "scenarios" / "demo"


def _up(state: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    return _up_scenario(DEMO, state, *flags)


def _up_scenario(scenario: Path, state: Path, *flags: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if k not in {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "sandbox", "up", "--scenario", str(scenario), "--state", str(state),
         "--ad", "emulator", *flags],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    return process, json.loads(line)


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def test_sandbox_up_serves_the_scenario_to_the_official_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    process, info = _up(tmp_path / "state")
    try:
        assert {"servicenow", "graph", "mailbox", "ad", "ca_file", "config"} <= info.keys()
        sn, graph = info["servicenow"], info["graph"]
        assert isinstance(sn, dict) and isinstance(graph, dict)
        assert set(sn) >= {"url", "user", "password"} and str(sn["url"]).startswith("https://127.0.0.1:")
        assert set(graph) >= {"url", "authority", "tenant", "client_id", "client_secret"}
        assert str(graph["url"]).endswith("/v1.0") and info["ad"] is None
        scenario = load_scenario(DEMO)

        client = ServiceNowClient(sn["url"], (sn["user"], sn["password"]), verify=info["ca_file"])
        users = client.GlideRecord("sys_user")
        users.add_query("user_name", scenario.users[0].sam)
        users.query()
        assert len(users) == 1

        with GraphMailbox(graph_url=str(graph["url"]), authority=str(graph["authority"]), tenant=str(graph["tenant"]),
                          client_id=str(graph["client_id"]), client_secret=str(graph["client_secret"]),
                          mailbox=str(info["mailbox"]), ca_file=str(info["ca_file"])) as mailbox:
            unread = mailbox.list_unread()
            assert len(unread) == len(scenario.emails)
            mailbox.mark_read(unread[0])

        check = subprocess.run([sys.executable, "-m", "workers.cli", "config", "check", "--config",
                                str(info["config"])], cwd=REPO, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        assert str(sn["password"]) not in check.stdout and str(graph["client_secret"]) not in check.stdout
        assert f"url: {sn['url']}" in check.stdout
    finally:
        assert _stop(process) == 0

    # Starting again on the same state resumes it: the message read before stays read.
    process, info = _up(tmp_path / "state")
    try:
        graph = info["graph"]
        assert isinstance(graph, dict)
        with GraphMailbox(graph_url=str(graph["url"]), authority=str(graph["authority"]), tenant=str(graph["tenant"]),
                          client_id=str(graph["client_id"]), client_secret=str(graph["client_secret"]),
                          mailbox=str(info["mailbox"]), ca_file=str(info["ca_file"])) as mailbox:
            assert len(mailbox.list_unread()) == len(load_scenario(DEMO).emails) - 1
    finally:
        assert _stop(process) == 0


def test_bad_scenario_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "scenario").mkdir()
    (tmp_path / "scenario" / "partners.json").write_text('[{"id": "x"')
    (tmp_path / "scenario" / "directory.json").write_text("[]")
    command = [sys.executable, "-m", "workers.cli", "sandbox", "up", "--scenario", str(tmp_path / "scenario"),
               "--state", str(tmp_path / "state")]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "partners.json:1:" in run.stderr and "invalid JSON" in run.stderr and "Traceback" not in run.stderr


def test_sandbox_load_adds_fixture_records_seen_after_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    state = tmp_path / "state"
    process, _ = _up(state)
    records = tmp_path / "records.json"
    records.write_text(json.dumps([{"short_description": "Fixture one", "caller_id": "Jean Dupont"},
                                   {"short_description": "Two"}]))
    load = [sys.executable, "-m", "workers.cli", "sandbox", "load", "--state", str(state), "--table", "incident",
            "--file", str(records)]
    refused = subprocess.run(load, cwd=REPO, capture_output=True, text=True)
    assert refused.returncode != 0 and "is running" in refused.stderr
    assert _stop(process) == 0

    loaded = subprocess.run(load, cwd=REPO, capture_output=True, text=True)
    assert loaded.returncode == 0 and "loaded 2 record(s) into incident" in loaded.stdout
    unknown_table = [*load[:-3], "no_such_table", "--file", str(records)]
    bad = subprocess.run(unknown_table, cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "Invalid table no_such_table" in bad.stderr

    process, info = _up(state)
    try:
        sn = info["servicenow"]
        assert isinstance(sn, dict)
        client = ServiceNowClient(sn["url"], (sn["user"], sn["password"]), verify=info["ca_file"])
        incident = client.GlideRecord("incident")
        incident.add_query("short_description", "Fixture one")
        incident.query()
        assert incident.next() and incident.caller_id.get_display_value() == "Jean Dupont"
    finally:
        assert _stop(process) == 0


def test_fault_flags_and_request_log_of_a_running_sandbox(tmp_path: Path) -> None:
    process, info = _up(tmp_path / "state", "--rate-limit", "3/60")
    try:
        sn = info["servicenow"]
        assert isinstance(sn, dict)
        with requests.Session() as http:
            http.trust_env = False
            http.verify = str(info["ca_file"])
            http.auth = (sn["user"], sn["password"])
            statuses = [http.get(f"{sn['url']}/api/now/table/sys_user", params={"sysparm_limit": "1"}).status_code
                        for _ in range(4)]
            limited = http.get(f"{sn['url']}/api/now/table/sys_user")
            logged = http.get(f"{sn['emulator']}/requests", params={"path_prefix": "/api/now/table"}).json()
    finally:
        assert _stop(process) == 0
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["message"] == "Rate limit exceeded"
    assert [e["status"] for e in logged] == [200, 200, 200, 429, 429]
    assert all(sn["password"] not in json.dumps(e) for e in logged)


def test_bad_fault_flag_is_a_clear_error(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "workers.cli", "sandbox", "up", "--scenario", str(DEMO), "--state",
               str(tmp_path / "state"), "--ad", "emulator", "--error-rate", "often"]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "error-rate" in run.stderr and "Traceback" not in run.stderr


def test_fleet_runs_on_the_imap_mailbox_of_the_sandbox(tmp_path: Path) -> None:
    process, info = _up(tmp_path / "state", "--mailbox", "imap")
    try:
        imap = info["imap"]
        assert isinstance(imap, dict) and {"host", "port", "user", "password"} <= imap.keys()
        assert isinstance(info["smtp"], dict) and {"host", "port"} <= info["smtp"].keys()
        with IMAPClient(str(imap["host"]), port=int(imap["port"]), ssl=False) as client:
            client.login(str(imap["user"]), str(imap["password"]))
            client.select_folder("INBOX", readonly=True)
            assert len(client.search("UNSEEN")) == len(load_scenario(DEMO).emails)
        fleet = [sys.executable, "-m", "workers.cli", "run", "--config", str(info["config"]), "--until-idle",
                 "--timeout", "120"]
        run = subprocess.run(fleet, cwd=REPO, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr[-2000:]
        summary = json.loads(run.stdout)
        with IMAPClient(str(imap["host"]), port=int(imap["port"]), ssl=False) as client:
            client.login(str(imap["user"]), str(imap["password"]))
            client.select_folder("INBOX", readonly=True)
            unseen = client.search("UNSEEN")
            sent = client.select_folder("Sent", readonly=True)[b"EXISTS"]
    finally:
        assert _stop(process) == 0
    assert summary["requests_seen"] == len(load_scenario(DEMO).emails) and summary["automated"] >= 1
    assert unseen == [] and sent >= summary["automated"]


def test_graph_directory_devices_and_sms_are_served(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    shutil.copytree(DEMO, scenario)
    reader_app = {"client_id": "reader-app", "permissions": ["User.Read.All"]}
    (scenario / "graph_apps.json").write_text(json.dumps([reader_app]))
    process, info = _up_scenario(scenario, tmp_path / "state")
    try:
        graph, sms = info["graph"], info["sms"]
        assert isinstance(graph, dict) and isinstance(sms, dict)
        [reader] = graph["apps"]
        assert reader["client_id"] == "reader-app" and reader["client_secret"]
        with httpx.Client(verify=ssl.create_default_context(cafile=str(info["ca_file"])), trust_env=False) as http:
            def token(client_id: str, secret: str) -> dict[str, str]:
                form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                        "scope": "https://graph.microsoft.com/.default"}
                reply = http.post(f"{graph['authority']}/{graph['tenant']}/oauth2/v2.0/token", data=form)
                return {"Authorization": f"Bearer {reply.json()['access_token']}"}

            sesame = token(str(graph["client_id"]), str(graph["client_secret"]))
            users = http.get(f"{graph['url']}/users", headers=sesame,
                             params={"$filter": "onPremisesSamAccountName eq 'jdupont'"}).json()["value"]
            devices = http.get(f"{graph['url']}/deviceManagement/managedDevices", headers=sesame).json()["value"]
            refused = http.get(f"{graph['url']}/deviceManagement/managedDevices",
                               headers=token("reader-app", reader["client_secret"]))
            sent = http.post(f"{sms['url']}/messages", headers={"Authorization": f"Bearer {sms['api_key']}"},
                             json={"to": "+33611223344", "text": "Code : 1234", "from": "SESAME"})
            kept = http.get(f"{sms['url']}/messages", headers={"Authorization": f"Bearer {sms['api_key']}"}).json()
    finally:
        assert _stop(process) == 0
    assert [u["userPrincipalName"] for u in users] == ["jdupont@agence.local"]
    with_mobile = [u for u in load_scenario(DEMO).users if u.mobile]
    assert len(devices) == len(with_mobile)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"
    assert sent.status_code == 201
    listed = kept if isinstance(kept, list) else kept.get("value", kept.get("messages"))
    assert [m["to"] for m in listed] == ["+33611223344"]


def test_graph_fault_flags_throttle_with_graphs_error_shape(tmp_path: Path) -> None:
    process, info = _up(tmp_path / "state", "--graph-rate-limit", "2/60")
    try:
        graph = info["graph"]
        assert isinstance(graph, dict)
        with httpx.Client(verify=ssl.create_default_context(cafile=str(info["ca_file"])), trust_env=False) as http:
            form = {"grant_type": "client_credentials", "client_id": graph["client_id"],
                    "client_secret": graph["client_secret"], "scope": "https://graph.microsoft.com/.default"}
            token = http.post(f"{graph['authority']}/{graph['tenant']}/oauth2/v2.0/token", data=form).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            answers = [http.get(f"{graph['url']}/users", headers=headers, params={"$top": "1"}) for _ in range(3)]
            logged = http.get(f"{graph['emulator']}/requests").json()
    finally:
        assert _stop(process) == 0
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "TooManyRequests" and int(answers[2].headers["Retry-After"]) >= 1
    assert [e["status"] for e in logged if e["path"].startswith("/v1.0/")] == [200, 200, 429]


def test_audit_trail_of_a_fleet_run_verifies_and_detects_tampering(tmp_path: Path) -> None:
    process, info = _up(tmp_path / "state")
    try:
        fleet = [sys.executable, "-m", "workers.cli", "run", "--config", str(info["config"]), "--until-idle",
                 "--timeout", "120"]
        run = subprocess.run(fleet, cwd=REPO, capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr[-2000:]
    finally:
        assert _stop(process) == 0
    verify = [sys.executable, "-m", "workers.cli", "audit", "verify", "--config", str(info["config"])]
    clean = subprocess.run(verify, cwd=REPO, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    ledger = Path(str(info["state"])) / "ledger.db"
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT count(*) FROM audit_records").fetchone()[0]
        assert rows == len(load_scenario(DEMO).emails)
        before = db.execute("SELECT record FROM audit_records WHERE seq = 2").fetchone()[0]
        db.execute("""UPDATE audit_records SET record = replace(record, '"status":"done"', '"status":"failed"')
                      WHERE seq = 2""")
        assert db.execute("SELECT record FROM audit_records WHERE seq = 2").fetchone()[0] != before
    tampered = subprocess.run(verify, cwd=REPO, capture_output=True, text=True)
    assert tampered.returncode == 1 and "record_modified" in tampered.stdout + tampered.stderr
