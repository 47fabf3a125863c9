"""Render the hand-written message sources (corpus/sources/*.txt) into corpus/train.jsonl and corpus/dev.jsonl.

The request texts are written by hand, one by one, in the sources; this script only fills in fictitious people
(names, logins, addresses), adds the sender's signature, a disclaimer, a forward or a quoted reply where a message
asks for it, and writes the labels. It is deterministic (fixed seed per split), so the JSONL files can be checked
against it. Train and dev draw their signatures, disclaimers and forward headers from separate pools, so that no
wrapping text is shared between the splits.

Usage: ``python corpus/generate.py`` rewrites both JSONL files next to this script; ``--counts`` prints the
messages per intent, decision and split.

Train reads every ``sources/train*.txt``: ``train.txt`` first (ids ``train-NNNN``), then the other files in name
order, each with its own id prefix (``train-a.txt`` gives ``train-a-NNNN``) and its own seed, so adding or growing
one file never changes the ids or the people of another. A block of a later train file whose body is a near
duplicate of a dev body or of a longer held-out test body (the check of
``tests/unit/automations/understanding/test_corpus.py``) is skipped and reported, so that dev and the test splits
stay unseen.

Source format, one message per block::

    ### <intent> <decision> [target...] [+option...]
    <subject line>
    <body lines...>

Targets name placeholders of the body (``L1`` login, ``E1`` e-mail, ``N1`` "Prénom Nom", ``R1`` "NOM Prénom",
``n1`` lower-case "prénom nom") or literals (``login=adm-root``, ``email=a@b.fr``, ``name=Jean_Dupont`` with ``_``
for spaces); listing one placeholder of a person makes every mention of that person a target. Other placeholders:
``F1`` first name, ``S1`` surname, ``ME``/``MEF`` the sender's name/first name, ``ORG`` the sender's organisation,
``L0``/``E0``... the sender's own identifiers, ``TEL`` the sender's phone, ``CHEF`` a colleague never a target.
Options: ``+sig`` signature, ``+disc`` disclaimer, ``+fwd`` forwarded with a short new part, ``+fwd0`` forwarded
with an empty new part, ``+re`` quoted history below, ``+ar`` auto-reply headers, ``+bulk`` bulk-mail headers;
``from=addr`` overrides the sender address.
"""

from __future__ import annotations

import functools
import json
import random
import re
import sys
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script from anywhere: the repository root holds the package that defines the intents.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from automations.understanding import INTENTS as UNDERSTOOD_INTENTS

HERE = Path(__file__).resolve().parent
SPLITS = ("train", "dev")
SEEDS = {"train": 1871, "dev": 2659}


def _words(text: str) -> tuple[str, ...]:
    """Split a space-separated pool; ``_`` joins a name of two words ("Le_Gall")."""
    return tuple(word.replace("_", " ") for word in text.split())


FIRST_NAMES = _words(
    "Jean Marie Nathalie Sophie Karim Julien Camille Nicolas Aurélie Mehdi Sandrine Thomas Isabelle Yasmine Olivier "
    "Céline Fatima Laurent Élodie Sébastien Amandine Mamadou Christelle Hugo Léa Romain Inès Stéphane Virginie "
    "Rachid Émilie Damien Agnès Cédric Hélène Franck Chloé Jérôme Nadia Pascal Manon Fabrice Samia Grégoire Lucie "
    "Anne-Sophie Jean-Marc Marie-Claire Pierre-Yves Aïcha Benoît Corinne Thierry Mélanie Youssef Gaëlle Didier "
    "Sylvie Xavier Delphine Kévin Océane Hakim Brigitte Loïc Justine Patrice Morgane Ludovic Françoise Anthony"
)
SURNAMES = _words(
    "Dupont Martin Lefèvre Moreau Garnier Rousseau Benali Fontaine Chevalier Robin Mercier Blanchard Guérin Boyer "
    "Lambert Faure Henry Roussel Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez Fournier Giraud Bonnet "
    "Dufour Meunier Brun Barbier Arnaud Gérard Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Aubert "
    "Lemoine Haddad Diallo Ndiaye Traoré Nguyen Lebrun Marchand Duval Denis Lemaire Brunet Millet Hoarau Payet "
    "Le_Gall Le_Goff Da_Silva Ferreira Kaya Cherif Bouchard Tessier Poirier Charpentier Besnard Langlois Carré"
)
DOMAINS = (
    "mission-locale-exemple.fr",
    "ml-valdeloire-exemple.fr",
    "capemploi-exemple.fr",
    "cap-emploi-33-exemple.fr",
    "departement-exemple.fr",
    "caf-exemple.fr",
    "formation-avenir-exemple.fr",
    "mde-exemple.fr",
    "mairie-exemple.fr",
    "agence.local",
)
ORGS = (
    "Mission Locale du Val d'Exemple",
    "Mission Locale Rives de Loire (exemple)",
    "Cap emploi 33 (exemple)",
    "Cap emploi Exempleville",
    "Conseil départemental d'Exemple",
    "CAF d'Exemple",
    "Formation Avenir (organisme exemple)",
    "Maison de l'emploi d'Exemple",
    "Mairie d'Exempleville",
    "Agence Exempleville Nord",
)


