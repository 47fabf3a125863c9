"""``sesame sandbox up``: serve the emulators of one scenario on 127.0.0.1 and describe them in one JSON line.

ServiceNow (Table API), Microsoft Graph (token endpoint and mailbox) and the directory each get their own HTTPS
port, all signed by one CA generated into the state directory. Active Directory is a real Samba DC when this
machine can run one (root, packages installed, port 636 free); otherwise the directory emulator stands in for it.
State lives in the state directory: starting again on the same directory resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from sandbox.directory import DirectoryStore, build_directory_app
from sandbox.faults import FaultMiddleware, FaultPlan, GraphDialect
from sandbox.graph import MailboxStore, build_graph_app
from sandbox.graph.devices import DeviceStore
from sandbox.graph.entra_store import EntraStore
from sandbox.graph.permissions import GraphApp
from sandbox.https import BackgroundServer
from sandbox.mail import MailServers
from sandbox.request_log import RequestLog
from sandbox.request_log import RequestLogMiddleware as GraphRequestLog
from sandbox.samba import LDAPS_PORT, SambaDC, realm_from_ous, samba_unavailable_reason, seed_directory
from sandbox.samba_dc import port_in_use
from sandbox.samba_seed import create_bot_account
from sandbox.scenario import Scenario, delivered_now, load_scenario, receiving_authserv_ids
from sandbox.servicenow import AttachmentStore, OAuthClient, TableStore, build_app, seed_store
from sandbox.servicenow.faults import SERVICENOW
from sandbox.servicenow.loader import load_records, read_records_file
from sandbox.servicenow.request_log import RequestLogMiddleware as ServiceNowRequestLog
from sandbox.sms import SmsSink, build_sms_app
from sandbox.tls import TlsFiles, ensure_ca

AdMode = Literal["auto", "samba", "emulator"]
Store = TypeVar("Store")
BOT_USER = "sesame.bot"
TENANT = "sandbox.onmicrosoft.test"
CLIENT_ID = "00000000-5e5a-4e00-8000-000000000001"
SN_CLIENT_ID = "sesame-sandbox"
PID_FILE = "sandbox.pid"


def _app_secret_key(client_id: str) -> str:
    return f"graph_app_secret:{client_id}"


def _load_or(load: Callable[..., Store], path: Path, seed: Callable[[Path], Store]) -> Store:
    """The store saved at ``path`` when there is one (a restart resumes), else a fresh one seeded from the scenario."""
    return load(path, persist_to=path) if path.is_file() else seed(path)


class SandboxError(RuntimeError):
    """The sandbox cannot start; the message says why and what to do."""


def _private_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    path.chmod(0o600)


def _credentials(state: Path, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Sandbox credentials, made once per state directory so a restart keeps working configs."""
    path = state / "credentials.json"
    creds: dict[str, str] = dict(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else {}
    wanted = ("servicenow_password", "servicenow_client_secret", "graph_client_secret", "directory_password",
              "imap_password", "sms_api_key", "audit_key", *extra)
    missing = [name for name in wanted if name not in creds]
    for name in missing:
        creds[name] = secrets.token_urlsafe(24)
    if missing:
        _private_json(path, creds)
    return creds


@dataclass
class Sandbox:
    """The emulators of one scenario; ``start`` returns the description line, ``stop`` ends everything."""

    scenario_dir: Path
    state_dir: Path
    ad_mode: AdMode = "auto"
    ports: dict[str, int] = field(default_factory=dict)
    broker_url: str = "memory://"
    mailbox_kind: Literal["graph", "imap"] = "graph"
    fault_plan: FaultPlan = field(default_factory=FaultPlan)
    request_log: RequestLog = field(default_factory=RequestLog)
    graph_fault_plan: FaultPlan = field(default_factory=FaultPlan)
    graph_request_log: RequestLog = field(default_factory=RequestLog)
    # The directory emulator's calls (method and path only), also at GET {emulator}/__emu/requests.
    directory_request_log: RequestLog = field(default_factory=RequestLog)
    _servers: list[BackgroundServer] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _samba: SambaDC | None = None
    samba_skipped: str | None = None
    _audit_key: str = ""

    def start(self) -> dict[str, Any]:
        """Start every emulator and return the description (also written as ``sandbox.json`` in the state)."""
        # The sandbox plays the receiving mail server: the scenario's mail arrives now, its spacing kept.
        scenario = delivered_now(load_scenario(self.scenario_dir), datetime.now(UTC))
        state = self.state_dir.resolve()
        state.mkdir(parents=True, exist_ok=True)
        tls = ensure_ca(state)
        # Scenario app registrations without a secret get one, kept with the other sandbox credentials.
        creds = _credentials(state, tuple(_app_secret_key(a.client_id) for a in scenario.graph_apps
                                          if not a.client_secret and a.client_id != CLIENT_ID))
        try:
            return self._start(scenario, state, tls, creds)
        except BaseException:
            self.stop()
            raise

    def _start(self, scenario: Scenario, state: Path, tls: TlsFiles, creds: dict[str, str]) -> dict[str, Any]:
        tickets = (TableStore.load(state / "servicenow.sqlite") if (state / "servicenow.sqlite").is_file()
                   else self._seeded_tables(scenario, state))
        files = AttachmentStore(persist_to=state / "attachments.sqlite")
        self._closers += [tickets.close, files.close]
        oauth = OAuthClient(SN_CLIENT_ID, creds["servicenow_client_secret"], application_user=BOT_USER)
        sn_app = build_app(tickets, users={BOT_USER: creds["servicenow_password"]}, oauth_clients={SN_CLIENT_ID: oauth},
                           attachments=files)
        # Outermost the log (it sees injected faults too), then faults, then the instance itself.
        sn = self._serve(ServiceNowRequestLog(FaultMiddleware(sn_app, self.fault_plan, dialect=SERVICENOW),
                                              self.request_log), tls, "servicenow")
        mail = (MailboxStore.load(state / "mailbox.json", persist_to=state / "mailbox.json")
                if (state / "mailbox.json").is_file()
                else MailboxStore.from_scenario(scenario, persist_to=state / "mailbox.json"))
        entra = _load_or(EntraStore.load, state / "entra.json",
                         lambda path: EntraStore.from_scenario(scenario, domain=TENANT, persist_to=path))
        devices = _load_or(DeviceStore.load, state / "devices.json",
                           lambda path: DeviceStore.from_scenario(scenario, domain=TENANT, persist_to=path))
        # An entry for Sésame's own app narrows (or widens) its permissions and keeps its secret.
        apps = [GraphApp.of(a.client_id, a.permissions, a.client_secret or creds[
            "graph_client_secret" if a.client_id == CLIENT_ID else _app_secret_key(a.client_id)])
            for a in scenario.graph_apps]
        graph_app = build_graph_app(mail, tenant=TENANT, client_id=CLIENT_ID,
                                    client_secret=creds["graph_client_secret"], entra=entra, apps=apps, devices=devices)
        graph = self._serve(GraphRequestLog(FaultMiddleware(graph_app, self.graph_fault_plan, dialect=GraphDialect()),
                                            self.graph_request_log), tls, "graph")
        sms = self._serve(build_sms_app(SmsSink(persist_to=state / "sms.json"), api_key=creds["sms_api_key"]), tls,
                          "sms")
        mail_servers = MailServers(scenario, user=scenario.mailbox, password=creds["imap_password"], state_dir=state,
                                   tls=tls, imap_port=self.ports.get("imap", 0), smtp_port=self.ports.get("smtp", 0))
        self._closers.append(mail_servers.stop)
        imap = mail_servers.start()
        ad = self._start_samba(scenario, state) if self._want_samba() else None
        directory: dict[str, Any]
        directory_note: str | None = None
        directory_emulator: str | None = None
        if ad is not None:
            directory = {"kind": "ldap", **{k: ad[k] for k in ("url", "base_dn", "ca_file", "tls_server_name")},
                         **ad.pop("bot")}
        else:
            store = (DirectoryStore.load(state / "directory.json", persist_to=state / "directory.json")
                     if (state / "directory.json").is_file()
                     else DirectoryStore.from_scenario(scenario, persist_to=state / "directory.json"))
            app = Starlette(routes=[Mount("/ad", build_directory_app(
                store, bind_dn="svc-sesame", password=creds["directory_password"]))])
            emulator = self._serve(GraphRequestLog(app, self.directory_request_log), tls, "directory")
            directory_emulator = f"{emulator.url}/__emu"
            directory = {"kind": "sandbox", "url": f"{emulator.url}/ad", "bind_dn": "svc-sesame",
                         "password": creds["directory_password"], "ca_file": str(tls.ca_file)}
            # Said in the description (not in the config): why the emulator stands in for a real DC.
            directory_note = self.samba_skipped or "emulator requested (--ad emulator)"
        shutil.copyfile(self.scenario_dir / "partners.json", state / "partners.json")
        info = {
            "servicenow": {"url": sn.url, "user": BOT_USER, "password": creds["servicenow_password"],
                           "client_id": SN_CLIENT_ID, "client_secret": creds["servicenow_client_secret"],
                           "emulator": f"{sn.url}/__emu"},
            "graph": {"url": f"{graph.url}/v1.0", "authority": graph.url, "tenant": TENANT,
                      "client_id": CLIENT_ID, "client_secret": creds["graph_client_secret"],
                      "emulator": f"{graph.url}/__emu",
                      "apps": [{"client_id": a.client_id, "client_secret": a.secret,
                                "permissions": sorted(a.permissions)} for a in apps]},
            "mailbox": scenario.mailbox,
            "ad": ad,
            "directory": {k: v for k, v in directory.items() if k != "password"},
            "directory_note": directory_note,
            "directory_emulator": directory_emulator,
            "imap": {"host": imap.imap_host, "port": imap.imap_port, "user": imap.user, "password": imap.password,
                     "starttls": imap.starttls},
            "smtp": {"host": imap.smtp_host, "port": imap.smtp_port},
            "sms": {"url": f"{sms.url}/sms/v1", "api_key": creds["sms_api_key"]},
            "ca_file": str(tls.ca_file),
            "config": str(state / "sesame.yaml"),
            "state": str(state),
        }
        self._audit_key = creds["audit_key"]
        self._write_config(info, directory, state, tls, scenario)
        _private_json(state / "sandbox.json", info)
        (state / PID_FILE).write_text(str(os.getpid()), encoding="utf-8")
        return info

    def _seeded_tables(self, scenario: Scenario, state: Path) -> TableStore:
        store = TableStore(persist_to=state / "servicenow.sqlite")
        seed_store(store, scenario, bot_user=BOT_USER)
        return store

    def _serve(self, app: ASGIApp, tls: TlsFiles, name: str) -> BackgroundServer:
        server = BackgroundServer(app, certfile=tls.cert_file, keyfile=tls.key_file, port=self.ports.get(name, 0))
        server.start()
        self._servers.append(server)
        return server

    def _want_samba(self) -> bool:
        if self.ad_mode == "emulator":
            return False
        reason = samba_unavailable_reason() or (f"port {LDAPS_PORT} is already in use (another domain controller?)"
                                                if port_in_use(LDAPS_PORT) else None)
        if reason and self.ad_mode == "samba":
            raise SandboxError(f"cannot start Samba AD: {reason}; use --ad emulator")
        self.samba_skipped = reason
        return reason is None

    def _start_samba(self, scenario: Scenario, state: Path) -> dict[str, Any]:
        ous = [p.ou for p in scenario.partners] + [u.ou for u in scenario.users]
        dc = SambaDC(state / "samba", realm=realm_from_ous(ous))
        self._samba = dc
        fresh = not dc.smb_conf.is_file()
        if fresh:
            dc.provision()
        dc.start()
        dc.wait_ready()
        if fresh:
            # Sandbox users' passwords let an operator try a bind by hand; they are sandbox-only secrets.
            _private_json(state / "ad-passwords.json", seed_directory(dc, scenario.users, ous))
            # Sésame itself binds as a delegated account holding only the rights the setup guide lists.
            upn, password = create_bot_account(dc, [p.ou for p in scenario.partners])
            _private_json(state / "ad-bot.json", {"bind_dn": upn, "password": password})
        bot = json.loads((state / "ad-bot.json").read_text(encoding="utf-8"))
        return {"url": dc.url, "bind_dn": dc.bind_dn, "password": dc.password, "base_dn": dc.base_dn,
                "ca_file": dc.ca_file, "tls_server_name": dc.host_name, "bot": bot}

    def _write_config(
        self, info: dict[str, Any], directory: dict[str, Any], state: Path, tls: TlsFiles, scenario: Scenario
    ) -> None:
        imap, smtp = info["imap"], info["smtp"]
        config = {
            "servicenow": {**{k: info["servicenow"][k] for k in ("url", "user", "password")},
                           "ca_file": str(tls.ca_file)},
            "graph": {**{k: v for k, v in info["graph"].items() if k not in ("apps", "emulator")},
                      "ca_file": str(tls.ca_file)},
            "imap": {"host": imap["host"], "port": imap["port"], "smtp_host": smtp["host"], "smtp_port": smtp["port"],
                     "user": imap["user"], "password": imap["password"], "use_tls": True,
                     "ca_file": str(tls.ca_file)},
            "mailbox": {"kind": self.mailbox_kind, "address": info["mailbox"], "poll_interval_seconds": 2},
            "trust": self._trust_config(scenario),
            "audit": {"key": self._audit_key},
            "sms": {"url": f"{info['sms']['url']}/messages", "check_url": f"{info['sms']['url']}/messages",
                    "auth_scheme": "bearer", "api_key": info["sms"]["api_key"], "ca_file": str(tls.ca_file)},
            "directory": {k: v for k, v in directory.items() if v is not None},
            "partners_file": str(state / "partners.json"),
            "ledger_url": f"sqlite:///{state / 'ledger.db'}",
            "broker_url": self.broker_url,
        }
        path = state / "sesame.yaml"
        path.write_text("# Written by `sesame sandbox up`: points Sésame at this sandbox.\n"
                        + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
        path.chmod(0o600)

    def _trust_config(self, scenario: Scenario) -> dict[str, Any]:
        ids = receiving_authserv_ids(scenario)
        if ids:
            return {"authserv_ids": ids}
        # A scenario whose mail carries no Authentication-Results cannot prove any sender: say so in the config
        # rather than hand every request to a person without a word.
        return {"verify_sender": False}

    def stop(self) -> None:
        """Stop the servers and the domain controller; state stays on disk."""
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        for close in self._closers:
            close()
        self._closers.clear()
        (self.state_dir / PID_FILE).unlink(missing_ok=True)
        if self._samba is not None:
            self._samba.stop()
            self._samba = None


def serve(scenario_dir: Path, state_dir: Path, *, ad_mode: AdMode = "auto", broker_url: str = "memory://",
          fault_plan: FaultPlan | None = None, graph_fault_plan: FaultPlan | None = None,
          mailbox_kind: Literal["graph", "imap"] = "graph") -> None:
    """Start, print the description as one JSON line, serve until SIGTERM or Ctrl-C, then stop cleanly."""
    sandbox = Sandbox(scenario_dir, state_dir, ad_mode=ad_mode, broker_url=broker_url, mailbox_kind=mailbox_kind,
                      fault_plan=fault_plan or FaultPlan(), graph_fault_plan=graph_fault_plan or FaultPlan())
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    info = sandbox.start()
    try:
        print(json.dumps(info), flush=True)
        os.environ.setdefault("SESAME_SANDBOX", info["state"])
        stopping.wait()
    finally:
        sandbox.stop()


def running_pid(state_dir: Path) -> int | None:
    """The pid of the sandbox serving ``state_dir``, or None when none is running."""
    try:
        pid = int((state_dir / PID_FILE).read_text(encoding="utf-8"))
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def load_table_records(state_dir: Path, table: str, file: Path) -> int:
    """Load fixture records into the ServiceNow tables of a stopped sandbox; returns how many were loaded."""
    pid = running_pid(state_dir)
    if pid is not None:
        raise SandboxError(f"the sandbox of {state_dir} is running (pid {pid}) and holds its data in memory; "
                           "stop it, load, then start it again")
    database = state_dir / "servicenow.sqlite"
    if not database.is_file():
        raise SandboxError(f"{database} does not exist: run `sesame sandbox up --state {state_dir}` once first")
    records = read_records_file(file)
    store = TableStore.load(database)
    try:
        return load_records(store, table, records)
    finally:
        store.close()
