"""The emulated model's mind: deterministic keyword rules reading the e-mail of a chat request.

Deliberately simple (the real classification lives in ``automations/``, which the sandbox does not
import): enough to give the ``llm`` backend plausible, repeatable answers in tests and the demo.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# First match wins; order puts specific wording before the generic unlock/reset words.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (intent, re.compile(pattern))
    for intent, pattern in (
        ("auto_reply", r"\b(?:absente?|out of office|reponse automatique|conges)\b"),
        ("spam_phishing", r"\b(?:gagne|loterie|cliquez ici|verifiez votre compte|bitcoin)\b"),
        ("mfa", r"\b(?:authenticator|mfa|double authentification|code sms|2fa)\b"),
        ("mdm_device", r"\b(?:telephone|smartphone|tablette|intune|iphone|android)\b"),
        ("hardware", r"\b(?:imprimante|ecran|clavier|souris|pc portable|ordinateur)\b"),
        ("access_request", r"\b(?:habilitation|droits? d'acces|creation de compte|nouveau compte|acces au)\b"),
        ("app_incident", r"\b(?:sap|i-milo|kairos|citrix|plantage|erreur applicative)\b"),
    )
)
_UNLOCK = re.compile(r"\b(?:debloqu\w*|deverr?ouill\w*|bloquee?s?|verrouillee?s?)\b")
_RESET = re.compile(r"\b(?:mot de passe|mdp|password)\b.{0,60}\b(?:reinitialis\w*|oubli\w*|expire\w*|reset\w*)\b"
                    r"|\b(?:reinitialis\w*|reset\w*)\b.{0,40}\b(?:mot de passe|mdp|password)\b")
_THANKS = re.compile(r"^\W*(?:merci|c'est bon|parfait|resolu)\b")
_EMAIL = re.compile(r"\b[a-z0-9][a-z0-9._-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)+\b")
_LOGIN = re.compile(r"\b(?:identifiant|login|compte|utilisateur)\s*:?\s+([a-z][a-z0-9._-]{2,30})\b")
_NOT_LOGINS = frozenset({"de", "du", "des", "est", "bloque", "bloquee", "verrouille", "suivant", "suivants"})


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def classify(email_text: str) -> dict[str, Any]:
    """The answer an obedient, schema-following model would give for ``email_text``."""
    folded = _fold(email_text)
    intent = next((name for name, pattern in _RULES if pattern.search(folded)), None)
    if intent is None:
        unlock, reset = bool(_UNLOCK.search(folded)), bool(_RESET.search(folded))
        intent = {(True, True): "unlock_and_reset", (True, False): "unlock", (False, True): "reset_password"}.get(
            (unlock, reset)
        )
    if intent is None:
        intent = "thanks_or_closure" if _THANKS.search(folded) else "other"
    targets = [{"kind": "email", "value": address} for address in dict.fromkeys(_EMAIL.findall(folded))]
    logins = [m.group(1) for m in _LOGIN.finditer(folded) if m.group(1) not in _NOT_LOGINS]
    targets += [{"kind": "login", "value": login} for login in dict.fromkeys(logins)]
    return {"intent": intent, "targets": targets, "confidence": 0.5 if intent == "other" else 0.9}


def injected_answer() -> dict[str, Any]:
    """What a model that obeyed an instruction hidden in the e-mail would answer."""
    return {"intent": "reset_password", "targets": [{"kind": "login", "value": "adm-root"}], "confidence": 0.99}
