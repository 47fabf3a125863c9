"""Sésame's configuration: one YAML file, environment overrides for secrets, validated at start.

Every key has its default and its documentation here; ``docs/configuration.md`` is generated from this model
(``sesame config reference``). Any key can be overridden by ``SESAME_<SECTION>_<KEY>`` (upper case), which is
how secrets should reach production: ``SESAME_SERVICENOW_PASSWORD``, ``SESAME_GRAPH_CLIENT_SECRET``,
``SESAME_DIRECTORY_PASSWORD``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLAYBOOKS = PACKAGE_ROOT / "playbooks"
ENV_PREFIX = "SESAME_"


class ConfigError(ValueError):
    """The configuration is unusable; the message names the key and how to fix it."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceNowSettings(Section):
    """The ServiceNow instance (Table API through pysnc)."""

    url: str = Field(description="Instance URL, https only, e.g. https://agence.service-now.com")
    user: str = Field(description="Integration user name (roles: itil or a custom role, never admin)")
    password: SecretStr = Field(description="Integration user password; set SESAME_SERVICENOW_PASSWORD")
    ca_file: Path | None = Field(None, description="PEM file of the CA to trust instead of the system's")
    timeout_seconds: float = Field(30.0, gt=0, description="Timeout of every call")
    retry_attempts: int = Field(4, ge=1, le=20, description="Attempts of a call on transient or throttled errors")
    retry_deadline_seconds: float = Field(60.0, gt=0, description="Give up a call (all attempts) after this long")
    claim_ttl_seconds: float = Field(300.0, gt=0, description="Lease of a worker's claim on a queued ticket")
    poll_overlap_seconds: float = Field(5.0, ge=0, description="Overlap of queue polls on sys_updated_on")
    poll_limit: int = Field(100, gt=0, le=1000, description="Tickets read per queue poll")
    lookup_ttl_seconds: float = Field(3600.0, ge=0, description="Cache of groups, close codes, KB articles, tags")

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must start with https:// (pysnc refuses plain http)")
        return value.rstrip("/")


class GraphSettings(Section):
    """Microsoft Graph (Exchange Online mailbox; Entra ID and Intune later) through msgraph-sdk."""

    url: str = Field("https://graph.microsoft.com/v1.0", description="Graph base URL, ending in /v1.0")
    authority: str = Field("https://login.microsoftonline.com", description="Identity platform authority")
    tenant: str = Field(description="Tenant id or domain")
    client_id: str = Field(description="Application (client) id of Sésame's app registration")
    client_secret: SecretStr = Field(description="Client secret; set SESAME_GRAPH_CLIENT_SECRET")
    ca_file: Path | None = Field(None, description="PEM file of the CA to trust instead of the system's")
    timeout_seconds: float = Field(30.0, gt=0, description="Timeout of every call")
    retry_attempts: int = Field(4, ge=1, le=20, description="Attempts of a call on transient or throttled errors")
    retry_deadline_seconds: float = Field(120.0, gt=0, description="Give up a call (all attempts) after this long")
    mail_processed_category: str | None = Field("Sésame", description="Category put on handled messages (or null)")
    mail_processed_move_to: str | None = Field(None, description="Folder handled messages are moved to (or null)")
    mail_mark_read: bool = Field(True, description="Mark handled messages read")
    entra_checks: bool = Field(True, description="Read each target's Entra user before acting: roles active or "
                               "eligible exclude it (User.Read.All, RoleManagement.Read.Directory)")
    entra_sspr_registration: bool = Field(False, description="Also read SSPR registration (AuditLog.Read.All): a "
                                          "registered user gets the self-service link instead of a reset")


class ImapSettings(Section):
    """A plain IMAP/SMTP mailbox (mailbox.kind 'imap'), for organisations without Exchange Online."""

    host: str = Field(description="IMAP server host")
    port: int = Field(993, gt=0, lt=65536, description="IMAP port (993 = IMAPS)")
    smtp_host: str = Field(description="SMTP server host for replies")
    smtp_port: int = Field(587, gt=0, lt=65536, description="SMTP port (587 = submission with STARTTLS)")
    user: str = Field(description="Login of the shared mailbox")
    password: SecretStr = Field(description="Its password; set SESAME_IMAP_PASSWORD")
    use_tls: bool = Field(True, description="IMAPS and SMTP STARTTLS; false only for a loopback sandbox")
    ca_file: Path | None = Field(None, description="PEM file of the CA to trust instead of the system's")
    folder: str = Field("INBOX", description="Folder polled for requests")
    idle: bool = Field(True, description="Wait for new mail with IMAP IDLE when the server offers it")
    poll_seconds: float = Field(10.0, gt=0, description="Polling interval when IDLE is not available")
    sent_folder: str = Field("Sent", description="Folder a copy of each reply is saved to")
    timeout_seconds: float = Field(30.0, gt=0, description="Timeout of every call")


