"""The rules backend: a French regex grammar decides the intent, guards veto it, mentions give the targets."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from automations.understanding import AUTOMATABLE, Understanding
from automations.understanding.ambiguity import unexplained_other_vocabulary
from automations.understanding.decision import decide
from automations.understanding.first_names import is_first_name
from automations.understanding.folding import fold
from automations.understanding.grammar import (
    ACCESS,
    ACCESS_SYMPTOM,
    CUES,
    DENIED,
    DEVICE_LOCKED_GUARD,
    GUARDS,
    NEGATED,
    NEGATED_RESET_GUARD,
    PASSWORD_WORDS,
    REACTIVATION_GUARD,
    RESET,
    SECOND_REQUEST_GUARD,
    UNLOCK,
    Cue,
    Guard,
    Strength,
)
from automations.understanding.lexicon import is_french_word
from automations.understanding.mentions import Mentions, find_mentions, mask_greetings
from automations.understanding.normalise import NormalisedText, normalise
from automations.understanding.topics import (
    APP,
    AUTO_REPLY,
    AUTO_REPLY_BODY,
    AUTO_REPLY_SUBJECT,
    AWAY,
    CLOSURE,
    DEVICE_NAMED,
    HARDWARE,
    INFO,
    LINK,
    MDM,
    MFA,
    PHISHING,
    SPAM,
    THANKS,
    TOPICS,
)

# A forwarded request was written by someone the mailbox never authenticated (security notes VER-07). The forwarder
# vouches for it: the domain automates only senders who are registered partner correspondents, so a *clean*
# forward (empty new part, a clear request in the forwarded body, a target, no guard, link or hidden text) is
# judged like a direct request. True sends every forward to a person.
FORWARDS_NEED_A_PERSON = False
# A forward is one step removed from its author: never more sure than this.
_FORWARD_CAP = 0.88
_CLEAR = 0.95
_BOTH_CLEAR = 0.93
_STATE_ONLY = 0.85
_HINT_ONLY = 0.7
_TOPIC = 0.8
_NOTHING_FOUND = 0.6
_CONFLICT = 0.4
_LONG_TEXT_WORDS = 300
# A routed topic named alongside an account request wins: MFA, devices and other systems are never automated.
_TOPIC_OVER_ACCOUNT = (MFA, MDM)
_TOPIC_ORDER = (MFA, MDM, APP, HARDWARE, INFO)


_QUESTION = re.compile(r"[^.!?\n]*\?")
# A screen's message quoted by the writer (« Votre compte a été désactivé. Contactez votre administrateur ») is no
# phishing lure of the message itself.
_QUOTED = re.compile(r"«[^»\n]{0,200}»|\"[^\"\n]{0,200}\"|“[^”\n]{0,200}”")
_STATE_QUESTION = re.compile(r"\b(?:bloqu|verr?ouill|expir|desactiv)\w*")
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?;]?")
_ASKS = re.compile(
    r"\?|\b(?:pouvez|pourriez|pourrais|peux)[- ](?:vous|tu)\b|\bmerci de\b|\bil faudrait\b|\bpeut-on\b"
    r"|\b(?:serait|est)-il possible\b"
)
_ACCOUNT_WORDS = re.compile(rf"\b(?:{PASSWORD_WORDS}|compte|session|bloq|verr?ouil|debloq|deverr|reinit|identifiant)")
_REQUEST_VERB = re.compile(
    r"\b(?:pouv|pourr|peu[xt]|merci|debloq|deverr|reinit|reset|possible|fai|chang|remet|donn|envoy|renvoy|unlock"
    r"|regard|lever|liber|supprim|retir|aid|besoin|faudr|faut)\w*"
)
# "le mot de passe de sa clé USB", "mot de passe KeePass": whose password it is, said right after the word.
_PASSWORD_OF = re.compile(
    r"\b(?:mots? de passe|mdp|password|code secret)[ \t]+(?P<of>(?:de|du|des|d')[ \t]*(?:la[ \t]+|le[ \t]+|les[ \t]+|l'"
    r"|sa[ \t]+|son[ \t]+|ses[ \t]+|leur[ \t]+|leurs[ \t]+|mon[ \t]+|ma[ \t]+|mes[ \t]+|notre[ \t]+|votre[ \t]+"
    r"|cette[ \t]+|ce[ \t]+|cet[ \t]+)?)?(?P<word>[\w-]+)"
)
# What the session password may be called after "mot de passe (de)": the account itself, the directory, a person.
_SESSION_WORD_LIST = """
    session sessions compte comptes windows ad entra azure microsoft office connexion reseau domaine poste
    postes travail ordinateur ordinateurs pc ordi utilisateur utilisatrice utilisateurs agent agente agents
    collegue collegues conseiller conseillere conseillers conseilleres stagiaire stagiaires salarie salariee
    salaries collaborateur collaboratrice apprenti apprentie alternant alternante benevole referent referente
    responsable personne interesse interessee nouvel nouveau nouvelle nouveaux provisoire temporaire oublie
    oubliee expire expiree perdu perdue actuel ancien fils fille mari epouse madame monsieur mme mr m
    identifiant login user equipe directeur directrice assistante assistant secretaire accueil chef cheffe
    tuteur tutrice jeune plus pas a est et ou qui que car mais pour sur svp stp merci depuis hier ce aujourd
