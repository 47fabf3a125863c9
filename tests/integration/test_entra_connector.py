"""``EntraIdentities`` (msgraph-sdk + azure-identity) against the Graph sandbox over real HTTPS."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.entra import EntraIdentities
from connectors.errors import NotFoundError, PolicyRefusalError
from connectors.identity import AmbiguousIdentityError, MustUseActiveDirectoryError
from sandbox.graph import DEFAULT_PERMISSIONS, EntraStore, GraphApp, MailboxStore
from sandbox.scenario import DirectoryUser, load_scenario
from tests.fixtures.graph import DEMO, ServeGraph
from tests.fixtures.graph import GraphSandbox as Served

pytestmark = pytest.mark.integration

SYNCED = "jdupont@agence.local"
PRIVILEGED = "pgarnier@agence.local"  # active Global Administrator in the demo
ELIGIBLE = "radmin@agence.local"  # second privileged user: only eligible
NEW_PASSWORD = "Tr0ub4dor&3-horse"
# Sésame's permissions but User-PasswordProfile.ReadWrite.All.
NO_RESET_APP = GraphApp.of("no-reset-app", DEFAULT_PERMISSIONS - {"User-PasswordProfile.ReadWrite.All"}, "no-reset")


def _cloud_user(sam: str, **extra: Any) -> DirectoryUser:
    return DirectoryUser(sam=sam, upn=f"{sam}@agence.local", mail=f"{sam}@agence.fr", given_name=sam.title(),
                         surname="Cloud", org_id="agence", ou="OU=Cloud only", **extra)


@pytest.fixture(scope="module")
def served(serve_graph: ServeGraph) -> Iterator[Served]:
    demo = load_scenario(DEMO)
    extra = (_cloud_user("ccloud", mobile="+33633445566"), _cloud_user("creset"), _cloud_user("cdry"),
             _cloud_user("cother"), _cloud_user("radmin", privileged=True))
    scenario = dataclasses.replace(demo, users=demo.users + extra)
    entra = EntraStore.from_scenario(scenario, domain="sandbox.onmicrosoft.test")
    with serve_graph(MailboxStore.from_scenario(demo), entra=entra, apps=[NO_RESET_APP]) as graph:
        yield graph


@pytest.fixture
def entra(served: Served) -> Iterator[EntraIdentities]:
    with served.entra_identities() as connector:
        yield connector


# ----- find ---------------------------------------------------------------------------------------


def test_find_user_by_upn_mail_sam_account_name_and_other_mails(served: Served, entra: EntraIdentities) -> None:
    served.entra.set_other_mails("cother@agence.local", ["c.other@home.test"])

    by_upn = entra.find_user(SYNCED)
    by_mail = entra.find_user("Jean.Dupont@mission-locale-lyon.fr")
    by_sam = entra.find_user("jdupont")
    by_other = entra.find_user("c.other@home.test")

    assert by_upn == by_mail == by_sam
    assert by_upn.user_principal_name == SYNCED and by_upn.synced_from_ad and by_upn.enabled
    assert by_upn.on_premises_sam_account_name == "jdupont"
    assert by_other.user_principal_name == "cother@agence.local" and not by_other.synced_from_ad


def test_several_matches_are_a_clear_ambiguity_and_none_is_not_found(served: Served, entra: EntraIdentities) -> None:
    served.entra.set_other_mails("ccloud@agence.local", ["shared@home.test"])
    served.entra.set_other_mails("creset@agence.local", ["shared@home.test"])

    with pytest.raises(AmbiguousIdentityError) as caught:
        entra.find_user("shared@home.test")
    with pytest.raises(NotFoundError):
        entra.find_user("nobody@nowhere.test")
    with pytest.raises(NotFoundError):
        entra.find_user("o'brien@agence.fr")  # a quote in the value is escaped, not an injection

    assert caught.value.candidates == ("ccloud@agence.local", "creset@agence.local")
    assert "ccloud@agence.local" in str(caught.value)


# ----- state --------------------------------------------------------------------------------------


def test_state_of_a_synced_user_with_methods_dates_and_no_roles(entra: EntraIdentities) -> None:
    state = entra.read_state(entra.find_user(SYNCED))

    assert state.identity.synced_from_ad and state.identity.enabled
    assert state.identity.created_at is not None and state.identity.password_changed_at is not None
    assert "password" in state.authentication_methods and "phone" in state.authentication_methods
    assert state.roles == () and not state.privileged
    assert state.sspr_registered is None and "sspr_registration feature is off" in state.sspr_detail


def test_roles_active_and_eligible_come_with_their_names(entra: EntraIdentities) -> None:
    active = entra.read_state(entra.find_user(PRIVILEGED))
    eligible = entra.read_state(entra.find_user(ELIGIBLE))

    assert [(r.name, r.kind, r.scope) for r in active.roles] == [("Global Administrator", "active", "/")]
    assert [(r.name, r.kind) for r in eligible.roles] == [("Global Administrator", "eligible")]
    assert active.privileged and eligible.privileged
    assert "microsoftAuthenticator" in active.authentication_methods


def test_sspr_registration_when_not_obtainable_says_why(served: Served) -> None:
    with served.entra_identities(features={"read", "sspr_registration"}) as connector:
        state = connector.read_state(connector.find_user("ccloud@agence.local"))
    assert state.sspr_registered is None
    assert state.sspr_detail.startswith("not obtainable")
    assert state.roles == () and state.authentication_methods == ()  # those features are off here


# ----- writes -------------------------------------------------------------------------------------


def test_revoke_sessions_dry_run_changes_nothing_then_revokes_once(served: Served, entra: EntraIdentities) -> None:
    user = entra.find_user("ccloud@agence.local")

    dry = entra.revoke_sessions(user, dry_run=True)
    assert dry.dry_run and served.entra.revocations(user.id) == []

    done = entra.revoke_sessions(user)
    assert len(served.entra.revocations(user.id)) == 1
    assert done.after["signInSessionsValidFromDateTime"] >= done.before["signInSessionsValidFromDateTime"]


def test_password_reset_of_a_cloud_user_with_must_change_never_shows_the_password(
    served: Served, entra: EntraIdentities, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    user = entra.find_user("creset@agence.local")

    change = entra.reset_password(user, NEW_PASSWORD)

    assert served.entra.password_matches(user.id, NEW_PASSWORD)
    assert served.entra.must_change_password(user.id)
    assert change.after["forceChangePasswordNextSignIn"] == "true" and not change.dry_run
    assert change.after["lastPasswordChangeDateTime"] >= change.before["lastPasswordChangeDateTime"]
    out, err = capsys.readouterr()
    assert NEW_PASSWORD not in repr(change) + out + err + caplog.text


def test_password_reset_dry_run_changes_nothing(served: Served, entra: EntraIdentities) -> None:
    user = entra.find_user("cdry@agence.local")
    before = served.entra.user(user.id)

    change = entra.reset_password(user, NEW_PASSWORD, dry_run=True)

    assert change.dry_run and NEW_PASSWORD not in repr(change)
    assert served.entra.user(user.id) == before
    assert not served.entra.password_matches(user.id, NEW_PASSWORD)
    assert not served.entra.must_change_password(user.id)


def test_a_synced_user_must_be_handled_in_ad_and_nothing_is_sent(served: Served, entra: EntraIdentities) -> None:
    user = entra.find_user(SYNCED)
    for dry_run in (True, False):
        with pytest.raises(MustUseActiveDirectoryError) as caught:
            entra.reset_password(user, NEW_PASSWORD, dry_run=dry_run)
        assert caught.value.identity.on_premises_sam_account_name == "jdupont"
        assert "Active Directory" in str(caught.value) and NEW_PASSWORD not in str(caught.value)
    assert not served.entra.password_matches(user.id, NEW_PASSWORD)


def test_a_stale_cloud_view_still_gets_the_ad_signal_from_graphs_refusal(entra: EntraIdentities) -> None:
    # Entra refuses the write itself (400, on-premises mastered): the connector turns it into the same signal.
    synced = entra.find_user(SYNCED)
    stale = dataclasses.replace(synced, synced_from_ad=False)
    connector_view = entra.read_user
    entra.read_user = lambda user_id: stale  # type: ignore[method-assign]
    try:
        with pytest.raises(MustUseActiveDirectoryError) as caught:
            entra.reset_password(stale, NEW_PASSWORD)
    finally:
        entra.read_user = connector_view  # type: ignore[method-assign]
    assert caught.value.request_id


def test_a_password_the_tenant_refuses_is_a_policy_refusal(entra: EntraIdentities) -> None:
    with pytest.raises(PolicyRefusalError) as caught:
        entra.reset_password(entra.find_user("ccloud@agence.local"), "short")
    assert "complexity" in str(caught.value) and caught.value.request_id


# ----- doctor -------------------------------------------------------------------------------------


def test_doctor_is_green_with_sesames_default_app(entra: EntraIdentities) -> None:
    findings = entra.doctor()

    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    checks = {f.check for f in findings}
    assert {"token", "permission User-PasswordProfile.ReadWrite.All", "permission User.RevokeSessions.All"} <= checks
    [extra] = [f for f in findings if f.check == "extra permissions"]
    assert "not detectable" in extra.detail


def test_doctor_names_the_missing_password_permission_and_the_fix(served: Served) -> None:
    with served.entra_identities(NO_RESET_APP.client_id, "no-reset") as connector:
        failed = [f for f in connector.doctor() if not f.ok]

    assert [f.check for f in failed] == ["permission User-PasswordProfile.ReadWrite.All"]
    assert failed[0].fix == "grant User-PasswordProfile.ReadWrite.All (application) and admin-consent it"


def test_doctor_reports_refused_credentials_without_the_secret(served: Served) -> None:
    with served.entra_identities(secret="not-the-secret") as connector:
        [token] = connector.doctor()
    assert not token.ok and token.check == "token"
    assert "AADSTS7000215" in token.detail and "not-the-secret" not in token.detail + token.fix
