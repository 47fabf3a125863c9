"""The `sesame` command's help and its errors, as a user sees them."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from workers.cli import main

CONFIG = {
    "servicenow": {"url": "https://127.0.0.1:9", "user": "bot", "password": "pw-sn"},
    "graph": {"url": "https://127.0.0.1:9/v1.0", "authority": "https://127.0.0.1:9", "tenant": "t",
              "client_id": "c", "client_secret": "pw-graph"},
    "mailbox": {"address": "support@agence.test"},
    "directory": {"kind": "sandbox", "url": "https://127.0.0.1:9/ad", "bind_dn": "svc", "password": "pw-ad"},
    "partners_file": "partners.json",
    "broker_url": "memory://",
    "trust": {"authserv_ids": ["mx.agence.test"]},
}


def _config(tmp_path: Path, **changes: object) -> Path:
    (tmp_path / "partners.json").write_text('[{"id": "p", "ou": "OU=P,DC=a,DC=b", "correspondents": ["c@p.fr"]}]')
    path = tmp_path / "sesame.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, **changes}))
    return path


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("config", "demo", "run", "sandbox"):
        assert command in result.output


def test_run_refuses_to_start_on_a_broken_playbook(tmp_path: Path) -> None:
    playbooks = tmp_path / "playbooks"
    (playbooks / "templates").mkdir(parents=True)
    (playbooks / "broken.yaml").write_text("id: broken\nversion: 1\n")
    result = CliRunner().invoke(main, ["run", "--config", str(_config(tmp_path, playbooks_dir=str(playbooks)))])
    assert result.exit_code == 1
    assert "cannot start the fleet" in result.output and "broken.yaml" in result.output
    assert "Traceback" not in result.output


def test_run_refuses_an_invalid_registry(tmp_path: Path) -> None:
    path = _config(tmp_path)
    (tmp_path / "partners.json").write_text('[{"id": "p", "correspondents": ["c@p.fr"]}]')
    result = CliRunner().invoke(main, ["run", "--config", str(path)])
    assert result.exit_code == 1 and "missing key 'ou'" in result.output


def test_config_check_masks_secrets(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["config", "check", "--config", str(_config(tmp_path))])
    assert result.exit_code == 0
    assert "pw-sn" not in result.output and "pw-graph" not in result.output and "pw-ad" not in result.output
