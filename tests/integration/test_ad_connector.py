"""``ActiveDirectory`` against a real Samba AD DC: lookups, state, unlock, password reset, failover, doctor.

Faults are real: a dead first DC is a closed loopback port, and a lost answer to a write is a loopback TCP relay
that forwards the write to Samba and drops its response. Writes are counted in the DC's own
``replPropertyMetaData`` (the version of an attribute goes up by one per write).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import ldap3
import pytest
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult, LDAPInvalidCredentialsResult
from structlog.testing import capture_logs

from connectors.directory import Directory, Lookup
from connectors.directory.ad import ActiveDirectory
from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PolicyRefusalError,
    TransientError,
)
from connectors.health import Finding
from connectors.resilience import RetryPolicy
from sandbox.samba import LDAPS_PORT, SambaDC
from sandbox.samba_seed import delegate, object_sid
from tests.fixtures.services import AdUsers, SeededUser, free_port

FAST = RetryPolicy(attempts=2, base_delay=0.05, max_delay=0.1, deadline=10)
# replPropertyMetaData attribute ids (prefix 1.2.840.113556.1.4 -> 0x9xxxx).
ATTID_UNICODE_PWD, ATTID_LOCKOUT_TIME = 0x9005A, 0x90296

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def directory(samba_dc: SambaDC) -> Iterator[ActiveDirectory]:
    assert samba_dc.ca_file, "Samba should have generated its CA on first start"
    ad = ActiveDirectory(
        samba_dc.url,
        samba_dc.bind_dn,
        samba_dc.password,
        samba_dc.base_dn,
        ca_file=samba_dc.ca_file,
        tls_server_name=samba_dc.host_name,
        retry=FAST,
    )
    yield ad
    ad.close()


def test_satisfies_the_directory_interface(directory: ActiveDirectory) -> None:
    typed: Directory = directory
    assert typed is directory


@pytest.mark.parametrize("field", ["sam", "upn", "mail"])
def test_finds_an_account_by_sam_upn_or_mail(directory: ActiveDirectory, ad_users: AdUsers, field: str) -> None:
    user = ad_users.normal
    [account] = directory.find_accounts(getattr(user, field))
    assert account.dn == user.dn
    assert (account.sam, account.upn, account.mail) == (user.sam, user.upn, user.mail)
    assert account.display_name == user.display_name
    assert account.enabled and not account.locked


def test_lookup_is_exact_and_case_insensitive(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.normal
    assert [a.dn for a in directory.find_accounts(user.sam.upper())] == [user.dn]
    assert directory.find_accounts(user.sam[:-1]) == []
    assert directory.find_accounts("") == []


@pytest.mark.parametrize("template", ["*", "{sam_head}*", "*)(sAMAccountName=*", "{sam})(|(cn=*"])
def test_filter_characters_in_a_login_match_nothing(
    directory: ActiveDirectory, ad_users: AdUsers, template: str
) -> None:
    login = template.format(sam_head=ad_users.normal.sam[:4], sam=ad_users.normal.sam)
    assert directory.find_accounts(login) == []


def test_locked_and_disabled_states_are_read(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    disabled = ad_users.create(disabled=True)
    [locked] = directory.find_accounts(ad_users.locked[0].sam)
    [off] = directory.find_accounts(disabled.sam)
    assert locked.locked and locked.enabled
    assert not off.enabled and not off.locked


def test_privileged_user_groups_contain_domain_admins(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    [account] = directory.find_accounts(ad_users.privileged.sam)
    assert "Domain Admins" in account.groups
    [normal] = directory.find_accounts(ad_users.normal.sam)
    assert "Domain Admins" not in normal.groups


def test_nested_group_membership_is_resolved(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.create()
    outer = ad_users.create_group(f"g-outer-{user.sam}", member_of=[ad_users.group_dn("Domain Admins")])
    ad_users.create_group(f"g-inner-{user.sam}", members=[user.dn], member_of=[outer])
    account = directory.read_account(user.dn)
    assert {f"g-inner-{user.sam}", f"g-outer-{user.sam}", "Domain Admins"} <= account.groups


def test_admin_count_is_read(directory: ActiveDirectory, samba_dc: SambaDC, ad_users: AdUsers) -> None:
    [administrator] = directory.find_accounts("Administrator")
    assert administrator.admin_count == 1
    [normal] = directory.find_accounts(ad_users.normal.sam)
    assert normal.admin_count == 0


def test_unlock_lets_a_locked_user_bind_again(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.locked[0]
    assert not ad_users.bind_as(user.upn, user.password)
    change = directory.unlock(directory.read_account(user.dn))
    assert (change.action, change.target, change.dry_run) == ("unlock", user.dn, False)
    assert change.before["locked"] == "true" and change.before["lockoutTime"] != "0"
    assert change.after == {"locked": "false", "lockoutTime": "0"}
    assert not directory.read_account(user.dn).locked
    assert ad_users.bind_as(user.upn, user.password)


def test_dry_run_unlock_leaves_the_user_locked(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.locked[1]
    change = directory.unlock(directory.read_account(user.dn), dry_run=True)
    assert change.dry_run and change.before["locked"] == "true"
    assert directory.read_account(user.dn).locked
    assert ad_users.is_locked(user.dn)
    assert not ad_users.bind_as(user.upn, user.password)


def test_user_relocked_after_unlock_is_seen_locked(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.create()
    ad_users.lock(user.upn)
    assert directory.read_account(user.dn).locked
    directory.unlock(directory.read_account(user.dn))
    assert ad_users.bind_as(user.upn, user.password)


def test_read_account_of_a_missing_dn_raises_not_found(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    with pytest.raises(NotFoundError):
        directory.read_account(f"CN=nobody-here,{ad_users.ou}")


def test_wrong_bot_password_is_a_missing_permission_naming_the_bind_dn(samba_dc: SambaDC) -> None:
    wrong = "Not-The-Password-42"
    ad = ActiveDirectory(samba_dc.url, samba_dc.bind_dn, wrong, samba_dc.base_dn, ca_file=samba_dc.ca_file,
                         tls_server_name=samba_dc.host_name)  # fmt: skip
    with pytest.raises(PermissionMissingError) as caught:
        ad.find_accounts("Administrator")
    assert samba_dc.bind_dn in str(caught.value)
    assert wrong not in str(caught.value)


def test_starttls_on_port_389_works(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    ad = ActiveDirectory("ldap://127.0.0.1:389", samba_dc.bind_dn, samba_dc.password, samba_dc.base_dn,
                         ca_file=samba_dc.ca_file, tls_server_name=samba_dc.host_name)  # fmt: skip
    try:
        assert [a.dn for a in ad.find_accounts(ad_users.normal.upn)] == [ad_users.normal.dn]
    finally:
        ad.close()


def test_certificate_for_another_name_is_refused(samba_dc: SambaDC) -> None:
    ad = ActiveDirectory(samba_dc.url, samba_dc.bind_dn, samba_dc.password, samba_dc.base_dn,
                         ca_file=samba_dc.ca_file, tls_server_name="dc.elsewhere.example")  # fmt: skip
    with pytest.raises(ConnectorError) as caught:
        ad.find_accounts("Administrator")
    assert not isinstance(caught.value, TransientError | PermissionMissingError)
    assert "not trusted" in str(caught.value)


def test_without_ca_file_the_connection_still_works(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    ad = ActiveDirectory(samba_dc.url, samba_dc.bind_dn, samba_dc.password, samba_dc.base_dn)
    try:
        assert [a.sam for a in ad.find_accounts(ad_users.normal.sam)] == [ad_users.normal.sam]
    finally:
        ad.close()


def test_unreachable_directory_is_transient(samba_dc: SambaDC) -> None:
    ad = ActiveDirectory(f"ldaps://127.0.0.1:{free_port()}", samba_dc.bind_dn, samba_dc.password,
                         samba_dc.base_dn, timeout=2)  # fmt: skip
    with pytest.raises(TransientError) as caught:
        ad.find_accounts("Administrator")
    assert samba_dc.password not in str(caught.value)


# -- helpers -------------------------------------------------------------------------------------
def _ad(samba_dc: SambaDC, urls: str | list[str] | None = None, *, bind_dn: str | None = None,
        password: str | None = None) -> ActiveDirectory:  # fmt: skip
    return ActiveDirectory(urls or samba_dc.url, bind_dn or samba_dc.bind_dn, password or samba_dc.password,
                           samba_dc.base_dn, ca_file=samba_dc.ca_file, tls_server_name=samba_dc.host_name,
                           timeout=3, retry=FAST)  # fmt: skip


def _bind_error(upn: str, password: str) -> str:
    """The DC's refusal message for a bind ("" when the bind succeeds), e.g. with ``data 773``."""
    server = ldap3.Server("127.0.0.1", port=LDAPS_PORT, use_ssl=True, tls=ldap3.Tls(validate=ssl.CERT_NONE),
                          get_info=ldap3.NONE, connect_timeout=5)  # fmt: skip
    try:
        ldap3.Connection(server, user=upn, password=password, auto_bind=True, raise_exceptions=True).unbind()
    except LDAPInvalidCredentialsResult as exc:
        return str(exc)
    return ""


