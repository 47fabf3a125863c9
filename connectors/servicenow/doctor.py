"""`sesame doctor` for ServiceNow: reachable, authenticated, the integration user's roles, reference data, groups.

Least privilege (security notes §3): the integration user needs ``itil`` (or ``sn_incident_write``) and must not
hold ``admin``, which is more than any playbook needs. Checks only read; a failed check is a red finding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connectors.errors import ConnectorError, PermissionMissingError, TransientError
from connectors.health import Finding
from connectors.servicenow.client import SYSTEM, ServiceNowClient, literal

WORK_ROLES = ("itil", "sn_incident_write")
TOO_MUCH = ("admin", "security_admin")
First = Callable[[str, str, list[str], str], "dict[str, str] | None"]


def run(sn: ServiceNowClient, groups: Sequence[str], first: First) -> list[Finding]:
    """Every check, in order; stops after the connection checks when the instance cannot be used at all."""
    findings: list[Finding] = []
    try:
        me = first("sys_user", f"user_name={literal(sn.user)}", ["user_name"], "doctor")
    except TransientError as exc:
        return [Finding(SYSTEM, "reachable", False, _safe(exc),
                        f"check servicenow.url ({sn.instance}), the network path and servicenow.ca_file")]  # fmt: skip
    except PermissionMissingError as exc:
        return [
            Finding(SYSTEM, "reachable", True, f"{sn.instance} answered"),
            Finding(SYSTEM, "authenticated", False, _safe(exc),
                    "check servicenow.user and SESAME_SERVICENOW_PASSWORD; the account must not be locked"),
        ]  # fmt: skip
    except ConnectorError as exc:
        return [Finding(SYSTEM, "reachable", False, _safe(exc), "see the error; check servicenow.url and ca_file")]
    findings.append(Finding(SYSTEM, "reachable", True, f"{sn.instance} answered"))
    findings.append(Finding(SYSTEM, "authenticated", True, f"logged in as {sn.user}"))
    if me is None:
        findings.append(Finding(SYSTEM, "integration user", False, f"no sys_user with user_name={sn.user}",
                                "create the integration user (sys_user) the bot logs in as"))  # fmt: skip
        return findings
    findings += _roles(sn, me["sys_id"])
    findings.append(
        _check(
            sn,
            "read close codes",
            "sys_choice",
            "name=incident^element=close_code^inactive=false",
            "define incident close codes in sys_choice and let the integration user read sys_choice",
        )
    )
    findings.append(_check(sn, "read knowledge articles", "kb_knowledge", "workflow_state=published",
                           "let the integration user read kb_knowledge (published articles)"))  # fmt: skip
    for group in groups:
        findings.append(_group(sn, group, first))
    return findings


def _roles(sn: ServiceNowClient, user_id: str) -> list[Finding]:
    def fetch() -> set[str]:
        gr = sn.record("sys_user_has_role", fields=["role.name"])
        gr.add_encoded_query(f"user={user_id}")
        gr.query()
        return {str(row.get_value("role.name") or "") for row in gr} - {""}

    try:
        roles = sn.read("doctor", "reading the integration user's roles (sys_user_has_role)", fetch)
    except ConnectorError as exc:
        return [Finding(SYSTEM, "roles", False, _safe(exc), "let the integration user read sys_user_has_role")]
    held = ", ".join(sorted(roles)) or "none"
    findings = []
    if roles & set(WORK_ROLES):
        findings.append(Finding(SYSTEM, "role itil", True, f"{sn.user} holds {held}"))
    else:
        findings.append(
            Finding(
                SYSTEM,
                "role itil",
                False,
                f"{sn.user} holds {held}; it cannot work incidents",
                f"grant the role itil (or sn_incident_write) to {sn.user} (sys_user_has_role)",
            )
        )
    extra = sorted(roles & set(TOO_MUCH))
    if extra:
        findings.append(Finding(SYSTEM, "least privilege", False,
                                f"{sn.user} holds {', '.join(extra)}: more than the bot needs",
                                f"remove the role(s) {', '.join(extra)} from {sn.user}; keep itil"))  # fmt: skip
    else:
        findings.append(Finding(SYSTEM, "least privilege", True, f"{sn.user} holds no administrator role"))
    return findings


def _check(sn: ServiceNowClient, check: str, table: str, query: str, fix: str) -> Finding:
    def fetch() -> int:
        gr = sn.record(table, fields=["sys_id"], batch_size=1)
        gr.add_encoded_query(query)
        gr.limit = 1
        gr.query()
        return gr.get_row_count()

    try:
        rows = sn.read("doctor", f"reading {table}", fetch)
    except ConnectorError as exc:
        return Finding(SYSTEM, check, False, _safe(exc), fix)
    if rows == 0:
        return Finding(SYSTEM, check, False, f"{table} returned nothing for {query}", fix)
    return Finding(SYSTEM, check, True, f"{table} readable ({rows} rows)")


def _group(sn: ServiceNowClient, group: str, first: First) -> Finding:
    check = f"group {group}"
    try:
        found = first("sys_user_group", f"name={literal(group)}", ["name"], "doctor")
    except ConnectorError as exc:
        return Finding(SYSTEM, check, False, _safe(exc), "let the integration user read sys_user_group")
    if found is None:
        return Finding(SYSTEM, check, False, f"no sys_user_group named {group!r}",
                       f"create the group {group!r} in ServiceNow or fix the name in the desk settings")  # fmt: skip
    return Finding(SYSTEM, check, True, f"sys_user_group {group!r} exists")


def _safe(exc: Exception) -> str:
    return str(exc)[:300]