@dataclass(frozen=True)
class Person:
    """A fictitious person: the name as written in French and the account identifiers derived from it."""

    first: str
    last: str
    login: str
    email: str


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _make_person(rng: random.Random, domain: str | None = None) -> Person:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(SURNAMES)
    f, s = _ascii(first).lower(), _ascii(last).lower().replace(" ", "")
    style = rng.randrange(8)
    login = (
        f"{f[0]}{s}",
        f"{f[0]}.{s}",
        f"{f}.{s}",
        f"{s}-{f[0]}",
        f"{f[0]}{s[0]}{rng.randrange(10000, 99999)}",
        f"{s}{f[0]}",
        f"{f[0]}{s}{rng.randrange(2, 9)}",
        f"{s[:6]}{f[:2]}",
    )[style]
    mail_domain = domain or rng.choice(DOMAINS)
    email = f"{f.replace(' ', '')}.{s}@{mail_domain}"
    return Person(first, last, login, email)


@dataclass
class Wrappers:
    """Text that surrounds hand-written requests, kept separate per split."""

    signatures: tuple[str, ...]
    disclaimers: tuple[str, ...]
    forward_intros: tuple[str, ...]
    forward_headers: tuple[str, ...]
    reply_headers: tuple[str, ...]
    reply_histories: tuple[str, ...]
    auto_reply_headers: tuple[dict[str, str], ...]
    bulk_headers: tuple[dict[str, str], ...] = field(default=())


TRAIN_WRAPPERS = Wrappers(
    signatures=(
        "Cordialement,\n\n{ME}\nConseiller(ère) en insertion\n{ORG}\nTél. : {TEL}",
        "Bien à vous,\n{ME}\n{ORG} – 12 rue des Exemples, 45000 Exempleville\n{TEL}",
        "Cdt\n{MEF}",
        "--\n{ME} | Chargé(e) d'accueil | {ORG}\nLigne directe {TEL}",
        "Merci d'avance\n{ME}\nEnvoyé de mon iPhone",
        "Bonne journée,\n{ME}\nRéférent(e) informatique – {ORG}\nTél {TEL} – Port. 06 00 00 00 00",
        "Cordialement\n\n{ME}\nAssistante de direction\n{ORG}\n3 place de la République\n69000 Exempleville",
    ),
    disclaimers=(
        "Ce message et ses pièces jointes sont confidentiels et établis à l'attention exclusive de leurs "
        "destinataires. Toute utilisation ou diffusion non autorisée est interdite. Si vous avez reçu ce message "
        "par erreur, merci de le détruire et d'en avertir immédiatement l'expéditeur.",
        "Pensez à l'environnement avant d'imprimer ce courriel.",
        "AVERTISSEMENT : les informations contenues dans ce courriel sont strictement confidentielles. "
        "L'intégrité de ce message n'étant pas assurée sur Internet, l'expéditeur ne peut être tenu responsable "
        "de son contenu.",
    ),
    forward_intros=("", "Pour traitement", "voir ci-dessous svp", "Bonjour,\nje vous transfère la demande de {CHEF}."),
    forward_headers=(
        "-----Message d'origine-----\nDe : {CHEF} <{CHEFMAIL}>\nEnvoyé : lundi 6 octobre 2025 08:47\n"
        "À : {ME} <{MEMAIL}>\nObjet : {SUBJECT}\n",
        "---------- Forwarded message ---------\nDe : {CHEF} <{CHEFMAIL}>\nDate: mar. 14 oct. 2025 à 10:02\n"
        "Subject: {SUBJECT}\nTo: <{MEMAIL}>\n",
    ),
    reply_headers=(
        "Le jeu. 2 oct. 2025 à 16:31, Support Partenaires <support-partenaires@agence.local> a écrit :",
        "De : Support Partenaires\nEnvoyé : vendredi 19 septembre 2025 11:05\nÀ : {ME}\nObjet : RE: {SUBJECT}",
    ),
    reply_histories=(
        "Bonjour,\nVotre demande a bien été enregistrée sous la référence INC0012345.\nLe support partenaires",
        "Bonjour,\nPouvez-vous nous préciser l'identifiant exact de la personne concernée ?\nCordialement,\nLe support",
    ),
    auto_reply_headers=(
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes", "Precedence": "auto_reply"},
    ),
    bulk_headers=({"Precedence": "bulk", "List-Unsubscribe": "<mailto:desinscription@promo-exemple.com>"},),
)

