"""The ``sesame report`` commands: managers' figures (other reports may register on the group).

``sesame report bonus`` is a stable interface for outside checks: it needs no configuration file, prints one
JSON object on standard output and fails with exit status 2 (a usage error) on impossible counts.
``reconcile`` (ledger vs ServiceNow, exit 1 on any mismatch), ``export`` (the day's raw data, CSV or Parquet),
``flash`` (the daily 9:00 flash) and ``monthly`` (the monthly UO-TR1.1 report): see docs/reporting.md.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import yaml
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from automations.ledger import Ledger
from automations.reporting.bonus import BonusBand, BonusError, compute_bonus
from automations.reporting.denominator import ServiceNowDenominator
from automations.reporting.exports import FORMATS, ExportError, ExportFormat, export_day
from automations.reporting.figures import Denominator, RequestFact, ledger_denominator, load_requests
from automations.reporting.flash import BASELINE_DAYS, FlashThresholds, compute_flash, format_flash
from automations.reporting.monthly import format_monthly, monthly_report, parse_month
from automations.reporting.periods import contract_year
from automations.reporting.reconcile import format_text, reconcile, utc_bounds
from connectors.errors import ConnectorError
from connectors.resilience import RetryPolicy
from connectors.servicenow.stats import ServiceDeskStats
from workers.config import ConfigError, ContractSettings, Settings, _env_overrides, load_settings

CONTRACT_CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SESAME_CONFIG",
    default=None, help="Sésame YAML configuration; only its `contract` section is read (optional).",
)


class DecimalNumber(click.ParamType):
    """A finite decimal number, read exactly (no float rounding), optionally non-negative."""

    name = "number"

    def __init__(self, minimum: Decimal | None = None) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            number = value
        else:
            try:
                number = Decimal(str(value).strip().replace(",", "."))
            except InvalidOperation:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{value} must be {self.minimum} or more", param, ctx)
        return number


def load_contract(config_path: Path | None, environ: dict[str, str] | None = None) -> ContractSettings:
    """The ``contract`` section of the configuration file (defaults without a file), environment overrides applied.

    Only this section is read, so the reporting commands work where the connectors' secrets are not set.
    """
    raw: dict[str, Any] = {}
    if config_path is not None:
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise click.ClickException(f"{config_path}: cannot read the configuration: {error}") from None
        if not isinstance(loaded, dict):
            raise click.ClickException(f"{config_path}: the top level must be a mapping of sections")
        raw = loaded
    try:
        _env_overrides(raw, os.environ if environ is None else environ)
    except ConfigError as error:
        raise click.ClickException(f"{config_path}: {error}") from None
    section = raw.get("contract") or {}
    try:
        return ContractSettings.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(".".join(["contract", *(str(p) for p in e["loc"])]) + f": {e['msg']}"
                             for e in exc.errors())
        raise click.ClickException(f"{config_path or 'environment'}: {problems}") from None


def contract_bands(contract: ContractSettings) -> tuple[BonusBand, ...]:
    """The bonus bands of the contract (the tender's by default)."""
    return (BonusBand(contract.bonus_low_from_pct, contract.bonus_low_to_pct, contract.bonus_low_pct),
            BonusBand(contract.bonus_high_from_pct, None, contract.bonus_high_pct))


@click.group()
def report() -> None:
    """Managers' figures: the UO-TR1.1 bonus and other reports."""


@report.command("bonus")
@click.option("--automated", type=DecimalNumber(Decimal(0)), required=True,
              help="Requests resolved automatically (UO-TR1.1) in the contract year.")
@click.option("--total", type=DecimalNumber(Decimal(0)), required=True,
              help="All service-desk requests of the contract year.")
@click.option("--unit-price", type=DecimalNumber(Decimal(0)), default=None,
              help="Price of one UO-TR1.1; adds bonus_amount (default: contract.unit_price, if set).")
@CONTRACT_CONFIG_OPTION
def bonus_command(automated: Decimal, total: Decimal, unit_price: Decimal | None, config_path: Path | None) -> None:
    """Print the UO-TR1.1 bonus of a contract year as JSON (tender §7.3.3.4.5).

    \b
    {"rate_pct", "bands": [{"from_pct", "to_pct", "points", "bonus_pct", "interactions"}], "bonus_amount"}
    A band is listed when it earns points; bonus_amount only with a unit price. Example:
    sesame report bonus --automated 72 --total 100  →  19 points at 10 % and 22 points at 15 %.
    """
    if total == 0:
        raise click.BadParameter("must be greater than 0 (the rate is undefined without requests)",
                                 param_hint="'--total'")
    if automated > total:
        raise click.BadParameter(f"{automated} cannot exceed --total ({total})", param_hint="'--automated'")
    contract = load_contract(config_path)
    price = unit_price if unit_price is not None else contract.unit_price
    try:
        result = compute_bonus(automated, total, price, contract_bands(contract))
    except BonusError as error:
        raise click.UsageError(str(error)) from None
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False))