"""
_SESSION_WORDS = frozenset(_SESSION_WORD_LIST.split())


def _password_of_something_else(text: str, masked: str) -> str | None:
    """The word naming another thing whose password is meant ("clé", "KeePass", "imprimante"), or None."""
    for match in _PASSWORD_OF.finditer(masked):
        word = match.group("word")
        if word in _OTHER_THINGS:
            return word
        original = text[match.start("word") : match.end("word")]
        following = text[match.end("word") : match.end("word") + 2]
        # "mot de passe KeePass", "mdp Outlook": a product named right after the word, not a person's name.
        product = (
            match.group("of") is None
            and original[:1].isupper()
            and word not in _SESSION_WORDS
            and not is_french_word(word)
            and not is_first_name(word)
            and not (following[:1] == " " and following[1:2].isupper())
        )
        if product:
            return word
    return None


# Things with a password of their own that are not the session account (ordinary French words).
_OTHER_THING_LIST = """
    cle usb imprimante photocopieuse copieur scanner telephone portable mobile smartphone tablette ipad iphone
    messagerie boite vocale repondeur wifi box routeur coffre coffre-fort keepass bios disque fichier fichiers
    document documents pdf archive zip excel word tableur classeur application appli logiciel site portail
    extranet intranet plateforme outil outils module espace badge carte alarme cadenas visio teams zoom outlook gmail
    ent caf
    ameli impots banque
