"""``sesame doctor``: check every configured system and the configuration itself, and say how to fix what is wrong.

Each connector is built the way the fleet builds it and asked for its own ``doctor()`` (reachable,
authenticated, exactly the permissions the playbooks need). A connector without one is probed with one
harmless read through its interface instead, so an unreachable system or refused credentials always show.
Nothing is written anywhere; no secret is printed.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any, Protocol
from urllib.parse import urlsplit

from connectors.errors import ConnectorError, PermissionMissingError, TransientError
from connectors.health import Finding
from workers.config import ConfigError, Settings
from workers.runtime import (
    build_directory,
    build_entra,
    build_intune,
    build_mailbox,
    build_sms_gateway,
    build_tickets,
)

CONFIG = "config"
PROBE = "sesame-doctor-probe"
OK_MARK, FAILED_MARK = "✓", "✗"
CHECK_WIDTH = 24  # longer check names (one per partner OU…) push their detail right instead of every line


class _Closable(Protocol):
    def close(self) -> None: ...


def run_doctor(settings: Settings) -> list[Finding]:
    """Every check, configuration first, then each configured system; never raises for a failed check."""
    findings = [*_check_partners(settings), *_check_playbooks(settings), *_check_understander(settings),
                *_check_broker(settings)]
    context = _context(settings)
    findings += _check_connector("servicenow", lambda: build_tickets(settings), context,
                                 probe=lambda c: c.find_by_correlation(PROBE),
                                 fix_credentials="check servicenow.user and its password (SESAME_SERVICENOW_PASSWORD)")
    mailbox_section = settings.mailbox.kind  # 'graph' or 'imap': the section holding its credentials
    findings += _check_connector("mailbox", lambda: build_mailbox(settings), context,
                                 probe=lambda c: c.list_unread(limit=1),
                                 fix_credentials=f"check the {mailbox_section} section's credentials "
                                                 f"(SESAME_{mailbox_section.upper()}_…)")
    findings += _check_connector("directory", lambda: build_directory(settings), context,
                                 probe=lambda c: c.find_accounts(PROBE),
                                 fix_credentials="check directory.bind_dn and its password (SESAME_DIRECTORY_PASSWORD)")
    if settings.graph is not None:
        graph_fix = "check graph.client_id and its secret (SESAME_GRAPH_CLIENT_SECRET)"
        findings += _check_connector("entra", lambda: build_entra(settings), context, probe=None,
                                     fix_credentials=graph_fix)
        findings += _check_connector("intune", lambda: build_intune(settings), context, probe=None,
                                     fix_credentials=graph_fix)
    if settings.sms is not None:
        findings += _check_connector("sms", lambda: build_sms_gateway(settings), context, probe=None,
                                     fix_credentials="check sms.api_key (SESAME_SMS_API_KEY)")
    return findings


def format_findings(findings: Iterable[Finding]) -> str:
    """One line per check (✓/✗, system, check, detail), each failure followed by its ``fix:`` line."""
    rows = list(findings)
    system_width = max((len(f.system) for f in rows), default=0)
    check_width = min(CHECK_WIDTH, max((len(f.check) for f in rows), default=0))
    lines: list[str] = []
    for finding in rows:
        mark = OK_MARK if finding.ok else FAILED_MARK
        lines.append(f"{mark} {finding.system:<{system_width}}  {finding.check:<{check_width}}  {finding.detail}")
        if not finding.ok:
            lines.append(f"  {' ' * system_width}  fix: {finding.fix or 'see the detail above'}")
    failed = sum(not f.ok for f in rows)
    lines.append(f"{len(rows) - failed} ok, {failed} to fix" if failed else f"all {len(rows)} checks ok")
    return "\n".join(lines)


def findings_json(findings: Iterable[Finding]) -> str:
    """The findings as a JSON list of objects (system, check, ok, detail, fix), for ``--json``."""
    return json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=2)


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when every check passed, 1 otherwise."""
    return 0 if all(f.ok for f in findings) else 1


# ----- configuration-level checks -----------------------------------------------------------------


def _check_partners(settings: Settings) -> list[Finding]:
    from automations.registry import PartnerRegistry, RegistryError

    try:
        registry = PartnerRegistry.load(settings.partners_file)
    except (RegistryError, OSError) as exc:
        return [Finding(CONFIG, "partners file", False, f"{settings.partners_file}: {exc}",
                        "correct the registry file (one entry per partner: id, ou, correspondents, domains)")]
    correspondents = sum(len(p.correspondents) for p in registry.partners)
    if not registry.partners:
        return [Finding(CONFIG, "partners file", False, f"{settings.partners_file} lists no partner",
                        "add the partner organisations, or nothing can be automated")]
    return [Finding(CONFIG, "partners file", True,
                    f"{len(registry.partners)} partners, {correspondents} correspondents")]


