"""`sesame report reconcile` after a demo-like run of the whole fleet on the sandbox (directory emulator, real
Redis, the ServiceNow sandbox over HTTPS), checked against changes an outsider makes with pysnc."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pysnc import ServiceNowClient

from tests.fixtures.fleet import DEMO_SCENARIO, REPO, fleet_env

pytestmark = pytest.mark.integration

# The demo's out-of-scope e-mail: its playbook closes the ticket « Hors périmètre » without the UO-TR1.1 tag
# (count_as_automated: false); the ledger records it automated but not UO-TR1.1, so it is no claim.
OUT_OF_SCOPE_EMAIL = "demo-5"


def _sesame(config: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args, "--config", str(config)], cwd=REPO,
                          env=fleet_env(config), capture_output=True, text=True, timeout=timeout)


def _reconcile(config: Path, first: str, last: str) -> tuple[int, dict[str, Any]]:
    run = _sesame(config, "report", "reconcile", "--from", first, "--to", last, "--json")
    assert run.returncode in (0, 1), run.stderr[-3000:]
    return run.returncode, json.loads(run.stdout)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Any:
    from sandbox.server import Sandbox

    base = tmp_path_factory.mktemp("reconcile")
    scenario = base / "scenario"
    shutil.copytree(DEMO_SCENARIO, scenario)  # the full demo scenario, as `sesame demo` runs it
    sandbox = Sandbox(scenario, base / "state", ad_mode="emulator", broker_url=redis_url.rsplit("/", 1)[0] + "/7")
    info = sandbox.start()
    try:
        config = Path(info["config"])
        run = _sesame(config, "run", "--until-idle", "--timeout", "150", timeout=240)
        assert run.returncode == 0, run.stderr[-3000:]
        yield info, config, json.loads(run.stdout)
    finally:
        sandbox.stop()


def test_reconcile_agrees_after_a_demo_run_then_names_each_mismatch(
    demo_run: tuple[dict[str, Any], Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    info, config, summary = demo_run
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    first, last = (today - timedelta(days=1)).isoformat(), today.isoformat()  # safe across Paris midnight
    automated = sorted(r["ticket"] for r in summary["requests"] if r["decision"] == "automated" and r["uo_tr11"])
    handed = sorted(r["ticket"] for r in summary["requests"] if r["decision"] == "handed_over")
    assert len(automated) >= 2 and handed, summary
    # The out-of-scope answer: closed by the automation, untagged, recorded as such and claimed by nobody.
    [out_of_scope] = [r for r in summary["requests"] if r["key"] == f"<{OUT_OF_SCOPE_EMAIL}@mission-locale-lyon.fr>"]
    assert (out_of_scope["decision"], out_of_scope["uo_tr11"]) == ("automated", False), out_of_scope
    assert (summary["uo_tr11"], summary["automated_not_counted"]) == (len(automated), 1)

    code, result = _reconcile(config, first, last)
    assert result["mismatches"] == []
    assert code == 0
    assert sorted(c["ticket"] for c in result["claims"]) == automated
    assert result["confirmed"] == len(automated)
    assert result["human_created_closed_by_automation"] == []

    # The contract's rate: UO-TR1.1 tickets ÷ the requests ServiceNow counts in the desk's groups (Aggregate API).
    tickets = {r["ticket"] for r in summary["requests"]}
    monthly = _sesame(config, "report", "monthly", "--month", today.strftime("%Y-%m"), "--json")
    assert monthly.returncode == 0, monthly.stderr[-3000:]
    month = json.loads(monthly.stdout)["month"]
    assert (month["uo_tr11"], month["denominator"]) == (len(automated), len(tickets))
    assert sorted(t["ticket"] for t in json.loads(monthly.stdout)["tickets"]) == automated
    flash = _sesame(config, "report", "flash", "--date", today.isoformat(), "--json")
    assert flash.returncode == 0, flash.stderr[-3000:]
    assert json.loads(flash.stdout)["denominator"] == len(tickets)

    sn = info["servicenow"]
    client = ServiceNowClient(sn["url"], (sn["user"], sn["password"]), verify=info["ca_file"])
    try:
        # A ticket a person opened, closed by the automation user: listed apart, not a UO-TR1.1, not a mismatch.
        human = client.GlideRecord("incident")
        human.add_encoded_query(f"sys_created_by!={sn['user']}")
        human.query()
        assert human.next(), "the demo scenario seeds a ticket opened by a person"
        human_number = str(human.number)
        human.state, human.close_code, human.close_notes = "6", "Résolution définitive", "résolu"
        human.update()
        human.state = "7"
        human.update()
        code, result = _reconcile(config, first, last)
        assert (code, result["mismatches"]) == (0, [])
        assert [t["ticket"] for t in result["human_created_closed_by_automation"]] == [human_number]

        # Deleting the UO-TR1.1 tag of one ticket in ServiceNow: exactly one mismatch, naming that ticket.
        untagged = automated[0]
        incident = client.GlideRecord("incident")
        assert incident.get("number", untagged)
        tag = client.GlideRecord("label_entry")
        tag.add_query("table_key", incident.sys_id)
        tag.query()
        assert tag.next() and tag.label.get_display_value() == "UO-TR1.1"
        tag.delete()
        code, result = _reconcile(config, first, last)
        assert code == 1
        assert [(m["kind"], m["ticket"]) for m in result["mismatches"]] == [("claimed_not_tagged", untagged)]
        text = _sesame(config, "report", "reconcile", "--from", first, "--to", last)
        assert text.returncode == 1 and untagged in text.stdout and "1 mismatch" in text.stdout

        # The other direction: a handed-over ticket tagged UO-TR1.1 by someone is claimed by no request.
        label = client.GlideRecord("label")
        assert label.get("name", "UO-TR1.1")
        other = client.GlideRecord("incident")
        assert other.get("number", handed[0])
        entry = client.GlideRecord("label_entry")
        entry.initialize()
        for name, value in {"label": label.sys_id, "table": "incident", "table_key": other.sys_id,
                            "title": handed[0]}.items():
            entry.set_value(name, value)  # `table` is also a GlideRecord property: set it by name
        assert entry.insert()
        code, result = _reconcile(config, first, last)
        assert code == 1
        assert sorted((m["kind"], m["ticket"]) for m in result["mismatches"]) == sorted(
            [("claimed_not_tagged", untagged), ("tagged_not_claimed", handed[0])])
    finally:
        client.session.close()


def test_reconcile_needs_the_configuration(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "workers.cli", "report", "reconcile", "--from", "2026-03-01",
                          "--to", "2026-03-31"], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in fleet_env(tmp_path / "absent.yaml").items() if k != "SESAME_CONFIG"})
    assert run.returncode == 2 and "--config" in run.stderr