class MailboxSettings(Section):
    """The shared mailbox partners write to."""

    kind: Literal["graph", "imap"] = Field(
        "graph", description="'graph' = Exchange Online via Microsoft Graph; 'imap' = IMAP/SMTP (section imap)"
    )
    address: str = Field(description="Address of the shared mailbox")
    poll_interval_seconds: float = Field(10.0, gt=0, description="Seconds between two polls of the inbox")
    batch_size: int = Field(50, gt=0, le=1000, description="Messages taken per poll at most")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("must be an e-mail address")
        return value.lower()


class DirectorySettings(Section):
    """The directory accounts live in: Active Directory over LDAPS, or the sandbox's emulator."""

    kind: Literal["ldap", "sandbox"] = Field("ldap", description="'ldap' = Active Directory; 'sandbox' = emulator")
    url: str = Field(description="ldaps://host:636 (or ldap://host with StartTLS); sandbox: https URL")
    bind_dn: str = Field(description="Service account, e.g. svc-sesame@agence.local")
    password: SecretStr = Field(description="Service account password; set SESAME_DIRECTORY_PASSWORD")
    base_dn: str | None = Field(None, description="Search base, e.g. DC=agence,DC=local (ldap only)")
    ca_file: Path | None = Field(None, description="CA that signed the DC certificate; without it TLS is unverified")
    tls_server_name: str | None = Field(None, description="Name expected in the DC certificate, if not the host")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of every call")


class SmsSettings(Section):
    """The SMS gateway for the out-of-band half of temporary passwords (a generic HTTP JSON API)."""

    url: str = Field(description="Send endpoint (POST), https, e.g. https://sms.example.com/v1/messages")
    auth_scheme: Literal["bearer", "basic", "header"] = Field("bearer", description="How the key is sent")
    api_key: SecretStr = Field(description="Gateway API key (basic: the password); set SESAME_SMS_API_KEY")
    auth_user: str | None = Field(None, description="User name for auth_scheme 'basic'")
    auth_header: str = Field("X-API-Key", description="Header name for auth_scheme 'header'")
    body_template: str = Field('{"to": "{to}", "text": "{text}", "from": "{sender}"}',
                               description="JSON body; placeholders {to}, {text}, {sender} only")
    sender: str = Field("SESAME", description="Sender id or number")
    check_url: str | None = Field(None, description="Harmless GET used by sesame doctor to verify the key")
    id_field: str = Field("id", description="Dotted path of the message id in the gateway's answer")
    status_field: str = Field("status", description="Dotted path of the status in the gateway's answer")
    ca_file: Path | None = Field(None, description="PEM file of the CA to trust instead of the system's")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of every call")


class RateLimitSetting(Section):
    """One sliding-window limit (security note, RATE table)."""

    scope: Literal["target", "correspondent", "partner", "global"]
    action: str = Field(description="unlock, reset, or * for every action")
    count: int = Field(gt=0)
    window_seconds: int = Field(gt=0)
    alert: bool = False


class TrustSettings(Section):
    """Who may ask, for whom, how often — and the switch that stops every directory write."""

    verify_sender: bool = Field(True, description="Check Authentication-Results, DMARC/DKIM alignment, From/Sender")
    authserv_ids: list[str] = Field(default_factory=list,
                                    description="authserv-id of the organisation's own receiving mail servers")
    max_message_age_seconds: int = Field(86400, gt=0, description="Older Date headers are replays")
    max_targets: int = Field(5, gt=0, description="More accounts than this in one message go to a person")
    redis_url: str | None = Field(None, description="Redis for kill switch, limits, bursts, replays (default broker)")
    rate_limits: list[RateLimitSetting] | None = Field(None, description="Sliding-window limits (default: security.md)")
    collective_threshold: int = Field(10, gt=1, description="Similar requests that make a collective incident")
    collective_window_seconds: int = Field(3600, gt=0, description="Window of the collective-incident count")
    protected_groups: list[str] = Field(default_factory=list, description="Groups whose members are never automated")
    vip_accounts: list[str] = Field(default_factory=list, description="sAMAccountNames never automated")
    service_account_patterns: list[str] = Field(["^svc-", "^adm-", "^srv-"],
                                                description="Regexes of service/admin account names")
    recent_days: int = Field(7, ge=0, description="Accounts created or changed more recently go to a person")
    dormant_days: int = Field(180, gt=0, description="Accounts without logon for longer go to a person")

    @model_validator(mode="after")
    def _ids_when_verifying(self) -> TrustSettings:
        if self.verify_sender and not self.authserv_ids:
            raise ValueError("authserv_ids is empty while verify_sender is true: list the authserv-id your receiving "
                             "mail server writes in Authentication-Results (or set verify_sender: false)")
        return self


