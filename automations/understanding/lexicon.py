"""A compact French lexicon (folded: lower case, no accents) of words that are never account logins.

A word after "compte", "débloquer" or "c'est" is taken for a login only if it is not an ordinary French word:
"c'est quoi le lien", "le compte de X est-il bloqué", "la boîte collective" must not yield "quoi", "lien",
"est-il" or "collective" as accounts. The lexicon is data: function words, frequent words of the service-desk
domain, and regular verbs whose conjugated forms are generated from their stem (``_ER_VERBS``, ``_IR_VERBS``).
Surnames that are also common words ("martin", "petit", "blanc") are deliberately left out: a login written
bare is usually a surname with an initial, and a false "not a login" only costs coverage, never precision.
"""

from __future__ import annotations

import re

_FUNCTION_WORDS = """
    a à ai as au aux avec avant apres aupres autour car ce ceci cela ca celle celles celui ceux ces cet cette chez
    ci comme comment contre d dans de des depuis derriere des devant donc dont du durant elle elles en entre et
    eux il ils je j l la le les leur leurs lui m ma mais me meme memes mes moi mon n ne ni nos notre nous on ou
    ou par parce parmi pas pendant peu plus pour pourquoi pres puis qu quand que quel quelle quelles quels qui
    quoi s sa sans se selon ses si sien sienne soi son sous sur t ta te tes toi ton tous tout toute toutes tu un
    une unes uns vers via voici voila vos votre votres vous y quelque quelques quiconque lequel laquelle lesquels
    lesquelles duquel auquel auxquels chacun chacune aucun aucune nul nulle personne rien certain certaine
    certains certaines plusieurs autre autres tel telle tels telles
    oui non si ok okay bon bien mal tres trop assez beaucoup encore deja toujours jamais souvent parfois
    ici la-bas ailleurs maintenant aujourd hui demain hier bientot tot tard vite rapidement ensuite enfin alors
    ainsi aussi egalement surtout seulement vraiment peut-etre sinon pourtant cependant toutefois neanmoins
    desormais dorenavant actuellement finalement notamment environ presque plutot vraiment tellement tant
    combien quoique lorsque lorsqu puisque puisqu quoi que ce soit svp stp slt bjr cdt cdlt mrc pls please
    merci bonjour bonsoir salut hello coucou cordialement bien a vous bonne journee soiree semaine
    urgent urgente urgence asap immediatement prioritaire important importante
    the a an my his her their our your its for of to and or in on at by with from this that these those is are
    was were be been have has had do does did not no yes can could would should will please thanks thank hi
    account password user login unlock reset locked help need it them him me us request requests tried try
    pr ds tt qd pcq bcp dsl jsp
    mwen nou zot yo ou li pa ka te se ki ban pou epi avek anko mesi bonjou
    vive voix
"""