def _write_version(ad_users: AdUsers, dn: str, attid: int) -> int:
    """How many times the DC has written one attribute of ``dn`` (its replication metadata version)."""
    ad_users.connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["replPropertyMetaData"])
    raw = ad_users.connection.response[0]["attributes"]["replPropertyMetaData"][0]
    count = struct.unpack_from("<I", raw, 8)[0]
    for index in range(count):
        found, version = struct.unpack_from("<II", raw, 16 + 48 * index)
        if found == attid:
            return int(version)
    return 0


def _sid(ad_users: AdUsers, dn: str) -> str:
    return object_sid(ad_users.connection, dn)


def _delegate(samba_dc: SambaDC, ou: str, sid: str, *rights: str) -> None:
    delegate(samba_dc, ou, sid, *rights)


def _locked_user(ad_users: AdUsers) -> SeededUser:
    user = ad_users.create()
    ad_users.lock(user.upn)
    return user


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings}


class LossyRelay:
    """A loopback TCP relay to the DC's LDAPS port that can lose one exchange, as a flaky network does.

    TLS runs end to end through it; it only counts the client's messages and, when told, drops one of them
    (the DC never sees it) or forwards it and drops the DC's answer (the DC did the work, the client never hears).
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ldaps://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._plan: tuple[str, int] | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def lose(self, what: str, *, after: int) -> None:
        """Lose the ``what`` ("request" or "answer") of the client's message number ``after + 1`` from now."""
        with self._lock:
            self._plan = (what, after)

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", LDAPS_PORT))
            swallow = threading.Event()
            threading.Thread(target=self._up, args=(client, upstream, swallow), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, swallow), daemon=True).start()

    def _next_loss(self) -> str | None:
        with self._lock:
            if self._plan is None:
                return None
            what, countdown = self._plan
            self._plan = None if countdown == 0 else (what, countdown - 1)
            return what if countdown == 0 else None

    def _up(self, client: socket.socket, upstream: socket.socket, swallow: threading.Event) -> None:
        try:
            while chunk := client.recv(65536):
                loss = self._next_loss()
                if loss == "request":
                    break
                if loss == "answer":
                    swallow.set()
                upstream.sendall(chunk)
        except OSError:
            pass
        if not swallow.is_set():
            _cut(client, upstream)

    def _down(self, upstream: socket.socket, client: socket.socket, swallow: threading.Event) -> None:
        try:
            while chunk := upstream.recv(65536):
                if swallow.is_set():
                    break
                client.sendall(chunk)
        except OSError:
            pass
        _cut(client, upstream)


