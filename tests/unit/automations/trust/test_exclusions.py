"""Exclusions (PRIV-01, AUTHZ-02, TC-08, TC-21): each account state against the reason it must give, row by row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from automations.trust import Refusal
from automations.trust.exclusions import REASONS, ExclusionPolicy, exclusions
from connectors.directory import Account

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
POLICY = ExclusionPolicy(
    protected_groups=frozenset({"GG-Tier1-Admins", "Sesame-Operators"}),
    vip_accounts=frozenset({"dg.martin", "CN=Paul Garnier,OU=Siege,DC=agence,DC=local"}),
    service_name_patterns=(r"^svc-", r"^adm-"),
)
ORDINARY = Account(
    dn=f"CN=Jean Dupont,{OU}",
    sam="jdupont",
    upn="jdupont@agence.local",
    mail="jdupont@ml.fr",
    display_name="Jean Dupont",
    enabled=True,
    locked=True,
    groups=frozenset({"Domain Users", "GG-Partenaires"}),
    created=NOW - timedelta(days=400),
    changed=NOW - timedelta(days=30),
    last_logon=NOW - timedelta(days=3),
    lockout_time=NOW - timedelta(minutes=5),
)


@pytest.mark.parametrize(
    ("name", "changes", "roles", "reason", "alert"),
    [
        ("admin-count", {"admin_count": 1}, (), "PRIVILEGED", True),
        ("nested-domain-admin", {"groups": frozenset({"Domain Users", "Domain Admins"})}, (), "PRIVILEGED", True),
        ("configured-group-any-case", {"groups": frozenset({"gg-tier1-admins"})}, (), "PRIVILEGED", True),
        ("operators-group", {"groups": frozenset({"Sesame-Operators"})}, (), "PRIVILEGED", True),
        ("entra-eligible-role", {}, ("Global Reader",), "PRIVILEGED", True),
        ("spn", {"service_principal_names": frozenset({"HTTP/app.agence.local"})}, (), "SERVICE_ACCOUNT", True),
        ("svc-name", {"sam": "svc-backup"}, (), "SERVICE_ACCOUNT", True),
        ("adm-name", {"sam": "adm-jdupont"}, (), "SERVICE_ACCOUNT", True),
        ("adm-in-upn-only", {"upn": "ADM-jd@agence.local"}, (), "SERVICE_ACCOUNT", True),
        ("never-expires", {"password_never_expires": True}, (), "SERVICE_ACCOUNT", True),
        ("not-required", {"password_not_required": True}, (), "SERVICE_ACCOUNT", True),
        ("managed-service", {"sam": "gmsa-app$"}, (), "SERVICE_ACCOUNT", True),
        ("vip-by-sam", {"sam": "DG.Martin"}, (), "VIP", True),
        ("vip-by-dn", {"dn": "cn=paul garnier,ou=siege,dc=agence,dc=local"}, (), "VIP", True),
        ("disabled", {"enabled": False}, (), "DISABLED", False),
        ("created-yesterday", {"created": NOW - timedelta(days=1)}, (), "RECENTLY_CREATED", False),
        ("created-unknown", {"created": None}, (), "RECENTLY_CREATED", False),
        ("changed-2-days-ago", {"changed": NOW - timedelta(days=2)}, (), "RECENTLY_CHANGED", False),
        ("changed-unknown", {"changed": None}, (), "RECENTLY_CHANGED", False),
        ("dormant-200-days", {"last_logon": NOW - timedelta(days=200)}, (), "DORMANT", False),
        ("never-logged-on", {"last_logon": None}, (), "DORMANT", False),
    ],
)
def test_each_exclusion_gives_its_reason(
    name: str, changes: dict[str, object], roles: tuple[str, ...], reason: str, alert: bool
) -> None:
    account = replace(ORDINARY, **changes)  # type: ignore[arg-type]
    refusals = POLICY.exclusions(account, now=NOW, cloud_roles=roles)
    assert [r.reason for r in refusals] == [reason], name
    assert refusals[0].alert is alert
    assert account.sam in refusals[0].detail  # a person can tell which account and why


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("ordinary", {}),
        ("created-just-over-7-days", {"created": NOW - timedelta(days=7, minutes=1)}),
        ("logon-179-days-ago", {"last_logon": NOW - timedelta(days=179)}),
        ("similar-but-not-svc", {"sam": "svcarnier"}),
        ("not-protected-group", {"groups": frozenset({"Admins-Formation-Partenaire"})}),
    ],
)
def test_ordinary_accounts_pass(name: str, changes: dict[str, object]) -> None:
    assert POLICY.exclusions(replace(ORDINARY, **changes), now=NOW) == [], name  # type: ignore[arg-type]


def test_recently_changed_counts_for_a_reset_only() -> None:
    # A lockout (or our own unlock) moves whenChanged: for an unlock the rule would refuse every locked account.
    locked_today = replace(ORDINARY, changed=ORDINARY.lockout_time)
    assert [r.reason for r in POLICY.exclusions(locked_today, now=NOW)] == ["RECENTLY_CHANGED"]
    assert POLICY.exclusions(locked_today, now=NOW, action="unlock") == []


def test_every_reason_is_reported_in_a_stable_order() -> None:
    worst = replace(
        ORDINARY,
        sam="svc-dg",
        admin_count=1,
        enabled=False,
        created=None,
        changed=None,
        last_logon=None,
        dn="CN=x,OU=y",
        upn="svc-dg@agence.local",
    )
    vip = ExclusionPolicy(vip_accounts=frozenset({"svc-dg"}))
    assert [r.reason for r in vip.exclusions(worst, now=NOW, cloud_roles=["Helpdesk Administrator"])] == list(REASONS)


def test_default_policy_and_module_function() -> None:
    assert exclusions(ORDINARY, now=NOW) == []
    assert exclusions(replace(ORDINARY, sam="adm-x"), now=NOW)[0] == Refusal(
        "SERVICE_ACCOUNT", "adm-x looks like a service account: name matches service naming rule(s) ^adm[-_.]", True
    )


def test_policy_refuses_bad_settings_and_naive_times() -> None:
    with pytest.raises(ValueError, match="pattern"):
        ExclusionPolicy(service_name_patterns=("(",))
    with pytest.raises(ValueError, match="aware"):
        POLICY.exclusions(ORDINARY, now=datetime(2026, 3, 2))