class AuditSettings(Section):
    """The tamper-evident decision records."""

    key: SecretStr | None = Field(None, description="HMAC key of the audit hash chain, 32+ random characters "
                                  "(openssl rand -hex 32); set SESAME_AUDIT_KEY. Without it no audit record is kept")
    retention_days: int = Field(365, ge=1, le=1095, description="Records older than this are purged by `sesame audit "
                                "purge`, the chain anchored (CNIL: 6–12 months; up to 3 years if justified)")
    checkpoint_file: Path | None = Field(None, description="JSON-lines file on WORM storage; each successful "
                                         "`sesame audit verify` appends a signed checkpoint (head, count, time)")


class DeskSettings(Section):
    """How the service desk is organised in ServiceNow and how the automation closes tickets."""

    automation_group: str = Field("Sésame Automatisation", description="Assignment group of the automation")
    human_group: str = Field("Service Desk N1", description="Level-1 group that receives hand-overs")
    close_code: str = Field("Résolution définitive", description="Close code of automated resolutions")
    kb_article: str | None = Field("KB0010001", description="Knowledge article linked to automated unlocks")
    automation_tag: str = Field("UO-TR1.1", description="Tag that counts a ticket for the automation bonus")
    service_desk_groups: list[str] = Field(default_factory=list, description="Assignment groups whose requests are "
                                           "the rate's denominator (empty: automation_group and human_group)")
    service_desk_tables: list[Literal["incident", "sc_req_item"]] = Field(
        ["incident"], min_length=1, description="ServiceNow tables counted as service-desk requests")

    @property
    def desk_groups(self) -> list[str]:
        """The groups counted for the denominator: the configured ones, else the automation's and the humans'."""
        return self.service_desk_groups or [self.automation_group, self.human_group]


class ContractSettings(Section):
    """The contract: UO-TR1.1 bonus bands (§7.3.3.4.5), contract years, SLA calendars (§4.1; docs/reporting.md)."""

    anniversary: date | None = Field(None, description="Start date of the contract; each anniversary opens a new "
                                     "contract year (bonus, GSP04 treatment times). Unset: contract years unknown")
    unit_price: Decimal | None = Field(None, ge=0, description="Price of one UO-TR1.1 (EUR excl. VAT) used by "
                                       "`sesame report bonus` when --unit-price is not given")
    bonus_low_from_pct: Decimal = Field(Decimal(30), ge=0, le=100, description="Lower band starts (rate %)")
    bonus_low_to_pct: Decimal = Field(Decimal(49), ge=0, le=100, description="Lower band ends (rate %)")
    bonus_low_pct: Decimal = Field(Decimal(10), ge=0, description="Bonus of the lower band (% of the UO price)")
    bonus_high_from_pct: Decimal = Field(Decimal(50), ge=0, le=100, description="Upper band starts (rate %)")
    bonus_high_pct: Decimal = Field(Decimal(15), ge=0, description="Bonus of the upper band (% of the UO price)")
    saturday_hours: str | None = Field(None, description="Saturday opening of every SLA calendar, 'HH:MM-HH:MM' "
                                       "(tender: 08:00-18:00 on request); unset: Saturdays closed")
    saturday_dates: list[date] = Field(default_factory=list, description="Only these Saturdays open (empty: every "
                                       "Saturday when saturday_hours is set; dates alone open 08:00-18:00)")
    closed_dates: list[date] = Field(default_factory=list, description="Extra closing days of every SLA calendar "
                                     "(e.g. Good Friday for Alsace-Moselle)")
    drom_local_holidays: bool = Field(False, description="Close a DROM calendar's HNO hours on its territories' "
                                      "abolition-of-slavery days")

    @field_validator("saturday_hours")
    @classmethod
    def _saturday_range(cls, value: str | None) -> str | None:
        from automations.sla.calendars import CalendarError, parse_range

        if value is not None:
            try:
                parse_range(value)
            except CalendarError as error:
                raise ValueError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _bands_in_order(self) -> ContractSettings:
        if not self.bonus_low_from_pct < self.bonus_low_to_pct <= self.bonus_high_from_pct < 100:
            raise ValueError("bonus bands must satisfy bonus_low_from_pct < bonus_low_to_pct <= bonus_high_from_pct "
                             "< 100")
        return self


