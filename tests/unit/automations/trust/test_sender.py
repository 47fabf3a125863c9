"""Sender verification (VER-01..07, VER-09 Date): security.md TC-01..05 and TC-18, table-driven."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from automations.registry import Partner, PartnerRegistry
from automations.request import Request
from automations.trust import Refusal
from automations.trust.lookalike import ascii_domain
from automations.trust.sender import (
    REASONS,
    SenderPolicy,
    parse_authentication_results,
    protected_domains,
    trusted_results,
    verify_sender,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OURS = "mx.agence.fr"
ADDRESS = "conseiller@mission-locale-lyon.fr"
PARTNER = Partner(id="ml-lyon", name="Mission locale de Lyon", domains=frozenset({"mission-locale-lyon.fr"}),
                  correspondents=frozenset({ADDRESS}), ou="OU=ML Lyon,OU=Partenaires,DC=agence,DC=local")
POLICY = SenderPolicy(authserv_ids=frozenset({OURS}),
                      protected_domains=frozenset({"mission-locale-lyon.fr", "capemploi69.fr", "agence.fr"}))
GOOD_AR = (f"{OURS}; dkim=pass header.d=mission-locale-lyon.fr header.s=s1; "
           "spf=pass smtp.mailfrom=mission-locale-lyon.fr; "
           "dmarc=pass (p=none dis=none) header.from=mission-locale-lyon.fr")
CYRILLIC = "mission-locale-ly\u043en.fr"  # with a Cyrillic "о"
SPF_ONLY_AR = (f"{OURS}; dkim=none; spf=pass smtp.mailfrom=bounce@mission-locale-lyon.fr; "
               "dmarc=pass header.from=mission-locale-lyon.fr")


SPF_PARTNER = replace(PARTNER, accept_spf_only=True)  # the registry's documented SPF-only risk acceptance


def mail(*extra: tuple[str, str], ar: tuple[str, ...] = (GOOD_AR,), sender: str = ADDRESS,
         from_: tuple[str, ...] | None = None, date: datetime | str | None = NOW - timedelta(minutes=5),
         received: bool = True) -> Request:
    """An e-mail as intake sees it: our server's Received and Authentication-Results on top, then the rest."""
    headers: list[tuple[str, str]] = [("Authentication-Results", value) for value in ar]
    if received:
        headers.append(("Received", "from out.partner.example by mx.agence.fr; Mon, 2 Mar 2026 09:25:00 +0000"))
    headers += [(name, value) for name, value in extra]
    for value in from_ if from_ is not None else (f'"Conseiller ML" <{sender}>',):
        headers.append(("From", value))
    if date is not None:
        headers.append(("Date", date if isinstance(date, str) else format_datetime(date)))
    headers.append(("Message-ID", "<abc@mission-locale-lyon.fr>"))
    return Request(key="<abc@mission-locale-lyon.fr>", channel="email", sender_address=sender, sender_name="",
                   subject="Déblocage", text="Bonjour", headers=tuple(headers))


def reasons(refusals: list[Refusal]) -> list[str]:
    return [r.reason for r in refusals]


FORGED_OURS = f"{OURS}; dkim=pass header.d=mission-locale-lyon.fr; dmarc=pass header.from=mission-locale-lyon.fr"
FAIL_AR = (f"{OURS}; dkim=fail header.d=mission-locale-lyon.fr; spf=fail smtp.mailfrom=mission-locale-lyon.fr; "
           "dmarc=fail (p=reject) header.from=mission-locale-lyon.fr")


