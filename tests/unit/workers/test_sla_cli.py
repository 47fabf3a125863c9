"""`sesame sla deadline`: one line, ISO local time, the tender's examples, clear errors."""

from __future__ import annotations

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
    monkeypatch.delenv("SESAME_CONFIG", raising=False)


def _deadline(opened: str, calendar: str, within: str, *extra: str) -> Result:
    return CliRunner().invoke(main, ["sla", "deadline", "--opened", opened, "--calendar", calendar,
                                     "--within", within, *extra])


@pytest.mark.parametrize(("opened", "calendar", "within", "expected"), [
    ("2026-03-10T14:00", "metropole", "2h", "2026-03-10T16:00"),
    ("2026-03-10T18:50", "metropole", "2h", "2026-03-11T08:50"),
    ("2026-03-10T22:00", "metropole", "PT2H", "2026-03-11T09:00"),
    ("2026-03-10T21:30", "drom-atlantique", "2h", "2026-03-10T23:30"),
    ("2026-03-10T21:30", "drom-indien", "120min", "2026-03-11T06:00"),
    ("2026-03-13T18:50", "metropole", "30m", "2026-03-16T07:20"),  # Friday → Monday
    ("2026-03-10 18:50", "metropole", "1h30", "2026-03-11T08:20"),  # space separator accepted
    ("2026-03-10T14:00:00", "metropole", "2h", "2026-03-10T16:00:00"),  # seconds in → seconds out
    ("2026-03-10T14:00", "metropole", "90s", "2026-03-10T14:01:30"),  # finer result is never rounded
    ("2026-03-10", "metropole", "30min", "2026-03-10T07:30"),  # a bare date is midnight
    ("2026-03-10T13:00Z", "metropole", "2h", "2026-03-10T16:00"),  # an offset is converted to Paris time
])
def test_deadlines(opened: str, calendar: str, within: str, expected: str) -> None:
    result = _deadline(opened, calendar, within)
    assert result.exit_code == 0, result.output
    assert result.output == expected + "\n"


@pytest.mark.parametrize(("args", "message"), [
    (["2026-03-10T14:00", "mars", "2h"], "'metropole', 'drom-atlantique', 'drom-indien'"),
    (["2026-03-10T14:00", "metropole", "2"], "needs a unit"),
    (["2026-03-10T14:00", "metropole", "1 day"], "days are ambiguous"),
    (["mardi 14h", "metropole", "2h"], "not an ISO 8601 date-time"),
])
def test_errors_exit_2(args: list[str], message: str) -> None:
    result = _deadline(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_saturday_opening_from_the_contract_section(tmp_path: Path) -> None:
    config = tmp_path / "sesame.yaml"
    config.write_text(yaml.safe_dump({"contract": {"saturday_hours": "08:00-18:00"}}))
    assert _deadline("2026-03-13T18:50", "metropole", "2h").output == "2026-03-16T08:50\n"
    result = _deadline("2026-03-13T18:50", "metropole", "2h", "--config", str(config))
    assert result.output == "2026-03-14T09:50\n"


def test_the_installed_command_prints_only_the_deadline(tmp_path: Path) -> None:
    completed = subprocess.run([str(SESAME), "sla", "deadline", "--opened", "2026-03-10T18:50", "--calendar",
                                "metropole", "--within", "2h"], capture_output=True, text=True, cwd=tmp_path,
                               env={"PATH": "/usr/bin:/bin"}, check=False, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "2026-03-11T08:50\n"
