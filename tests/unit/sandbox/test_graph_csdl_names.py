"""Every property and action-parameter name the Graph sandbox serves or reads exists in Microsoft's v1.0 CSDL.

Two sources of names: the module constants the routes use (``MESSAGE_PROPERTIES``, ``USER_PROPERTIES``…) and
the JSON objects the stores actually serve (keys of a seeded message, user, device…), checked against the
entity type of their ``@odata.type`` or of the collection they are served from.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.graph import devices, mail, users
from sandbox.graph.entra_store import EntraStore
from sandbox.graph.mailstore import AttachmentFile, MailboxStore
from sandbox.scenario import DirectoryUser, Partner, Scenario

CSDL = Path(__file__).resolve().parents[2] / "data" / "graph-v1.0-csdl.xml"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@functools.cache
def _schema() -> tuple[dict[str, ET.Element], dict[tuple[str, str], set[str]]]:
    """Structured types by name, and bound action/function parameters by (name, binding type)."""
    root = ET.parse(CSDL).getroot()
    types: dict[str, ET.Element] = {}
    operations: dict[tuple[str, str], set[str]] = {}
    for schema in root.iter(f"{EDM}Schema"):
        namespace = schema.get("Namespace", "")
        _ALIASES[schema.get("Alias") or namespace] = namespace
        for kind in ("EntityType", "ComplexType"):
            for element in schema.findall(f"{EDM}{kind}"):
                types[f"{namespace}.{element.get('Name', '')}"] = element
        for kind in ("Action", "Function"):
            for element in schema.findall(f"{EDM}{kind}"):
                parameters = element.findall(f"{EDM}Parameter")
                if element.get("IsBound") != "true" or not parameters:
                    continue
                binding = _short(parameters[0].get("Type", ""))
                operations.setdefault((element.get("Name", ""), binding), set()).update(
                    p.get("Name", "") for p in parameters[1:]
                )
    return types, operations


_ALIASES: dict[str, str] = {}


def _short(type_name: str) -> str:
    """The namespace-qualified name of a type written bare (``user``), with an alias or in full."""
    inner = type_name.removeprefix("Collection(").removesuffix(")").removeprefix("#")
    if "." not in inner:
        return f"microsoft.graph.{inner}"
    prefix, name = inner.rsplit(".", 1)
    return f"{_ALIASES.get(prefix, prefix)}.{name}"


def properties(type_name: str) -> set[str]:
    """Structural and navigation property names of a CSDL type with those of its base types."""
    types, _ = _schema()
    names: set[str] = set()
    element: ET.Element | None = types[_short(type_name)]
    while element is not None:
        names |= {p.get("Name", "") for p in element if p.tag in (f"{EDM}Property", f"{EDM}NavigationProperty")}
        base = element.get("BaseType")
        element = types[_short(base)] if base else None
    return names


def parameters(action: str, binding: str) -> set[str]:
    """Parameter names (binding parameter excluded) of a bound action or function."""
    _, operations = _schema()
    return operations[(action, _short(binding))]


def unknown(names: Iterable[str], type_name: str) -> list[str]:
    """The names that are neither properties of ``type_name`` nor OData annotations."""
    known = properties(type_name)
    return sorted(n for n in names if not n.startswith("@") and n not in known)


def served_type(item: dict[str, Any], default: str) -> str:
    """The CSDL type of a served JSON object: its ``@odata.type`` when it has one."""
    return str(item.get("@odata.type", default)).removeprefix("#")


# ----- constants of the routes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "type_name"),
    [
        (mail.MESSAGE_PROPERTIES, "message"),
        (mail.MAIL_FOLDER_PROPERTIES, "mailFolder"),
        (mail.FILE_ATTACHMENT_PROPERTIES, "fileAttachment"),
        (mail.UPDATABLE.values(), "message"),
        (mail.DELTA_FILTERABLE, "message"),
        (users.USER_PROPERTIES, "user"),
        (users.DEFAULT_USER_PROPERTIES, "user"),
        (users.USER_UPDATABLE, "user"),
        (users.PASSWORD_PROFILE_PROPERTIES, "passwordProfile"),
        (users.FILTER_EQ, "user"),
        (users.FILTER_STARTSWITH, "user"),
        (users.FILTER_ANY, "user"),
        (devices.DEVICE_PROPERTIES, "managedDevice"),
        (devices.ACTION_RESULT_PROPERTIES, "deviceActionResult"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_route_constants_name_properties_of_the_csdl_type(names: Iterable[str], type_name: str) -> None:
    assert unknown(names, type_name) == []


@pytest.mark.parametrize(
    ("action", "binding", "read"),
    [
        *((name, "message" if name != "sendMail" else "user", params) for name, params in mail.MAIL_ACTIONS.items()),
        ("resetPassword", "authenticationMethod", users.RESET_PASSWORD_PARAMETERS),
        *((name, "managedDevice", params) for name, params in devices.DEVICE_ACTIONS.items()),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_action_parameters_read_exist_on_the_bound_action(action: str, binding: str, read: Iterable[str]) -> None:
    assert sorted(set(read) - parameters(action, binding)) == []


def test_the_checker_catches_a_wrong_name() -> None:
    # Guards the test itself: a misspelt or PascalCase property must be reported.
    assert unknown(["isRead", "IsRead", "receivedDate"], "message") == ["IsRead", "receivedDate"]
    assert "onPremisesSamAccountName" in properties("microsoft.graph.user")
    assert parameters("sendMail", "user") == {"Message", "SaveToSentItems"}
    assert parameters("wipe", "managedDevice") >= {"keepEnrollmentData", "keepUserData", "macOsUnlockCode",
                                                   "persistEsimDataPlan"}


# ----- objects the stores serve --------------------------------------------------------------------


def test_every_key_of_a_served_message_folder_and_attachment_is_in_the_csdl() -> None:
    store = MailboxStore()
    message_id = store.add_message(
        "help@contoso.test", from_address="a@partner.test", subject="s", body="b",
        headers=[("Reply-To", "r@partner.test")], received_at=datetime(2026, 11, 23, 8, tzinfo=UTC),
        attachments=[AttachmentFile("a.txt", "text/plain", b"x")],
    )
    [message] = store.messages("help@contoso.test")
    [attachment] = store.attachments("help@contoso.test", message_id)

    assert unknown(message, "message") == []
    assert unknown(store.folder("help@contoso.test", "inbox"), "mailFolder") == []
    assert unknown(attachment, served_type(attachment, "attachment")) == []


SCENARIO = Scenario(
    partners=(Partner(id="ml", name="Mission locale", domains=("ml.test",), correspondents=(), ou="OU=ML"),),
    users=(
        DirectoryUser(sam="jdupont", upn="jdupont@contoso.test", mail="j@contoso.test", given_name="Jean",
                      surname="Dupont", org_id="ml", ou="OU=ML,DC=contoso,DC=test", mobile="+33600000000"),
        DirectoryUser(sam="admin1", upn="admin1@contoso.test", mail="a1@contoso.test", given_name="A", surname="One",
                      org_id="ml", ou="OU=Admins", privileged=True),
        DirectoryUser(sam="admin2", upn="admin2@contoso.test", mail="a2@contoso.test", given_name="A", surname="Two",
                      org_id="ml", ou="OU=Admins", privileged=True),
    ),
    emails=(),
    tickets=(),
)


def test_every_key_of_served_directory_objects_is_in_the_csdl() -> None:
    entra = EntraStore.from_scenario(SCENARIO, domain="contoso.test")
    served: list[tuple[dict[str, Any], str]] = [(u, "user") for u in entra.users()]
    served += [(g, "group") for g in entra.groups()]
    served += [(a, "unifiedRoleAssignment") for a in entra.role_assignments()]
    served += [(s, "unifiedRoleEligibilitySchedule") for s in entra.role_eligibility_schedules()]
    served += [(d, "unifiedRoleDefinition") for d in entra.role_definitions()]
    served += [(m, "authenticationMethod") for u in entra.users() for m in entra.authentication_methods(u["id"])]
    user = entra.users()[0]
    operation, _ = entra.start_password_reset(user["id"], entra.authentication_methods(user["id"])[0]["id"], None)
    served.append((operation, "longRunningOperation"))

    problems = {f"{served_type(item, default)}": unknown(item, served_type(item, default))
                for item, default in served}
    assert {name: names for name, names in problems.items() if names} == {}
    assert {served_type(m, "") for m, _ in served if "@odata.type" in m} >= {
        "microsoft.graph.passwordAuthenticationMethod", "microsoft.graph.phoneAuthenticationMethod",
    }