@pytest.mark.parametrize(
    ("case", "request_", "partner", "expected"),
    [
        ("valid", mail(), PARTNER, []),
        ("valid, p=none is not a reason by itself", mail(), PARTNER, []),
        ("valid, DKIM by a parent domain (relaxed)",
         mail(ar=(GOOD_AR.replace("header.from=mission-locale-lyon.fr", "header.from=rh.mission-locale-lyon.fr"),),
              sender="a@rh.mission-locale-lyon.fr"), None, []),
        # TC-01: spoofed registered domain.
        ("TC-01 dkim=fail dmarc=fail", mail(ar=(FAIL_AR,)), PARTNER, ["DMARC_FAIL", "DKIM_NOT_ALIGNED"]),
        ("TC-01 dmarc bestguesspass", mail(ar=(GOOD_AR.replace("dmarc=pass", "dmarc=bestguesspass"),)), PARTNER,
         ["DMARC_FAIL"]),
        ("TC-01 dmarc temperror", mail(ar=(GOOD_AR.replace("dmarc=pass", "dmarc=temperror"),)), PARTNER,
         ["DMARC_FAIL"]),
        ("TC-01 dmarc for another domain",
         mail(ar=(GOOD_AR.replace("header.from=mission-locale-lyon.fr", "header.from=evil.com"),)), PARTNER,
         ["DMARC_FAIL"]),
        ("TC-01 no DMARC verdict", mail(ar=(f"{OURS}; dkim=pass header.d=mission-locale-lyon.fr",)), PARTNER,
         ["DMARC_FAIL"]),
        ("TC-01 compauth fail", mail(ar=(GOOD_AR + "; compauth=fail reason=001",)), PARTNER, ["DMARC_FAIL"]),
        ("DKIM signed by another domain", mail(ar=(GOOD_AR.replace("header.d=mission-locale-lyon.fr",
                                                                   "header.d=mailer.example"),)), PARTNER,
         ["SPF_ONLY_NOT_ACCEPTED"]),
        ("DKIM by a public suffix is not aligned",
         mail(ar=(f"{OURS}; dkim=pass header.d=gouv.fr; dmarc=pass header.from=rhone.gouv.fr",),
              sender="a@rhone.gouv.fr"), None, ["DKIM_NOT_ALIGNED"]),
        ("SPF-only, not accepted", mail(ar=(SPF_ONLY_AR,)), PARTNER, ["SPF_ONLY_NOT_ACCEPTED"]),
        ("SPF-only, accepted by the registry entry", mail(ar=(SPF_ONLY_AR,)), SPF_PARTNER, []),
        ("SPF-only accepted, but SPF for another domain",
         mail(ar=(SPF_ONLY_AR.replace("bounce@mission-locale-lyon.fr", "bounce@esp.example"),)), SPF_PARTNER,
         ["DKIM_NOT_ALIGNED"]),
        ("no Authentication-Results", mail(ar=()), PARTNER, ["NO_AUTH_RESULTS"]),
        # TC-02: forged Authentication-Results.
        ("TC-02 only foreign authserv-ids",
         mail(ar=(GOOD_AR.replace(OURS, "mx.evil.com"), GOOD_AR.replace(f"{OURS};", ""))), PARTNER, ["FORGED_AR"]),
        ("TC-02 our id forged below our real header (which says fail)",
         mail(("Authentication-Results", FORGED_OURS), ar=(FAIL_AR,)), PARTNER,
         ["FORGED_AR", "DMARC_FAIL", "DKIM_NOT_ALIGNED"]),
        ("TC-02 our id forged below our real header (which says pass)",
         mail(("Authentication-Results", FORGED_OURS), ar=(GOOD_AR,)), PARTNER, ["FORGED_AR"]),
        ("TC-02 a foreign header beside ours changes nothing",
         mail(("Authentication-Results", FAIL_AR.replace(OURS, "mx.partner.example")), ar=(GOOD_AR,)), PARTNER, []),
        ("TC-02 conflicting verdicts inside our block fail closed",
         mail(ar=(GOOD_AR, FAIL_AR)), PARTNER, ["DMARC_FAIL"]),
        # TC-03: look-alike domain, with an alert.
        ("TC-03 hyphen removed", mail(ar=(GOOD_AR.replace("mission-locale-lyon", "missionlocale-lyon"),),
                                      sender="conseiller@missionlocale-lyon.fr"), None, ["LOOKALIKE_DOMAIN"]),
        ("TC-03 Cyrillic о", mail(ar=(GOOD_AR.replace("mission-locale-lyon.fr", ascii_domain(CYRILLIC)),),
                                 sender=f"conseiller@{CYRILLIC}"), None, ["LOOKALIKE_DOMAIN"]),
        ("TC-03 protected domain as subdomain", mail(sender="c@mission-locale-lyon.fr.evil.com"), None,
         ["LOOKALIKE_DOMAIN", "DMARC_FAIL", "DKIM_NOT_ALIGNED"]),
        ("TC-03 look-alike to a partner", mail(sender="c@mission-locale-lyon.com"), PARTNER,
         ["LOOKALIKE_DOMAIN", "DMARC_FAIL", "DKIM_NOT_ALIGNED", "DOMAIN_NOT_PARTNER"]),
        # TC-04: unregistered address, several From.
        ("TC-04 free-mail address posing as a partner",
         mail(ar=(GOOD_AR.replace("mission-locale-lyon.fr", "gmail.com"),), sender="cap69.rh@gmail.com",
              from_=('"Correspondant Cap emploi 69" <cap69.rh@gmail.com>',)), PARTNER, ["DOMAIN_NOT_PARTNER"]),
        ("TC-04 two From headers", mail(from_=(f"<{ADDRESS}>", "<x@evil.com>")), PARTNER, ["MULTIPLE_FROM"]),
        ("TC-04 two addresses in one From", mail(from_=(f"{ADDRESS}, x@evil.com",)), PARTNER, ["MULTIPLE_FROM"]),
        ("no From", mail(from_=()), PARTNER, ["MULTIPLE_FROM"]),
        ("From differs from the mailbox's sender", mail(from_=("<other@mission-locale-lyon.fr>",)), PARTNER,
         ["SENDER_MISMATCH"]),
        ("Sender differs from From", mail(("Sender", "<bulk@mailer.example>")), PARTNER, ["SENDER_MISMATCH"]),
        ("Sender equal to From", mail(("Sender", f"Conseiller <{ADDRESS}>")), PARTNER, []),
        # TC-05: Reply-To elsewhere.
        ("TC-05 Reply-To another domain", mail(("Reply-To", "attacker@proton.me")), PARTNER, ["REPLYTO_MISMATCH"]),
        ("Reply-To within the From domain", mail(("Reply-To", "accueil@mission-locale-lyon.fr")), PARTNER, []),
        ("Reply-To on a look-alike domain", mail(("Reply-To", "c@missionlocale-lyon.fr")), PARTNER,
         ["LOOKALIKE_DOMAIN", "REPLYTO_MISMATCH"]),
        # TC-18: Date window.
        ("TC-18 five days old", mail(date=NOW - timedelta(days=5)), PARTNER, ["REPLAY"]),
        ("TC-18 25 hours old", mail(date=NOW - timedelta(hours=25)), PARTNER, ["REPLAY"]),
        ("23 hours old", mail(date=NOW - timedelta(hours=23)), PARTNER, []),
        ("TC-18 an hour ahead", mail(date=NOW + timedelta(hours=1)), PARTNER, ["REPLAY"]),
        ("10 minutes ahead (clock skew)", mail(date=NOW + timedelta(minutes=10)), PARTNER, []),
        ("no Date", mail(date=None), PARTNER, ["REPLAY"]),
        ("unreadable Date", mail(date="yesterday"), PARTNER, ["REPLAY"]),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_verify_sender(case: str, request_: Request, partner: Partner | None, expected: list[str]) -> None:
    refusals = verify_sender(request_, partner, POLICY, now=NOW)
    assert reasons(refusals) == expected, case
    assert all(r.detail for r in refusals)
    assert set(reasons(refusals)) <= set(REASONS)
    assert all(r.alert for r in refusals if r.reason == "LOOKALIKE_DOMAIN")


def test_forged_our_id_alerts_but_foreign_only_does_not() -> None:
    forged = verify_sender(mail(("Authentication-Results", FORGED_OURS)), PARTNER, POLICY, now=NOW)
    assert [r.alert for r in forged] == [True]
    foreign = verify_sender(mail(ar=(GOOD_AR.replace(OURS, "mx.evil.com"),)), PARTNER, POLICY, now=NOW)
    assert [(r.reason, r.alert) for r in foreign] == [("FORGED_AR", False)]


def test_details_say_what_to_check() -> None:
    (refusal,) = verify_sender(mail(("Reply-To", "attacker@proton.me")), PARTNER, POLICY, now=NOW)
    assert "attacker@proton.me" in refusal.detail and "never used" in refusal.detail
    (refusal,) = verify_sender(mail(ar=(SPF_ONLY_AR,)), PARTNER, POLICY, now=NOW)
    assert "SPF-only" in refusal.detail


def test_several_of_our_servers_and_naive_now() -> None:
    policy = SenderPolicy(authserv_ids=frozenset({"MX.Agence.fr", "eop.agence.fr"}))
    assert verify_sender(mail(), PARTNER, policy, now=NOW.replace(tzinfo=None)) == []


def test_parse_authentication_results() -> None:
    header = parse_authentication_results(
        'mx.agence.fr 1; dkim=pass (2048-bit key; unprotected) header.d=ML-Lyon.fr header.s="s1"; '
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=ml-lyon.fr; dmarc=pass (p=REJECT) header.from=ml-lyon.fr")
    assert header.authserv_id == "mx.agence.fr"
    assert [(r.method, r.result) for r in header.results] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert header.results[0].properties == {"header.d": "ml-lyon.fr", "header.s": "s1"}
    # Exchange Online writes no authserv-id: such a header cannot be ours.
    eop = parse_authentication_results("spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=ml-lyon.fr; "
                                       "dkim=pass (signature was verified) header.d=ml-lyon.fr;dmarc=pass "
                                       "action=none header.from=ml-lyon.fr;compauth=pass reason=100")
    assert eop.authserv_id == "" and [r.method for r in eop.results] == ["spf", "dkim", "dmarc", "compauth"]
    assert parse_authentication_results("mx.agence.fr; none").results == ()


def test_trusted_block_stops_at_the_previous_hop() -> None:
    request = mail(("Authentication-Results", FORGED_OURS), ar=(GOOD_AR, f"{OURS}; arc=none"))
    trusted, forged, foreign = trusted_results(request, frozenset({OURS}))
    assert [r.method for r in trusted] == ["dkim", "spf", "dmarc", "arc"]
    assert (forged, foreign) == (1, 0)


def test_protected_domains_from_registry() -> None:
    other = Partner(id="cap", name="Cap", domains=frozenset(), correspondents=frozenset({"rh@capemploi69.fr"}), ou="")
    registry = PartnerRegistry([PARTNER, other])
    assert protected_domains(registry, ["Agence.fr"]) == {"mission-locale-lyon.fr", "capemploi69.fr", "agence.fr"}


@pytest.mark.parametrize("changes", [{"authserv_ids": frozenset()}, {"authserv_ids": frozenset({" "})},
                                     {"max_age_seconds": 0}, {"max_future_seconds": -1}])
def test_policy_refuses_an_unusable_configuration(changes: dict[str, object]) -> None:
    values: dict[str, object] = {"authserv_ids": frozenset({OURS})} | changes
    with pytest.raises(ValueError):
        SenderPolicy(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ar", "expected"),
    [
        # A terse verdict from our own server still speaks of the From domain and of a verified signature.
        (f"{OURS}; spf=pass; dkim=pass; dmarc=pass", []),
        (f"{OURS}; dkim=pass header.d=mission-locale-lyon.fr; dmarc=pass", []),
        # ... but a verdict naming another domain is never stretched to fit.
        (f"{OURS}; dkim=pass; dmarc=pass header.from=evil.example", ["DMARC_FAIL", "DKIM_NOT_ALIGNED"]),
        (f"{OURS}; dkim=pass header.d=mailer.example; spf=pass smtp.mailfrom=x@mailer.example; dmarc=pass",
         ["DKIM_NOT_ALIGNED"]),
        (f"{OURS}; dkim=pass; dmarc=fail", ["DMARC_FAIL", "DKIM_NOT_ALIGNED"]),
        (f"{OURS}; dkim=fail; dmarc=pass", ["DKIM_NOT_ALIGNED"]),
    ],
)
def test_terse_verdicts_of_our_server(ar: str, expected: list[str]) -> None:
    assert reasons(verify_sender(mail(ar=(ar,)), PARTNER, POLICY, now=NOW)) == expected
