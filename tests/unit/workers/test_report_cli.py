"""`sesame report bonus`: the stable JSON interface, its errors, and the configuration it reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from workers.cli import main

SESAME = Path(sys.executable).parent / "sesame"


@pytest.fixture(autouse=True)
def _no_deployment_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SESAME_CONFIG", "SESAME_CONTRACT_UNIT_PRICE"):
        monkeypatch.delenv(name, raising=False)


def _bonus(*args: str) -> Result:
    return CliRunner().invoke(main, ["report", "bonus", *args])


def test_the_tenders_72_percent_example() -> None:
    result = _bonus("--automated", "504000", "--total", "700000", "--unit-price", "1.10")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "rate_pct": 72,
        "bands": [
            {"from_pct": 30, "to_pct": 49, "points": 19, "bonus_pct": 10, "interactions": 133000},
            {"from_pct": 50, "to_pct": 100, "points": 22, "bonus_pct": 15, "interactions": 154000},
        ],
        "bonus_amount": 40040,
    }


@pytest.mark.parametrize(("automated", "points"), [("32", [2]), ("37", [7]), ("30", []), ("50", [19]),
                                                   ("100", [19, 50]), ("0", [])])
def test_points_per_band(automated: str, points: list[int]) -> None:
    result = _bonus("--automated", automated, "--total", "100")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [band["points"] for band in data["bands"]] == points
    assert "bonus_amount" not in data


def test_fractional_rates_are_json_numbers() -> None:
    data = json.loads(_bonus("--automated", "1", "--total", "3", "--unit-price", "10").output)
    assert data["rate_pct"] == 33.333333
    assert data["bands"][0]["interactions"] == 0.1
    assert data["bonus_amount"] == 0.1  # 0.1 interaction × 10 × 10 %


@pytest.mark.parametrize(("args", "message"), [
    (["--automated", "101", "--total", "100"], "cannot exceed"),
    (["--automated", "-1", "--total", "100"], "must be 0 or more"),
    (["--automated", "1", "--total", "0"], "must be greater than 0"),
    (["--automated", "many", "--total", "100"], "is not a number"),
    (["--automated", "1", "--total", "inf"], "not a finite number"),
    (["--automated", "1", "--total", "10", "--unit-price", "-3"], "must be 0 or more"),
    (["--total", "10"], "Missing option '--automated'"),
])
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = _bonus(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_unit_price_and_bands_from_the_contract_section(tmp_path: Path) -> None:
    # Only the contract section is read: the rest of the file may lack the connectors' secrets.
    config = tmp_path / "sesame.yaml"
    config.write_text(yaml.safe_dump({"contract": {"unit_price": "2", "bonus_low_pct": "20"}}))
    data = json.loads(_bonus("--automated", "32", "--total", "100", "--config", str(config)).output)
    assert data["bands"][0]["bonus_pct"] == 20
    assert data["bonus_amount"] == 0.8  # 2 × 2 × 20 %
    override = _bonus("--automated", "32", "--total", "100", "--config", str(config), "--unit-price", "1")
    assert json.loads(override.output)["bonus_amount"] == 0.4


def test_a_broken_contract_section_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "sesame.yaml"
    config.write_text(yaml.safe_dump({"contract": {"bonus_low_to_pct": "60"}}))
    result = _bonus("--automated", "32", "--total", "100", "--config", str(config))
    assert result.exit_code == 1
    assert "bonus_low_to_pct" in result.output


def test_the_installed_command_without_any_configuration(tmp_path: Path) -> None:
    completed = subprocess.run([str(SESAME), "report", "bonus", "--automated", "37", "--total", "100",
                                "--unit-price", "100"], capture_output=True, text=True, cwd=tmp_path, check=False,
                               env={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {
        "rate_pct": 37,
        "bands": [{"from_pct": 30, "to_pct": 49, "points": 7, "bonus_pct": 10, "interactions": 7}],
        "bonus_amount": 70,
    }