"""
_OTHER_THINGS = frozenset(_OTHER_THING_LIST.split())
_OWN_ACCOUNT = re.compile(
    r"\b(?:mon compte|ma session|mon mot de passe|mon mdp|mon identifiant|mon login|je suis (?:bloquee?|verrouillee?)"
    r"|je me suis (?:bloquee?|fait bloquer)|me (?:debloquer|deverrouiller)|j'ai oublie mon|m'en (?:donner|envoyer"
    r"|attribuer)"
    # A call note about the caller's own account: "pour son propre compte", "utilisateur impacté : l'appelant".
    # "le mot de passe lui-même est connu" is not about the writer.
    r"|son propre compte|sa propre session|(?:pour |: ?)(?:lui|elle)-meme|l'appelant(?:e)?)\b"
)
# Guards that count wherever their words hide, quoted or forwarded history included.
_ANYWHERE = frozenset({"injection"})
# A new message whose body says nothing (empty, "merci", "svp"): the subject is the request.
_BARE_BODY = re.compile(r"[\s.!]*(?:(?:merci|thanks)(?: d'avance| par avance| beaucoup| bcp)?|svp|stp)?[\s.!]*")
_POINTS_TO_SUBJECT = re.compile(
    r"\b(?:voir|cf\.?|cf|comme (?:indique |dit )?(?:en|dans l'|dans le)|precise en) ?(?:l'|en |le )?(?:objet|sujet)\b"
    r"|\bcomme d'(?:hab|habitude)\b|\bcf\.? (?:titre|objet)\b|\b(?:tout|tt) est dans l'objet\b"
    r"|\b(?:mentionne|indique|precise|cite|rappele|reprise?|visee?|decrite?)e?s? (?:en|dans l'|dans le) (?:objet"
    r"|sujet|titre)\b"
    r"|\ben objet\b|\bobjet du (?:mail|message|courriel)\b"
    r"|^\s*(?:svp|stp|please|pls|merci de (?:faire|traiter)\b.*|asap|urgent)\s*[.!]*\s*(?:merci)?\s*[.!]*\s*$"
    r"|\b(?:merci de|pouvez-vous|pourriez-vous|peux-tu|pourrais-tu) faire le necessaire\b"
)


# A request put to the desk in so many words ("merci de procéder au déverrouillage", "pouvez-vous le débloquer").
_ASKED = re.compile(
    r"\b(?:merci de|pouvez[- ]vous|pourriez[- ]vous|peux[- ]tu|pourrais[- ]tu|veuillez|je vous demande de"
    r"|je vous prie de|je vous remercie de)\b"
)
_ACCOUNT_SAID_LOCKED = "account described as locked"

# A reply that asks the same for someone else ("Même chose pour jerome.barbier svp") or gives the identifier the desk
# asked for ("Voici l'identifiant : jerome.millet"): the subject is its request.
_SAME_FOR = re.compile(r"\b(?:(?:la )?meme chose|idem|pareil|meme demande|meme probleme|meme souci) pour\b")
_SUPPLIES_IDENTIFIER = re.compile(
    r"\b(?:voici|voila|c'est bien|il s'agit de)\s+(?:l'|son |mon |leur )?(?:identifiant|login)\b"
    r"|\b(?:son|mon|leur|l') ?(?:identifiant|login) (?:est|:)|\bc'est bien \S+ (?:son|l') ?(?:identifiant|login)\b"
)


@dataclass(frozen=True)
class _Hit:
    cue: Cue
    in_subject: bool


def _hits(text: NormalisedText, masked: str) -> list[_Hit]:
    hits: list[_Hit] = []
    # Subject and body are matched apart so that one match never spans both and hides a cue in the body.
    spans = ((0, text.body_start), (text.body_start, len(masked)))
    for cue in CUES:
        for match in (m for start, end in spans for m in cue.pattern.finditer(masked, start, end)):
            if cue.intent == ACCESS and ACCESS_SYMPTOM.search(masked[max(0, match.start() - 20) : match.start()]):
                continue
            if cue.checks_token and is_french_word(match.group(1)):
                continue
            hits.append(_Hit(cue, match.start() < text.body_start))
    return hits


# What a sentence says when its "et aussi" / "pouvez-vous aussi" adds to the same request rather than another one.
_SAME_REQUEST = re.compile(
    r"\b(?:mot de passe|mdp|password|bloqu|debloq|deverr?ouill|verr?ouill|reinitiali|reset|locked|unlock"
    r"|meme (?:souci|probleme|chose)|pareil|idem)"
)
_SENTENCE_REST = re.compile(r"[^.!?\n]*")


def _adds_to_the_request(guard: Guard, body: str, mentions: Mentions) -> bool:
    """True when every "et aussi" of ``body`` goes on, in its sentence, to an account's lock or password or to a
    person named ("Et aussi Thierry Garnier, à l'instant"): one request for several people, not two requests."""
    people = [fold(m.value) for m in mentions.mentions]
    matches = list(guard.pattern.finditer(body))
    for match in matches:
        rest = _SENTENCE_REST.match(body, match.end())
        sentence = rest.group(0) if rest else ""
        if not (_SAME_REQUEST.search(sentence) or any(person in sentence for person in people)):
            return False
    return bool(matches)


def _answered_guards(guards: list[Guard], hits: list[_Hit], body: str, mentions: Mentions) -> list[Guard]:
    """Drop the guards the text itself answers: a reactivation or a locked computer where the account is said to
    be locked, a "pour information" that goes on to ask for the action in so many words, an "et aussi" that adds
    a person or the other half of the same request."""
    body_unlock = [hit for hit in hits if hit.cue.intent == UNLOCK and not hit.in_subject]
    said_locked = any(hit.cue.label == _ACCOUNT_SAID_LOCKED for hit in body_unlock)
    lock_named = any(hit.cue.strength is not Strength.HINT for hit in body_unlock)
    strong_ask = any(hit.cue.strength is Strength.STRONG and not hit.in_subject for hit in hits)
    second = next((guard for guard in guards if guard.name == SECOND_REQUEST_GUARD), None)
    answered = {
        REACTIVATION_GUARD: lock_named,
        DEVICE_LOCKED_GUARD: said_locked,
        "for_information": strong_ask and bool(_ASKED.search(body)),
        SECOND_REQUEST_GUARD: second is not None and _adds_to_the_request(second, body, mentions),
    }
    return [guard for guard in guards if not answered.get(guard.name, False)]


# "Aucun des deux n'est bloqué", "ils ne sont pas bloqués": a denial said of everyone named.
_SAID_OF_ALL = re.compile(r"\b(?:aucun|personne|ne sont|n'etaient|n'ont)\b")


# What may stand between a name and its own identifier: "Hakim Nguyen (id : hn4821)", "Hakim Nguyen - hn4821".
_BESIDE = r"[ \t]*[(,:\-][ \t]*(?:(?:id|identifiant|login|matricule)[ \t]*:?[ \t]*)?"


def _several_people(mentions: Mentions, folded: str) -> bool:
    """More than one person named: "Camille Nguyen, identifiant nguyenc" is one, "iferreira et Sandrine Mathieu"
    two (an identifier belongs to a name when it holds one of the name's words or is written right beside it,
    whatever its shape: "Hakim Nguyen (id : tfc2770c717)")."""
    names = [fold(m.value) for m in mentions.mentions if m.kind == "name"]
    identifiers = [fold(m.value) for m in mentions.mentions if m.kind != "name"]

    def claimed(identifier: str, name: str) -> bool:
        n, i = re.escape(name), re.escape(identifier)
        beside = rf"{n}{_BESIDE}{i}|{i}[ \t]*\([ \t]*{n}"
        return any(len(w) >= 3 and w in identifier for w in name.split()) or re.search(beside, folded) is not None

    unclaimed = [i for i in identifiers if not any(claimed(i, name) for name in names)]
    return len(names) + len(unclaimed) > 1


# A clause that asks for something done to a thing: "passer voir l'imprimante", "remplacer l'écran".
_CLAUSE = re.compile(r"\bet\b|[,;:]")
_ACTION = re.compile(
    r"\b(?:passer|voir|regarder|verifier|changer|remplacer|reparer|installer|reinstaller|envoyer|fournir|commander"
    r"|preter|configurer|depanner)\b"
)


def _asks_about_another_topic(body: str) -> bool:
    """A sentence that asks something (a question, "pouvez-vous", "merci de") about a device, an application or hardware
    without a word of the account or its password: a second request beside the account's."""

    def other_topic(words: str) -> bool:
        return any(t.intent in (HARDWARE, APP, MDM) and t.pattern.search(words) for t in TOPICS)

    for sentence in _SENTENCE.findall(body):
        if not _ASKS.search(sentence):
            continue
        if not _ACCOUNT_WORDS.search(sentence):
            if other_topic(sentence):
                return True
            continue
        # "kmartin est bloqué : quelqu'un peut passer voir l'imprimante et débloquer le compte ?" asks twice in one
        # sentence: a clause without the account asks for something done to the other thing.
        if any(
            not _ACCOUNT_WORDS.search(clause) and _ACTION.search(clause) and other_topic(clause)
            for clause in _CLAUSE.split(sentence)
        ):
            return True
    return False