# Nouns and adjectives of the service desk and of partners' e-mails.
_DOMAIN_WORDS = """
    compte comptes session sessions acces identifiant identifiants login logins mot mots passe mdp code codes
    utilisateur utilisateurs utilisatrice utilisatrices agent agents agente agentes collegue collegues
    conseiller conseillers conseillere conseilleres salarie salaries salariee salariees stagiaire stagiaires
    apprenti apprentis apprentie apprenties collaborateur collaborateurs collaboratrice collaboratrices benevole
    benevoles referent referente referents responsable responsables directeur directrice direction chef cheffe
    equipe equipes service services personne personnes gens monde tout-le-monde membre membres public usager
    usagers jeune jeunes candidat candidats beneficiaire beneficiaires partenaire partenaires structure
    antenne agence agences site sites bureau bureaux accueil secretariat mission missions locale locales cap emploi
    departement conseil mairie caf association organisme organismes formation formations atelier ateliers
    reunion rendez-vous rdv entretien planning poste postes ordinateur ordinateurs pc portable portables ecran
    telephone telephones mobile mobiles tablette tablettes imprimante imprimantes clavier souris casque
    messagerie mail mails email emails e-mail courriel courriels boite boites adresse adresses lien liens url
    page site portail application applications appli applis logiciel logiciels outil outils plateforme
    reseau internet wifi vpn teams outlook windows office microsoft azure entra intune citrix sap
    message messages demande demandes requete ticket tickets incident incidents probleme problemes souci soucis
    pb bug erreur erreurs panne pannes blocage blocages deblocage deblocages verrouillage reinitialisation
    reinitialisations changement modification renouvellement expiration connexion connexions deconnexion
    tentative tentatives essai essais fois matin matinee midi apres-midi soir journee jour jours semaine semaines
    mois an annee heure heures minute minutes instant moment temps date lundi mardi mercredi jeudi vendredi
    samedi dimanche janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre
    collective collectif collectives collectifs commune commun partagee partage partages generique generiques
    provisoire provisoires temporaire temporaires nouveau nouvelle nouveaux nouvelles ancien ancienne anciens
    premier premiere premiers deuxieme second seconde dernier derniere prochain prochaine meme autre
    bloque bloquee bloques bloquees verrouille verrouillee verrouilles verrouillees debloque debloquee
    oublie oubliee oublies perdu perdue perdus expire expiree expires actif active inactif inactive
    desactive desactivee suspendu suspendue ferme fermee ouvert ouverte valide invalide incorrect incorrecte
    correct correcte faux fausse vrai vraie possible impossible disponible indisponible necessaire
    personnel personnelle professionnel professionnelle pro perso prive privee interne externe
    suivant suivante suivants suivantes ci-dessous ci-dessus ci-joint ci-jointe concerne concernee concernes
    numero nom noms prenom prenoms matricule liste tableau piece jointe fichier fichiers document documents
    dossier dossiers droit droits groupe groupes partage reponse retour suite aide besoin question questions
    info infos information informations precision precisions rappel relance urgence procedure demarche
    hameconnage phishing arnaque fraude spam virus piratage securite confiance test
    madame monsieur mademoiselle mme mr mlle mlles mmes messieurs dames cher chere chers cheres
    lui-meme elle-meme moi-meme eux-memes elles-memes nous-memes vous-meme
    quoi lien est-il est-elle est-ce peut-il peut-elle peut-on re-bonjour rebonjour
    juste seul seule seuls seules entier entiere complet complete total totale general generale
    un deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente cent mille
    premiere deuxieme troisieme dizaine douzaine quinzaine vingtaine moitie
    remplacant remplacante remplacants remplacantes titulaire titulaires vacataire vacataires interimaire
    interimaires nouvel nouvelle arrivant arrivante arrivee depart absence absent absente conge conges
    vacances maladie retour rentree teletravail travail distance domicile maison permanence astreinte
    oubli oublis arret arrets lors bref pire ensemble cellule cellules probable incertain incertaine point
    virgule profil profils rapide pagaille cata present presente presents presentes departemental
    departementale genant genante kont compt exact exacte exacts exactes rebelote affilee bone ek pw bloccato
    nominatif nominative reference references verrou verrous comtpe comtpes cpte cptes bloke blokee bloquer
    poste fixe salle accueil guichet caisse stand forum salon
    personne-ressource tuteur tutrice maitre stage alternant alternante alternants emploi-jeune
    lundi-matin ce-matin aujourd'hui auj ajd demain-matin
    mot-de-passe motdepasse password passwords pwd pass passwd identifiant-windows windows-ad
    encore svp-merci please-help
    bloque-t-il est-il-bloque
    car donc or ni soit
    pareil idem pareille meme-chose
    voila voici merci-beaucoup mercii merciii
    pc-portable ordi ordis portable-pro
    parce-que puisque quoique
    peut-etre
    madame-monsieur
    courrier courriers lettre lettres colis facture factures paiement paiements virement virements
    salaire salaires paie contrat contrats avenant
    bloquage debloquage reinitialiser reinitialise reinitialisee
    carte cartes badge badges porte portes batiment batiments voiture vehicule cle cles clef clefs parking
    serrure grille portail barriere ascenseur bus train route tram metro circulation bouchons neige greve
    ecran ecrans clavier claviers imprimante scanner telephone smartphone tablette appareil appareils
    dossier dossiers fichier fichiers logiciel application appli plateforme extranet intranet teams outlook
    wifi messagerie webmail portail portails site visio zoom skype domaine domaines serveur serveurs
    demandeur demandeurs demandeuse usager usagere inscrit inscrite prestataire prestataires
    coup travers mentionne mentionnee mentionnes objet objets precite precitee susmentionne susmentionnee sujet
    week-end weekend ci-apres ci-contre entre-temps
    tout-le-monde quelqu'un personne moi toi lui elle nous vous eux
    cpt cpte mdps pwd pswd passwd mot2passe identifiants login logins session sessions
    pole poles dsl mdr lol ptdr jsp bcp qqch qqn tkt conte contes parfait parfaite tour horaire horaires phrase wesh
    au-dessus au-dessous en-dessous ci-dessus au-dela
    utile utiles inutile inutiles senior seniors junior juniors post-it postit desole desolee desoles desolees
"""

# Irregular and very frequent verb forms not produced by the stems below.
_VERB_FORMS = """
    est es suis sommes etes sont etait etaient ete etre sera seront serait seraient soit soient fut
    ai as a avons avez ont avait avaient eu avoir aura auront aurait auraient aie ait ayant
    fait fais faites font faisait faire fera ferait fasse
    peut peux pouvons pouvez peuvent pouvait pouvoir pourra pourrait pourriez pourrais pourrions pu puisse puis
    veut veux voulons voulez veulent voulait vouloir voudrais voudrait voudrions voulu
    doit dois devons devez doivent devait devoir devrait devriez devrais du
    va vais vas allons allez vont allait aller ira irait alle allee
    faut fallait faudrait falloir
    sait sais savons savez savent savoir saurait su
    voit vois voyons voyez voient voir vu vue
    dit dis disons dites disent dire
    prend prends prenons prenez prennent prendre pris prise
    met mets mettons mettez mettent mettre mis mise remet remettre remis remise
    vient viens venons venez viennent venir venu venue revient revenir
    tient tiens tenir tenu
    recoit recois recevoir recu recue
    connait connais connaitre connu
    ouvre ouvrir ouvert
    sort sortir sorti
    part partir parti partie
    attend attends attendre attendu
    repond reponds repondre repondu
    perd perds perdre
    ecrit ecrire ecris
    transmet transmettre transmis
    permet permettre permis
    souvient souviens souvenir
    arrive arrivent arriver arrivait
    reussit reussir reussi
    reste restent rester
    semble sembler
    parvient parvenir
    suffit suffire suffisent suffisait
    reviennent revenu revenue
    repart repars repartir reparti
"""

