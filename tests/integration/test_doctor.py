"""``sesame doctor`` against a whole sandbox (ServiceNow, Graph, IMAP/SMTP, SMS, directory emulator): green with
the configuration the sandbox writes, and a named failure with its fix when one thing is broken."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.health import Finding
from sandbox.graph.permissions import DEFAULT_PERMISSIONS
from workers.config import Settings, load_settings
from workers.doctor import exit_code, findings_json, format_findings, run_doctor

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "sandbox" / "scenarios" / "demo"


@pytest.fixture
def sandbox(start_sandbox: Callable[..., dict[str, Any]], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # requests lets these override pysnc's verify=, as `sesame` run from a shell would meet them too.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return start_sandbox(DEMO, tmp_path / "state", ad_mode="emulator")


def settings_of(info: dict[str, Any], tmp_path: Path, *, environ: dict[str, str] | None = None,
                edit: Callable[[dict[str, Any]], None] | None = None) -> Settings:
    config = yaml.safe_load(Path(info["config"]).read_text(encoding="utf-8"))
    if edit is not None:
        edit(config)
    path = tmp_path / "sesame.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_settings(path, environ=environ or {})


def failures(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if not f.ok]


def test_all_green_on_the_sandbox_configuration(sandbox: dict[str, Any], tmp_path: Path) -> None:
    findings = run_doctor(settings_of(sandbox, tmp_path))
    assert failures(findings) == [], format_findings(findings)
    systems = {f.system for f in findings}
    # Connectors name themselves (servicenow, graph…, imap, active-directory or sandbox-directory).
    assert {"config", "broker", "servicenow"} <= systems and len(systems) >= 5, systems
    assert exit_code(findings) == 0
    text = format_findings(findings)
    assert text.splitlines()[0].startswith("✓ ") and "fix:" not in text
    assert text.endswith(f"all {len(findings)} checks ok")


def test_a_wrong_servicenow_password_is_named_with_its_fix(sandbox: dict[str, Any], tmp_path: Path) -> None:
    wrong = "not-the-Passw0rd"
    findings = run_doctor(settings_of(sandbox, tmp_path, environ={"SESAME_SERVICENOW_PASSWORD": wrong}))
    failed = failures(findings)
    assert failed and {f.system for f in failed} == {"servicenow"}, format_findings(findings)
    assert any("password" in f.fix.lower() or "credential" in (f.detail + f.fix).lower() for f in failed)
    assert exit_code(findings) == 1
    text = format_findings(findings)
    assert "✗ servicenow" in text and "fix: " in text
    assert wrong not in text and wrong not in findings_json(findings)
    assert sandbox["servicenow"]["password"] not in text


def test_an_unreachable_mailbox_and_a_broken_registry_are_named(sandbox: dict[str, Any], tmp_path: Path) -> None:
    broken = tmp_path / "partners.json"
    broken.write_text('[{"id": "ml-lyon"}]', encoding="utf-8")

    def edit(config: dict[str, Any]) -> None:
        config["mailbox"]["kind"] = "imap"
        config["imap"]["port"] = 9  # nothing listens there
        config["imap"]["timeout_seconds"] = 1
        config["partners_file"] = str(broken)

    findings = run_doctor(settings_of(sandbox, tmp_path, edit=edit))
    failed = {(f.system, f.check): f for f in failures(findings)}
    assert ("config", "partners file") in failed and "missing key" in failed[("config", "partners file")].detail
    mailbox = [f for (system, _), f in failed.items() if system in ("mailbox", "imap")]
    assert mailbox and all(f.fix for f in mailbox), format_findings(findings)


def test_the_imap_mailbox_doctor_runs_when_the_fleet_reads_imap(sandbox: dict[str, Any], tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config["mailbox"]["kind"] = "imap"

    findings = run_doctor(settings_of(sandbox, tmp_path, edit=edit))
    assert failures(findings) == [], format_findings(findings)
    assert {"login", "folder", "flags", "smtp auth"} <= {f.check for f in findings if f.system == "imap"}


def test_an_unknown_assignment_group_is_named(sandbox: dict[str, Any], tmp_path: Path) -> None:
    def edit(config: dict[str, Any]) -> None:
        config.setdefault("desk", {})["human_group"] = "Service Desk N9"

    findings = run_doctor(settings_of(sandbox, tmp_path, edit=edit))
    if not any(f.system == "servicenow" and "group" in (f.check + f.detail).lower() for f in findings):
        pytest.skip("the ServiceNow connector's doctor() does not check the desk's assignment groups yet")
    failed = failures(findings)
    assert failed and all(f.system == "servicenow" for f in failed), format_findings(findings)
    assert any("Service Desk N9" in f.detail for f in failed)


def test_a_removed_graph_permission_is_named_with_its_fix(
    start_sandbox: Callable[..., dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    scenario = tmp_path / "scenario"
    shutil.copytree(DEMO, scenario)
    # The scenario narrows Sésame's own app registration: everything it needs but cloud password writes.
    narrowed = sorted(DEFAULT_PERMISSIONS - {"User-PasswordProfile.ReadWrite.All"})
    from sandbox.server import CLIENT_ID

    (scenario / "graph_apps.json").write_text(json.dumps([{"client_id": CLIENT_ID, "permissions": narrowed}]))
    info = start_sandbox(scenario, tmp_path / "state", ad_mode="emulator")
    findings = run_doctor(settings_of(info, tmp_path))
    [missing] = failures(findings)
    assert missing.system == "entra" and "User-PasswordProfile.ReadWrite.All" in missing.check + missing.detail
    assert "grant" in missing.fix and "User-PasswordProfile.ReadWrite.All" in missing.fix
    assert exit_code(findings) == 1