def _intents(hits: list[_Hit]) -> dict[str, Strength]:
    """The strongest cue per intent; a lone hint counts only when nothing else is asked."""
    order = [Strength.STRONG, Strength.STATE, Strength.HINT]
    best: dict[str, Strength] = {}
    for hit in hits:
        current = best.get(hit.cue.intent)
        if current is None or order.index(hit.cue.strength) < order.index(current):
            best[hit.cue.intent] = hit.cue.strength
    if best.get(UNLOCK) is Strength.HINT and len(best) > 1:
        del best[UNLOCK]
    return best


def _account_intent(intents: dict[str, Strength]) -> tuple[str, float] | None:
    if not intents:
        return None
    if (UNLOCK in intents or RESET in intents) and ACCESS in intents:
        # Rights asked alongside the account (even with both actions): a mixed request, for a person.
        return None
    if UNLOCK in intents and RESET in intents:
        clear = intents[UNLOCK] is Strength.STRONG or intents[RESET] is Strength.STRONG
        return "unlock_and_reset", _BOTH_CLEAR if clear else _STATE_ONLY
    ((intent, strength),) = intents.items()
    return intent, {Strength.STRONG: _CLEAR, Strength.STATE: _STATE_ONLY, Strength.HINT: _HINT_ONLY}[strength]


