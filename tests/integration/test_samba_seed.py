"""``seed_directory`` against a real Samba AD DC: OUs, attributes and the locked/disabled/privileged states."""

from __future__ import annotations

import pytest

from sandbox.samba import SambaDC, can_bind, is_locked, realm_from_ous, seed_directory
from sandbox.samba_seed import absolute_dn, account_state
from sandbox.scenario import DirectoryUser
from tests.fixtures.services import AdUsers

pytestmark = pytest.mark.integration


def _user(sam: str, ou: str, **flags: bool) -> DirectoryUser:
    return DirectoryUser(
        sam=sam,
        upn="",
        mail=f"{sam}@partner.example",
        given_name="Zoé",
        surname=f"Seed {sam}",
        org_id="seed",
        ou=ou,
        mobile="+33600000000",
        **flags,
    )


def _entry(ad_users: AdUsers, sam: str) -> dict[str, list[str]]:
    connection = ad_users.connection
    connection.search(ad_users.dc.base_dn, f"(sAMAccountName={sam})", attributes=["*", "memberOf"])
    [entry] = [e for e in connection.response if "dn" in e]
    return {"dn": [entry["dn"]], **entry["attributes"]}


def test_realm_from_ous_reads_the_dc_components() -> None:
    assert realm_from_ous(["OU=X,OU=Partenaires,DC=agence,DC=local"]) == "AGENCE.LOCAL"
    assert realm_from_ous(["OU=Relative", "OU=Y,DC=corp,DC=example,DC=org"]) == "CORP.EXAMPLE.ORG"
    assert realm_from_ous([]) == "TEST.LOCAL"
    assert realm_from_ous(["OU=Relative only"]) == "TEST.LOCAL"


def test_absolute_dn_places_relative_ous_under_the_base() -> None:
    assert absolute_dn("OU=A,OU=B", "DC=test,DC=local") == "OU=A,OU=B,DC=test,DC=local"
    assert absolute_dn("OU=A,DC=Test,DC=Local", "DC=test,DC=local") == "OU=A,DC=Test,DC=Local"


def test_seeds_nested_ous_and_every_attribute(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    ou = f"OU=Inner\\, with comma,OU=Outer,{ad_users.ou_relative}"
    user = _user("seedattr1", ou)
    passwords = seed_directory(samba_dc, [user], ous=[f"OU=Empty,{ad_users.ou_relative}"])
    entry = _entry(ad_users, "seedattr1")
    assert entry["dn"] == [f"CN=Zoé Seed seedattr1,{ou},{samba_dc.base_dn}"]
    assert entry["userPrincipalName"] == [f"seedattr1@{samba_dc.realm.lower()}"]
    assert entry["mail"] == ["seedattr1@partner.example"]
    assert (entry["givenName"], entry["sn"], entry["displayName"]) == (
        ["Zoé"],
        ["Seed seedattr1"],
        ["Zoé Seed seedattr1"],
    )
    assert entry["mobile"] == ["+33600000000"]
    assert can_bind(samba_dc, "seedattr1@test.local", passwords["seedattr1"])
    ad_users.connection.search(f"OU=Empty,{ad_users.ou}", "(objectClass=organizationalUnit)")
    assert len(ad_users.connection.response) == 1


def test_seeding_twice_into_the_same_ous_is_fine(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    ou = f"OU=Twice,{ad_users.ou_relative}"
    first = seed_directory(samba_dc, [_user("seedtwice1", ou)])
    second = seed_directory(samba_dc, [_user("seedtwice2", ou)])
    assert set(first) == {"seedtwice1"} and set(second) == {"seedtwice2"}
    assert first["seedtwice1"] != second["seedtwice2"]


def test_locked_user_is_really_locked_out(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    passwords = seed_directory(samba_dc, [_user("seedlock1", ad_users.ou_relative, locked=True)])
    dn = _entry(ad_users, "seedlock1")["dn"][0]
    assert account_state(ad_users.connection, dn)["msDS-User-Account-Control-Computed"] & 0x10
    assert is_locked(ad_users.connection, dn)
    # The right password is refused while locked: the lock is the DC's, not a flag we wrote.
    assert not can_bind(samba_dc, "seedlock1@test.local", passwords["seedlock1"])


def test_disabled_user_cannot_bind(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    passwords = seed_directory(samba_dc, [_user("seedoff1", ad_users.ou_relative, disabled=True)])
    entry = _entry(ad_users, "seedoff1")
    assert int(entry["userAccountControl"][0]) & 0x2
    assert not can_bind(samba_dc, "seedoff1@test.local", passwords["seedoff1"])


def test_disabled_and_locked_user_is_both(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    seed_directory(samba_dc, [_user("seedboth1", ad_users.ou_relative, disabled=True, locked=True)])
    entry = _entry(ad_users, "seedboth1")
    assert int(entry["userAccountControl"][0]) & 0x2
    assert is_locked(ad_users.connection, entry["dn"][0])


def test_privileged_user_is_a_domain_admin(samba_dc: SambaDC, ad_users: AdUsers) -> None:
    seed_directory(samba_dc, [_user("seedadm1", ad_users.ou_relative, privileged=True)])
    assert f"CN=Domain Admins,CN=Users,{samba_dc.base_dn}" in _entry(ad_users, "seedadm1")["memberOf"]


def test_fixture_users_are_in_the_announced_states(ad_users: AdUsers) -> None:
    for user in ad_users.locked:
        assert ad_users.is_locked(user.dn)
        assert not ad_users.bind_as(user.upn, user.password)
    assert ad_users.bind_as(ad_users.normal.upn, ad_users.normal.password)
    assert ad_users.bind_as(ad_users.privileged.upn, ad_users.privileged.password)
    assert not ad_users.is_locked(ad_users.privileged.dn)


def test_ou_outside_the_domain_is_refused(samba_dc: SambaDC) -> None:
    with pytest.raises(ValueError, match="outside the DC's domain"):
        seed_directory(samba_dc, [_user("seedout1", "OU=X,DC=elsewhere,DC=example")])