class DashboardSettings(Section):
    """The managers' dashboard (`sesame dashboard`): sign-in, refresh, links to ServiceNow (docs/runbook.md)."""

    oidc_issuer: str | None = Field(None, description="OpenID Connect issuer of the customer's identity provider, "
                                    "e.g. https://login.microsoftonline.com/<tenant>/v2.0 (Entra ID). Unset: no OIDC")
    oidc_client_id: str | None = Field(None, description="Client id of the dashboard's app registration")
    oidc_client_secret: SecretStr | None = Field(None, description="Its client secret; set "
                                                 "SESAME_DASHBOARD_OIDC_CLIENT_SECRET")
    oidc_allowed_groups: list[str] = Field(default_factory=list, description="Group object ids or app role names "
                                           "(claims `groups`, `roles`) allowed in; required with OIDC")
    oidc_scopes: str = Field("openid profile email", description="Scopes asked for at sign-in")
    public_url: str | None = Field(None, description="External base URL of the dashboard (behind a reverse proxy), "
                                   "used for the OIDC redirect URI; unset: the URL the browser used")
    local_accounts: bool = Field(False, description="Allow local accounts (local_accounts_file); keep off in "
                                 "production, where sign-in goes through the identity provider")
    local_accounts_file: Path | None = Field(None, description="Lines `user:scrypt$...` made by `sesame dashboard "
                                             "hash-password`")
    session_key: SecretStr | None = Field(None, description="Key signing session cookies, 32+ random characters; "
                                          "set SESAME_DASHBOARD_SESSION_KEY (unset: random, sessions end at restart)")
    session_max_age_seconds: int = Field(28800, gt=0, description="A sign-in lasts this long (time-limited access)")
    refresh_seconds: int = Field(30, ge=5, le=3600, description="The page refreshes its figures this often")
    metrics_token: SecretStr | None = Field(None, description="Bearer token Prometheus sends to /metrics; set "
                                            "SESAME_DASHBOARD_METRICS_TOKEN (unset: /metrics answers loopback only)")

    @model_validator(mode="after")
    def _oidc_complete(self) -> DashboardSettings:
        given = [self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret]
        if any(v is not None for v in given) and not all(v is not None for v in given):
            raise ValueError("OpenID Connect needs oidc_issuer, oidc_client_id and oidc_client_secret together")
        if self.oidc_issuer is not None and not self.oidc_issuer.startswith(
                ("https://", "http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
            raise ValueError("oidc_issuer must be an https URL (plain http only for a loopback test identity provider)")
        if self.oidc_issuer is not None and not self.oidc_allowed_groups:
            raise ValueError("oidc_allowed_groups is empty: list the groups or roles allowed to see the dashboard")
        if self.local_accounts and self.local_accounts_file is None:
            raise ValueError("local_accounts is true but local_accounts_file is not set")
        return self


class Settings(Section):
    """The whole configuration of one Sésame deployment."""

    servicenow: ServiceNowSettings
    graph: GraphSettings | None = None
    imap: ImapSettings | None = None
    mailbox: MailboxSettings
    directory: DirectorySettings
    sms: SmsSettings | None = None
    trust: TrustSettings
    audit: AuditSettings = AuditSettings()
    desk: DeskSettings = DeskSettings()
    contract: ContractSettings = ContractSettings()
    dashboard: DashboardSettings = DashboardSettings()
    partners_file: Path = Field(description="Registry of partner organisations (JSON or YAML list)")
    playbooks_dir: Path = Field(DEFAULT_PLAYBOOKS, description="Directory of YAML playbooks and templates")
    broker_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Celery broker; 'memory://' runs the fleet in one process"
    )
    ledger_url: str = Field("sqlite:///sesame-ledger.db", description="SQLAlchemy URL of the ledger")
    understander: str = Field("rules+model", description="Request-understanding backend")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level")


SECTIONS = ("servicenow", "graph", "imap", "mailbox", "directory", "sms", "trust", "audit", "desk", "contract",
            "dashboard")


def _env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key == "config":
            continue
        section = next((s for s in SECTIONS if key.startswith(s + "_")), None)
        if section is None:
            data[key] = value
        else:
            data.setdefault(section, {})
            if not isinstance(data[section], dict):
                raise ConfigError(f"{section}: must be a mapping of keys")
            data[section][key[len(section) + 1 :]] = value


def _resolve_relative(settings: Settings, base: Path) -> Settings:
    """Paths in the file are relative to the file, so a config can be moved with its registry."""

    def fix(path: Path | None) -> Path | None:
        return path if path is None or path.is_absolute() else (base / path).resolve()

    settings.partners_file = fix(settings.partners_file) or settings.partners_file
    settings.playbooks_dir = fix(settings.playbooks_dir) or settings.playbooks_dir
    settings.servicenow.ca_file = fix(settings.servicenow.ca_file)
    if settings.graph is not None:
        settings.graph.ca_file = fix(settings.graph.ca_file)
    if settings.imap is not None:
        settings.imap.ca_file = fix(settings.imap.ca_file)
    if settings.sms is not None:
        settings.sms.ca_file = fix(settings.sms.ca_file)
    settings.audit.checkpoint_file = fix(settings.audit.checkpoint_file)
    settings.directory.ca_file = fix(settings.directory.ca_file)
    settings.dashboard.local_accounts_file = fix(settings.dashboard.local_accounts_file)
    return settings


def _hint(location: str, message: str) -> str:
    env = ENV_PREFIX + location.replace(".", "_").upper()
    return f"{location}: {message} — set it in the file or export {env}"


def load_settings(path: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override from the environment and validate; raise ``ConfigError`` naming the key and the fix."""
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration file not found (see docs/configuration.md)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the top level must be a mapping of sections")
    _env_overrides(raw, os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            location = ".".join(str(p) for p in error["loc"])
            if error["type"] == "missing" and location in SECTIONS:
                lines.append(f"{location}: required section is missing — add a '{location}:' mapping")
            elif error["type"] == "missing":
                lines.append(_hint(location, "required key is missing"))
            elif error["type"] == "extra_forbidden":
                lines.append(f"{location}: unknown key — check its spelling in docs/configuration.md")
            else:
                lines.append(f"{location}: {error['msg']}")
        raise ConfigError(f"{file}: invalid configuration\n  " + "\n  ".join(lines)) from None
    settings = _resolve_relative(settings, file.resolve().parent)
    needed = {"graph": settings.graph, "imap": settings.imap}[settings.mailbox.kind]
    if needed is None:
        kind = settings.mailbox.kind
        raise ConfigError(f"{file}: mailbox.kind is {kind!r} but the '{kind}:' section is missing — add it")
    if not settings.partners_file.is_file():
        raise ConfigError(f"partners_file: {settings.partners_file} does not exist")
    if not settings.playbooks_dir.is_dir():
        raise ConfigError(f"playbooks_dir: {settings.playbooks_dir} is not a directory")
    return settings


def masked(settings: Settings) -> dict[str, Any]:
    """The effective configuration as plain data, every secret replaced by a mask."""
    data = settings.model_dump(mode="json")
    for section in SECTIONS:
        if settings.__dict__[section] is None:
            continue
        for key, value in settings.__dict__[section].__dict__.items():
            if isinstance(value, SecretStr):
                data[section][key] = "********" if value.get_secret_value() else ""
    return data


def reference_markdown() -> str:
    """The configuration reference for operators, generated from the model (``docs/configuration.md``)."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `sesame config reference > docs/configuration.md`; do not edit by hand. -->",
        "",
        "Sésame reads one YAML file (`--config FILE` or `$SESAME_CONFIG`). Any key can be overridden by an",
        "environment variable `SESAME_<SECTION>_<KEY>` in upper case (top-level keys: `SESAME_<KEY>`); secrets",
        "should only come that way in production. Relative paths are relative to the file.",
        "`sesame config check --config FILE` validates the file and prints the effective values, secrets masked.",
        "",
    ]

    def table(model: type[BaseModel], prefix: str) -> list[str]:
        rows = ["| key | default | environment | description |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            if name in SECTIONS:
                continue
            default = "*required*" if info.is_required() else f"`{info.get_default(call_default_factory=True)}`"
            if isinstance(info.default, BaseModel):
                default = "see section"
            elif isinstance(info.default, Path) and info.default.is_relative_to(PACKAGE_ROOT):
                default = f"`{info.default.relative_to(PACKAGE_ROOT)}/` (shipped)"
            env = ENV_PREFIX + (f"{prefix}_{name}" if prefix else name).upper()
            rows.append(f"| `{name}` | {default} | `{env}` | {info.description or ''} |")
        return rows

    lines += ["## Top level", "", *table(Settings, ""), ""]
    for section in SECTIONS:
        annotation = Settings.model_fields[section].annotation
        model = next(a for a in get_args(annotation) or (annotation,) if isinstance(a, type) and a is not type(None))
        assert issubclass(model, BaseModel)
        lines += [f"## `{section}`", "", (model.__doc__ or "").strip(), "", *table(model, section), ""]
    return "\n".join(lines)
