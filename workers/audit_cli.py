"""What `sesame audit verify|export|purge` do; the click wiring lives in ``workers/cli.py``.

Each command returns ``(exit_code, text)``: 0 = fine, 1 = the trail is broken (or refused to purge),
2 = configuration missing. The text never contains the audit key.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import SecretStr

from automations.audit import AuditError, AuditKey, verify, write_checkpoint
from automations.audit_archive import export, purge_older_than
from automations.ledger import Ledger

OK, BROKEN, MISCONFIGURED = 0, 1, 2


class AuditSettingsLike(Protocol):
    """The ``audit:`` section of the configuration."""

    @property
    def key(self) -> SecretStr | None: ...
    @property
    def retention_days(self) -> int: ...
    @property
    def checkpoint_file(self) -> Path | None: ...


class SettingsLike(Protocol):
    @property
    def ledger_url(self) -> str: ...
    @property
    def audit(self) -> AuditSettingsLike: ...


def audit_key(settings: SettingsLike) -> AuditKey | None:
    """The configured chain key, or None when ``audit.key`` is unset; raises ``AuditError`` when too short."""
    secret = settings.audit.key
    return AuditKey(secret.get_secret_value()) if secret is not None and secret.get_secret_value() else None


def _key_or_message(settings: SettingsLike) -> AuditKey | str:
    try:
        key = audit_key(settings)
    except AuditError as error:
        return str(error)
    if key is None:
        return "audit.key is not set: export SESAME_AUDIT_KEY (the key the trail was written with)"
    return key


def verify_command(settings: SettingsLike, *, now: datetime | None = None) -> tuple[int, str]:
    """Recompute the chain; when it holds and ``audit.checkpoint_file`` is set, append a signed checkpoint."""
    key = _key_or_message(settings)
    if isinstance(key, str):
        return MISCONFIGURED, key
    ledger = Ledger(settings.ledger_url)
    try:
        checkpoints = settings.audit.checkpoint_file
        report = verify(ledger.engine, key, checkpoint_file=checkpoints)
        span = f"seq {report.first_seq}..{report.head_seq}" if report.first_seq is not None else "no record"
        if not report.ok:
            lines = [f"audit trail BROKEN: {len(report.problems)} problem(s) in {report.checked} record(s) ({span})"]
            return BROKEN, "\n".join([*lines, *(f"  - {problem}" for problem in report.problems)])
        text = f"audit trail OK: {report.checked} record(s) checked ({span}), head {report.head_hash[:16]}"
        if checkpoints is not None:
            checkpoint = write_checkpoint(ledger.engine, key, checkpoints, now=now)
            text += f"\ncheckpoint appended to {checkpoints} (seq {checkpoint.seq}, {checkpoint.at})"
        return OK, text
    finally:
        ledger.engine.dispose()


def export_command(
    settings: SettingsLike, since: datetime | None, until: datetime | None, output: Path | None
) -> tuple[int, str]:
    """Write the records with ``since <= at < until`` as JSON lines to ``output`` (standard output if None)."""
    ledger = Ledger(settings.ledger_url)
    try:
        if output is None:
            count = export(ledger.engine, since, until, sys.stdout)
        else:
            output.parent.mkdir(parents=True, exist_ok=True)
            with output.open("w", encoding="utf-8") as out:
                count = export(ledger.engine, since, until, out)
        return OK, f"{count} audit record(s) exported to {output or 'standard output'}"
    finally:
        ledger.engine.dispose()


def purge_command(settings: SettingsLike, *, now: datetime | None = None) -> tuple[int, str]:
    """Apply ``audit.retention_days``: verify, anchor, delete the older records."""
    key = _key_or_message(settings)
    if isinstance(key, str):
        return MISCONFIGURED, key
    ledger = Ledger(settings.ledger_url)
    try:
        report = purge_older_than(ledger.engine, key, settings.audit.retention_days, now=now)
    except AuditError as error:
        return BROKEN, str(error)
    finally:
        ledger.engine.dispose()
    if report.through is None:
        return OK, f"nothing older than {settings.audit.retention_days} days to purge"
    return OK, f"{report.purged} audit record(s) purged through seq {report.through}; an anchor keeps the chain"
