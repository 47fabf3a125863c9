"""The ``sesame`` command."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
import yaml

from workers.config import ConfigError, Settings, load_settings, masked

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SESAME_CONFIG",
    required=True, help="Sésame YAML configuration (or $SESAME_CONFIG).",
)


def _settings(config_path: Path) -> Settings:
    try:
        return load_settings(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sesame")
def main() -> None:
    """Sésame automates a ServiceNow service desk.

    Partner e-mails are read from the shared mailbox, understood, checked (who asks, for which account),
    acted on by a YAML playbook in Active Directory, answered, and the ServiceNow ticket is closed and
    tagged for the UO-TR1.1 automation bonus. Anything unsure goes to the level-1 group with the reason.

    Start with `sesame demo`, which runs everything on the built-in sandbox.
    """


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@CONFIG_OPTION
def config_check(config_path: Path) -> None:
    """Validate the configuration and print the effective values, secrets masked."""
    settings = _settings(config_path)
    click.echo(f"# {config_path}: valid", err=True)
    click.echo(yaml.safe_dump(masked(settings), sort_keys=False, allow_unicode=True), nl=False)


@config.command("reference")
def config_reference() -> None:
    """Print the configuration reference (Markdown), generated from the model."""
    from workers.config import reference_markdown

    click.echo(reference_markdown())


@main.group()
def sandbox() -> None:
    """Local emulators of ServiceNow, Microsoft Graph and Active Directory."""


def _fault_options(command: Callable[..., None]) -> Callable[..., None]:
    """Fault-injection flags (all off by default) for ServiceNow (``--…``) and Graph (``--graph-…``)."""
    from sandbox.faults import FAULT_FLAGS

    for flag, text in reversed(FAULT_FLAGS.items()):
        name = flag[2:]
        command = click.option(f"--graph-{name}", "graphfault_" + name.replace("-", "_"), default=None,
                               help=f"Graph fault injection: {text}.")(command)
    for flag, text in reversed(FAULT_FLAGS.items()):
        name = "--fault-seed" if flag == "--seed" else flag
        command = click.option(name, "fault_" + flag[2:].replace("-", "_"), default=None,
                               help=f"ServiceNow fault injection: {text}.")(command)
    return command


@sandbox.command("up")
@click.option("--scenario", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True,
              help="Scenario directory (partners.json, directory.json, emails.jsonl, tickets.jsonl).")
@click.option("--state", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the CA, credentials, data and generated config; reused when it exists.")
@click.option("--ad", "ad_mode", type=click.Choice(["auto", "samba", "emulator"]), default="auto", show_default=True,
              help="Active Directory: a real Samba DC (needs root and the packages) or the emulator.")
@click.option("--broker", default="memory://", show_default=True,
              help="Broker URL written into the generated config.")
@click.option("--mailbox", "mailbox_kind", type=click.Choice(["graph", "imap"]), default="graph", show_default=True,
              help="Mailbox the generated config polls (the Graph and the IMAP/SMTP mailboxes are both served).")
@_fault_options
def sandbox_up(scenario: Path, state: Path, ad_mode: str, broker: str, mailbox_kind: str, **faults: str | None) -> None:
    """Serve the scenario on 127.0.0.1, print one JSON line describing it, run until SIGTERM."""
    from sandbox.faults import FaultPlan, FaultPlanError
    from sandbox.scenario import ScenarioError
    from sandbox.server import SandboxError, serve

    try:
        plan = FaultPlan.from_options(**{name.removeprefix("fault_"): value for name, value in faults.items()
                                         if name.startswith("fault_")})
        graph_plan = FaultPlan.from_options(**{name.removeprefix("graphfault_"): value
                                               for name, value in faults.items() if name.startswith("graphfault_")})
        serve(scenario, state, ad_mode=ad_mode, broker_url=broker, fault_plan=plan,  # type: ignore[arg-type]
              graph_fault_plan=graph_plan, mailbox_kind=mailbox_kind)  # type: ignore[arg-type]
    except (ScenarioError, SandboxError, FaultPlanError) as error:
        raise click.ClickException(str(error)) from None


@sandbox.command("load")
@click.option("--state", type=click.Path(file_okay=False, exists=True, path_type=Path), required=True,
              help="State directory of a sandbox (stopped) to load into.")
@click.option("--table", required=True, help="ServiceNow table, e.g. incident, sys_user, kb_knowledge.")
@click.option("--file", "records_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="Records as a JSON list, {\"records\": [...]}, a Table API {\"result\": [...]} or JSON lines.")
def sandbox_load(state: Path, table: str, records_file: Path) -> None:
    """Load fixture records into any ServiceNow table of a stopped sandbox."""
    from sandbox.server import SandboxError, load_table_records
    from sandbox.servicenow.errors import TableApiError

    try:
        count = load_table_records(state, table, records_file)
    except (SandboxError, TableApiError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"loaded {count} record(s) into {table}")


@main.command("run")
@CONFIG_OPTION
@click.option("--until-idle", is_flag=True, help="Stop once every request seen is finished; print a JSON summary.")
@click.option("--no-beat", is_flag=True, help="Do not schedule the pollers (another `sesame run` does).")
@click.option("--concurrency", default=4, show_default=True, help="Requests handled in parallel by this process.")
@click.option("--timeout", type=float, default=None, help="With --until-idle: give up after this many seconds.")
def run(config_path: Path, until_idle: bool, no_beat: bool, concurrency: int, timeout: float | None) -> None:
    """Run the fleet: mailbox poller (beat), Celery worker and request handling."""
    from workers.fleet import FleetTimeout, run_fleet
    from workers.runtime import StartupError, configure_logging

    settings = _settings(config_path)
    configure_logging(settings.log_level)
    stop = threading.Event()
    # SIGTERM (systemd, Kubernetes) and Ctrl-C finish the requests in hand, then stop.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        summary = run_fleet(settings, config_path, until_idle=until_idle, beat=not no_beat,
                            concurrency=concurrency, timeout=timeout, stop=stop)
    except FleetTimeout as error:
        click.echo(json.dumps(error.summary, ensure_ascii=False, indent=2))
        raise click.ClickException(str(error)) from None
    except StartupError as error:
        raise click.ClickException(str(error)) from None
    if until_idle:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))


@main.command("doctor")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list instead of lines.")
def doctor(config_path: Path, as_json: bool) -> None:
    """Check every configured system: reachable, authenticated, holding exactly the permissions needed."""
    from workers.doctor import exit_code, findings_json, format_findings, run_doctor
    from workers.runtime import configure_logging

    configure_logging("WARNING")  # connector logs go to stderr, so --json output stays clean
    findings = run_doctor(_settings(config_path))
    click.echo(findings_json(findings) if as_json else format_findings(findings))
    raise SystemExit(exit_code(findings))


@main.command("classify")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="JSONL messages {id, from, subject, body, headers?}; other keys are ignored.")
@click.option("--output", "output_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write one JSON line per message (default: standard output).")
@click.option("--backend", default="rules+model", show_default=True,
              help="Understanding backend (rules, model, rules+model).")
def classify(input_path: str, output_path: str | None, backend: str) -> None:
    """Classify messages: intent, confidence, targets, decision (auto|human|ignore) and reasons."""
    from automations.understanding import UnknownUnderstanderError
    from workers.classify import classify_file

    try:
        summary = classify_file(input_path, output_path, backend)
    except UnknownUnderstanderError as error:
        raise click.ClickException(str(error)) from None
    for problem in summary.errors:
        click.echo(f"{input_path}: {problem}", err=True)
    click.echo(f"# {summary.classified} classified, {len(summary.errors)} unreadable", err=True)
    if summary.errors:
        raise SystemExit(1)


@main.command("eval")
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Labelled JSONL messages (label: {intent, targets, decision?}).")
@click.option("--backend", default="rules+model", show_default=True, help="Understanding backend to measure.")
def evaluate(input_path: str, backend: str) -> None:
    """Per-intent precision/recall, precision and coverage of auto decisions, confusion matrix, misclassified ids."""
    from automations.understanding import UnknownUnderstanderError
    from workers.classify import evaluate_file

    try:
        report = evaluate_file(input_path, backend)
    except UnknownUnderstanderError as error:
        raise click.ClickException(str(error)) from None
    click.echo(report.format())
    if report.errors:
        raise SystemExit(1)


@main.command("pause")
@CONFIG_OPTION
@click.option("--reason", required=True, help="Why the bot must stop writing (kept with who and when).")
@click.option("--who", default=None, help="Who pauses (default: user@host).")
def pause_command(config_path: Path, reason: str, who: str | None) -> None:
    """Engage the kill switch: no directory write happens until `sesame resume`."""
    from workers.pause import PauseError, pause

    try:
        click.echo(pause(_settings(config_path), reason, who))
    except PauseError as error:
        raise click.ClickException(str(error)) from None


@main.command("resume")
@CONFIG_OPTION
@click.option("--reason", required=True, help="Why writing may resume (kept with who and when).")
@click.option("--who", default=None, help="Who resumes (default: user@host).")
def resume_command(config_path: Path, reason: str, who: str | None) -> None:
    """Release the kill switch."""
    from workers.pause import PauseError, resume

    try:
        click.echo(resume(_settings(config_path), reason, who))
    except PauseError as error:
        raise click.ClickException(str(error)) from None


@main.command("status")
@CONFIG_OPTION
def status_command(config_path: Path) -> None:
    """Whether the kill switch is engaged, and its recent history."""
    from workers.pause import PauseError, status

    try:
        click.echo(status(_settings(config_path)))
    except PauseError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def audit() -> None:
    """The tamper-evident decision records: verify the chain, export for the SIEM, purge past retention."""


@audit.command("verify")
@CONFIG_OPTION
def audit_verify(config_path: Path) -> None:
    """Recompute the hash chain: any modified, deleted or inserted record is reported (exit 1)."""
    from workers.audit_cli import verify_command

    code, text = verify_command(_settings(config_path))
    click.echo(text)
    raise SystemExit(code)


@audit.command("export")
@CONFIG_OPTION
@click.option("--since", type=click.DateTime(), default=None, help="First moment included (UTC).")
@click.option("--until", type=click.DateTime(), default=None, help="First moment excluded (UTC).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON-lines file (default: standard output).")
def audit_export(config_path: Path, since: datetime | None, until: datetime | None, output: Path | None) -> None:
    """Export the records as JSON lines for the customer's SIEM."""
    from workers.audit_cli import export_command

    code, text = export_command(_settings(config_path), since, until, output)
    click.echo(text, err=output is None)
    raise SystemExit(code)


