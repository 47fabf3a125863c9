"""The sandbox directory emulator served over HTTPS by uvicorn, driven by ``SandboxDirectory``."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.directory import Directory
from connectors.directory.sandbox import SandboxDirectory
from connectors.errors import NotFoundError, PermissionMissingError, TransientError
from sandbox.directory import DirectoryStore, build_directory_app
from sandbox.https import BackgroundServer
from sandbox.scenario import DirectoryUser, Scenario, load_scenario
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BIND_DN = "CN=svc-sesame,OU=Services,DC=agence,DC=local"
BIND_PASSWORD = "sandbox-bind-secret"
JEAN_DN = "CN=Jean Dupont,OU=Mission Locale Lyon,OU=Partenaires,DC=agence,DC=local"
PAUL_DN = "CN=Paul Garnier,OU=Siege,OU=Agents,DC=agence,DC=local"


@dataclass(frozen=True)
class Served:
    url: str
    ca_file: str
    store: DirectoryStore
    state_file: Path


@pytest.fixture()
def served(sandbox_tls: TlsFiles, tmp_path: Path) -> Iterator[Served]:
    """The demo scenario's directory mounted under /ad, as the sandbox does, on a free loopback port."""
    state_file = tmp_path / "directory-state.json"
    store = DirectoryStore.from_scenario(load_scenario(DEMO), persist_to=state_file)
    app = Starlette(routes=[Mount("/ad", app=build_directory_app(store, bind_dn=BIND_DN, password=BIND_PASSWORD))])
    with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
        yield Served(f"{server.url}/ad", str(sandbox_tls.ca_file), store, state_file)


@pytest.fixture()
def directory(served: Served) -> Iterator[SandboxDirectory]:
    client = SandboxDirectory(served.url, BIND_DN, BIND_PASSWORD, ca_file=served.ca_file)
    yield client
    client.close()


def _bind(served: Served, login: str, password: str) -> dict[str, object]:
    response = httpx.post(
        f"{served.url}/bind",
        json={"login": login, "password": password},
        auth=(BIND_DN, BIND_PASSWORD),
        verify=ssl.create_default_context(cafile=served.ca_file),
    )
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def test_satisfies_the_directory_interface(directory: SandboxDirectory) -> None:
    as_interface: Directory = directory
    assert as_interface.find_accounts("nobody-here") == []


@pytest.mark.parametrize("login", ["jdupont", "JDupont@Agence.Local", "jean.dupont@mission-locale-lyon.fr"])
def test_finds_by_sam_upn_or_mail(directory: SandboxDirectory, login: str) -> None:
    [account] = directory.find_accounts(login)
    assert account.dn == JEAN_DN
    assert account.sam == "jdupont"
    assert account.upn == "jdupont@agence.local"
    assert account.mail == "jean.dupont@mission-locale-lyon.fr"
    assert account.display_name == "Jean Dupont"
    assert account.enabled and account.locked
    assert account.admin_count == 0
    assert account.groups == frozenset({"Domain Users"})


def test_match_is_exact_not_partial(directory: SandboxDirectory) -> None:
    assert directory.find_accounts("jdup") == []
    assert directory.find_accounts("jean.dupont") == []


def test_privileged_account_is_in_protected_groups(directory: SandboxDirectory) -> None:
    account = directory.read_account(PAUL_DN)
    assert account.admin_count == 1
    assert {"Domain Admins", "Administrators", "Domain Users"} <= account.groups


def test_read_unknown_dn_raises_not_found(directory: SandboxDirectory) -> None:
    with pytest.raises(NotFoundError):
        directory.read_account("CN=Nobody,OU=Partenaires,DC=agence,DC=local")


def test_dry_run_changes_nothing(directory: SandboxDirectory, served: Served) -> None:
    account = directory.read_account(JEAN_DN)
    change = directory.unlock(account, dry_run=True)
    assert change.dry_run and change.action == "unlock" and change.target == JEAN_DN
    assert change.after["lockoutTime"] == "0"
    assert directory.read_account(JEAN_DN).locked
    stored = json.loads(served.state_file.read_text())["accounts"]
    assert next(a for a in stored if a["sam"] == "jdupont")["locked"] is True


def test_unlock_then_bind_succeeds(directory: SandboxDirectory, served: Served) -> None:
    entry = served.store.get(JEAN_DN)
    assert entry is not None
    assert _bind(served, "jdupont", entry.password) == {"ok": False, "reason": "locked"}

    change = directory.unlock(directory.read_account(JEAN_DN))

    assert not change.dry_run
    assert change.before["locked"] == "true" and int(change.before["lockoutTime"]) > 0
    assert change.after == {"locked": "false", "lockoutTime": "0"}
    assert not directory.read_account(JEAN_DN).locked
    assert _bind(served, "jdupont", entry.password) == {"ok": True, "reason": None}
    # Autosave: a restarted sandbox sees the unlock.
    reloaded = DirectoryStore.load(served.state_file).get(JEAN_DN)
    assert reloaded is not None and not reloaded.locked and reloaded.lockout_time == "0"