def _only_in(mentions: Mentions, folded_body: str) -> Mentions:
    """The mentions also written in ``folded_body``."""
    return replace(
        mentions,
        targets=tuple(t for t in mentions.targets if fold(t) in folded_body),
        names=tuple(n for n in mentions.names if fold(n) in folded_body),
        mentions=tuple(m for m in mentions.mentions if fold(m.value) in folded_body),
    )


class RulesUnderstander:
    """Rule-based French understanding: no model, every decision explained by the rules that fired."""

    name = "rules"

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        """Classify the request, extract its targets and names, and judge whether the text alone is clear."""
        text = normalise(subject, body)
        masked = mask_greetings(text.text, text.folded)
        body_part = masked[text.body_start :]
        hits = _hits(text, masked)
        if text.reply_subject and any(not hit.in_subject for hit in hits):
            # "RE: déblocage" over "et son mdp aussi": the subject of a reply names the earlier request.
            hits = [hit for hit in hits if not hit.in_subject]
        intents = _intents(hits)
        mentions = find_mentions(text.text, text.folded, sender=sender)
        denied_alone = denied_for_one = False
        for intent_name, denial in NEGATED.items():
            if intent_name in intents and denial.search(masked):
                denied = DENIED[intent_name].search(masked)
                if (
                    len(intents) > 1
                    and denied
                    and not _SAID_OF_ALL.search(denied[0])
                    and _several_people(mentions, masked)
                ):
                    # "X est verrouillé, et Y a oublié son mot de passe (elle n'est pas bloquée)": said of one of
                    # several people, the denial does not say which half is not asked.
                    denied_for_one = True
                elif len(intents) > 1:
                    # "débloquer, sans le réinitialiser": the denied half is not asked.
                    del intents[intent_name]
                    hits = [hit for hit in hits if hit.cue.intent != intent_name]
                elif DENIED[intent_name].search(masked):
                    # "il n'a pas oublié son mot de passe" and nothing else asked: unclear what is wanted.
                    denied_alone = True
        reasons = [f"{hit.cue.intent}: {hit.cue.label}" for hit in hits]
        topics = {}
        for topic in TOPICS:
            if topic.intent not in topics and topic.pattern.search(masked):
                topics[topic.intent] = topic.label
                reasons.append(f"{topic.intent}: {topic.label}")
        # A reply's subject names the earlier request; when the new text asks something, only it is guarded.
        guarded = body_part if text.reply_subject and any(not hit.in_subject for hit in hits) else masked
        guards = [guard for guard in GUARDS if guard.pattern.search(guarded)]
        # A note to the machine counts wherever it hides: a quoted line, the forwarded history.
        everything = text.everything_folded
        guards += [g for g in GUARDS if g.name in _ANYWHERE and g not in guards and g.pattern.search(everything)]
        if RESET not in intents:
            # "débloquer j.fournier, ne PAS réinitialiser": the denied reset is not the unlock asked.
            guards = [guard for guard in guards if guard.name != NEGATED_RESET_GUARD]
        guards = _answered_guards(guards, hits, masked[text.body_start :], mentions)
        reasons += [
            f"guard {g.name} ({'route to ' + g.route if g.route else 'no automation'}): {g.label}" for g in guards
        ]
        blockers = [g for g in guards if g.route is None]
        caps = [g.confidence for g in blockers]
        if intents and _asks_about_another_topic(body_part):
            # "mot de passe oublié ; son deuxième écran ne s'allume plus, peut-on avoir un remplacement ?"
            reasons.append("another request in the message, about something other than the account")
            caps.append(0.5)

        body_hits = [hit for hit in hits if not hit.in_subject]
        # "Objet : Compte verrouillé" over a body naming only the person: the subject is the request; so it is under
        # "voir objet, merci de faire vite", "comme d'hab svp".
        rest = body_part
        for mention in mentions.mentions:
            rest = rest.replace(fold(mention.value), " ")
        bare_body = not text.reply_subject and bool(_BARE_BODY.fullmatch(rest))
        same_for = text.reply_subject and bool(_SAME_FOR.search(body_part) or _SUPPLIES_IDENTIFIER.search(body_part))
        # "Objet : débloquer hlemaire asap" over "rdv public dans 10 min": the subject asks in so many words and the
        # body only adds why; a subject that only describes a state ("Compte bloqué") still needs the body to ask.
        subject_asks = not text.reply_subject and any(h.in_subject and h.cue.strength is Strength.STRONG for h in hits)
        points_to_subject = bare_body or same_for or subject_asks or bool(_POINTS_TO_SUBJECT.search(body_part))
        thanks_only = bool(intents) and not body_hits and not points_to_subject and bool(THANKS.search(body_part))
        thanks_only = thanks_only or (not intents and not topics and bool(THANKS.search(body_part)))
        if intents and not body_hits and not same_for and not (points_to_subject and not text.reply_subject):
            if text.reply_subject:
                reasons.append("intent only in the subject of a reply: may repeat an earlier request")
                caps.append(0.6)
            else:
                reasons.append("intent only in the subject")
                caps.append(0.8)
        if any(_STATE_QUESTION.search(q) and not _REQUEST_VERB.search(q) for q in _QUESTION.findall(body_part)):
            # "le compte de X est-il encore bloqué ?", "X se bloque souvent ?": a question, not a request.
            reasons.append("a question about an account's state, without a request")
            caps.append(0.6)
        elsewhere = _password_of_something_else(text.text, masked)
        if elsewhere:
            reasons.append(f"a password of something other than the session account ({elsewhere})")
            caps.append(0.5)
        if denied_alone:
            reasons.append("the only request found is denied in the text")
            caps.append(0.5)
        if denied_for_one:
            reasons.append("a lock or a forgetting is denied for one of several people")
            caps.append(0.6)
        if text.hidden_text_found:
            reasons.append("hidden characters were removed from the message")
            caps.append(0.6)
        # Caps are doubts that forbid automation; the ceiling only bounds confidence (a clean forward).
        ceiling = 1.0
        if text.forwarded:
            reasons.append("request taken from a forwarded message: the sender is not its author")
            clear = any(hit.cue.strength is not Strength.HINT for hit in body_hits)
            if FORWARDS_NEED_A_PERSON or not clear:
                caps.append(0.8)
            else:
                ceiling = _FORWARD_CAP
        if LINK.search(masked):
            reasons.append("the message carries a link")
            caps.append(0.8)
        if len(text.folded.split()) > _LONG_TEXT_WORDS:
            reasons.append(f"long message (over {_LONG_TEXT_WORDS} words): keywords may mislead")
            caps.append(0.8)
        reasons += [f"removed: {what}" for what in text.removed]

        intent, confidence, why = self._intent(text, masked, intents, topics, guards, thanks_only)
        account = _account_intent(intents)
        still = any(hit.cue.strength is Strength.STATE for hit in body_hits)
        if intent == CLOSURE and account is not None and (mentions.targets or still) and not thanks_only:
            # "le mdp de faure-m a été réinitialisé hier": a report about a named account, for a person to read;
            # "Merci, c'est bon pour la première. L'autre est toujours bloquée": what is left, for a person too.
            intent, confidence, why = (
                account[0],
                min(account[1], 0.6),
                f"intent {account[0]}: report on a named account",
            )
        if intent == CLOSURE and any(len(q.split()) >= 4 for q in _QUESTION.findall(body_part)):
            # "Merci pour le déblocage ! Comment éviter que ça se reproduise ?": the thanks close nothing while a
            # question waits for an answer.
            intent, confidence, why = INFO, 0.6, "intent info_request: a question follows the thanks"
        reasons.append(why)
        if intent in AUTOMATABLE and text.reply_subject and text.body.strip():
            # "RE: Compte roy-m" over "Justine est bloquée aussi": a reply's subject names the earlier request's people.
            mentions = _only_in(mentions, fold(text.body))
        if intent in AUTOMATABLE:
            # The subject of a reply may name the earlier request: only the new text counts then.
            doubt = unexplained_other_vocabulary(intent, body_part if text.reply_subject else masked)
            if doubt:
                reasons.append(f"lock or password unclear: {doubt}")
                caps.append(0.6)
            confidence = min([confidence, ceiling, *caps])

        if (
            not text.forwarded
            and _OWN_ACCOUNT.search(body_part)
            and mentions.mentions
            and all(m.kind == "name" for m in mentions.mentions)
        ):
            # The guide: one's own account is automated only when its login or address is written.
            reasons.append("about the writer's own account, named by a name only")
            caps.append(0.6)
        reasons += [f"target: {cue}" for cue in mentions.cues]
        if not mentions.mentions:
            reasons.append("no account identifier or name found")
        blocked = bool(caps) or any(g.route is not None for g in guards)
        decision, decision_reason = decide(intent, confidence, mentions.mentions, blocked=blocked)
        reasons.append(decision_reason)
        return Understanding(
            intent=intent,
            confidence=confidence,
            targets=mentions.targets,
            names=mentions.names,
            reasons=tuple(dict.fromkeys(reasons)),
            decision=decision,
            mentions=mentions.mentions,
        )

    @staticmethod
    def _intent(
        text: NormalisedText,
        masked: str,
        intents: dict[str, Strength],
        topics: dict[str, str],
        guards: list[Guard],
        thanks_only: bool,
    ) -> tuple[str, float, str]:
        """The intent, how sure, and which rule chose it; the first rule that applies wins."""
        # A reply's subject is the earlier message's ("RE: Votre ticket a été résolu"), not this one's.
        own_words = masked[text.body_start :] if text.reply_subject else masked
        asks = Strength.STRONG in (intents.get(UNLOCK), intents.get(RESET))
        if (
            AUTO_REPLY_SUBJECT.match(text.folded[: len(text.subject)])
            or AUTO_REPLY_BODY.search(own_words)
            or (AWAY.search(own_words) and not asks)
        ):
            return AUTO_REPLY, 0.9, "intent auto_reply: out-of-office wording"
        if PHISHING.search(_QUOTED.sub(" ", masked)):
            return SPAM, 0.85, "intent spam_phishing: phishing or advertising wording"
        account = _account_intent(intents)
        routed = [g for g in guards if g.route is not None]
        if routed:
            guard = routed[0]
            if guard.route == APP and not (account or APP in topics):
                pass
            elif guard.route == INFO and MFA in topics:
                return MFA, _TOPIC, "intent mfa: question about the second factor"
            else:
                return guard.route or "other", guard.confidence, f"intent {guard.route} by guard {guard.name}"
        if thanks_only:
            return CLOSURE, 0.8, "intent thanks_or_closure: the body only thanks"
        for topic in _TOPIC_OVER_ACCOUNT:
            # "bloqué après le changement de mot de passe sur son téléphone pro": the device is the cause.
            if topic in topics and account is not None and topics[topic] != DEVICE_NAMED:
                return topic, _TOPIC, f"intent {topic}: named with an account request, never automated"
        if account is not None:
            return account[0], account[1], f"intent {account[0]} from the grammar"
        if intents:
            return "other", _CONFLICT, "intent other: access request mixed with unlock/reset"
        for topic in _TOPIC_ORDER:
            if topic in topics:
                return topic, _TOPIC, f"intent {topic}: {topics[topic]}"
        if "?" in masked[text.body_start :]:
            return INFO, _NOTHING_FOUND, "intent info_request: a question with no known request"
        return "other", _NOTHING_FOUND, "intent other: no unlock, password reset or access wording found"
