"""Look-alike domains (VER-06, TC-03): which protected domain a sender's domain imitates."""

from __future__ import annotations

import pytest

from automations.trust.lookalike import (
    ascii_domain,
    damerau_levenshtein,
    lookalike_of,
    normalise_domain,
    skeleton,
    split_domain,
)

PROTECTED = frozenset({"mission-locale-lyon.fr", "capemploi69.fr", "francetravail.fr", "rhone.gouv.fr"})
# "mission-locale-lyоn.fr" with a Cyrillic "о", as its A-label.
CYRILLIC = "mission-locale-ly\u043en.fr"
PUNYCODE = ascii_domain(CYRILLIC)


@pytest.mark.parametrize(
    ("domain", "imitated"),
    [
        ("missionlocale-lyon.fr", "mission-locale-lyon.fr"),  # hyphen removed
        ("mission-locale-lyon-.fr", "mission-locale-lyon.fr"),  # hyphen added
        ("mission--locale-lyon.fr", "mission-locale-lyon.fr"),
        (CYRILLIC, "mission-locale-lyon.fr"),  # Cyrillic "о"
        (PUNYCODE, "mission-locale-lyon.fr"),  # the same, as xn--
        ("mission-locale-lyon.fr.evil.com", "mission-locale-lyon.fr"),  # protected domain as a subdomain
        ("mission-locale-lyon.evil.com", "mission-locale-lyon.fr"),  # its name as a subdomain label
        ("mission-locale-lyon.com", "mission-locale-lyon.fr"),  # TLD swap
        ("mission-locale-lyon.fr.", None),  # trailing dot: the domain itself
        ("MISSION-LOCALE-LYON.FR", None),  # case: the domain itself
        ("mision-locale-lyon.fr", "mission-locale-lyon.fr"),  # one deletion
        ("mission-locael-lyon.fr", "mission-locale-lyon.fr"),  # adjacent swap
        ("mlssion-locale-iyon.fr", "mission-locale-lyon.fr"),  # i/l swaps
        ("capempl0i69.fr", "capemploi69.fr"),  # digit for letter
        ("capemploi69.com", "capemploi69.fr"),
        ("cap-emploi69.fr", "capemploi69.fr"),
        ("francetravall.fr", "francetravail.fr"),
        ("francetravaiI.fr", "francetravail.fr"),  # capital I folded
        ("rnission-locale-lyon.fr", "mission-locale-lyon.fr"),  # "rn" for "m"
        ("france-travail.gouv.fr.attacker.net", "francetravail.fr"),
        ("mission-locale.lyon.fr", "mission-locale-lyon.fr"),  # dot for a hyphen
        ("secure-mission-locale-lyon.com", "mission-locale-lyon.fr"),  # words added
        ("mission-locale-lyon-fr.com", "mission-locale-lyon.fr"),
        ("rhone-gouv.fr", "rhone.gouv.fr"),  # a hyphen for the suffix dot
        ("rhone-alpes.fr", None),
        ("rhone.gouv.com", "rhone.gouv.fr"),  # TLD swap of a two-level suffix
        # Not look-alikes: exact, the protected domain's own subdomains, unrelated domains.
        ("mission-locale-lyon.fr", None),
        ("mail.mission-locale-lyon.fr", None),
        ("mission-locale-grenoble.fr", None),
        ("gmail.com", None),
        ("proton.me", None),
        ("example.org", None),
    ],
)
def test_lookalike_of(domain: str, imitated: str | None) -> None:
    assert lookalike_of(domain, PROTECTED) == imitated


def test_protected_domains_never_imitate_each_other() -> None:
    # Two registered partners one edit apart must not flag each other.
    protected = {"cap-emploi-69.fr", "cap-emploi-38.fr"}
    assert lookalike_of("cap-emploi-69.fr", protected) is None
    assert lookalike_of("cap-emploi-39.fr", protected) in protected


def test_short_names_need_closer_matches() -> None:
    assert lookalike_of("cnp.fr", {"cap.fr"}) is None
    assert lookalike_of("c4p.fr", {"cap.fr"}) == "cap.fr"  # the skeleton still catches a digit swap


def test_invalid_punycode_is_kept_not_crashed() -> None:
    assert normalise_domain("xn--zz-!!.fr") == "xn--zz-!!.fr"
    assert lookalike_of("xn--zz-!!.fr", PROTECTED) is None


def test_helpers() -> None:
    assert normalise_domain(PUNYCODE) == CYRILLIC
    assert ascii_domain(CYRILLIC) == PUNYCODE and PUNYCODE.startswith("xn--")
    assert skeleton("раураl") == skeleton("paypal")  # Cyrillic р, а, у
    assert skeleton("éçole") == skeleton("ecole")
    assert split_domain("www.ml-lyon.fr") == ("www", "ml-lyon", "fr")
    assert split_domain("rhone.gouv.fr") == ("", "rhone", "gouv.fr")
    assert split_domain("fr") == ("", "fr", "")
    assert damerau_levenshtein("abcd", "abdc") == 1
    assert damerau_levenshtein("kitten", "sitting") == 3
    assert damerau_levenshtein("", "abc") == 3
