"""Fill a store from a scenario: users, groups, KB articles, choice lists and pre-existing incidents."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sandbox.scenario import Scenario
from sandbox.servicenow.store import Record, TableStore

SEEDER = "system"
BOT_NAME = ("Sésame", "Automate")
GROUPS = ("Sésame Automatisation", "Service Desk N1")
KB_ARTICLES = (
    ("KB0010001", "Débloquer un compte Active Directory"),
    ("KB0010002", "Réinitialiser son mot de passe"),
)
INCIDENT_STATES = (
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
)
CONTACT_TYPES = (
    ("email", "Email"),
    ("phone", "Phone"),
    ("self-service", "Self-service"),
    ("chat", "Chat"),
    ("walk-in", "Walk-in"),
)
# The tender's closure codes: value and label are the same French wording.
CLOSE_CODES = (
    "Résolution définitive",
    "Solution de contournement",
    "Conseil et accompagnement",
    "Hors périmètre",
    "Non reproductible",
    "Utilisateur injoignable",
    "Sans suite",
)


def seed_store(store: TableStore, scenario: Scenario, *, bot_user: str, bot_password_hint: None = None) -> None:
    """Create the scenario's reference data; rows already present (same natural key) are kept as they are.

    ``bot_password_hint`` is always None: passwords live in the app's ``users`` map, never in the tables.
    """
    for user in scenario.users:
        _ensure(
            store,
            "sys_user",
            {"user_name": user.sam},
            email=user.mail,
            first_name=user.given_name,
            last_name=user.surname,
            name=f"{user.given_name} {user.surname}".strip(),
            mobile_phone=user.mobile,
            active="false" if user.disabled else "true",
        )
    for partner in scenario.partners:
        for address in partner.correspondents:
            first, last = _names_from_address(address)
            _ensure(
                store,
                "sys_user",
                {"user_name": address},
                email=address,
                first_name=first,
                last_name=last,
                name=f"{first} {last}".strip(),
            )
    bot = _ensure(
        store,
        "sys_user",
        {"user_name": bot_user},
        first_name=BOT_NAME[0],
        last_name=BOT_NAME[1],
        name=" ".join(BOT_NAME),
        roles="itil",
    )
    groups = {name: _ensure(store, "sys_user_group", {"name": name}) for name in GROUPS}
    _ensure(store, "sys_user_grmember", {"user": bot["sys_id"], "group": groups[GROUPS[0]]["sys_id"]})
    for number, title in KB_ARTICLES:
        _ensure(store, "kb_knowledge", {"number": number}, short_description=title, workflow_state="published")
    _seed_choices(store, "state", INCIDENT_STATES)
    _seed_choices(store, "contact_type", CONTACT_TYPES)
    _seed_choices(store, "close_code", tuple((code, code) for code in CLOSE_CODES))
    for ticket in scenario.tickets:
        caller = store.user_by_name(ticket.caller_sam) if ticket.caller_sam else None
        _ensure(
            store,
            "incident",
            {"correlation_id": ticket.id},
            caller_id=caller["sys_id"] if caller else "",
            short_description=ticket.short_description,
            description=ticket.description,
            contact_type=ticket.contact_type,
        )


def _seed_choices(store: TableStore, element: str, choices: tuple[tuple[str, str], ...]) -> None:
    for sequence, (value, label) in enumerate(choices, start=1):
        key = {"name": "incident", "element": element, "value": value}
        _ensure(store, "sys_choice", key, label=label, sequence=str(sequence * 10), language="en")


def _ensure(store: TableStore, table: str, key: Mapping[str, str], **values: str) -> Record:
    """The row with this natural key, inserted with ``values`` when missing."""
    found = store.find(table, **key)
    if found:
        return found[0]
    return store.insert(table, {**key, **values}, user=SEEDER)


def _names_from_address(address: str) -> tuple[str, str]:
    """'claire.fabre@x' -> ('Claire', 'Fabre'); 's.moreau@x' -> ('S.', 'Moreau')."""
    parts = [part for part in re.split(r"[._-]+", address.split("@", 1)[0]) if part]
    words = [part.capitalize() + ("." if len(part) == 1 else "") for part in parts]
    if not words:
        return "", address
    return words[0], " ".join(words[1:])