# -- reconciliation, exports, flash and monthly report (docs/reporting.md) ------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
DENOMINATOR_OPTION = click.option(
    "--denominator", type=click.Choice(["servicenow", "ledger"]), default="servicenow", show_default=True,
    help="All service-desk requests counted in ServiceNow (the contract's rate), or the requests of the ledger.",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def _config_option(required_for: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                        envvar="SESAME_CONFIG", default=None, help=f"Sésame YAML configuration ({required_for}).")


def _yesterday() -> date:
    return datetime.now(PARIS).date() - timedelta(days=1)


def _settings(config_path: Path | None) -> Settings:
    if config_path is None:
        raise click.UsageError("this needs the deployment's configuration: --config FILE or SESAME_CONFIG")
    try:
        return load_settings(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _ledger_url(config_path: Path | None) -> str:
    """``ledger_url`` of the file (environment overrides applied) without validating the connectors' sections."""
    raw: dict[str, Any] = {}
    if config_path is not None:
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise click.ClickException(f"{config_path}: cannot read the configuration: {error}") from None
        raw = loaded if isinstance(loaded, dict) else {}
    url = os.environ.get("SESAME_LEDGER_URL") or raw.get("ledger_url") or Settings.model_fields["ledger_url"].default
    return str(url)


def _ledger(url: str) -> Ledger:
    """The ledger at ``url``; a SQLite file that does not exist is an error, not a new empty ledger."""
    path = make_url(url).database if url.startswith("sqlite") else None
    if path and path != ":memory:" and not Path(path).is_file():
        raise click.ClickException(f"ledger_url {url!r}: no such ledger file (check ledger_url in the configuration)")
    return Ledger(url)


def _facts(ledger_url: str, since: datetime) -> list[RequestFact]:
    try:
        return load_requests(_ledger(ledger_url).engine, since)
    except SQLAlchemyError as error:
        raise click.ClickException(f"cannot read the ledger {ledger_url!r}: {error}") from None


def _desk_stats(settings: Settings) -> ServiceDeskStats:
    from workers.runtime import configure_logging

    configure_logging("WARNING")  # connector logs go to stderr, so --json output stays clean
    sn, desk = settings.servicenow, settings.desk
    return ServiceDeskStats.connect(
        sn.url, sn.user, sn.password.get_secret_value(), ca_file=str(sn.ca_file) if sn.ca_file else None,
        timeout=sn.timeout_seconds, policy=RetryPolicy(attempts=sn.retry_attempts, deadline=sn.retry_deadline_seconds),
        groups=desk.desk_groups, tables=desk.service_desk_tables, tag=desk.automation_tag)


@contextmanager
def _denominator(kind: str, config_path: Path | None) -> Iterator[Denominator]:
    """The rate's denominator; a ServiceNow one is closed afterwards and its failures become clear errors."""
    if kind == "ledger":
        yield ledger_denominator
        return
    stats = _desk_stats(_settings(config_path))
    try:
        yield ServiceNowDenominator(stats)
    except ConnectorError as error:
        raise click.ClickException(f"counting the service-desk requests in ServiceNow failed: {error}") from None
    finally:
        stats.close()


@report.command("reconcile")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First Paris day.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last Paris day (included).")
@_config_option("required: ledger and ServiceNow")
@JSON_OPTION
def reconcile_command(first: datetime, last: datetime, config_path: Path | None, as_json: bool) -> None:
    """Check every UO-TR1.1 claim of the ledger against ServiceNow, and every UO-TR1.1 tag against the ledger.

    Exit status 0 when both agree, 1 when any mismatch is found (each one names its ticket).
    """
    if last < first:
        raise click.BadParameter("must not be before --from", param_hint="'--to'")
    settings = _settings(config_path)
    start, _ = utc_bounds(first.date(), last.date())
    facts = _facts(settings.ledger_url, start - timedelta(days=1))
    stats = _desk_stats(settings)
    try:
        result = reconcile(facts, stats, first.date(), last.date())
    except ConnectorError as error:
        raise click.ClickException(f"reading ServiceNow failed: {error}") from None
    finally:
        stats.close()
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2) if as_json else format_text(result))
    sys.exit(0 if result.ok else 1)