def _check_playbooks(settings: Settings) -> list[Finding]:
    from automations.playbooks import PlaybookError, load_playbooks
    from automations.playbooks.actions import ACTIONS

    try:
        playbooks = load_playbooks(settings.playbooks_dir, frozenset(ACTIONS))
    except (PlaybookError, OSError) as exc:
        return [Finding(CONFIG, "playbooks", False, str(exc),
                        f"correct the playbook named above in {settings.playbooks_dir} "
                        "(`sesame playbook validate` shows line and column)")]
    return [Finding(CONFIG, "playbooks", True, f"{len(playbooks)} valid in {settings.playbooks_dir}")]


def _check_understander(settings: Settings) -> list[Finding]:
    from automations.understanding import UnknownUnderstanderError, get_understander

    try:
        get_understander(settings.understander)
    except UnknownUnderstanderError as exc:
        return [Finding(CONFIG, "understander", False, str(exc), "set understander to one of the names listed")]
    return [Finding(CONFIG, "understander", True, f"{settings.understander!r} available")]


def _check_broker(settings: Settings) -> list[Finding]:
    from kombu import Connection

    url = settings.broker_url
    shown = _without_password(url)
    if url.startswith("memory://"):
        return [Finding("broker", "reachable", True, "in-process broker (memory://): one process only")]
    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # kombu raises the transport's own errors; any of them means "not reachable"
        return [Finding("broker", "reachable", False, f"{shown}: {type(exc).__name__}",
                        "start the broker (Redis) or correct broker_url (SESAME_BROKER_URL)")]
    return [Finding("broker", "reachable", True, f"{shown} answered")]


# ----- connectors ---------------------------------------------------------------------------------


def _check_connector(
    system: str, build: Callable[[], Any], context: dict[str, Any], *, probe: Callable[[Any], object] | None,
    fix_credentials: str,
) -> list[Finding]:
    try:
        connector = build()
    except (ConnectorError, ConfigError, ValueError) as exc:
        return [Finding(system, "configured", False, str(exc), f"correct the {system} settings named above")]
    try:
        doctor = getattr(connector, "doctor", None)
        if callable(doctor):
            try:
                return list(doctor(**_accepted(doctor, context)))
            except Exception as exc:  # a doctor must not raise; if one does, say so instead of crashing
                return [Finding(system, "doctor", False, f"the check itself failed: {type(exc).__name__}: {exc}",
                                "report this as a bug of the connector's doctor()")]
        if probe is None:
            return [Finding(system, "reachable", True, "no checks available for this connector")]
        return _probe(system, connector, probe, fix_credentials)
    finally:
        if hasattr(connector, "close"):
            _close(connector)


def _probe(system: str, connector: Any, probe: Callable[[Any], object], fix_credentials: str) -> list[Finding]:
    """One harmless read through the connector's interface: reachable and authenticated, or why not."""
    try:
        probe(connector)
    except PermissionMissingError as exc:
        return [Finding(system, "authenticated", False, str(exc), fix_credentials)]
    except TransientError as exc:
        return [Finding(system, "reachable", False, str(exc),
                        f"check the {system} URL or host, the network and that the service is up")]
    except ConnectorError as exc:
        return [Finding(system, "reachable", False, str(exc), f"correct the {system} settings named above")]
    return [Finding(system, "reachable", True, "a read was answered"),
            Finding(system, "authenticated", True, "our credentials were accepted")]


def _accepted(function: Callable[..., Any], context: dict[str, Any]) -> dict[str, Any]:
    """The context ``function`` (a doctor, a constructor) asks for by keyword (partner OUs, assignment groups…)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return {}
    return {name: value for name, value in context.items() if name in parameters}


def _context(settings: Settings) -> dict[str, Any]:
    """What doctors may need to know beyond their own settings, by the keyword names they may use."""
    from automations.registry import PartnerRegistry, RegistryError

    try:
        ous = [p.ou for p in PartnerRegistry.load(settings.partners_file).partners]
    except (RegistryError, OSError):
        ous = []
    desk = settings.desk
    groups = [desk.automation_group, desk.human_group]
    return {"partner_ous": ous, "assignment_groups": groups, "groups": groups, "close_code": desk.close_code,
            "kb_article": desk.kb_article}


def _close(connector: _Closable) -> None:
    with contextlib.suppress(Exception):  # closing after a failed check must not hide the findings
        connector.close()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:****@{parts.hostname}{f':{parts.port}' if parts.port else ''}"
    return parts._replace(netloc=netloc).geturl()