def _cut(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@pytest.fixture()
def relay() -> Iterator[LossyRelay]:
    lossy = LossyRelay()
    yield lossy
    lossy.close()


# -- lookups -------------------------------------------------------------------------------------
def test_finds_by_display_name_and_reports_ambiguity(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    first, second = ad_users.create(), ad_users.create()
    ad_users.connection.modify(second.dn, {"displayName": [(ldap3.MODIFY_REPLACE, [first.display_name])]})

    assert sorted(a.dn for a in directory.find_by_display_name(first.display_name.upper())) == sorted(
        [first.dn, second.dn]
    )
    lookup = directory.look_up(first.display_name)
    assert lookup.ambiguous and lookup.account is None
    assert {a.dn for a in lookup.accounts} == {first.dn, second.dn}
    # find_accounts keeps its exact login semantics: a display name is not a login.
    assert directory.find_accounts(first.display_name) == []


def test_look_up_finds_one_account_by_any_identifier(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.normal
    for identifier in (user.sam, user.upn, user.mail, user.display_name):
        lookup = directory.look_up(identifier)
        assert lookup.account is not None and lookup.account.dn == user.dn, identifier
        assert not lookup.ambiguous and not lookup.not_found
    assert directory.look_up(f"nobody-{user.sam}").not_found
    assert directory.look_up("*") == Lookup("*")


def test_a_login_that_is_someone_elses_display_name_is_ambiguous(
    directory: ActiveDirectory, ad_users: AdUsers
) -> None:
    owner, namesake = ad_users.create(), ad_users.create()
    ad_users.connection.modify(namesake.dn, {"displayName": [(ldap3.MODIFY_REPLACE, [owner.sam])]})
    lookup = directory.look_up(owner.sam)
    assert lookup.ambiguous and {a.dn for a in lookup.accounts} == {owner.dn, namesake.dn}


# -- state ---------------------------------------------------------------------------------------
def test_reads_dates_counters_and_logon(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.create()
    fresh = directory.read_account(user.dn)
    now = datetime.now(UTC)
    assert fresh.created is not None and abs(fresh.created - now) < timedelta(minutes=5)
    assert fresh.changed is not None and fresh.changed >= fresh.created
    assert fresh.password_last_set is not None and abs(fresh.password_last_set - now) < timedelta(minutes=5)
    assert not fresh.must_change_password
    assert (fresh.bad_password_count, fresh.lockout_time, fresh.last_logon) == (0, None, None)
    assert not fresh.password_never_expires and not fresh.password_not_required
    assert fresh.user_account_control & 0x200

    assert not ad_users.bind_as(user.upn, "Wrong-Password-1")
    assert ad_users.bind_as(user.upn, user.password)
    seen = directory.read_account(user.dn)
    assert seen.last_logon is not None and abs(seen.last_logon - now) < timedelta(minutes=5)
    # A good bind resets badPwdCount on AD; read it after a bad one only.
    assert not ad_users.bind_as(user.upn, "Wrong-Password-2")
    assert directory.read_account(user.dn).bad_password_count == 1


def test_reads_lockout_time_of_a_locked_account(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    account = directory.read_account(_locked_user(ad_users).dn)
    assert account.locked and account.lockout_time is not None
    assert abs(account.lockout_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert account.bad_password_count >= 3


def test_reads_spns_and_password_flags(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.create()
    spns = [f"HTTP/{user.sam}.test.local", f"MSSQLSvc/{user.sam}.test.local:1433"]
    ad_users.connection.modify(user.dn, {
        "servicePrincipalName": [(ldap3.MODIFY_REPLACE, spns)],
        "userAccountControl": [(ldap3.MODIFY_REPLACE, [str(0x200 | 0x10000 | 0x20)])],
    })  # fmt: skip
    account = directory.read_account(user.dn)
    assert account.service_principal_names == frozenset(spns)
    assert account.password_never_expires and account.password_not_required
    assert directory.read_account(ad_users.normal.dn).service_principal_names == frozenset()


# -- password reset ------------------------------------------------------------------------------
def test_reset_password_forces_a_change_at_next_logon(
    directory: ActiveDirectory, samba_dc: SambaDC, ad_users: AdUsers
) -> None:
    user = ad_users.create()
    new_password = f"Reset-{user.sam}-Zz9!"
    writes = _write_version(ad_users, user.dn, ATTID_UNICODE_PWD)
    with capture_logs() as logs:
        change = directory.reset_password(directory.read_account(user.dn), new_password)

    assert (change.action, change.target, change.dry_run, change.server) == (
        "reset_password", user.dn, False, samba_dc.url
    )
    assert change.before["mustChangePassword"] == "false" and change.before["pwdLastSet"] != "0"
    assert change.after["passwordReset"] == "true" and change.after["mustChangePassword"] == "true"
    assert change.after["pwdLastSet"] == "0"
    assert new_password not in repr(change) and new_password not in repr(logs)
    assert _write_version(ad_users, user.dn, ATTID_UNICODE_PWD) == writes + 1
    assert "data 773" in _bind_error(user.upn, new_password)  # right password, must change it first
    assert "data 52e" in _bind_error(user.upn, user.password)  # the old one is gone
    assert directory.read_account(user.dn).must_change_password


def test_reset_password_without_must_change_lets_the_user_in(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.create()
    new_password = f"Direct-{user.sam}-Zz9!"
    change = directory.reset_password(directory.read_account(user.dn), new_password, must_change=False)
    assert change.after["mustChangePassword"] == "false" and change.after["pwdLastSet"] != "0"
    assert _bind_error(user.upn, new_password) == ""
    assert not directory.read_account(user.dn).must_change_password


def test_dry_run_reset_changes_nothing(directory: ActiveDirectory, ad_users: AdUsers) -> None:
    user = ad_users.create()
    before = directory.read_account(user.dn)
    writes = _write_version(ad_users, user.dn, ATTID_UNICODE_PWD)
    new_password = f"Never-{user.sam}-Zz9!"
    change = directory.reset_password(before, new_password, dry_run=True)
    assert change.dry_run and change.after["mustChangePassword"] == "true"
    assert new_password not in repr(change)
    assert _write_version(ad_users, user.dn, ATTID_UNICODE_PWD) == writes
    assert directory.read_account(user.dn).password_last_set == before.password_last_set
    assert _bind_error(user.upn, user.password) == ""
    assert "data 52e" in _bind_error(user.upn, new_password)


def test_reset_refused_by_the_password_policy_names_no_password(
    directory: ActiveDirectory, ad_users: AdUsers
) -> None:
    user = ad_users.create()
    with pytest.raises(PolicyRefusalError) as refused:
        directory.reset_password(directory.read_account(user.dn), "Zq9!")  # shorter than the domain's minimum
    assert "Zq9!" not in str(refused.value)
    with pytest.raises(InvalidRequestError):
        directory.reset_password(directory.read_account(user.dn), "")
    assert _bind_error(user.upn, user.password) == ""


# -- failover and lost answers -------------------------------------------------------------------
def test_a_dead_first_dc_fails_over_to_the_live_one(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    dead = f"ldaps://127.0.0.1:{free_port()}"
    user = _locked_user(ad_users)
    ad = _ad(samba_dc, [dead, samba_dc.url])
    try:
        with capture_logs() as logs:
            [account] = ad.find_accounts(user.sam)
            change = ad.unlock(account)
        assert change.server == samba_dc.url == ad.current_server
        assert change.after["locked"] == "false" and ad_users.bind_as(user.upn, user.password)
        assert {"from_server": dead, "to_server": samba_dc.url} in [
            {k: e.get(k) for k in ("from_server", "to_server")} for e in logs if e["event"] == "directory.failover"
        ]
        assert any(e["event"] == "directory.dc_unavailable" and e["server"] == dead for e in logs)
    finally:
        ad.close()


def test_comma_separated_urls_are_several_dcs(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    ad = _ad(samba_dc, f"ldaps://127.0.0.1:{free_port()},{samba_dc.url}")
    try:
        assert [a.dn for a in ad.find_accounts(ad_users.normal.sam)] == [ad_users.normal.dn]
    finally:
        ad.close()


def test_every_dc_down_is_transient_and_names_each(samba_dc: SambaDC) -> None:
    dead = [f"ldaps://127.0.0.1:{free_port()}", f"ldap://127.0.0.1:{free_port()}"]
    ad = _ad(samba_dc, dead)
    with pytest.raises(TransientError) as caught:
        ad.find_accounts("Administrator")
    assert all(url in str(caught.value) for url in dead)
    assert samba_dc.password not in str(caught.value)


def test_a_lost_answer_to_an_unlock_is_read_back_not_repeated(
    samba_dc: SambaDC, ad_users: AdUsers, relay: LossyRelay
) -> None:
    user = _locked_user(ad_users)
    ad = _ad(samba_dc, relay.url)
    try:
        account = ad.read_account(user.dn)  # the connection is open: next come the unlock's read, then its write
        writes = _write_version(ad_users, user.dn, ATTID_LOCKOUT_TIME)
        relay.lose("answer", after=1)
        with capture_logs() as logs:
            change = ad.unlock(account)
        events = [e["event"] for e in logs]
        assert "directory.write_outcome_unknown" in events and "directory.write_confirmed" in events
        assert "directory.write_resent" not in events
        assert change.after["locked"] == "false" and not change.dry_run
        assert _write_version(ad_users, user.dn, ATTID_LOCKOUT_TIME) == writes + 1  # exactly one write
        assert ad_users.bind_as(user.upn, user.password)
    finally:
        ad.close()


def test_a_lost_reset_request_is_sent_once_more(samba_dc: SambaDC, ad_users: AdUsers, relay: LossyRelay) -> None:
    user = ad_users.create()
    new_password = f"Relay-{user.sam}-Zz9!"
    ad = _ad(samba_dc, relay.url)
    try:
        account = ad.read_account(user.dn)
        writes = _write_version(ad_users, user.dn, ATTID_UNICODE_PWD)
        relay.lose("request", after=1)
        with capture_logs() as logs:
            change = ad.reset_password(account, new_password)
        events = [e["event"] for e in logs]
        assert "directory.write_outcome_unknown" in events and "directory.write_resent" in events
        assert new_password not in repr(logs) and new_password not in repr(change)
        assert _write_version(ad_users, user.dn, ATTID_UNICODE_PWD) == writes + 1
        assert "data 773" in _bind_error(user.upn, new_password)
    finally:
        ad.close()


# -- doctor --------------------------------------------------------------------------------------
def test_doctor_as_administrator_reports_the_excess_right(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    ad = _ad(samba_dc)
    try:
        findings = _by_check(ad.doctor([ad_users.ou]))
    finally:
        ad.close()
    ou = ad_users.ou
    assert findings[f"reachable {samba_dc.url}"].ok and findings[f"bind {samba_dc.url}"].ok
    assert findings[f"read {ou}"].ok
    assert findings[f"write lockoutTime and pwdLastSet in {ou}"].ok
    assert findings[f"reset password in {ou}"].ok
    excess = findings[f"cannot write userAccountControl in {ou}"]
    assert not excess.ok and "more than needed" in excess.detail and "userAccountControl" in excess.fix
    assert not findings[f"no other excess rights in {ou}"].ok
    assert not findings["service account is not privileged"].ok
    assert all(samba_dc.password not in f.detail + f.fix for f in findings.values())


def test_doctor_with_the_delegated_account_is_green_and_it_can_do_the_job(
    samba_dc: SambaDC, ad_users: AdUsers
) -> None:
    bot = ad_users.create()
    _delegate(samba_dc, ad_users.ou, _sid(ad_users, bot.dn), "reset", "pwdLastSet", "lockoutTime")
    ad = _ad(samba_dc, bind_dn=bot.upn, password=bot.password)
    try:
        findings = ad.doctor([ad_users.ou])
        assert [f for f in findings if not f.ok] == []
        checks = {f.check for f in findings}
        assert {f"reset password in {ad_users.ou}", f"cannot write userAccountControl in {ad_users.ou}"} <= checks

        # The least privilege is enough for the job: unlock, then reset with must-change.
        locked = _locked_user(ad_users)
        assert ad.unlock(ad.read_account(locked.dn)).after["locked"] == "false"
        ad.reset_password(ad.read_account(locked.dn), f"Bot-{locked.sam}-Zz9!")
        assert "data 773" in _bind_error(locked.upn, f"Bot-{locked.sam}-Zz9!")
        # …and nothing more: userAccountControl stays out of reach.
        server = ldap3.Server("127.0.0.1", port=LDAPS_PORT, use_ssl=True, tls=ldap3.Tls(validate=ssl.CERT_NONE),
                              get_info=ldap3.NONE)  # fmt: skip
        as_bot = ldap3.Connection(server, user=bot.upn, password=bot.password, auto_bind=True, raise_exceptions=True)
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            as_bot.modify(locked.dn, {"userAccountControl": [(ldap3.MODIFY_REPLACE, ["514"])]})
        as_bot.unbind()
    finally:
        ad.close()


def test_doctor_names_the_missing_right(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    bot = ad_users.create()
    _delegate(samba_dc, ad_users.ou, _sid(ad_users, bot.dn), "reset", "lockoutTime")
    ad = _ad(samba_dc, bind_dn=bot.upn, password=bot.password)
    try:
        findings = _by_check(ad.doctor([ad_users.ou]))
    finally:
        ad.close()
    missing = findings[f"write lockoutTime and pwdLastSet in {ad_users.ou}"]
    assert not missing.ok and "pwdLastSet" in missing.detail and "lockoutTime" not in missing.detail.split(":")[0]
    assert "RPWP;pwdLastSet;user" in missing.fix
    assert findings[f"reset password in {ad_users.ou}"].ok
    assert findings[f"cannot write userAccountControl in {ad_users.ou}"].ok


def test_doctor_without_the_reset_right_says_so(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    bot = ad_users.create()
    _delegate(samba_dc, ad_users.ou, _sid(ad_users, bot.dn), "pwdLastSet", "lockoutTime")
    ad = _ad(samba_dc, bind_dn=bot.upn, password=bot.password)
    try:
        findings = _by_check(ad.doctor([ad_users.ou]))
    finally:
        ad.close()
    reset = findings[f"reset password in {ad_users.ou}"]
    assert not reset.ok and "CA;Reset Password;user" in reset.fix
    assert findings[f"write lockoutTime and pwdLastSet in {ad_users.ou}"].ok


def test_doctor_reports_a_dead_dc_and_an_unknown_ou(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    dead = f"ldaps://127.0.0.1:{free_port()}"
    unknown = f"OU=nowhere-{ad_users.normal.sam},{samba_dc.base_dn}"
    ad = _ad(samba_dc, [dead, samba_dc.url])
    try:
        findings = _by_check(ad.doctor([unknown]))
    finally:
        ad.close()
    assert not findings[f"reachable {dead}"].ok and findings[f"reachable {dead}"].fix
    assert findings[f"bind {samba_dc.url}"].ok
    assert not findings[f"read {unknown}"].ok


def test_doctor_with_a_wrong_password_fails_the_bind_without_raising(samba_dc: SambaDC) -> None:
    ad = _ad(samba_dc, password="Not-The-Password-42")
    findings = _by_check(ad.doctor(["OU=x,DC=test,DC=local"]))
    bind = findings[f"bind {samba_dc.url}"]
    assert findings[f"reachable {samba_dc.url}"].ok and not bind.ok
    assert "Not-The-Password-42" not in bind.detail + bind.fix

def test_connection_is_reopened_after_the_dc_restarts(
    directory: ActiveDirectory, samba_dc: SambaDC, ad_users: AdUsers
) -> None:
    # Last in the module: the restart drops every open connection, the fixtures' included.
    sam = ad_users.normal.sam
    assert [a.sam for a in directory.find_accounts(sam)] == [sam]
    samba_dc.stop()
    samba_dc.start()
    samba_dc.wait_ready()
    assert [a.sam for a in directory.find_accounts(sam)] == [sam]
