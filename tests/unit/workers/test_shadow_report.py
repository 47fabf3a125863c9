"""How `report shadow` judges one plan against the people's resolution, and its figures."""

from __future__ import annotations

from datetime import datetime

from automations.ledger import ShadowPlan
from workers.shadow_report import HumanResolution, ShadowReport, compare


def plan(outcome: str, reason: str | None = None) -> ShadowPlan:
    return ShadowPlan("<k@x>", "sys1", "INC0010001", "unlock", "account_unlock", 4, "a" * 64, outcome, reason,
                      "detail" if reason else None, "Résolution définitive", "KB0010001")


def closed(code: str, state: str = "7") -> HumanResolution:
    return HumanResolution("INC0010001", state, code, "notes", "Service Desk N1")


def test_a_planned_action_agrees_only_with_the_same_close_code() -> None:
    assert compare(plan("automated"), closed("résolution définitive")).verdict == "agree"
    wrong = compare(plan("automated"), closed("Hors périmètre"))
    assert (wrong.verdict, wrong.kind) == ("disagree", "wrong_action")


def test_a_planned_refusal_disagrees_when_people_did_what_the_playbook_does() -> None:
    missed = compare(plan("handed_over", "account_not_locked"), closed("Résolution définitive"))
    assert (missed.verdict, missed.kind) == ("disagree", "missed") and "account_not_locked" in missed.planned
    assert compare(plan("handed_over", "out_of_scope"), closed("Hors périmètre")).verdict == "agree"


def test_open_or_missing_tickets_are_pending_and_left_out_of_the_rate() -> None:
    assert compare(plan("automated"), closed("", state="2")).verdict == "pending"
    assert compare(plan("automated"), None).verdict == "pending"
    report = ShadowReport(datetime(2026, 11, 1), 3, [compare(plan("automated"), closed("Résolution définitive")),
                                                     compare(plan("automated"), closed("Sans suite")),
                                                     compare(plan("automated"), None)])
    figures = report.to_json()
    assert (figures["agree"], figures["resolved_by_people"], figures["pending"], figures["agreement_pct"]) == (
        1, 2, 1, 50.0)
    assert "Agreement  1/2 (50.0 %)" in report.format()
