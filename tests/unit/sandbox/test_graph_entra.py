"""The Entra ID directory of the Graph emulator: seeding, changes, operations, persistence, ``$filter`` on users."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from sandbox.graph import EntraStore, user_id_for
from sandbox.graph.entra_store import (
    BUILT_IN_ROLES,
    GLOBAL_ADMINISTRATOR,
    MOBILE_PHONE_METHOD_ID,
    PASSWORD_COMPLEXITY_MESSAGE,
    PASSWORD_METHOD_ID,
    EntraStoreError,
    generated_password,
    password_problem,
)
from sandbox.graph.errors import GraphError
from sandbox.graph.users import (
    DEFAULT_USER_PROPERTIES,
    FILTER_ANY,
    FILTER_EQ,
    FILTER_STARTSWITH,
    PASSWORD_PROFILE_PROPERTIES,
    RESET_PASSWORD_PARAMETERS,
    USER_PROPERTIES,
    USER_UPDATABLE,
    parse_user_filter,
)
from sandbox.scenario import DirectoryUser, Partner, Scenario, load_scenario

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "sandbox" / "scenarios" / "demo"
CSDL = REPO / "tests" / "data" / "graph-v1.0-csdl.xml"
DOMAIN = "sandbox.onmicrosoft.test"
PARTNER_OU = "OU=Mission Locale Lyon,OU=Partenaires,DC=agence,DC=local"


def _user(sam: str, **extra: object) -> DirectoryUser:
    fields: dict[str, object] = {
        "sam": sam, "upn": f"{sam}@agence.fr", "mail": f"{sam}@partner.test", "given_name": sam.title(),
        "surname": "Test", "org_id": "ml-lyon", "ou": PARTNER_OU,
    }
    fields.update(extra)
    return DirectoryUser(**fields)  # type: ignore[arg-type]


SCENARIO = Scenario(
    partners=(Partner("ml-lyon", "Mission Locale de Lyon", ("partner.test",), (), PARTNER_OU),),
    users=(
        _user("synced", mobile="+33611223344"),
        _user("cloud", ou="OU=Cloud users", mobile="+33622334455"),
        _user("admin1", org_id="agence", privileged=True),
        _user("admin2", org_id="agence", privileged=True, disabled=True),
        _user("noupn", upn=""),
    ),
    emails=(),
    tickets=(),
)


@pytest.fixture
def store() -> EntraStore:
    return EntraStore.from_scenario(SCENARIO, domain=DOMAIN)


def test_users_are_seeded_with_stable_ids_and_hybrid_flags(store: EntraStore) -> None:
    synced = store.user("SYNCED@agence.fr")
    cloud = store.user(user_id_for("cloud@agence.fr"))
    assert synced is not None and cloud is not None
    assert synced["id"] == str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-user:synced@agence.fr"))
    assert synced["onPremisesSyncEnabled"] is True
    assert synced["onPremisesSamAccountName"] == "synced"
    assert synced["onPremisesDistinguishedName"] == f"CN=Synced Test,{PARTNER_OU}"
    assert synced["onPremisesDomainName"] == "agence.local"
    assert cloud["onPremisesSyncEnabled"] is False and cloud["onPremisesDistinguishedName"] is None
    assert (synced["mail"], synced["companyName"], synced["mobilePhone"]) == (
        "synced@partner.test", "ml-lyon", "+33611223344")
    assert synced["displayName"] == "Synced Test" and synced["otherMails"] == []
    assert synced["passwordProfile"] is None
    assert store.user("admin2@agence.fr")["accountEnabled"] is False  # type: ignore[index]
    assert store.user(f"noupn@{DOMAIN}") is not None  # a user without UPN gets one in the tenant's domain
    assert store.user("nobody@agence.fr") is None


def test_demo_scenario_users_are_all_ad_synced() -> None:
    scenario = load_scenario(DEMO)
    store = EntraStore.from_scenario(scenario, domain=DOMAIN)
    assert len(store.users()) == len(scenario.users)
    assert all(u["onPremisesSyncEnabled"] for u in store.users())


def test_each_partner_has_a_security_group_of_its_users(store: EntraStore) -> None:
    [group] = store.groups()
    assert group["securityEnabled"] is True and group["mailEnabled"] is False
    member_of = store.member_of("synced@agence.fr")
    assert [(o["@odata.type"], o["id"]) for o in member_of] == [("#microsoft.graph.group", group["id"])]
    assert store.member_of("admin1@agence.fr")[0]["@odata.type"] == "#microsoft.graph.directoryRole"


def test_privileged_users_alternate_between_active_and_eligible_global_administrator(store: EntraStore) -> None:
    admin1, admin2 = user_id_for("admin1@agence.fr"), user_id_for("admin2@agence.fr")
    [assignment] = store.role_assignments()
    assert (assignment["principalId"], assignment["roleDefinitionId"], assignment["directoryScopeId"]) == (
        admin1, GLOBAL_ADMINISTRATOR, "/")
    [schedule] = store.role_eligibility_schedules()
    assert (schedule["principalId"], schedule["roleDefinitionId"], schedule["status"]) == (
        admin2, GLOBAL_ADMINISTRATOR, "Provisioned")
    assert schedule["scheduleInfo"]["expiration"]["type"] == "noExpiration"
    [instance] = store.role_eligibility_schedule_instances()
    assert instance["roleEligibilityScheduleId"] == schedule["id"]
    [role] = [o for o in store.member_of(admin1) if o["@odata.type"] == "#microsoft.graph.directoryRole"]
    assert role["roleTemplateId"] == GLOBAL_ADMINISTRATOR and role["displayName"] == "Global Administrator"
    assert store.member_of(admin2) == []  # eligible only: not a member until activated


def test_role_definitions_carry_the_real_template_ids(store: EntraStore) -> None:
    definitions = {d["displayName"]: d for d in store.role_definitions()}
    assert definitions["Global Administrator"]["templateId"] == "62e90394-69f5-4237-9190-012177145e10"
    assert definitions["Password Administrator"]["id"] == "966707d0-3269-4727-9be2-8c3a10f19b9d"
    assert definitions["Helpdesk Administrator"]["templateId"] == "729827e3-9c14-49f7-bb1b-9608f156bbb8"
    assert len(definitions) == len(BUILT_IN_ROLES) == 6
    assert store.role_definition("00000000-0000-0000-0000-000000000000") is None


def test_authentication_methods_follow_the_phone_and_privilege(store: EntraStore) -> None:
    def types(upn: str) -> list[str]:
        return [m["@odata.type"].rsplit(".", 1)[1] for m in store.authentication_methods(upn)]

    assert types("synced@agence.fr") == ["passwordAuthenticationMethod", "phoneAuthenticationMethod",
                                         "microsoftAuthenticatorAuthenticationMethod"]
    assert types("cloud@agence.fr") == ["passwordAuthenticationMethod", "phoneAuthenticationMethod"]
    assert "microsoftAuthenticatorAuthenticationMethod" in types("admin1@agence.fr")
    password, phone = store.authentication_methods("cloud@agence.fr")
    assert password["id"] == PASSWORD_METHOD_ID and password["password"] is None
    assert (phone["id"], phone["phoneNumber"], phone["phoneType"]) == (MOBILE_PHONE_METHOD_ID, "+33622334455", "mobile")


@pytest.mark.parametrize(
    ("password", "ok"),
    [("Tr0ub4dor&3", True), ("abcdEFGH", False), ("abcd1234", False), ("Ab1!", False), ("ABCD12!!", True),
     ("Cloud-2024x", False), ("xCLOUDx12!", False)],
)
def test_password_complexity_is_entra_s_default_policy(password: str, ok: bool) -> None:
    assert (password_problem(password, "cloud@agence.fr") is None) is ok
    if not ok:
        assert password_problem(password, "cloud@agence.fr") == PASSWORD_COMPLEXITY_MESSAGE


def test_generated_passwords_pass_the_policy_and_differ() -> None:
    passwords = [generated_password("a@agence.fr") for _ in range(50)]
    assert len(set(passwords)) == 50
    assert all(password_problem(p, "a@agence.fr") is None for p in passwords)


def test_password_writes_are_hashed_and_checkable(store: EntraStore) -> None:
    before = store.user("cloud@agence.fr")["lastPasswordChangeDateTime"]  # type: ignore[index]
    store.set_password("cloud@agence.fr", "Tr0ub4dor&3", force_change=True)
    assert store.password_matches("cloud@agence.fr", "Tr0ub4dor&3")
    assert not store.password_matches("cloud@agence.fr", "Tr0ub4dor&4")
    assert store.must_change_password("cloud@agence.fr")
    assert store.user("cloud@agence.fr")["lastPasswordChangeDateTime"] >= before  # type: ignore[index]
    assert "Tr0ub4dor&3" not in repr(store._state)


def test_revocations_are_recorded_and_move_the_sessions_validity(store: EntraStore) -> None:
    stamp = store.revoke_sign_in_sessions("cloud@agence.fr")
    assert store.revocations("cloud@agence.fr") == [stamp]
    assert store.user("cloud@agence.fr")["signInSessionsValidFromDateTime"] == stamp  # type: ignore[index]


def test_password_reset_operation_advances_on_each_poll_then_applies(store: EntraStore) -> None:
    operation, generated = store.start_password_reset("cloud@agence.fr", PASSWORD_METHOD_ID, "Tr0ub4dor&3")
    assert generated is None and operation["status"] == "notStarted"
    user_id = user_id_for("cloud@agence.fr")
    assert operation["resourceLocation"] == f"/v1.0/users/{user_id}/authentication/passwordMethods/{PASSWORD_METHOD_ID}"
    seen = []
    for _ in range(2):
        seen.append(store.poll_operation(user_id, operation["id"])["status"])  # type: ignore[index]
        assert not store.password_matches(user_id, "Tr0ub4dor&3")
    seen += [store.poll_operation(user_id, operation["id"])["status"] for _ in range(2)]  # type: ignore[index]
    assert seen == ["notStarted", "running", "succeeded", "succeeded"]
    assert store.password_matches(user_id, "Tr0ub4dor&3")
    assert store.poll_operation(user_id_for("synced@agence.fr"), operation["id"]) is None  # another user's


def test_password_reset_without_a_password_generates_one(store: EntraStore) -> None:
    operation, generated = store.start_password_reset("cloud@agence.fr", PASSWORD_METHOD_ID, None)
    assert generated is not None and password_problem(generated, "cloud@agence.fr") is None
    for _ in range(3):
        store.poll_operation("cloud@agence.fr", operation["id"])
    assert store.password_matches("cloud@agence.fr", generated)
    with pytest.raises(EntraStoreError):
        store.start_password_reset("cloud@agence.fr", MOBILE_PHONE_METHOD_ID, None)


def test_state_survives_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "entra.json"
    store = EntraStore.from_scenario(SCENARIO, domain=DOMAIN, persist_to=path)
    store.set_account_enabled("cloud@agence.fr", False)
    store.set_password("cloud@agence.fr", "Tr0ub4dor&3")
    reloaded = EntraStore.load(path, persist_to=path)
    assert reloaded.users() == store.users()
    assert reloaded.user("cloud@agence.fr")["accountEnabled"] is False  # type: ignore[index]
    assert reloaded.password_matches("cloud@agence.fr", "Tr0ub4dor&3")
    assert reloaded.role_eligibility_schedules() == store.role_eligibility_schedules()
    assert "Tr0ub4dor&3" not in path.read_text(encoding="utf-8")


# ----- $filter on users ------------------------------------------------------------------------------------


def _matching(store: EntraStore, text: str) -> list[str]:
    wanted = parse_user_filter(text)
    return [u["onPremisesSamAccountName"] or u["mailNickname"] for u in store.users() if wanted.predicate(u)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail eq 'SYNCED@partner.test'", ["synced"]),
        ("userPrincipalName eq 'cloud@agence.fr'", ["cloud"]),
        ("onPremisesSamAccountName eq 'admin1'", ["admin1"]),
        ("accountEnabled eq false", ["admin2"]),
        ("startswith(displayName,'ad')", ["admin1", "admin2"]),
        ("startsWith(mail, 'Cl')", ["cloud"]),
        ("mail eq 'cloud@partner.test' or onPremisesSamAccountName eq 'synced'", ["synced", "cloud"]),
        ("startswith(displayName,'admin') and accountEnabled eq true", ["admin1"]),
        ("(mail eq 'x@y' or mail eq 'noupn@partner.test') and accountEnabled eq true", ["noupn"]),
        ("mail eq 'it''s@partner.test'", []),
    ],
)
def test_user_filters_select_the_right_users(store: EntraStore, text: str, expected: list[str]) -> None:
    assert _matching(store, text) == expected
    assert parse_user_filter(text).advanced == ()


def test_other_mails_any_is_an_advanced_query(store: EntraStore) -> None:
    store.set_other_mails("cloud@agence.fr", ["Perso@home.test"])
    wanted = parse_user_filter("otherMails/any(x:x eq 'perso@home.test')")
    assert wanted.advanced == ("otherMails",)
    assert _matching(store, "otherMails/any(x:x eq 'perso@home.test')") == ["cloud"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("companyName eq 'ml-lyon'", "Request_UnsupportedQuery"),
        ("mail ne 'x'", "Request_UnsupportedQuery"),
        ("endswith(mail,'.fr')", "Request_UnsupportedQuery"),
        ("mail eq", "BadRequest"),
        ("otherMails/any(x:y eq 'a')", "BadRequest"),
        ("mail eq 'a' xor", "BadRequest"),
        ("mail eq 'a", "BadRequest"),
    ],
)
def test_unsupported_or_broken_filters_are_graph_400s(text: str, code: str) -> None:
    with pytest.raises(GraphError) as caught:
        parse_user_filter(text)
    assert (caught.value.status, caught.value.code) == (400, code)


# ----- names against Microsoft's v1.0 metadata -------------------------------------------------------------

NS = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}


@cache
def _schema() -> ET.Element:
    root = ET.parse(CSDL).getroot()
    schema = root.find(".//edm:Schema[@Namespace='microsoft.graph']", NS)
    assert schema is not None
    return schema


def _properties(type_name: str) -> set[str]:
    """Structural and navigation properties of a CSDL type, its base types included."""
    names: set[str] = set()
    current: str | None = type_name
    while current:
        node = next(n for n in _schema() if n.get("Name") == current and n.tag.endswith(("EntityType", "ComplexType")))
        names |= {p.get("Name", "") for p in node if p.tag.endswith(("}Property", "}NavigationProperty"))}
        base = node.get("BaseType")
        current = base.split(".", 1)[1] if base else None
    return names


def test_served_names_exist_in_the_v1_csdl(store: EntraStore) -> None:
    user = _properties("user")
    for names in (USER_PROPERTIES, DEFAULT_USER_PROPERTIES, USER_UPDATABLE, FILTER_EQ, FILTER_STARTSWITH, FILTER_ANY):
        assert set(names) <= user
    assert set(store.users()[0]) <= user
    assert set(PASSWORD_PROFILE_PROPERTIES) <= _properties("passwordProfile")
    [action] = [a for a in _schema() if a.get("Name") == "resetPassword" and a.tag.endswith("Action")]
    assert set(RESET_PASSWORD_PARAMETERS) <= {p.get("Name") for p in action if p.tag.endswith("Parameter")}
    annotation = {"@odata.type"}
    assert set(store.groups()[0]) <= _properties("group")
    assert set(store.role_assignments()[0]) <= _properties("unifiedRoleAssignment")
    assert set(store.role_eligibility_schedules()[0]) <= _properties("unifiedRoleEligibilitySchedule")
    assert set(store.role_eligibility_schedules()[0]["scheduleInfo"]) <= _properties("requestSchedule")
    assert set(store.role_eligibility_schedule_instances()[0]) <= _properties("unifiedRoleEligibilityScheduleInstance")
    assert set(store.role_definitions()[0]) <= _properties("unifiedRoleDefinition")
    for item in store.member_of("admin1@agence.fr"):
        type_name = item["@odata.type"].rsplit(".", 1)[1]
        assert set(item) - annotation <= _properties(type_name)
    for method in store.authentication_methods("synced@agence.fr"):
        assert set(method) - annotation <= _properties(method["@odata.type"].rsplit(".", 1)[1])
    operation, _ = store.start_password_reset("cloud@agence.fr", PASSWORD_METHOD_ID, None)
    assert set(operation) <= _properties("longRunningOperation")


def test_role_template_ids_are_well_formed() -> None:
    assert all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", t) for t, _, _ in BUILT_IN_ROLES)
