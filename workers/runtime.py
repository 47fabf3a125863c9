"""Start-up of one worker process: configuration -> logging -> connectors -> playbooks -> handler, once."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
import structlog

from automations.handling import DeskPolicy, RequestHandler
from automations.ledger import Ledger
from automations.playbooks import PlaybookError, load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.playbooks.journal import ledger_journal
from automations.playbooks.library import PlaybookLibrary
from automations.registry import PartnerRegistry, RegistryError
from automations.replies import Templates
from automations.request import Request
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.gate import TrustChecks
from automations.trust.spray import SprayDetector
from automations.understanding import UnknownUnderstanderError, get_understander
from connectors.directory import Directory
from connectors.errors import ConnectorError
from connectors.mailbox import Mailbox
from connectors.messaging import SmsGateway
from connectors.resilience import RetryPolicy
from connectors.servicenow import ServiceNowTickets
from connectors.tickets import TicketSystem
from workers.config import ConfigError, Settings
from workers.leases import renew_lease

if TYPE_CHECKING:
    from connectors.entra import EntraIdentities
    from connectors.intune import IntuneDevices


log = structlog.get_logger(__name__)


class StartupError(RuntimeError):
    """The fleet cannot start: a playbook, the registry or the configuration is unusable; the message says which."""


@dataclass
class Fleet:
    """Everything a worker process needs, built once and shared by its threads."""

    settings: Settings
    ledger: Ledger
    mailbox: Mailbox
    tickets: TicketSystem
    directory: Directory
    handler: RequestHandler
    # The playbook files, reloaded at the start of each request when they changed (None: fixed set).
    library: PlaybookLibrary | None = None

    def refresh_playbooks(self) -> None:
        """Use the playbooks as the files are now; a broken file keeps the previous good set (logged)."""
        if self.library is not None:
            self.handler.playbooks = self.library.current()

    def close(self) -> None:
        """Release every connection."""
        for connector in (self.mailbox, self.tickets, self.directory):
            connector.close()
        for cloud in (self.handler.identities, self.handler.devices):
            if cloud is not None:
                cloud.close()
        self.ledger.engine.dispose()


def configure_logging(level: str) -> None:
    """JSON-ish key=value logs on stderr; the connectors never pass secrets to them."""
    logging.basicConfig(level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def build_directory(settings: Settings) -> Directory:
    """The configured directory connector."""
    conf = settings.directory
    ca_file = str(conf.ca_file) if conf.ca_file else None
    if conf.kind == "sandbox":
        from connectors.directory.sandbox import SandboxDirectory

        return SandboxDirectory(conf.url, conf.bind_dn, conf.password.get_secret_value(), ca_file=ca_file,
                                timeout=conf.timeout_seconds)
    from connectors.directory.ad import ActiveDirectory

    if not conf.base_dn:
        raise ConfigError("directory.base_dn: required for kind 'ldap' — e.g. DC=agence,DC=local")
    return ActiveDirectory(conf.url, conf.bind_dn, conf.password.get_secret_value(), conf.base_dn,
                           ca_file=ca_file, tls_server_name=conf.tls_server_name, timeout=conf.timeout_seconds)


def build_fleet(settings: Settings) -> Fleet:
    """Create the connectors and the request handler from validated settings; ``StartupError`` says what is wrong."""
    try:
        return _build_fleet(settings)
    except (PlaybookError, RegistryError, ConfigError, UnknownUnderstanderError, ConnectorError, ValueError) as error:
        raise StartupError(f"cannot start the fleet: {error}") from error


def build_mailbox(settings: Settings) -> Mailbox:
    """The configured mailbox connector: Exchange Online through Graph, or IMAP/SMTP."""
    address = settings.mailbox.address
    if settings.mailbox.kind == "imap":
        from connectors.imap_mail import ImapMailbox

        imap = settings.imap
        assert imap is not None  # load_settings guarantees the section for this kind
        return ImapMailbox(imap_host=imap.host, imap_port=imap.port, smtp_host=imap.smtp_host,
                           smtp_port=imap.smtp_port, user=imap.user, password=imap.password.get_secret_value(),
                           address=address, use_tls=imap.use_tls, ca_file=str(imap.ca_file) if imap.ca_file else None,
                           timeout=imap.timeout_seconds, folder=imap.folder, sent_folder=imap.sent_folder,
                           idle=imap.idle, poll_seconds=imap.poll_seconds)
    from connectors.graph_mail import GraphMailbox, ProcessedMarking, RedisDeltaState

    graph = settings.graph
    assert graph is not None
    # The delta link and recent Message-IDs live in Redis when the fleet has it, so every worker shares them.
    redis_client = _redis(settings)
    return GraphMailbox(**_graph_connection(settings), mailbox=address,
                        processed=ProcessedMarking(category=graph.mail_processed_category,
                                                   move_to=graph.mail_processed_move_to,
                                                   mark_read=graph.mail_mark_read),
                        state=RedisDeltaState(redis_client) if redis_client is not None else None)


def _redis(settings: Settings) -> redis.Redis | None:
    return redis.Redis.from_url(settings.broker_url) if settings.broker_url.startswith("redis") else None


def _graph_connection(settings: Settings) -> dict[str, Any]:
    graph = settings.graph
    assert graph is not None
    return {"graph_url": graph.url, "authority": graph.authority, "tenant": graph.tenant,
            "client_id": graph.client_id, "client_secret": graph.client_secret.get_secret_value(),
            "ca_file": str(graph.ca_file) if graph.ca_file else None, "timeout": graph.timeout_seconds,
            "policy": RetryPolicy(attempts=graph.retry_attempts, deadline=graph.retry_deadline_seconds)}


def build_entra(settings: Settings) -> EntraIdentities:
    """The Entra ID connector over the ``graph`` section."""
    from connectors.entra import EntraIdentities

    return EntraIdentities.connect(**_graph_connection(settings))


def build_identities(settings: Settings) -> EntraIdentities | None:
    """Entra ID for the checks of playbook runs (roles active or eligible, SSPR registration), or None without a
    ``graph`` section or with ``graph.entra_checks`` off."""
    graph = settings.graph
    if graph is None or not graph.entra_checks:
        return None
    from connectors.entra import DEFAULT_FEATURES, EntraIdentities

    features = DEFAULT_FEATURES | ({"sspr_registration"} if graph.entra_sspr_registration else set())
    return EntraIdentities.connect(**_graph_connection(settings), features=features)


def build_intune(settings: Settings) -> IntuneDevices:
    """The Intune connector over the ``graph`` section."""
    from connectors.intune import IntuneDevices

    return IntuneDevices.connect(**_graph_connection(settings))


def build_sms_gateway(settings: Settings) -> SmsGateway | None:
    """The configured SMS gateway, or None when the ``sms`` section is absent."""
    sms = settings.sms
    if sms is None:
        return None
    from connectors.sms import HttpSmsGateway, SmsAuth

    return HttpSmsGateway(
        sms.url,
        auth=SmsAuth(sms.auth_scheme, sms.api_key.get_secret_value(), user=sms.auth_user or "", header=sms.auth_header),
        body_template=sms.body_template, sender=sms.sender, check_url=sms.check_url,
        id_field=sms.id_field, status_field=sms.status_field,
        ca_file=str(sms.ca_file) if sms.ca_file else None, timeout=sms.timeout_seconds,
    )


def build_tickets(settings: Settings) -> ServiceNowTickets:
    """The ServiceNow connector; claims and queue de-duplication use Redis when the broker is Redis."""
    from connectors.servicenow import ServiceNowTickets

    sn, desk = settings.servicenow, settings.desk
    redis_client = _redis(settings)
    return ServiceNowTickets(
        sn.url, sn.user, sn.password.get_secret_value(), ca_file=str(sn.ca_file) if sn.ca_file else None,
        timeout=sn.timeout_seconds, policy=RetryPolicy(attempts=sn.retry_attempts, deadline=sn.retry_deadline_seconds),
        redis_client=redis_client, assignment_groups=[desk.automation_group, desk.human_group],
        claim_ttl_seconds=sn.claim_ttl_seconds, overlap_seconds=sn.poll_overlap_seconds, poll_limit=sn.poll_limit,
        lookup_ttl_seconds=sn.lookup_ttl_seconds,
    )


def build_trust(settings: Settings, registry: PartnerRegistry) -> TrustChecks:
    """The trust checks of the ``trust`` section; the Redis-backed ones need a Redis (``trust.redis_url`` or broker)."""
    from automations.trust.collective import CollectiveDetector
    from automations.trust.killswitch import KillSwitch
    from automations.trust.limits import DEFAULT_LIMITS, Limit, RateLimits
    from automations.trust.replay import MemoryReplayGuard, ReplayGuard
    from automations.trust.sender import SenderPolicy, protected_domains
    from workers.pause import kill_switch_url, trust_redis

    conf = settings.trust
    policy = None
    if conf.verify_sender:
        policy = SenderPolicy(frozenset(i.lower() for i in conf.authserv_ids),
                              max_age_seconds=conf.max_message_age_seconds,
                              protected_domains=protected_domains(registry))
    checks = TrustChecks(sender_policy=policy, max_targets=conf.max_targets)
    url = kill_switch_url(settings)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        # One process with the in-memory broker (the demo without Redis): nothing is shared, nothing to pause.
        checks.replay_guard = MemoryReplayGuard()
        return checks
    client = trust_redis(url)
    limits = [Limit(**limit.model_dump()) for limit in conf.rate_limits] if conf.rate_limits is not None else None
    checks.replay_guard = ReplayGuard(client)
    checks.rate_limits = RateLimits(client, limits if limits is not None else DEFAULT_LIMITS)
    checks.kill_switch = KillSwitch(client)
    checks.collective = CollectiveDetector(client, conf.collective_threshold, conf.collective_window_seconds)
    return checks


def build_ledger(settings: Settings) -> Ledger:
    """The ledger, keeping hash-chained audit records when ``audit.key`` is set."""
    from automations import audit
    from workers.audit_cli import audit_key

    key = audit_key(settings)
    ledger = Ledger(settings.ledger_url, audit_key=key)
    if key is not None and not audit.key_matches(ledger.engine, key):
        raise ConfigError("audit.key: not the key this ledger's audit trail was written with — restore the right "
                          "SESAME_AUDIT_KEY (a chain cannot continue under another key)")
    if key is None:
        log.warning("audit.disabled", hint="set audit.key (SESAME_AUDIT_KEY) to keep tamper-evident records")
    return ledger


def build_exclusion_policy(settings: Settings) -> ExclusionPolicy:
    """Who is never automated, on top of the built-in rules (protected groups, adminCount, SPNs…)."""
    conf = settings.trust
    return ExclusionPolicy(protected_groups=frozenset(conf.protected_groups), vip_accounts=frozenset(conf.vip_accounts),
                           service_name_patterns=tuple(conf.service_account_patterns), recent_days=conf.recent_days,
                           dormant_days=conf.dormant_days)


def build_spray_detector(settings: Settings) -> SprayDetector:
    """Lockouts seen by every worker (Redis) or by this process alone (in-memory broker)."""
    from automations.trust.spray import MemoryLockoutStore, RedisLockoutStore
    from workers.pause import kill_switch_url, trust_redis

    url = kill_switch_url(settings)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return SprayDetector(RedisLockoutStore(trust_redis(url)))
    return SprayDetector(MemoryLockoutStore())


def _build_fleet(settings: Settings) -> Fleet:
    tickets = build_tickets(settings)
    mailbox = build_mailbox(settings)
    directory = build_directory(settings)
    ledger = build_ledger(settings)
    desk = settings.desk

    def respond(request: Request, text: str) -> None:
        mailbox.reply(request.source_id, text, to=request.sender_address)

    registry = PartnerRegistry.load(settings.partners_file)
    trust = build_trust(settings, registry)
    library = PlaybookLibrary(settings.playbooks_dir,
                              lambda: load_playbooks(settings.playbooks_dir, frozenset(ACTIONS)))
    handler = RequestHandler(
        tickets=tickets, directory=directory, ledger=ledger, registry=registry, trust=trust,
        sms=build_sms_gateway(settings), exclusion_policy=build_exclusion_policy(settings),
        spray=build_spray_detector(settings),
        understander=get_understander(settings.understander),
        playbooks=library.playbooks, journal=ledger_journal(ledger, renew=renew_lease(ledger)),
        templates=Templates(settings.playbooks_dir),
        desk=DeskPolicy(automation_group=desk.automation_group, human_group=desk.human_group,
                        close_code=desk.close_code, kb_article=desk.kb_article, automation_tag=desk.automation_tag,
                        automation_user=settings.servicenow.user),
        respond=respond, identities=build_identities(settings),
        # Intune for the device playbooks (shipped off); its connector only calls Graph when a step uses it.
        devices=build_intune(settings) if settings.graph is not None else None,
    )
    return Fleet(settings, ledger, mailbox, tickets, directory, handler, library)


_fleet: Fleet | None = None
_lock = threading.Lock()


def current_fleet(settings: Settings) -> Fleet:
    """This process's fleet, built on first use (threads of the pool share it)."""
    global _fleet
    with _lock:
        if _fleet is None:
            _fleet = build_fleet(settings)
        return _fleet


def reset_fleet() -> None:
    """Close and forget this process's fleet (end of ``sesame run``)."""
    global _fleet
    with _lock:
        if _fleet is not None:
            _fleet.close()
        _fleet = None