@audit.command("purge")
@CONFIG_OPTION
def audit_purge(config_path: Path) -> None:
    """Purge records older than audit.retention_days, keeping the chain verifiable (signed anchor)."""
    from workers.audit_cli import purge_command

    code, text = purge_command(_settings(config_path))
    click.echo(text)
    raise SystemExit(code)


@main.command("demo")
@click.option("--scenario", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Scenario to run instead of the built-in one.")
@click.option("--state", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the sandbox state here (default: a new temporary directory).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo(scenario: Path | None, state: Path | None, as_json: bool) -> None:
    """Run the whole path on the built-in sandbox and print what happened."""
    from workers.demo import DEMO_SCENARIO, format_summary, run_demo
    from workers.fleet import FleetTimeout
    from workers.runtime import configure_logging

    configure_logging("WARNING")
    try:
        summary = run_demo(scenario or DEMO_SCENARIO, state)
    except FleetTimeout as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(summary, ensure_ascii=False, indent=2) if as_json else format_summary(summary))


from workers.playbook_cli import playbook as _playbook_group  # noqa: E402  (the `playbook` commands)

main.add_command(_playbook_group)

from workers.report_cli import report as _report_group  # noqa: E402  (the `report` commands)
from workers.sla_cli import sla as _sla_group  # noqa: E402  (the `sla` commands)

main.add_command(_report_group)
main.add_command(_sla_group)

from workers.dashboard.cli import dashboard as _dashboard_group  # noqa: E402  (`sesame dashboard`)

main.add_command(_dashboard_group)


if __name__ == "__main__":
    main()
