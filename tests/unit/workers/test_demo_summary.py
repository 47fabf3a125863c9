"""`sesame demo`'s summary: seen / automated / handed over / rate, honest about what is not counted."""

from __future__ import annotations

from pathlib import Path

from automations.ledger import AUTOMATED, HANDED_OVER, IGNORED, Ledger, Outcome, TicketProvenance
from automations.request import Request
from workers.demo import format_summary


def _finish(ledger: Ledger, key: str, outcome: Outcome) -> None:
    ledger.register(Request(key=key, channel="email", sender_address=f"{key[1:3]}@ml.fr", sender_name="",
                            subject="s", text="t", headers=()))
    ledger.finish(key, outcome)


def test_the_summary_counts_uo_tr11_apart_from_untagged_closures_and_leaves_out_auto_replies(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    tagged = TicketProvenance(True, closed_by_automation=True, tag="UO-TR1.1")
    untagged = TicketProvenance(True, closed_by_automation=True, tag=None)
    _finish(ledger, "<u1@x>", Outcome(decision=AUTOMATED, ticket_number="INC1", provenance=tagged, uo_tr11=True))
    _finish(ledger, "<o1@x>", Outcome(decision=AUTOMATED, ticket_number="INC2", provenance=untagged))
    _finish(ledger, "<h1@x>", Outcome(decision=HANDED_OVER, reason="unknown_sender", ticket_number="INC3",
                                      provenance=TicketProvenance(True)))
    _finish(ledger, "<a1@x>", Outcome(decision=IGNORED, reason="ignored_by_playbook"))
    summary = {**ledger.summary(), "state": str(tmp_path)}
    ledger.engine.dispose()

    text = format_summary(summary)

    assert "requests seen        3" in text
    assert "automated            2   (1 UO-TR1.1, 1 closed without the tag: not counted)" in text
    assert "handed to humans     1" in text
    assert "automated resolution 33.3 %" in text
    assert "not requests         1" in text and "1 × ignored_by_playbook" in text
    [untagged_line] = [line for line in text.splitlines() if "INC2" in line]
    assert untagged_line.endswith("automated, not UO-TR1.1")
    [tagged_line] = [line for line in text.splitlines() if "INC1" in line]
    assert tagged_line.endswith("automated")