# Regular -er verbs of the domain (stems), conjugated by ``_er_forms``.
_ER_VERBS = """
    bloqu debloqu verrouill deverrouill reinitialis initialis chang modifi renouvel envoy transmett donn
    redonn attribu cre gener regener remett fix regl resolu verifi control confirm valid activ reactiv desactiv
    supprim ajout retir annul cloturer ferm ouvr connect deconnect reconnect identifi authentifi saisi tap
    utilis trouv retrouv oubli demand transfer contact appel rappel signal indiqu precis expliqu inform
    aid help remerci souhait esper pens regard cherch essay tent accepter refus travaill commenc termin
    continu attend patient besoin manqu march fonctionn plant affich apparai bascul migr install mett
    expir dur pass rest parl evit arriv entr sort rentr tomb recommenc reessay recuper partag accord autoris habilit
    declar prevenir prevoir present concern traite trait gerer ger occup charg lanc procede realis effectu
    rajout inscri enregistr communiqu notifi avert alert sollicit relanc insist pard excus telecharg
    marqu affect rattach impact zapp dispos assur mobilis cit demeur constat demarr redemarr coinc
"""
_ER_ENDINGS = (
    "er",
    "e",
    "es",
    "ee",
    "ees",
    "ez",
    "ons",
    "ent",
    "ait",
    "aient",
    "ant",
    "era",
    "erai",
    "erait",
    "eriez",
    "erions",
    "ions",
    "ais",
    "iez",
    "age",
    "ement",
    "eront",
    "erons",
)

_IR_VERBS = """
    fourn chois rempl fin reuss aboutr agr rétabl retabl reag
"""
_IR_ENDINGS = ("ir", "is", "it", "issons", "issez", "issent", "issait", "ira", "irait", "issant")


def _er_forms(stem: str) -> list[str]:
    return [stem + ending for ending in _ER_ENDINGS]


def _ir_forms(stem: str) -> list[str]:
    return [stem + ending for ending in _IR_ENDINGS]


def _build() -> frozenset[str]:
    words = set((_FUNCTION_WORDS + _DOMAIN_WORDS + _VERB_FORMS).split())
    for stem in _ER_VERBS.split():
        words.update(_er_forms(stem))
    for stem in _IR_VERBS.split():
        words.update(_ir_forms(stem))
    return frozenset(words)


FRENCH_WORDS: frozenset[str] = _build()

# "est-il", "peut-on", "pourriez-vous": a verb with its pronoun is a question, never an account.
_PRONOUN_SUFFIX = re.compile(r"-(?:t-)?(?:il|elle|ils|elles|on|je|tu|nous|vous|ce|moi|toi|lui|leur|la|le|les)$")


def is_french_word(token: str) -> bool:
    """True when ``token`` (folded) is an ordinary French word or a verb with a pronoun ("est-il")."""
    # "re-enregistrer", "re-essayer": a verb with the prefix written apart.
    # "celui-ci", "ce mois-ci", "celle-là": a demonstrative, never a login.
    return (
        token in FRENCH_WORDS
        or bool(_PRONOUN_SUFFIX.search(token))
        or "'" in token
        or token.startswith("re-")
        or token.endswith(("-ci", "-la"))
    )


def has_login_shape(token: str) -> bool:
    """True for shapes logins take and words do not: digits, or letters joined by "." / "_" / "-"."""
    return any(c.isdigit() for c in token) or bool(re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)+", token))


# Derivational endings of French nouns and adjectives ("migration", "carburant", "inadmissible"): a bare word that
# ends so is read as a word, not a login, unless a strong cue ("identifiant :") introduces it. Surnames rarely end
# so; logins built on them ("jdupont", "mercier-s") never lose more than coverage.
_WORD_ENDING = re.compile(r"(?:tion|sion|ments?|ibles?|ables?|isme|iste|iques?|euses?|ees|aient|ions|iez)$")
# Endings some surnames share ("Durant", "Lepage", "Lemaire"): only on long words ("carburant", "inadmissible").
_LONG_WORD_ENDING = re.compile(
    r"(?:ette|ance|ence|ures?|ites?|ants?|antes?|ais|ait|eux|ifs?|ives?|elles?|aux|ales?|oires?|eurs?)$"
)


def looks_like_a_word(token: str) -> bool:
    """True for a plain lower-case word with a French noun or adjective ending ("carburant", "migration")."""
    if not token.isalpha() or len(token) < 6:
        return False
    return bool(_WORD_ENDING.search(token)) or (len(token) >= 9 and bool(_LONG_WORD_ENDING.search(token)))