DEV_WRAPPERS = Wrappers(
    signatures=(
        "Cordialement.\n{ME}\nChargé(e) de relation entreprises\n{ORG}\n{TEL}",
        "Très cordialement,\n\n{MEF} {ME_LAST_UPPER}\nResponsable de secteur\n{ORG}\nStandard : {TEL}",
        "bien cdlt\n{ME}",
        "{ME}\n{ORG}\n8 avenue du Modèle – BP 42 – 31000 Exempleville\nT. {TEL}\nwww.exemple.fr",
        "Merci !\n{MEF}\n\nEnvoyé depuis mon téléphone Android",
        "Sincères salutations\n{ME}, coordinatrice / coordinateur numérique\n{ORG} | {TEL}",
    ),
    disclaimers=(
        "Ce courriel et les documents qui y sont attachés peuvent contenir des informations confidentielles. "
        "S'il ne vous est pas destiné, nous vous remercions de le supprimer et de nous en informer.",
        "P Avant d'imprimer, pensez à l'environnement ! Merci.",
        "Confidentialité : ce message est destiné uniquement à la personne ou à l'entité à qui il est adressé ; "
        "toute copie ou diffusion sans autorisation est interdite.",
    ),
    forward_intros=("", "pour info et action", "Cf. ci-dessous", "Hello, demande d'un collègue ci-dessous, merci"),
    forward_headers=(
        "Début du message réexpédié :\n\nDe: {CHEF} <{CHEFMAIL}>\nDate: 9 décembre 2025 à 14:12:05 UTC+1\n"
        "À: {ME} <{MEMAIL}>\nObjet: {SUBJECT}\n",
        "________________________________\nDe : {CHEF}\nEnvoyé : mercredi 3 décembre 2025 17:20\n"
        "À : {ME}\nObjet : {SUBJECT}\n",
    ),
    reply_headers=(
        "Le mer. 10 déc. 2025 à 09:14, Assistance <assistance@agence.local> a écrit :",
        "-----Message d'origine-----\nDe : Assistance informatique\nEnvoyé : mardi 25 novembre 2025 15:40\n"
        "Objet : {SUBJECT}",
    ),
    reply_histories=(
        "Madame, Monsieur,\nNous accusons réception de votre sollicitation (ticket INC0098765).\nL'assistance",
        "Bonjour,\nLa demande est incomplète : merci d'indiquer le nom et l'identifiant de l'agent.\nL'équipe",
    ),
    auto_reply_headers=(
        {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
        {"Auto-Submitted": "auto-replied", "X-Autorespond": "true"},
    ),
    bulk_headers=({"Precedence": "list", "List-Id": "<newsletter.promo-exemple.net>"},),
)
WRAPPERS = {"train": TRAIN_WRAPPERS, "dev": DEV_WRAPPERS}

_HEADER = re.compile(r"^###\s+(?P<spec>.+)$")
_PLACEHOLDER = re.compile(r"\{(?P<key>[A-Za-z_]+)(?P<n>\d?)\}")
_KINDS = {"L": "login", "E": "email", "N": "name", "R": "name", "n": "name"}
INTENTS = UNDERSTOOD_INTENTS  # the label vocabulary is the classifier's
DECISIONS = ("auto", "human", "ignore")


@dataclass(frozen=True)
class Block:
    """One hand-written message as it appears in a source file."""

    intent: str
    decision: str
    targets: tuple[str, ...]
    options: frozenset[str]
    subject: str
    body: str
    line: int
    sender: str | None = None


class SourceError(ValueError):
    """A source block cannot be read; the message names the file and line."""


def read_blocks(path: Path) -> list[Block]:
    """Parse a source file into blocks, checking intents, decisions and options."""
    blocks: list[Block] = []
    current: tuple[list[str], int] | None = None
    lines: list[str] = []

    def close() -> None:
        if current is None:
            return
        spec, at = current
        text = "\n".join(lines).strip("\n")
        if not text:
            raise SourceError(f"{path}:{at}: empty message")
        subject, _, body = text.partition("\n")
        intent, decision, *rest = spec
        if intent not in INTENTS or decision not in DECISIONS:
            raise SourceError(f"{path}:{at}: unknown intent or decision {intent!r} {decision!r}")
        sender = next((r.partition("=")[2] for r in rest if r.startswith("from=")), None)
        targets = tuple(r for r in rest if not r.startswith(("+", "from=")))
        options = frozenset(r[1:] for r in rest if r.startswith("+"))
        blocks.append(Block(intent, decision, targets, options, subject.strip(), body.strip("\n"), at, sender))

    for number, raw in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        match = _HEADER.match(raw)
        if match:
            close()
            current = (match.group("spec").split(), number)
            lines = []
        elif current is not None:
            lines.append(raw)
    close()
    return blocks


def _phone(rng: random.Random) -> str:
    return "0{} {:02d} {:02d} {:02d} {:02d}".format(*(rng.randrange(1, 6), *(rng.randrange(100) for _ in range(4))))


class Renderer:
    """Turns blocks into JSON records for one split."""

    def __init__(self, split: str, seed: int | None = None) -> None:
        self.split = split
        self.rng = random.Random(SEEDS[split] if seed is None else seed)
        self.wrappers = WRAPPERS[split]
        self.where = split  # the source file being rendered, for error messages

    def _value(self, key: str, person: Person) -> str:
        return {
            "L": person.login,
            "E": person.email,
            "N": f"{person.first} {person.last}",
            "R": f"{person.last.upper()} {person.first}",
            "n": f"{_ascii(person.first).lower()} {_ascii(person.last).lower()}",
            "F": person.first,
            "S": person.last,
        }[key]

    def render(self, number: int, block: Block, prefix: str | None = None) -> dict[str, object]:
        rng = self.rng
        self.where = prefix or self.split
        org_index = rng.randrange(len(ORGS))
        sender = _make_person(rng, DOMAINS[org_index])
        boss = _make_person(rng, DOMAINS[org_index])
        # Person 0 is the sender, so a request about one's own account can name ``L0``.
        people: dict[str, Person] = {"0": sender}
        context = {
            "ME": f"{sender.first} {sender.last}",
            "MEF": sender.first,
            "ME_LAST_UPPER": sender.last.upper(),
            "MEMAIL": sender.email,
            "ORG": ORGS[org_index],
            "TEL": _phone(rng),
            "CHEF": f"{boss.first} {boss.last}",
            "CHEFMAIL": boss.email,
        }

        def fill(text: str) -> str:
            def one(match: re.Match[str]) -> str:
                key, n = match.group("key"), match.group("n")
                if n:
                    if n not in people:
                        people[n] = _make_person(rng)
                    return self._value(key, people[n])
                if key in context:
                    return context[key]
                raise SourceError(f"{self.where}:{block.line}: unknown placeholder {match.group(0)}")

            return _PLACEHOLDER.sub(one, text)

        subject = fill(block.subject)
        body = fill(block.body)
        context["SUBJECT"] = subject
        if "1" in people and block.options & {"fwd", "fwd0"}:
            # A forwarded request signed by person 1 was written by person 1: the header says so too.
            context["CHEF"] = f"{people['1'].first} {people['1'].last}"
            context["CHEFMAIL"] = people["1"].email
        body = self._wrap(body, block.options, context)
        headers: dict[str, str] = {}
        if "ar" in block.options:
            headers.update(rng.choice(self.wrappers.auto_reply_headers))
        if "bulk" in block.options:
            headers.update(rng.choice(self.wrappers.bulk_headers))
        if "fwd" in block.options or "fwd0" in block.options:
            subject = rng.choice(("TR: ", "Fwd: ", "TR : ")) + subject
        if "re" in block.options:
            subject = rng.choice(("RE: ", "Re: ", "RE : ")) + subject
        targets = self._targets(block, people)
        record: dict[str, object] = {
            "id": f"{prefix or self.split}-{number:04d}",
            "from": block.sender or sender.email,
            "subject": subject,
            "body": body,
        }
        if headers:
            record["headers"] = headers
        record["label"] = {"intent": block.intent, "targets": targets, "decision": block.decision}
        return record

    def _targets(self, block: Block, people: dict[str, Person]) -> list[dict[str, str]]:
        """Every mention (login, address, full name) of each target person, in order of appearance, then literals.

        A source lists one placeholder per target person; the label then holds all the ways the text names that
        person, so that the guide's rule "report what the text says" holds without relying on the writer.
        """
        chosen: set[str] = set()
        literals: list[dict[str, str]] = []
        for spec in block.targets:
            if "=" in spec:
                kind, _, value = spec.partition("=")
                literals.append({"kind": kind, "value": value.replace("_", " ")})
                continue
            key, n = spec[0], spec[1:]
            if key not in _KINDS or n not in people:
                raise SourceError(f"{self.where}:{block.line}: target {spec} is not a placeholder of the message")
            chosen.add(n)
        found: list[dict[str, str]] = []
        for match in _PLACEHOLDER.finditer(f"{block.subject}\n{block.body}"):
            key, n = match.group("key"), match.group("n")
            if n in chosen and key in _KINDS:
                target = {"kind": _KINDS[key], "value": self._value(key, people[n])}
                if target not in found:
                    found.append(target)
        return found + [t for t in literals if t not in found]

    def _wrap(self, body: str, options: frozenset[str], context: dict[str, str]) -> str:
        rng, w = self.rng, self.wrappers
        if "sig" in options:
            body = f"{body}\n\n{rng.choice(w.signatures).format(**context)}"
        if "disc" in options:
            body = f"{body}\n\n{rng.choice(w.disclaimers)}"
        if "fwd" in options or "fwd0" in options:
            intro = "" if "fwd0" in options else rng.choice([i for i in w.forward_intros if i])
            header = rng.choice(w.forward_headers).format(**context)
            body = f"{intro.format(**context)}\n\n{header}\n{body}".lstrip("\n")
        if "re" in options:
            header = rng.choice(w.reply_headers).format(**context)
            history = "\n".join(f"> {line}" if line else ">" for line in rng.choice(w.reply_histories).split("\n"))
            body = f"{body}\n\n{header}\n{history}"
        return body


def source_files(split: str) -> list[Path]:
    """The split's source files: ``<split>.txt`` first, then ``<split>-*.txt`` in name order (train only)."""
    main = HERE / "sources" / f"{split}.txt"
    if split != "train":
        return [main]
    return [main, *sorted((HERE / "sources").glob(f"{split}-*.txt"))]


def _seed(split: str, path: Path) -> int:
    """The split's seed for its main file; a stable seed derived from the file name for the others."""
    if path.stem == split:
        return SEEDS[split]
    return SEEDS[split] + zlib.crc32(path.stem.encode("utf-8"))


def render_file(split: str, path: Path) -> list[dict[str, object]]:
    """All records of one source file, in source order; ids carry the file's suffix (``train-a-0001``)."""
    renderer = Renderer(split, seed=_seed(split, path))
    prefix = path.stem
    return [renderer.render(i, block, prefix=prefix) for i, block in enumerate(read_blocks(path), start=1)]


def render_split(split: str, skipped: list[str] | None = None) -> list[dict[str, object]]:
    """All records of one split, in source order; later train files lose blocks that copy a dev or test body."""
    files = source_files(split)
    records = render_file(split, files[0])
    if len(files) == 1:
        return records
    unseen = [shape(r) for r in render_file("dev", HERE / "sources" / "dev.txt")]
    # The held-out test splits' longer bodies too (test_corpus's rule: short ones coincide by nature).
    for held_out in sorted(HERE.glob("test*.jsonl")):
        records_out = [json.loads(line) for line in held_out.read_text(encoding="utf-8").splitlines() if line]
        unseen += [s for s in map(shape, records_out) if len(s) >= HELD_OUT_MIN_LENGTH]
    for path in files[1:]:
        for record in render_file(split, path):
            twin = near_duplicate_of(shape(record), unseen)
            if twin is not None:
                if skipped is not None:
                    skipped.append(f"{record['id']} ({path.name}) is a near duplicate of an evaluation message")
                continue
            records.append(record)
    return records


# The near-duplicate rule of tests/unit/automations/understanding/test_corpus.py.
NEAR_DUPLICATE_SHARE = 0.15
NEAR_DUPLICATE_FLOOR = 6
HELD_OUT_MIN_LENGTH = 40


def shape(record: dict[str, object]) -> str:
    """The body with targets masked, accents folded and spaces collapsed: what a template would share."""
    body = str(record["body"])
    label = record["label"]
    assert isinstance(label, dict)
    for target in sorted(label["targets"], key=lambda t: -len(t["value"])):
        body = body.replace(target["value"], "@")
    body = "".join(c for c in unicodedata.normalize("NFD", body.lower()) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", body).strip()


def _within(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of ``a`` and ``b`` is at most ``limit`` (banded, stops early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [limit + 1] * len(b)
        low, high = max(1, i - limit), min(len(b), i + limit)
        for j in range(low, high + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != b[j - 1]))
        if min(current[max(0, low - 1) : high + 1]) > limit:
            return False
        previous = current
    return previous[len(b)] <= limit


@functools.cache
def _trigrams(text: str) -> frozenset[str]:
    # Cached: every train body is compared with the same few hundred held-out bodies.
    return frozenset(text[i : i + 3] for i in range(max(1, len(text) - 2)))


def near_duplicate_of(text: str, others: list[str]) -> int | None:
    """The index of the first of ``others`` within the near-duplicate distance of ``text``, or None."""
    grams = _trigrams(text)
    for index, other in enumerate(others):
        limit = max(NEAR_DUPLICATE_FLOOR, int(NEAR_DUPLICATE_SHARE * max(len(text), len(other))))
        if abs(len(text) - len(other)) > limit:
            continue  # the distance is at least the difference in length
        other_grams = _trigrams(other)
        if max(len(grams - other_grams), len(other_grams - grams)) > 3 * limit:
            continue
        if _within(text, other, limit):
            return index
    return None


def to_jsonl(records: list[dict[str, object]]) -> str:
    """One JSON object per line, UTF-8 kept readable."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def counts_table() -> str:
    """Messages per intent and split, and decisions per split, read from the JSONL files (for the README)."""
    rows: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        for line in (HERE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            label = json.loads(line)["label"]
            for key in (label["intent"], f"decision: {label['decision']}", "total"):
                rows.setdefault(key, dict.fromkeys(SPLITS, 0))[split] += 1
    order = [*INTENTS, *(f"decision: {d}" for d in DECISIONS), "total"]
    lines = [f"{'':22} {'train':>6} {'dev':>6}"]
    lines += [f"{key:22} {rows.get(key, {}).get('train', 0):>6} {rows.get(key, {}).get('dev', 0):>6}" for key in order]
    return "\n".join(lines)


def main() -> int:
    """Rewrite corpus/train.jsonl and corpus/dev.jsonl from the sources; ``--counts`` only prints the counts."""
    if "--counts" in sys.argv[1:]:
        print(counts_table())
        return 0
    for split in SPLITS:
        skipped: list[str] = []
        records = render_split(split, skipped)
        (HERE / f"{split}.jsonl").write_text(to_jsonl(records), encoding="utf-8")
        print(f"{split}: {len(records)} messages")
        for line in skipped:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
