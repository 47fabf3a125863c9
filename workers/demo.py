"""``sesame demo``: the sandbox with a seeded scenario, the fleet until idle, and a short summary."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from sandbox.server import Sandbox
from workers.config import load_settings
from workers.fleet import run_fleet
from workers.local_redis import LocalRedis

DEMO_SCENARIO = Path(__file__).resolve().parent.parent / "sandbox" / "scenarios" / "demo"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(scenario: Path = DEMO_SCENARIO, state: Path | None = None, *, timeout: float = 180) -> dict[str, Any]:
    """Run the whole path on the sandbox; return the fleet's summary with what the demo used."""
    state = state or Path(tempfile.mkdtemp(prefix="sesame-demo-"))
    redis = LocalRedis(state / "redis") if LocalRedis.available() else None
    broker = "memory://"
    if redis is not None:
        _say("• Broker: a private Redis on 127.0.0.1 (redis-server found)")
        broker = redis.start()
    else:
        _say("• Broker: in-process memory transport (no redis-server on this machine)")
    sandbox = Sandbox(scenario, state, ad_mode="auto", broker_url=broker)
    try:
        _say("• Starting the sandbox: ServiceNow, Microsoft Graph mailbox, directory…")
        info = sandbox.start()
        directory = (f"Samba AD domain controller {info['ad']['base_dn']} on 127.0.0.1" if info["ad"]
                     else f"the sandbox's directory emulator (no Samba DC: {info['directory_note']})")
        _say(f"• Active Directory: {directory}")
        _say(f"• ServiceNow: {info['servicenow']['url']}   mailbox: {info['mailbox']}")
        _say("• Running the fleet until every e-mail is handled…")
        settings = load_settings(info["config"])
        summary = run_fleet(settings, info["config"], until_idle=True, timeout=timeout)
    finally:
        sandbox.stop()
        if redis is not None:
            redis.stop()
    summary["directory"] = "samba" if info["ad"] else "emulator"
    summary["broker"] = "redis" if redis is not None else "memory"
    summary["state"] = str(state)
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The demo's summary for a person."""
    seen, ignored = summary["requests_seen"], summary.get("ignored", 0)
    not_counted = summary.get("automated_not_counted", 0)
    lines = [
        "",
        "Sésame demo — summary",
        f"  requests seen        {seen}",
        f"  automated            {summary['automated']}"
        + (f"   ({summary['uo_tr11']} UO-TR1.1, {not_counted} closed without the tag: not counted)"
           if not_counted else ""),
        f"  handed to humans     {summary['handed_to_humans']}",
        f"  automated resolution {summary['automated_pct']:.1f} %   (UO-TR1.1 tickets ÷ requests seen)",
    ]
    if ignored:
        reasons = ", ".join(f"{count} × {reason}" for reason, count in summary.get("ignored_reasons", {}).items())
        lines.append(f"  not requests         {ignored}   (messages that needed nothing, left out of the rate: "
                     f"{reasons})")
    if summary["reasons"]:
        lines.append("  reasons for hand-over:")
        lines += [f"    {count} × {reason}" for reason, count in summary["reasons"].items()]
    lines.append("  requests:")
    for item in summary["requests"]:
        verdict = item["decision"] or "pending"
        if item["decision"] == "automated" and item.get("uo_tr11") is False:
            verdict += ", not UO-TR1.1"
        if item["reason"]:
            verdict += f" ({item['reason']})"
        lines.append(f"    {item['ticket'] or '-':<11} {item['sender']:<40} {verdict}")
    lines.append(f"  state kept in {summary['state']}")
    return "\n".join(lines)
