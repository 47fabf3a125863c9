"""``sesame playbook …``: check, test and (part B) plan playbooks without touching any system."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("playbook")
def playbook() -> None:
    """Write, check and test playbooks offline (no connection to any system)."""


@playbook.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check playbook files (or directories of them): errors with file:line:column and a hint; exit 1 on error."""
    from automations.playbooks.validate import validate_paths

    problems, checked = validate_paths(paths)
    for problem in problems:
        click.echo(problem.format(), err=True)
    errors = sum(1 for p in problems if p.severity == "error")
    click.echo(f"{checked} playbook(s) checked, {errors} error(s)", err=True)
    raise SystemExit(1 if errors else 0)


@playbook.command("test")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("-k", "select", default=None, help="Run only the cases whose name contains this text.")
def test(path: Path, select: str | None) -> None:
    """Run the YAML test cases of a playbook file or of every playbook in a directory; exit 1 on failure."""
    from automations.playbooks.testing import run_test_path
    from workers.runtime import configure_logging

    configure_logging("ERROR")  # the cases' hand-overs and alerts are expected: only the report is shown
    report = run_test_path(path, select=select)
    click.echo(report.text)
    raise SystemExit(0 if report.ok else 1)


from workers.playbook_plan import plan_command  # noqa: E402  (`playbook plan`, part B)

playbook.add_command(plan_command)
