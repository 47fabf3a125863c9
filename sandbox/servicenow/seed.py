"""Fill a store from a scenario: users, roles, groups, KB articles, choice lists and pre-existing incidents."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sandbox.scenario import Scenario
from sandbox.servicenow.store import Record, TableStore

SEEDER = "system"
BOT_NAME = ("Sésame", "Automate")
# A PDI's administrator, with the sys_id every instance gives it (pysnc's own tests look it up).
ADMIN = {
    "sys_id": "6816f79cc0a8016401c5a33be04be441",
    "user_name": "admin",
    "first_name": "System",
    "last_name": "Administrator",
    "name": "System Administrator",
    "email": "admin@example.com",
    "title": "System Administrator",
    "roles": "admin",
}
ROLES = (
    ("itil", "Service desk agent: works incidents, problems and changes"),
    ("admin", "System administrator"),
    ("knowledge", "Writes knowledge articles"),
    ("sn_incident_write", "Creates and updates incidents"),
)
AUTOMATION_GROUP = "Sésame Automatisation"
# Groups: name, description, manager's user_name; each manager is also its member.
GROUPS = (
    (AUTOMATION_GROUP, "Demandes traitées par l'automate Sésame", ""),
    ("Service Desk N1", "Support de niveau 1", "lea.martin"),
    ("Service Desk N2", "Support de niveau 2", "hugo.bernard"),
)
# Human agents of the service desk: user_name, first name, last name, title, group.
AGENTS = (
    ("lea.martin", "Léa", "Martin", "Technicienne support N1", "Service Desk N1"),
    ("hugo.bernard", "Hugo", "Bernard", "Technicien support N2", "Service Desk N2"),
)
# One published article per automation playbook kind.
KB_ARTICLES = (
    (
        "KB0010001",
        "Débloquer un compte Active Directory",
        "Après plusieurs mots de passe erronés, le compte est verrouillé. Le service desk le déverrouille "
        "après avoir vérifié l'identité du demandeur.",
    ),
    (
        "KB0010002",
        "Réinitialiser son mot de passe",
        "Un mot de passe oublié ou expiré est réinitialisé par le service desk ; le nouveau mot de passe "
        "est transmis par un canal vérifié et doit être changé à la première connexion.",
    ),
    (
        "KB0010003",
        "Authentification multifacteur (MFA)",
        "En cas de changement de téléphone, la méthode d'authentification multifacteur est réinitialisée "
        "pour permettre un nouvel enrôlement.",
    ),
    (
        "KB0010004",
        "Gérer un appareil mobile (Intune)",
        "Un appareil perdu ou remplacé est retiré d'Intune ; le nouvel appareil est enrôlé par l'utilisateur.",
    ),
)
Choices = tuple[tuple[str, str], ...]
INCIDENT_STATES: Choices = (
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
)
HOLD_REASONS: Choices = (
    ("1", "Awaiting Caller"),
    ("3", "Awaiting Problem"),
    ("4", "Awaiting Vendor"),
    ("5", "Awaiting Change"),
)
IMPACTS: Choices = (("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low"))
PRIORITIES: Choices = (
    ("1", "1 - Critical"),
    ("2", "2 - High"),
    ("3", "3 - Moderate"),
    ("4", "4 - Low"),
    ("5", "5 - Planning"),
)
CONTACT_TYPES: Choices = (
    ("email", "Email"),
    ("phone", "Phone"),
    ("self-service", "Self-service"),
    ("chat", "Chat"),
    ("walk-in", "Walk-in"),
    ("virtual_agent", "Virtual Agent"),
)
CATEGORIES: Choices = (
    ("inquiry", "Inquiry / Help"),
    ("software", "Software"),
    ("hardware", "Hardware"),
    ("network", "Network"),
    ("database", "Database"),
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
ITEM_STATES: Choices = (
    ("-5", "Pending"),
    ("1", "Open"),
    ("2", "Work in Progress"),
    ("3", "Closed Complete"),
    ("4", "Closed Incomplete"),
    ("7", "Closed Skipped"),
)
ITEM_STAGES: Choices = (
    ("waiting_for_approval", "Waiting for Approval"),
    ("request_approved", "Request Approved"),
    ("fulfillment", "Fulfillment"),
    ("delivery", "Delivery"),
    ("complete", "Completed"),
    ("Request Cancelled", "Request Cancelled"),
)
APPROVALS: Choices = (
    ("not requested", "Not Yet Requested"),
    ("requested", "Requested"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
)
# (table, element) -> choices, as sys_choice rows.
CHOICE_LISTS: dict[tuple[str, str], Choices] = {
    ("incident", "state"): INCIDENT_STATES,
    ("incident", "hold_reason"): HOLD_REASONS,
    ("incident", "impact"): IMPACTS,
    ("incident", "urgency"): IMPACTS,
    ("incident", "priority"): PRIORITIES,
    ("incident", "contact_type"): CONTACT_TYPES,
    ("incident", "category"): CATEGORIES,
    ("incident", "close_code"): tuple((code, code) for code in CLOSE_CODES),
    ("sc_req_item", "state"): ITEM_STATES,
    ("sc_req_item", "stage"): ITEM_STAGES,
    ("sc_req_item", "approval"): APPROVALS,
}


def seed_store(store: TableStore, scenario: Scenario, *, bot_user: str, bot_password_hint: None = None) -> None:
    """Create the scenario's reference data; rows already present (same natural key) are kept as they are.

    ``bot_password_hint`` is always None: the bot's password lives in the app's ``users`` map.
    """
    roles = {name: _ensure(store, "sys_user_role", {"name": name}, description=text) for name, text in ROLES}
    admin = _ensure(store, "sys_user", {"user_name": ADMIN["user_name"]}, **ADMIN)
    _grant(store, admin, roles["admin"])
    _seed_people(store, scenario)
    bot = _ensure(
        store,
        "sys_user",
        {"user_name": bot_user},
        first_name=BOT_NAME[0],
        last_name=BOT_NAME[1],
        name=" ".join(BOT_NAME),
        roles="itil",
    )
    _grant(store, bot, roles["itil"])
    members = {AUTOMATION_GROUP: [bot]}
    for user_name, first, last, title, group in AGENTS:
        agent = _ensure(
            store,
            "sys_user",
            {"user_name": user_name},
            first_name=first,
            last_name=last,
            name=f"{first} {last}",
            email=f"{user_name}@sandbox.test",
            title=title,
            roles="itil",
        )
        _grant(store, agent, roles["itil"])
        members.setdefault(group, []).append(agent)
    for name, description, manager in GROUPS:
        boss = store.user_by_name(manager) if manager else None
        team = _ensure(
            store, "sys_user_group", {"name": name}, description=description, manager=boss["sys_id"] if boss else ""
        )
        for member in members.get(name, []):
            _ensure(store, "sys_user_grmember", {"user": member["sys_id"], "group": team["sys_id"]})
    for number, title, text in KB_ARTICLES:
        key = {"number": number}
        _ensure(store, "kb_knowledge", key, short_description=title, text=text, workflow_state="published")
    for (table, element), choices in CHOICE_LISTS.items():
        _seed_choices(store, table, element, choices)
    _seed_tickets(store, scenario)


def _seed_people(store: TableStore, scenario: Scenario) -> None:
    """The directory's users and the partners' correspondents, as callers."""
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


def _seed_tickets(store: TableStore, scenario: Scenario) -> None:
    """The scenario's pre-existing tickets, as incidents keyed by ``correlation_id``."""
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


def _grant(store: TableStore, user: Record, role: Record) -> None:
    _ensure(store, "sys_user_has_role", {"user": user["sys_id"], "role": role["sys_id"]})


def _seed_choices(store: TableStore, table: str, element: str, choices: Choices) -> None:
    for sequence, (value, label) in enumerate(choices, start=1):
        key = {"name": table, "element": element, "value": value}
        _ensure(store, "sys_choice", key, label=label, sequence=str(sequence * 10), language="en")


def _ensure(store: TableStore, table: str, key: Mapping[str, str], **values: str) -> Record:
    """The row with this natural key, inserted with ``values`` when missing."""
    found = store.find(table, **key)
    if found:
        return found[0]
    return store.insert(table, {**values, **key}, user=SEEDER)


def _names_from_address(address: str) -> tuple[str, str]:
    """'claire.fabre@x' -> ('Claire', 'Fabre'); 's.moreau@x' -> ('S.', 'Moreau')."""
    parts = [part for part in re.split(r"[._-]+", address.split("@", 1)[0]) if part]
    words = [part.capitalize() + ("." if len(part) == 1 else "") for part in parts]
    if not words:
        return "", address
    return words[0], " ".join(words[1:])
