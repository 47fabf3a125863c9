"""``ActiveDirectory`` against a real Samba AD DC: lookups, nested groups, unlock, TLS and error mapping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.directory import Directory
from connectors.directory.ad import ActiveDirectory
from connectors.errors import ConnectorError, NotFoundError, PermissionMissingError, TransientError
from sandbox.samba import SambaDC
from tests.fixtures.services import AdUsers, free_port

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
