"""Cues for the intents the desk routes rather than automates: MFA, devices, applications, hardware, questions,
closures, auto-replies and phishing. Patterns run on folded text (lower case, no accents, straight apostrophes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MFA = "mfa"
MDM = "mdm_device"
APP = "app_incident"
HARDWARE = "hardware"
INFO = "info_request"
CLOSURE = "thanks_or_closure"
AUTO_REPLY = "auto_reply"
SPAM = "spam_phishing"
# A phone or tablet named as where the lock came from ("sur son téléphone pro"): next to an account request, the
# account is what is asked.
DEVICE_NAMED = "a phone or tablet named as where the lock came from"
_DEVICE = (
    r"(?:tablettes?|smartphones?|iphones?|ipad|android"
    r"|telephones? (?:pro\w*|de service|mobiles? pro\w*|portables? pro\w*)|mobiles? pro\w*)"
)
_NOT_WHERE_FROM = "".join(
    f"(?<!{where} {whose} )"
    for where in ("sur", "depuis", "dans")
    for whose in ("son", "sa", "ses", "leur", "leurs", "mon", "ma", "le", "la", "les")
)


@dataclass(frozen=True)
class Topic:
    """One way of talking about a routed intent."""

    intent: str
    label: str
    pattern: re.Pattern[str]


def _topic(intent: str, label: str, pattern: str) -> Topic:
    return Topic(intent, label, re.compile(pattern))


# Systems whose passwords and accounts are not the directory's: never unlocked or reset by Sésame.
OTHER_SYSTEM = (
    r"sap|citrix|okta|salesforce|i-?milo|kairos|cafpro|caf\.fr|portail (?:partenaires? )?(?:de la )?caf"
    r"|espace partenaires? (?:de la )?caf|logiciel de paie|logiciel (?:de )?(?:compta\w*|rh|gestion)"
    # "RSA" alone is the social benefit (pôle RSA) in this sector: only the token is another system.
    r"|mon compte partenaire|ameli|net-?entreprises|vpn|token|jeton|(?:token|jeton|cle|code|carte) rsa|securid"
    r"|servicenow|pega|cegid|workday|extranet|intranet"
    r"|hr ?access|chorus|ouiform|dude|aude|parcoursup|agora|sifa|kelio|octime|gfi|oscar|marcel|sygefor"
)

TOPICS: tuple[Topic, ...] = (
    _topic(
        MFA,
        "second factor (MFA, Authenticator, SMS code)",
        # "mfaure7" is a login, not MFA.
        r"\b(?:(?:mfa|2fa|a2f)(?!\w|-\w|\.\w)|double authentification|double facteur"
        r"|fido\w*|yubikey|cles? (?:de securite|fido|physique|usb de securite)"
        r"|authentification (?:a deux facteurs|forte|multi\w*"
        r"|a double facteur)|authenticator|authentificat(?:eur|or)|microsoft auth\w*"
        r"|codes? (?:de verification|de validation|de securite|sms|par sms|a 6 chiffres|d'authentification)"
        r"|(?:recoi[st]|recevons|recu|arrive)\s+(?:plus|pas|aucun)\s+(?:\w+\s+){0,2}?(?:code|sms|notification)"
        r"|notification (?:de connexion|d'approbation|authenticator)|approuver la (?:connexion|demande|notification)"
        r"|methodes? d'authentification|facteur d'authentification|(?:validation|verification"
        r"|authentification) en (?:deux|2)"
        r" etapes|informations? de securite|infos? de securite|methodes? de (?:connexion|verification|securite)"
        r"|plus d'informations (?:sont )?requises|sms de (?:validation|verification|connexion)|numero de verification"
        r"|re-?enregistr\w* (?:sa|son|ses|la|le|les) (?:methode|telephone|appareil|double|mfa|authentif\w*))",
    ),
    _topic(
        MDM,
        "phone or tablet (Intune, company portal)",
        r"\b(?:intune|portail d'entreprise|company portal|mdm"
        # The device itself, not the one the lock came from ("le mot de passe enregistré sur son téléphone pro").
        rf"|{_NOT_WHERE_FROM}{_DEVICE}"
        r"|enrol\w*\s+(?:de\s+|du\s+|d'|l'|le\s+|la\s+|son\s+|sa\s+)*(?:appareil|telephone|tablette|mobile|smartphone)"
        r"|(?:appareil|telephone|tablette|mobile|smartphone)s?\s+(?:\w+\s+)?(?:non\s+)?enrol\w*"
        r"|inscri\w* (?:l'appareil|le telephone|la tablette)|appareil mobile"
        r"|code (?:pin|de deverrouillage) (?:du|de la|de son|de sa) (?:telephone|tablette|mobile))",
    ),
    _topic(
        MDM,
        DEVICE_NAMED,
        rf"\b{_DEVICE}\b",
    ),
    _topic(
        APP,
        "business application or another system (SAP, i-milo, Kairos, Citrix, VPN...)",
        rf"\b(?:{OTHER_SYSTEM})\b",
    ),
    _topic(
        APP,
        "application error",
        r"\b(?:application|appli|logiciel|outil metier|progiciel|site|portail|plateforme)\b[^.\n]{0,60}"
        r"\b(?:erreur|bug|plante|planta|ne (?:fonctionne|marche|repond|s'ouvre|charge)|lent\w*|inaccessible"
        r"|indisponible|page blanche|message d'erreur)",
    ),
    _topic(
        HARDWARE,
        "hardware (printer, laptop, screen...)",
        r"\b(?:imprimantes?|scanners?|photocopieu\w+|copieurs?|ecrans?|claviers?|souris|pc portables?"
        r"|ordinateurs?(?: portables?)?|unite centrale|casques?|webcams?|station d'accueil|docks?|chargeurs?"
        r"|batteries?|disques? durs?|cles? usb|toner|cartouches?|bourrage|vide ?projecteur"
        r"|poste (?:fixe|informatique)|materiel)\b",
    ),
    _topic(
        INFO,
        "question asking for information",
        r"\b(?:savoir (?:si|comment|quand|quel\w*|ou|pourquoi)|pourriez-vous m'(?:indiquer|expliquer|informer)"
        r"|pouvez-vous m'(?:indiquer|expliquer|informer)|quel(?:le)?s? (?:est|sont) (?:la|le|les)"
        r"|est-ce (?:que|qu')|renseignements?|informations? sur|une question|petite question|combien de"
        r"|comment (?:faire|fait-on|proceder|puis-je|doit-on)|quelle (?:procedure|demarche)|a quelle adresse)",
    ),
)

AUTO_REPLY_SUBJECT = re.compile(
    r"^(?:(?:re|tr|fw)\s*:\s*)?(?:absence|absente?\b|reponse automatique|automatic reply|auto(?:matic)?[- ]?reply"
    r"|autoreply|lu\s*:|read\s*:|out of (?:the )?office|message d'absence|en conges?\b|hors du bureau|indisponible"
    r"|accuse de (?:lecture|reception)|read receipt)"
)
# Being away is said in requests too ("je suis en formation demain avec X, pouvez-vous le débloquer ?"): these
# words make an auto-reply only when nothing is asked.
AWAY = re.compile(
    r"\bje (?:suis|serai) (?:actuellement |absente? |en conges? |en formation |en deplacement )*(?:absente?"
    r"|en conges?|en formation|en deplacement|hors du bureau|en arret)\b"
    r"|\bactuellement absente?\b|\bje serai de retour\b|(?:^|[.!]\s+)de retour (?:le|au bureau|lundi|mardi|mercredi"
    r"|jeudi|vendredi)\b",
    re.MULTILINE,
)
AUTO_REPLY_BODY = re.compile(
    r"\bpendant mon absence\b|\bje n'aurai pas acces a (?:mes|ma|mon) (?:mails|messagerie|courriel)"
    r"|\bout of (?:the )?office\b|\bce message est (?:une reponse|genere) automatique"
    r"|\bvotre message\b[\s\S]{0,200}?\ba ete lu\b"
    r"|\breponse automatique\b|\bje prendrai connaissance de votre (?:message|mail|courriel)"
    r"|\bvotre (?:demande|ticket|incident|requete|signalement)\b[^.\n]{0,80}\b(?:a bien ete|a ete"
    r"|est) (?:enregistre|cree"
    r"|pris en compte|prise en compte|cloture|resolu|traite|transmis)e?"
    r"|\bn'a pas pu etre (?:remis|distribue|delivre)|\bdestinataires? (?:suivants? )?(?:sont |est )?introuvables?\b"
    r"|\bdelivery (?:has )?failed\b|\bundeliverable\b|\b5\.\d\.\d+\b"
)
PHISHING = re.compile(
    r"\bcliquez (?:ici|sur (?:ce|le) lien|sur le bouton)|\bclick here\b"
    r"|\bvotre (?:boite (?:mail |aux lettres |de reception )?|messagerie |compte (?:mail |e-mail |email )?)"
    r"(?:est |sera |a ete |va etre )(?:presque )?(?:pleine?|suspendue?|desactivee?|fermee?|supprimee?|expiree?"
    r"|bloquee? dans)"
    r"|\b(?:verifie[rz]|confirme[rz]|valide[rz]|mettre a jour|mettez a jour) (?:votre|vos)"
    r" (?:compte|identifiants|identite"
    r"|informations|mot de passe|acces|coordonnees)"
    r"|\bquota (?:de stockage|de messagerie|depasse)"
    r"|\b(?:vous avez gagne|(?:grand|heureux|heureuse) gagnante?|gagnez|loterie|heritage|bitcoin|crypto\w*"
    r"|casino|viagra|rencontres? coquines?)\b|\bfelicitations,? vous\b|\bse desabonner\b|\bdesabonnez\b"
    r"|\bunsubscribe\b|\boffre (?:exceptionnelle|speciale|limitee)\b|\bpromotion\b|(?<!\w)-\d{2} ?%"
    r"|\bconnectez-vous (?:avec|a l'aide de|en utilisant) vos identifiants"
    r"|\bdocument (?:a signer|en attente de signature)"
    r"|\bgratuit\w*|\blivraison\b|\bdecouvrez\b|\binscrivez-vous\b|\bprix (?:casses|bas|imbattables)\b|\bnewsletter\b"
    r"|\bdans les 24 ?h(?:eures)?,? (?:votre|sinon)|\bfacture (?:impayee|en attente|jointe)\b"
)
LINK = re.compile(r"\b(?:h(?:tt|xx)ps?://|www\.)\S+|\bbit\.ly/")

# Only thanks, closing words or "it works now": nothing left for the desk.
THANKS = re.compile(r"\b(?:merci|remercie\w*|thanks|thank you)\b(?!\s+(?:d'avance|par avance|de\b|d'))")
