"""The trust checks the request handler runs, bundled: each is optional so a deployment (or a unit test) can
leave one out explicitly, and none of them ever acts — they only refuse, with a reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from automations.registry import Partner
from automations.request import Request
from automations.trust import Refusal
from automations.trust.collective import CollectiveDetector
from automations.trust.killswitch import KillSwitch
from automations.trust.limits import RateLimits
from automations.trust.replay import SeenBefore, replay_refusal
from automations.trust.sender import SenderPolicy, verify_sender

log = structlog.get_logger(__name__)

# Refusals after which nothing at all is sent back: the sender is not who it claims to be.
SILENT_REASONS = frozenset({"LOOKALIKE_DOMAIN", "FORGED_AR", "DMARC_FAIL", "DKIM_NOT_ALIGNED", "MULTIPLE_FROM",
                            "SENDER_MISMATCH", "DOMAIN_NOT_PARTNER", "REPLAY", "REPLYTO_MISMATCH"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _log_alert(refusal: Refusal, request: Request) -> None:
    log.warning("security.alert", reason=refusal.reason, detail=refusal.detail, key=request.key)


@dataclass
class TrustChecks:
    """Sender verification, replays, limits, bursts and the kill switch, as configured."""

    sender_policy: SenderPolicy | None = None
    replay_guard: SeenBefore | None = None
    rate_limits: RateLimits | None = None
    kill_switch: KillSwitch | None = None
    collective: CollectiveDetector | None = None
    max_targets: int = 5
    clock: Callable[[], datetime] = field(default=_utcnow)
    alert: Callable[[Refusal, Request], None] = field(default=_log_alert)

    def origin(self, request: Request, partner: Partner | None) -> list[Refusal]:
        """Who sent it: authentication results, alignment, From/Sender/Reply-To, look-alikes, replays."""
        if self.sender_policy is None or request.channel != "email":
            return []
        refusals = verify_sender(request, partner, self.sender_policy, now=self.clock())
        # Only mail that proved its origin claims a replay key: forged copies must not burn the real one's.
        if not refusals and self.replay_guard is not None:
            late = replay_refusal(request, self.replay_guard)
            if late is not None:
                refusals.append(late)
        self._raise_alerts(request, refusals)
        return refusals

    def volume(self, request: Request, *, action: str, targets: tuple[str, ...], partner_id: str,
               intent: str) -> list[Refusal]:
        """Bursts and rate limits, before anything is done for this request."""
        refusals: list[Refusal] = []
        if self.collective is not None:
            try:
                verdict = self.collective.observe(request.key, intent=intent, partner=partner_id, application=None)
            except Exception as error:  # the store is unreadable: fail closed, like the other Redis-backed checks
                refusals.append(Refusal("COLLECTIVE_CHECK_UNAVAILABLE",
                                        f"the burst counter cannot be read ({type(error).__name__}); a person decides",
                                        alert=True))
                verdict = None
            if verdict is not None and verdict.collective:
                refusals.append(Refusal("COLLECTIVE_INCIDENT",
                                        f"{verdict.count} similar requests in the window ({verdict.group_key}): "
                                        "treat them together as one collective incident", alert=True,
                                        group=verdict.group_key))
        if self.rate_limits is not None:
            for target in targets[:1] or (None,):
                refusals += self.rate_limits.check(action, target=target, correspondent=request.sender_address,
                                                   partner=partner_id, request_key=request.key)
        self._raise_alerts(request, refusals)
        return refusals

    def collective_parent(self, group: str, open_parent: Callable[[], str]) -> str:
        """The parent incident of a burst: the one already opened for ``group``, else a new one from
        ``open_parent`` (when two workers race, the first one stored wins and both link to it)."""
        assert self.collective is not None
        existing = self.collective.parent(group)
        if existing:
            return existing
        return self.collective.remember_parent(group, open_parent())

    def record(self, request: Request, *, action: str, target: str, partner_id: str) -> None:
        """Count an action that was done (after the directory confirmed it)."""
        if self.rate_limits is not None:
            self.rate_limits.record(action, request_key=request.key, target=target,
                                    correspondent=request.sender_address, partner=partner_id)

    def _raise_alerts(self, request: Request, refusals: list[Refusal]) -> None:
        for refusal in refusals:
            if refusal.alert:
                self.alert(refusal, request)
