"""What the dashboard reads of the configuration: the ledger, the ServiceNow URL, the contract and its own section.

Only these are read and validated, so the dashboard runs on a reporting host that holds none of the connectors'
secrets (the same choice as ``sesame report``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workers.config import ConfigError, ContractSettings, DashboardSettings, Settings, _env_overrides

DEFAULT_LEDGER_URL = str(Settings.model_fields["ledger_url"].default)


@dataclass(frozen=True)
class DashboardConfig:
    ledger_url: str
    servicenow_url: str | None
    contract: ContractSettings
    dashboard: DashboardSettings


def _section(raw: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{name}: must be a mapping of keys")
    return value


def load_dashboard_config(path: Path | None, environ: Mapping[str, str] | None = None) -> DashboardConfig:
    """Read ``path`` (optional: defaults without it), apply ``SESAME_*`` overrides, validate the parts used."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(f"{path}: cannot read the configuration: {error}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of sections")
        raw = loaded
    _env_overrides(raw, os.environ if environ is None else environ)
    problems = []
    contract, dashboard = ContractSettings(), DashboardSettings()
    try:
        contract = ContractSettings.model_validate(_section(raw, "contract"))
    except ValidationError as exc:
        problems += [f"contract.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    try:
        dashboard = DashboardSettings.model_validate(_section(raw, "dashboard"))
    except ValidationError as exc:
        problems += [f"dashboard.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    if problems:
        raise ConfigError(f"{path or 'environment'}: invalid configuration\n  " + "\n  ".join(problems))
    url = _section(raw, "servicenow").get("url")
    if url is not None and not str(url).startswith("https://"):
        raise ConfigError("servicenow.url: must start with https://")
    ledger_url = str(raw.get("ledger_url") or DEFAULT_LEDGER_URL)
    base = path.resolve().parent if path is not None else Path.cwd()
    if dashboard.local_accounts_file is not None and not dashboard.local_accounts_file.is_absolute():
        dashboard.local_accounts_file = (base / dashboard.local_accounts_file).resolve()
    return DashboardConfig(ledger_url=ledger_url, servicenow_url=str(url).rstrip("/") if url else None,
                           contract=contract, dashboard=dashboard)