@report.command("export")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Paris day to export (default: yesterday).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True,
              help="parquet needs the optional extra sesame[parquet] (pyarrow).")
@click.option("--output", "directory", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory receiving sesame-requests-<date>.<format>.")
@_config_option("only ledger_url is read")
def export_command(day: datetime | None, fmt: ExportFormat, directory: Path, config_path: Path | None) -> None:
    """Write the day's raw data, one row per request (no message, no secret), for the customer's BI tool."""
    the_day = day.date() if day else _yesterday()
    try:
        path, count = export_day(_ledger(_ledger_url(config_path)).engine, the_day, fmt, directory)
    except (ExportError, SQLAlchemyError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{count} request(s) of {the_day} written to {path}")


@report.command("flash")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Paris day reported (default: yesterday, for the 9:00 flash).")
@click.option("--stuck-after", type=click.IntRange(min=1), default=60, show_default=True,
              help="Minutes after which an unfinished request is reported as stuck.")
@DENOMINATOR_OPTION
@_config_option("ServiceNow is read for --denominator servicenow")
@JSON_OPTION
def flash_command(day: datetime | None, stuck_after: int, denominator: str, config_path: Path | None,
                  as_json: bool) -> None:
    """The daily flash: volumes, automated rate, and anomalies (rate drop, hand-over reason spike, stuck requests)."""
    the_day = day.date() if day else _yesterday()
    start, _ = utc_bounds(the_day - timedelta(days=BASELINE_DAYS), the_day)
    # The denominator first: a missing configuration is reported before any ledger is read.
    with _denominator(denominator, config_path) as count:
        facts = _facts(_ledger_url(config_path), start)
        now = datetime.now(UTC).replace(tzinfo=None)
        flash = compute_flash(facts, the_day, now, denominator=count,
                              thresholds=FlashThresholds(stuck_after=timedelta(minutes=stuck_after)))
    click.echo(json.dumps(flash.as_dict(), ensure_ascii=False, indent=2) if as_json else format_flash(flash))


@report.command("monthly")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.option("--unit-price", type=DecimalNumber(Decimal(0)), default=None,
              help="Price of one UO-TR1.1 for the bonus amount (default: contract.unit_price, if set).")
@DENOMINATOR_OPTION
@_config_option("contract section; ServiceNow for --denominator servicenow")
@JSON_OPTION
def monthly_command(month: str, unit_price: Decimal | None, denominator: str, config_path: Path | None,
                    as_json: bool) -> None:
    """The monthly UO-TR1.1 report: counts, rate, bonus band projection and the ticket list."""
    try:
        period = parse_month(month)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--month'") from None
    contract = load_contract(config_path)
    first = period.first
    if contract.anniversary is not None and contract.anniversary <= period.last:
        first = min(first, contract_year(contract.anniversary, period.last).first)
    with _denominator(denominator, config_path) as count:
        facts = _facts(_ledger_url(config_path), utc_bounds(first, first)[0])
        result = monthly_report(facts, period, denominator=count, contract_start=contract.anniversary,
                                unit_price=unit_price if unit_price is not None else contract.unit_price,
                                bands=contract_bands(contract))
    click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=2) if as_json else format_monthly(result))


from workers.shadow_report import shadow_command  # noqa: E402  (`report shadow`, issue 8 part B)

report.add_command(shadow_command)
