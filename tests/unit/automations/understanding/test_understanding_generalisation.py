"""Rules that make "auto" hold on messages written unlike the corpus: junk logins, questions, thanks after the
fact, collective requests, provisional passwords, request wording and clean forwards. Sentences are our own."""

from __future__ import annotations

import pytest

from automations.understanding.lexicon import has_login_shape, is_french_word
from automations.understanding.rules import RulesUnderstander

FORWARD = (
    "-----Message d'origine-----\nDe : Paul Girard <paul.girard@cap-emploi-exemple.fr>\n"
    "Envoyé : mardi 3 mars 2026 09:10\nÀ : Nina Roux <nina.roux@cap-emploi-exemple.fr>\nObjet : session\n\n"
)

# (id, body, intent, decision, values of the mentions found; None: not asserted)
CASES = [
    # (1) ordinary French words are never logins, whatever cue comes before them
    ("word-after-compte", "Pouvez-vous débloquer le compte lien ?", "unlock", "human", ()),
    ("word-after-login", "login : peut, il est bloqué, merci de débloquer", "unlock", "human", ()),
    ("collective-not-login", "merci de débloquer le compte collective du secrétariat", "unlock", "human", ()),
    ("verb-pronoun-not-login", "Le compte de l'agent est-il bloqué ?", "unlock", "human", ()),
    # (2) questions and "check first" are for a person
    ("what-question", "c'est quoi le lien pour changer son mot de passe ?", "info_request", "human", None),
    ("inverted-question", "Bonjour, le compte tf40211 est-il verrouillé ?", "unlock", "human", ("tf40211",)),
    (
        "check-first",
        "Regardez avant de faire quoi que ce soit : kt52341 serait bloqué",
        "unlock",
        "human",
        None,
    ),
    # (3) thanks for what was done
    ("thanks-unlock", "Merci beaucoup pour le déblocage, bonne journée", "thanks_or_closure", "ignore", ()),
    ("thanks-reset", "Merci pour la réinitialisation !", "thanks_or_closure", "ignore", ()),
    ("thanks-in-advance", "Merci par avance pour le déblocage du compte gh30218", "unlock", "auto", ("gh30218",)),
    # (4) many people, a team, a shared mailbox or a suspected phishing
    ("whole-team", "Toute l'équipe est bloquée depuis 9h, compte vl20931 par exemple", "unlock", "human", None),
    ("counted-people", "merci de débloquer 14 agents de l'antenne, dont pm10293", "unlock", "human", None),
    ("about-dozen", "une dizaine de collègues sont verrouillés, dont rt84620", "unlock", "human", None),
    (
        "phishing-reset",
        "Après un mail d'hameçonnage, réinitialisez le mot de passe de bc19384",
        "reset_password",
        "human",
        None,
    ),
    # (5) unlock plus a provisional password is both actions
    (
        "unlock-provisional",
        "Pourriez-vous débloquer zm73820 et lui remettre un mot de passe provisoire ?",
        "unlock_and_reset",
        "auto",
        ("zm73820",),
    ),
    ("temporary-password", "mdp temporaire pour c.faure svp", "reset_password", "auto", ("c.faure",)),
    # (6) request wording unlike the corpus, typos, SMS style, names written in several ways
    ("est-ce-possible", "Est-ce possible de reinitialiser le mdp de lopez-a stp", "reset_password", "auto", None),
    ("il-faudrait", "il faudrait debloquer ndiaye-k rapidement", "unlock", "auto", ("ndiaye-k",)),
    ("lift-the-lock", "Pouvez-vous lever le blocage du compte hb10293 ?", "unlock", "auto", ("hb10293",)),
    ("sms-style", "cpt bloké pdurand7 stp", "unlock", "auto", ("pdurand7",)),
    (
        "no-longer-knows",
        "jr77120 ne connait plus son mot de passe, merci de le réinitialiser",
        "reset_password",
        "auto",
        ("jr77120",),
    ),
    (
        "never-received",
        "elle n'a jamais reçu son mot de passe, identifiant kt52340",
        "reset_password",
        "auto",
        ("kt52340",),
    ),
    ("name-upper-first", "merci de débloquer le compte de Paul MARTINEZ", "unlock", "auto", ("Paul MARTINEZ",)),
    ("name-upper-last", "merci de débloquer le compte de MARTINEZ Paul", "unlock", "auto", ("MARTINEZ Paul",)),
    ("name-lower-case", "svp debloquer le compte de paul martinez", "unlock", "auto", ("paul martinez",)),
    ("name-lower-then-state", "le compte de lina okafor bloqué, merci", "unlock", "auto", ("lina okafor",)),
    ("arrow-list", "Merci de débloquer :\n→ ab12345\n→ durand-c", "unlock", "auto", ("ab12345", "durand-c")),
    (
        "bare-list",
        "Comptes bloqués :\n- okafor\n- zm73820\nMerci de débloquer",
        "unlock",
        "auto",
        ("okafor", "zm73820"),
    ),
    ("login-equals-state", "pdurand7 = compte verrouillé, merci de débloquer", "unlock", "auto", ("pdurand7",)),
    # forwards: a clean forward of a clear request is judged like a direct one; anything else goes to a person
    (
        "forward-clean",
        FORWARD + "Bonjour,\nmon compte pgirard2 est bloqué, merci de le débloquer",
        "unlock",
        "auto",
        ("pgirard2",),
    ),
    ("forward-with-guard", FORWARD + "Bonjour,\nne pas débloquer pgirard2 avant lundi", "unlock", "human", None),
    # A forwarded request about its own author names no account: the guide automates one's own account only when
    # its login or address is written in the request.
    ("forward-no-target", FORWARD + "Bonjour,\nmon compte est bloqué, merci", "unlock", "human", ()),
    ("own-account-no-target", "Bonjour,\nmon compte est bloqué, merci", "unlock", "human", ()),
]


@pytest.mark.parametrize(("body", "intent", "decision", "values"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_generalised_rule(body: str, intent: str, decision: str, values: tuple[str, ...] | None) -> None:
    result = RulesUnderstander().understand("TR: demande" if body.startswith("-----") else "demande", body)
    assert (result.intent, result.decision) == (intent, decision), result.reasons
    if values is not None:
        assert tuple(m.value for m in result.mentions) == values


@pytest.mark.parametrize(
    "word",
    [
        "quoi",
        "lien",
        "peut",
        "collective",
        "est-il",
        "peut-on",
        "aujourd'hui",
        "debloquez",
        "verrouillait",
        "reinitialisera",
        "choisissez",
    ],
)
def test_french_words_are_known(word: str) -> None:
    assert is_french_word(word)


@pytest.mark.parametrize("login", ["jdupont", "lopezsa", "martini", "mroy", "denisf", "ab12345", "garnier-s"])
def test_logins_are_not_french_words(login: str) -> None:
    assert not is_french_word(login)


@pytest.mark.parametrize(
    ("token", "shaped"),
    [("ab12345", True), ("j.dupont", True), ("dupont-j", True), ("jdupont", False), ("quoi", False)],
)
def test_login_shape(token: str, shaped: bool) -> None:
    assert has_login_shape(token) is shaped


def test_reasons_never_quote_the_message() -> None:
    secret = "Azerty!2026x"
    result = RulesUnderstander().understand("mdp", f"réinitialiser le mdp de gh30218, l'ancien était {secret}")
    assert not any(secret.lower() in reason.lower() for reason in result.reasons)