def test_three_bad_passwords_lock_the_account(directory: SandboxDirectory, served: Served) -> None:
    directory.unlock(directory.read_account(JEAN_DN))
    entry = served.store.get(JEAN_DN)
    assert entry is not None
    for _ in range(3):
        assert _bind(served, "jdupont", "wrong") == {"ok": False, "reason": "bad_password"}
    assert _bind(served, "jdupont", entry.password) == {"ok": False, "reason": "locked"}
    assert directory.read_account(JEAN_DN).locked


def test_wrong_service_credentials_raise_permission_missing(served: Served) -> None:
    intruder = SandboxDirectory(served.url, BIND_DN, "not-the-password", ca_file=served.ca_file)
    try:
        with pytest.raises(PermissionMissingError) as raised:
            intruder.find_accounts("jdupont")
        assert "not-the-password" not in str(raised.value)
        assert raised.value.request_id
    finally:
        intruder.close()


def test_unanswered_port_raises_transient(sandbox_tls: TlsFiles) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SandboxDirectory(f"https://127.0.0.1:{port}/ad", BIND_DN, BIND_PASSWORD, ca_file=str(sandbox_tls.ca_file))
    try:
        with pytest.raises(TransientError):
            client.find_accounts("jdupont")
    finally:
        client.close()


def test_demo_scenario_builds_the_expected_directory() -> None:
    store = DirectoryStore.from_scenario(load_scenario(DEMO))
    assert store.entries()[0].dn == JEAN_DN
    assert len(store.entries()) == len(load_scenario(DEMO).users)
    for entry in store.entries():
        assert entry.lockout_time != "0" if entry.locked else entry.lockout_time == "0"
        assert "password" not in entry.public()


def test_ous_without_domain_are_placed_under_the_base_dn() -> None:
    user = DirectoryUser(
        sam="ecole", upn="ecole@x.local", mail="", given_name="Émile", surname="Colé, Jr", org_id="", ou="OU=Tiers"
    )
    scenario = Scenario(partners=(), users=(user,), emails=(), tickets=())
    assert DirectoryStore.from_scenario(scenario).entries()[0].dn == r"CN=Émile Colé\, Jr,OU=Tiers,DC=test,DC=local"
    assert (
        DirectoryStore.from_scenario(scenario, "DC=corp,DC=example")
        .entries()[0]
        .dn.endswith("OU=Tiers,DC=corp,DC=example")
    )


def test_finds_by_display_name_and_looks_up_any_identifier(directory: SandboxDirectory) -> None:
    [by_name] = directory.find_by_display_name("jean DUPONT")
    assert by_name.dn == JEAN_DN
    assert directory.find_by_display_name("Jean") == []
    for identifier in ("jdupont", "jean.dupont@mission-locale-lyon.fr", "Jean Dupont"):
        lookup = directory.look_up(identifier)
        assert lookup.account is not None and lookup.account.dn == JEAN_DN and not lookup.ambiguous
    assert directory.look_up("nobody-here").not_found


def test_same_display_name_twice_is_ambiguous(served: Served, directory: SandboxDirectory) -> None:
    paul = served.store.get(PAUL_DN)
    assert paul is not None
    served.store._write(replace(paul, display_name="Jean Dupont"))
    lookup = directory.look_up("Jean Dupont")
    assert lookup.ambiguous and lookup.account is None
    assert {a.dn for a in lookup.accounts} == {JEAN_DN, PAUL_DN}


def test_reset_password_forces_a_change_at_next_logon(directory: SandboxDirectory, served: Served) -> None:
    directory.unlock(directory.read_account(JEAN_DN))
    change = directory.reset_password(directory.read_account(JEAN_DN), "Nouveau-Mot-2-Passe!")
    assert (change.action, change.dry_run, change.server) == ("reset_password", False, served.url)
    assert change.after["mustChangePassword"] == "true" and change.after["pwdLastSet"] == "0"
    assert "Nouveau-Mot-2-Passe!" not in repr(change)
    assert _bind(served, "jdupont", "Nouveau-Mot-2-Passe!") == {"ok": False, "reason": "must_change_password"}
    assert directory.read_account(JEAN_DN).must_change_password

    directory.reset_password(directory.read_account(JEAN_DN), "Direct-Mot-2-Passe!", must_change=False)
    assert _bind(served, "jdupont", "Direct-Mot-2-Passe!") == {"ok": True, "reason": None}


def test_dry_run_reset_changes_nothing(directory: SandboxDirectory, served: Served) -> None:
    entry = served.store.get(JEAN_DN)
    assert entry is not None
    change = directory.reset_password(directory.read_account(JEAN_DN), "Jamais-Ecrit-1!", dry_run=True)
    assert change.dry_run and "Jamais-Ecrit-1!" not in repr(change)
    after = served.store.get(JEAN_DN)
    assert after is not None and after.password == entry.password and after.pwd_last_set == entry.pwd_last_set


def test_doctor_is_green_and_names_bad_credentials(served: Served, directory: SandboxDirectory) -> None:
    findings = directory.doctor(["OU=Mission Locale Lyon,OU=Partenaires,DC=agence,DC=local"])
    assert findings and all(f.ok for f in findings)
    intruder = SandboxDirectory(served.url, BIND_DN, "not-the-password", ca_file=served.ca_file)
    try:
        failing = [f for f in intruder.doctor() if not f.ok]
        assert [f.check for f in failing] == ["bind"] and "not-the-password" not in failing[0].detail
    finally:
        intruder.close()
