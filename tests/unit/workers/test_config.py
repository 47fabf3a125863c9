"""Configuration: validation messages, environment overrides, masking."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workers.config import ConfigError, load_settings, masked

BASE = {
    "servicenow": {"url": "https://sn.example.test", "user": "bot", "password": "in-file"},
    "graph": {"tenant": "t", "client_id": "c", "client_secret": "s3cret-graph"},
    "mailbox": {"address": "Support@Agence.test"},
    "directory": {"url": "ldaps://dc:636", "bind_dn": "svc", "password": "s3cret-ad", "base_dn": "DC=a,DC=b"},
    "partners_file": "partners.json",
    "trust": {"authserv_ids": ["mx.agence.test"]},
}


def _file(tmp_path: Path, data: dict[str, object]) -> Path:
    (tmp_path / "partners.json").write_text("[]")
    path = tmp_path / "sesame.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_valid_file_with_relative_paths_and_env_override(tmp_path: Path) -> None:
    settings = load_settings(_file(tmp_path, BASE), environ={"SESAME_SERVICENOW_PASSWORD": "from-env",
                                                             "SESAME_MAILBOX_POLL_INTERVAL_SECONDS": "3"})
    assert settings.servicenow.password.get_secret_value() == "from-env"
    assert settings.mailbox.poll_interval_seconds == 3.0 and settings.mailbox.address == "support@agence.test"
    assert settings.partners_file == tmp_path / "partners.json"


def test_masked_output_contains_no_secret(tmp_path: Path) -> None:
    text = yaml.safe_dump(masked(load_settings(_file(tmp_path, BASE), environ={})))
    for secret in ("in-file", "s3cret-graph", "s3cret-ad"):
        assert secret not in text
    assert "********" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["servicenow"].pop("password"), "servicenow.password: required key is missing"),
        (lambda d: d["servicenow"].update(url="http://sn"), "servicenow.url"),
        (lambda d: d["mailbox"].update(adress="x"), "mailbox.adress: unknown key"),
        (lambda d: d.pop("graph"), "mailbox.kind is 'graph' but the 'graph:' section is missing"),
        (lambda d: d.pop("directory"), "directory: required section is missing"),
        (lambda d: d["mailbox"].update(kind="imap"), "mailbox.kind is 'imap' but the 'imap:' section is missing"),
        (lambda d: d.update(partners_file="nowhere.json"), "partners_file"),
    ],
)
def test_errors_name_the_key_and_the_fix(tmp_path: Path, change: object, message: str) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    change(data)  # type: ignore[operator]
    with pytest.raises(ConfigError) as error:
        load_settings(_file(tmp_path, data), environ={})
    assert message in str(error.value)
    assert "s3cret" not in str(error.value)


def test_missing_secret_hint_names_the_environment_variable(tmp_path: Path) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["graph"].pop("client_secret")
    with pytest.raises(ConfigError, match="SESAME_GRAPH_CLIENT_SECRET"):
        load_settings(_file(tmp_path, data), environ={})


def test_committed_reference_matches_the_model() -> None:
    from workers.config import PACKAGE_ROOT, reference_markdown

    committed = (PACKAGE_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed.strip() == reference_markdown().strip(), "run: sesame config reference > docs/configuration.md"


def test_imap_mailbox_needs_no_graph_section(tmp_path: Path) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data.pop("graph")
    data["mailbox"]["kind"] = "imap"
    data["imap"] = {"host": "imap.agence.test", "smtp_host": "smtp.agence.test", "user": "support",
                    "password": "s3cret-imap"}
    settings = load_settings(_file(tmp_path, data), environ={"SESAME_IMAP_PORT": "1993"})
    assert settings.imap is not None and settings.imap.port == 1993 and settings.graph is None
    assert "s3cret-imap" not in yaml.safe_dump(masked(settings))


def test_verifying_senders_needs_the_receiving_servers_id(tmp_path: Path) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["trust"] = {}
    with pytest.raises(ConfigError, match=r"trust: .*authserv_ids is empty"):
        load_settings(_file(tmp_path, data), environ={})
    data.pop("trust")
    with pytest.raises(ConfigError, match=r"trust: required section is missing"):
        load_settings(_file(tmp_path, data), environ={})
