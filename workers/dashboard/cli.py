"""``sesame dashboard``: serve the managers' dashboard; ``sesame dashboard hash-password`` for local accounts."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import Engine

from workers.config import ConfigError


@click.group("dashboard", invoke_without_command=True)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              envvar="SESAME_CONFIG", default=None,
              help="Sésame YAML configuration (or $SESAME_CONFIG); reads ledger_url, servicenow.url, contract and "
                   "dashboard only. Without it: the default ledger, open on loopback.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs sign-in (dashboard.oidc_* or local accounts).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.pass_context
def dashboard(ctx: click.Context, config_path: Path | None, host: str, port: int) -> None:
    """Serve the managers' dashboard: automated-resolution rate, bonus band, volumes, SLAs, queue; /metrics."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from workers.dashboard.app import create_app
    from workers.dashboard.auth import SignInError, SignInPolicy, check_exposure
    from workers.dashboard.settings import load_dashboard_config

    try:
        config = load_dashboard_config(config_path)
        check_exposure(config, host)
        app = create_app(config, engine=ledger_engine(config.ledger_url))
    except (ConfigError, SignInError) as error:
        raise click.ClickException(str(error)) from None
    policy = SignInPolicy.of(config)
    mode = "OpenID Connect" if policy.oidc else "local accounts" if policy.local else "none (loopback only)"
    click.echo(f"sesame dashboard: http://{host}:{port}/ (sign-in: {mode})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def ledger_engine(url: str) -> Engine:
    """An engine on an existing ledger; a missing one is a configuration error, not an empty dashboard."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).is_file():
        # Connecting would create an empty file and show an empty dashboard.
        raise ConfigError(f"ledger_url: no ledger at {parsed.database} (check ledger_url; `sesame run` creates it)")
    engine = create_engine(url, future=True)
    try:
        has_requests = inspect(engine).has_table("requests")
    except SQLAlchemyError as error:
        raise ConfigError(f"ledger_url: cannot open the ledger: {error.__class__.__name__}: {error}") from None
    if not has_requests:
        raise ConfigError("ledger_url: the database has no ledger tables (check ledger_url; `sesame run` creates them)")
    return engine


@dashboard.command("hash-password")
@click.option("--user", required=True, help="Account name for the local accounts file.")
@click.password_option(help="The password (asked twice when not given).")
def hash_password_command(user: str, password: str) -> None:
    """Print a `user:scrypt$…` line for dashboard.local_accounts_file (the password itself is never stored)."""
    from workers.dashboard.auth import hash_password

    if ":" in user or not user.strip():
        raise click.BadParameter("must be non-empty and hold no ':'", param_hint="--user")
    click.echo(f"{user}:{hash_password(password)}")
