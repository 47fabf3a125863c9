"""Wordings the rules learnt in the twelfth to seventeenth rounds (smartphone typing, formal administrative
letters, structured requests from IT referents, advisers under pressure; a generalist's month, threads, overseas and
non-native writers, near-miss pairs; everyday wordings, offices writing for others, follow-ups and replies to the
desk; phone one-liners, a social services mailbox, accounts named once in odd places, near-miss twins; a Mission
Locale's month, disability-support partners, overseas and regional partners, level-1 phone tickets; lookalikes,
several people or needs, the people around partner staff) and from the training misses they led us to look at
again: sentences of our own, most in a pair where one detail flips the decision."""

from __future__ import annotations

import pytest

from automations.understanding.rules import RulesUnderstander
from tests.fixtures.readings import Case, assert_reading

SENDER = "paul.renaud@cap-emploi-exemple.fr"

# (id, subject, body, intent, decision, values of the mentions found; None: not asserted)
CASES: list[Case] = [
    # --- a password change named as the cause of the lock, not asked ----------------------------------------
    (
        "change-campaign-cause",
        "verrouillage",
        "Suite au changement de mot de passe imposé hier, kmartin est verrouillé. Merci de le débloquer.",
        "unlock",
        "auto",
        ("kmartin",),
    ),
    (
        "password-unexplained",
        "verrouillage",
        "kmartin est verrouillé. Son mot de passe, je ne sais pas. Merci de le débloquer.",
        "unlock",
        "human",
        ("kmartin",),
    ),
    (
        "they-have-the-new-one",
        "comptes",
        "Après la campagne de renouvellement, ils ont tous les deux leur nouveau mot de passe en tête : il faut juste "
        "déverrouiller rpetit4 et lgarcia2.",
        "unlock",
        "auto",
        ("rpetit4", "lgarcia2"),
    ),
    (
        "a-new-one-needed",
        "comptes",
        "rpetit4 est verrouillé et il lui faut un nouveau mot de passe.",
        "unlock_and_reset",
        "auto",
        ("rpetit4",),
    ),
    # --- the infinitive written for the participle --------------------------------------------------------------
    (
        "account-bloquer",
        "compte bloquer",
        "bjr compte bloquer pour lgarcia2 + elle a perdu son mdp, merci de faire le necessaire",
        "unlock_and_reset",
        "auto",
        ("lgarcia2",),
    ),
    (
        "account-may-lock",
        "compte",
        "le compte risque de bloquer si elle continue, lgarcia2, merci de vérifier",
        None,
        "human",
        None,
    ),
    ("typed-apart", "mdp", "merci de ré initialiser le mot de passe de lgarcia2", "reset_password", "auto",
     ("lgarcia2",)),
    ("misspelt-account", "compt bloké", "bjr, le conpte lemoinel et bloké depuis ce matin, merci", "unlock", "auto",
     ("lemoinel",)),
    # --- words that are no login: a list item's state, a bracketed cause, "x2", "pr", "it", "celui-ci" --------------
    (
        "list-item-states",
        "demandes",
        "Bonjour,\n\n- Paul Girard : compte verrouillé\n- Nina Roux : a oublié son mot de passe\n\nMerci",
        "unlock_and_reset",
        "auto",
        ("Paul Girard", "Nina Roux"),
    ),
    (
        "list-item-login",
        "demandes",
        "Bonjour,\n\n- Paul Girard : pgirard2, compte verrouillé\n\nMerci",
        "unlock",
        "auto",
        ("Paul Girard", "pgirard2"),
    ),
    ("bracketed-cause", "demande", "Demande : réinitialisation du mot de passe (oubli) pour h.durand",
     "reset_password", "auto", ("h.durand",)),
    ("times-two", "déblocage x2", "merci de débloquer gthomas3 et lroux5", "unlock", "auto", ("gthomas3", "lroux5")),
    ("pr-for-pour", "mdp", "mdp oublié pr jmartin4, merci de réinit", "reset_password", "auto", ("jmartin4",)),
    ("english-it", "account", "Could you please unlock it? Username: melanie.roux", "unlock", "auto",
     ("melanie.roux",)),
    ("celui-ci", "mdp", "Merci de réinitialiser le mot de passe de kmartin, celui-ci ayant été oublié.",
     "reset_password", "auto", ("kmartin",)),
    # --- the password half denied in more words ---------------------------------------------------------------
    ("no-need-to-change", "comptes",
     "Aucun besoin de changer les mots de passe, uniquement le déverrouillage de rpetit4.", "unlock", "auto",
     ("rpetit4",)),
    ("no-password-to-change", "urgent", "rpetit4 verrouillé. Pas de mot de passe à changer, juste déblocage.",
     "unlock", "auto", ("rpetit4",)),
    ("not-for-the-password", "re", "c'est pour débloquer rpetit4, pas pour le mot de passe, elle le connaît",
     "unlock", "auto", ("rpetit4",)),
    ("knows-the-new-one", "bloquée",
     "lgarcia2 a tapé l'ancien mot de passe, compte verrouillé. Elle connaît le nouveau, débloquez-la juste.",
     "unlock", "auto", ("lgarcia2",)),
    # "le sien" after a password: the second person's forgetting, and both people are named.
    ("forgot-his-own", "2 soucis",
     "rpetit4 est verrouillé (il a tapé son ancien mot de passe) et lgarcia2 a tout simplement oublié le sien.",
     "unlock_and_reset", "auto", ("rpetit4", "lgarcia2")),
    # --- deferrals and people waiting -------------------------------------------------------------------------
    ("from-a-date", "déblocage", "Merci de débloquer rpetit4 uniquement à compter du lundi 3 mars, pas avant.",
     "unlock", "human", ("rpetit4",)),
    ("people-waiting", "urgent",
     "kmartin est verrouillé et 12 stagiaires attendent dans la salle, merci de le débloquer.", "unlock", "auto",
     ("kmartin",)),
    ("many-accounts", "comptes", "Merci de débloquer 12 comptes de l'antenne nord.", "unlock", "human", ()),
    # --- thanks that still ask -------------------------------------------------------------------------------
    ("thanks-then-question", "RE: déblocage", "Merci pour le déblocage ! Comment éviter que ça se reproduise ?",
     "info_request", "human", ()),
    ("thanks-only", "RE: déblocage", "Merci pour le déblocage, ça marche !", "thanks_or_closure", "ignore", ()),
    ("thanks-formal-then-other", "Remerciements",
     "Je vous remercie pour le déverrouillage du compte de kmartin. En revanche, la seconde collègue a toujours son "
     "compte verrouillé.", "unlock", "human", ("kmartin",)),
    # --- round 13 ------------------------------------------------------------------------------------------------
    ("told-to-change-it", "pb connexion",
     "kmartin s'est re-bloqué, vous pouvez débloquer ? Je lui ai dit de changer son mdp sur le tel pro.", "unlock",
     "auto", ("kmartin",)),
    ("not-a-lock", "précision",
     "C'est bien un oubli de mot de passe (pas un blocage). Login : darnaud5. Merci de le réinitialiser.",
     "reset_password", "auto", ("darnaud5",)),
    ("new-one-known", "bloqué",
     "kmartin a changé son mot de passe vendredi et depuis son compte se bloque. Le nouveau mot de passe est bien "
     "connu, il faut juste débloquer.", "unlock", "auto", ("kmartin",)),
    ("to-the-tutor", "Déblocage + mdp",
     "Compte de kmartin bloqué, mot de passe oublié. Pouvez-vous débloquer son compte et réinitialiser ? Je suis sa "
     "tutrice, je le lui transmettrai.", "unlock_and_reset", "human", ("kmartin",)),
    ("his-password-to-me", "Déblocage + mdp",
     "Compte de kmartin bloqué, mot de passe oublié. Pouvez-vous débloquer et réinitialiser ? Merci de me "
     "communiquer son nouveau mot de passe.", "unlock_and_reset", "human", ("kmartin",)),
    ("my-own-new-one", "mdp",
     "Mon compte kmartin est bloqué et j'ai oublié mon mot de passe, pouvez-vous m'en donner un nouveau ?",
     "unlock_and_reset", "auto", ("kmartin",)),
    ("despite-attempts", "Demande",
     "Le mot de passe de kmartin a expiré. Malgré plusieurs tentatives, il ne parvient pas à en définir un nouveau. "
     "Merci de le réinitialiser.", "reset_password", "auto", ("kmartin",)),
    ("english-change-cause", "Account locked",
     "Could you please unlock the account martin-k? She locked herself out after yesterday's password change.",
     "unlock", "auto", ("martin-k",)),
    ("screen-replacement-too", "Mdp + écran",
     "Pour kmartin2 :\n- mot de passe oublié, merci de réinitialiser\n- son deuxième écran ne s'allume plus, peut-on "
     "avoir un remplacement ?", "reset_password", "human", ("kmartin2",)),
    ("screen-only-context", "Mdp",
     "Pour kmartin2 :\n- mot de passe oublié, merci de réinitialiser\n- il est joignable sur son poste fixe si besoin.",
     "reset_password", "auto", ("kmartin2",)),
    ("disabled-after-contract", "Réactivation",
     "Son compte kmartin, qui avait été désactivé à l'issue de son précédent contrat, n'est plus utilisable. Merci de "
     "procéder à sa réactivation et à son déblocage.", "unlock", "human", ("kmartin",)),
    ("lock-typed-apart", "compte", "kmartin est verrou îlé et a oublié son mdp, tu peux faire le nécessaire ?",
     "reset_password", "human", ("kmartin",)),
    ("quoted-screen-not-phishing", "compte désactivé",
     "kmartin a le message « Votre compte a été désactivé. Contactez votre administrateur. » Pouvez-vous regarder ?",
     "unlock", "human", ("kmartin",)),
    ("corrected-login", "RE: compte",
     "Erreur dans mon premier message : ce n'est pas denis-f mais kmartin2. Merci de débloquer kmartin2.", "unlock",
     "auto", ("kmartin2",)),
    ("not-a-correction", "compte", "Merci de débloquer denis-f, ce n'est pas urgent mais c'est gênant.", "unlock",
     "auto", ("denis-f",)),
    # --- a login written bare, with no cue: no dictionary knows it, and it is no slip of a word ----------------
    ("bare-login-opens", "session", "Bonjour, pgaudinel doit ouvrir sa session pour l'atelier et son compte est "
     "verrouillé. Merci de le débloquer.", "unlock", "auto", ("pgaudinel",)),
    ("typos-are-no-login", "session", "Bonjour, ma colègue doit ouvrir sa session et son compte est verrouillé, mersi "
     "de débloquer.", "unlock", "human", ()),
    ("bare-login-english", "pwd", "Hi, password reset needed for vgaudrin please, she forgot it over the holidays.",
     "reset_password", "auto", ("vgaudrin",)),
    ("bare-logins-arrows", "Comptes stagiaires", "Suite à la formation d'hier :\nbvernaz → verrouillé\nkpoulard → "
     "mot de passe oublié\nMerci.", "unlock_and_reset", "auto", ("bvernaz", "kpoulard")),
    ("everyday-word-no-login", "compte", "Le collègue du bureau d'à côté est toujours bloqué, je n'ai pas son "
     "identifiant.", "unlock", "human", ()),
    ("ticket-number-no-login", "[INC0098765] compte de Julie Perrin", "Il s'agit d'un simple verrouillage, merci de "
     "débloquer le compte de Julie Perrin.", "unlock", "auto", ("Julie Perrin",)),
    # --- being away said in a request; a reply's subject is the earlier message's ---------------------------
    ("away-in-a-request", "compte bloqué demain ?", "Je suis en formation demain avec vgaudrin qui me dit que son "
     "compte est verrouillé. Pouvez-vous le débloquer avant 9h ?", "unlock", "auto", ("vgaudrin",)),
    ("away-out-of-office", "Absence", "Je suis en formation jusqu'au 14. De retour le 15, je traiterai vos messages à "
     "mon retour.", "auto_reply", "ignore", None),
    ("reply-to-a-resolved-ticket", "RE: Votre ticket INC0012345 a été résolu", "Non, kmartin est toujours bloqué ce "
     "matin, merci de le débloquer.", "unlock", "auto", ("kmartin",)),
    ("reply-gives-the-login", "RE: déblocage", "Le bon identifiant est kmartin2, merci de débloquer ce compte.\n\n"
     "Le lun. 3 nov. 2025 à 09:12, Support <support@agence.local> a écrit :\n> Votre demande a bien été enregistrée.",
     "unlock", "auto", ("kmartin2",)),
    # --- "et aussi" for another person or the other half of the same request -----------------------------------
    ("and-also-a-person", "déblocage", "Pourriez-vous débloquer le compte de Julie Perrin ? Et aussi celui de Marc "
     "Dubois, même souci.", "unlock", "auto", ("Julie Perrin", "Marc Dubois")),
    ("and-also-a-printer", "déblocage", "Pourriez-vous débloquer le compte de Julie Perrin ? Et aussi, notre "
     "imprimante ne répond plus.", None, "human", None),
    ("and-also-the-password", "Compte kmartin", "kmartin a son compte bloqué. Pouvez-vous aussi réinitialiser son mot "
     "de passe ? Il ne le retrouve plus.", "unlock_and_reset", "auto", ("kmartin",)),
    ("printer-and-account-in-one-question", "soucis", "kmartin est bloqué : quelqu'un peut-il passer voir "
     "l'imprimante et débloquer le compte ?", None, "human", None),
    ("screen-as-context", "soucis", "kmartin est bloqué devant son écran, quelqu'un peut-il débloquer le compte ?",
     "unlock", "auto", ("kmartin",)),
    # --- the password or the other system said to be fine; a change as the cause ----------------------------
    ("password-is-fine", "verrouillage", "Le compte de kmartin est verrouillé, son mot de passe est bon, merci de "
     "débloquer.", "unlock", "auto", ("kmartin",)),
    ("vpn-works", "déblocage", "Pouvez-vous débloquer kmartin ? Le VPN se connecte bien mais Windows dit que son "
     "compte est verrouillé.", "unlock", "auto", ("kmartin",)),
    ("vpn-account", "déblocage", "Pouvez-vous débloquer le compte VPN de kmartin ?", None, "human", None),
    ("after-the-switch", "comptes", "Merci de déverrouiller les comptes de Julie Perrin et Marc Dubois, bloqués après "
     "la bascule sur le nouveau mot de passe.", "unlock", "auto", ("Julie Perrin", "Marc Dubois")),
    ("could-not-change-it", "Comptes AD", "kmartin : verrouillé, juste un déverrouillage.\nlgarcia2 : mot de passe "
     "expiré, elle n'a pas pu le changer à temps, réinitialisation nécessaire.", "unlock_and_reset", "auto",
     ("kmartin", "lgarcia2")),
    ("does-not-look-locked", "mdp", "Merci de réinitialiser le mot de passe de kmartin2, expiré et oublié. Le compte "
     "n'a pas l'air verrouillé.", "reset_password", "auto", ("kmartin2",)),
    # --- asked to be told afterwards; a lock-out every day ---------------------------------------------------------
    ("tell-me-when-done", "blocage", "kmartin s'est bloqué ce matin. Merci de le débloquer et de me prévenir quand "
     "c'est fait.", "unlock", "auto", ("kmartin",)),
    ("already-done", "blocage", "kmartin était bloqué ce matin, c'est fait, il a pu se reconnecter.", None, "human",
     ("kmartin",)),
    ("locks-every-day", "verrouillage", "kmartin se bloque tous les jours, pouvez-vous le débloquer et désactiver le "
     "verrouillage automatique ?", "unlock", "human", ("kmartin",)),
    # --- the subject asks in so many words; the body only says why ----------------------------------------------
    ("subject-asks", "débloquer vgaudrin svp", "il a un rendez-vous dans 10 minutes", "unlock", "auto", ("vgaudrin",)),
    ("subject-only-describes", "compte bloqué vgaudrin", "il a un rendez-vous dans 10 minutes", "unlock", "human",
     ("vgaudrin",)),
    ("body-says-do-it", "Compte bloqué - julie.perrin@exemple.fr", "Merci de faire le nécessaire, elle a rendez-vous à "
     "11h.", "unlock", "auto", ("julie.perrin@exemple.fr",)),
    # --- people named in more places ---------------------------------------------------------------------------
    ("name-after-greeting-line", "compte", "Bonjour,\nMarc Dubois de l'accueil a son compte bloqué. Merci de le "
     "débloquer.", "unlock", "auto", ("Marc Dubois",)),
    ("own-address-is", "mot de passe", "J'ai oublié mon mot de passe. Mon adresse est "
     "paul.renaud@cap-emploi-exemple.fr. Pouvez-vous le réinitialiser ?", "reset_password", "auto",
     ("paul.renaud@cap-emploi-exemple.fr",)),
    ("own-address-to-answer", "mot de passe", "J'ai oublié mon mot de passe, répondez-moi à mon "
     "adresse : paul.renaud@cap-emploi-exemple.fr", "reset_password", "human", ()),
    ("lower-case-name-particle", "mdp", "bonjour\nelodie da silva (accueil) a oublié son mot de passe de session, "
     "merci de le réinitialiser", "reset_password", "auto", ("elodie da silva",)),
    ("title-first-surname-described", "Bloquée", "Bonjour,\n\nMadame Claire Morel, conseillère à notre antenne, "
     "a bloqué sa session et ne se souvient plus de son mot de passe. Pourriez-vous débloquer le compte et lui "
     "attribuer un mot de passe provisoire ?", "unlock_and_reset", "auto", ("Claire Morel",)),
    ("title-greets", "déblocage", "Madame Morel, pourriez-vous débloquer le compte de kmartin ?", "unlock", "auto",
     ("kmartin",)),
    ("english-possessive", "RE: Locked account", "Now it's tgarrel's turn, locked out. Could you unlock please?",
     "unlock", "auto", ("tgarrel",)),
    ("comma-then-state", "urgent", "C'est pour pvernet, bloqué, il a un rendez-vous dans 10 minutes. Merci !", "unlock",
     "auto", ("pvernet",)),
    ("shouted-after-greeting", "mot de passe", "BONJOUR MOT DE PASSE EXPIRE POUR DUBOIS Marc IL N ARRIVE PAS A LE "
     "CHANGER MERCI", "reset_password", "auto", None),
    # --- English, causes and denials ------------------------------------------------------------------------------
    ("english-both", "Locked", "Hi, pvernet is locked out and can't remember her password either. Could you unlock the "
     "account and set a temporary password?", "unlock_and_reset", "auto", ("pvernet",)),
    ("english-mistyped", "Locked out", "Could you please unlock pvernet? She mistyped her password a few times.",
     "unlock", "auto", ("pvernet",)),
    ("english-everyday-word", "Question", "Who should I contact when one of our staff gets locked out?", None, "human",
     ()),
    ("locked-during-change", "Comptes", "Pouvez-vous déverrouiller le compte de Marc Dubois ? Il a été bloqué lors du "
     "changement de mot de passe obligatoire.", "unlock", "auto", ("Marc Dubois",)),
    ("not-the-lock", "RE: mdp", "Finalement pas le blocage, c'est le mdp que j'ai oublié : pvernet. Merci de le "
     "réinitialiser.", "reset_password", "auto", ("pvernet",)),
    ("polite-typo-no-login", "compte bloqé", "mon compte est bloqué depuis ce matin, pouvez vous débloquer svpp",
     "unlock", "human", ()),
    # --- unlock or both: the new password as the cause, the lock denied -----------------------------------------
    ("tried-with-the-new-one", "blocage", "Quelqu'un peut débloquer Julie Perrin ? Elle a essayé trois fois avec son "
     "nouveau mot de passe et elle est bloquée.", "unlock", "auto", ("Julie Perrin",)),
    ("noted-the-new-one", "Déverrouillage", "kmartin s'est fait verrouiller en changeant son mot de passe. Il faut "
     "juste déverrouiller le compte, il a bien noté son nouveau mot de passe.", "unlock", "auto", ("kmartin",)),
    ("forgotten-not-locked", "RE: demande", "Je précise : il s'agit bien d'un mot de passe oublié, pas d'un compte "
     "bloqué. Compte : kmartin2. Merci de le réinitialiser.", "reset_password", "auto", ("kmartin2",)),
    ("not-locked-yet", "mdp refusé", "Depuis ce matin le mot de passe de kmartin2 est refusé (pas encore de "
     "verrouillage) et il ne se souvient plus du nouveau. Merci de réinitialiser.", "reset_password", "auto",
     ("kmartin2",)),
    ("password-unchanged", "Compte kmartin verrouillé", "Compte verrouillé ce matin (erreurs de saisie). "
     "Déverrouillage souhaité, le mot de passe reste inchangé.", "unlock", "auto", ("kmartin",)),
    ("do-not-reset-imperative", "déblocage", "Merci de débloquer kmartin, mais surtout ne réinitialisez pas son mot de "
     "passe : il l'a changé hier et s'en souvient très bien.", "unlock", "auto", ("kmartin",)),
    # --- delivery, policy, done or not done -----------------------------------------------------------------------
    ("password-read-aloud", "mdp", "Julie Perrin a oublié son mot de passe. Pourriez-vous m'appeler pour nous "
     "communiquer le nouveau mot de passe de vive voix ?", "reset_password", "human", ("Julie Perrin",)),
    ("sent-by-sms-noun", "Reset", "Pour kmartin : réinitialisation du mot de passe, avec envoi du nouveau mot de passe "
     "par SMS à sa responsable.", "reset_password", "human", None),
    ("expiry-removal-noun", "aménagement", "Nous sollicitons la réinitialisation du mot de passe de kmartin2 ainsi que "
     "la suppression de l'expiration périodique.", None, "human", None),
    ("received-the-new-one", "RE: mot de passe", "Julie Perrin a bien reçu son nouveau mot de passe et l'a changé "
     "sans difficulté. Merci.", None, "ignore", None),
    ("received-the-address-not-the-password", "mdp", "Julie Perrin a bien reçu son adresse mais le mot de passe "
     "provisoire ne fonctionne pas. Pourriez-vous lui en attribuer un nouveau ?", "reset_password", "auto",
     ("Julie Perrin",)),
    ("none-could-log-in", "Nouveaux arrivants", "Aucun n'a pu se connecter ce matin, le mot de passe transmis ne "
     "fonctionne pas :\n- kmartin2\n- lgarcia2\nMerci de réinitialiser ces deux comptes.", "reset_password", "auto",
     ("kmartin2", "lgarcia2")),
    ("the-others-got-in", "Comptes", "Les autres ont réussi à se connecter. Merci de débloquer kmartin2 et lgarcia2.",
     "unlock", "auto", ("kmartin2", "lgarcia2")),
    # --- certainty and arrival words that defer nothing ------------------------------------------------------------
    ("unsure-of-the-password", "Compte", "Julie Perrin est bloquée. Comme elle n'est pas sûre de son mot de passe, "
     "mieux vaut le réinitialiser en même temps que le déblocage.", "unlock_and_reset", "auto", ("Julie Perrin",)),
    ("unsure-of-the-request", "Compte", "Je ne suis pas sûre qu'il faille débloquer Julie Perrin, elle est peut-être "
     "déjà revenue.", None, "human", None),
    ("arrived-monday", "mdp", "Un nouveau collègue, arrivé lundi, n'a jamais reçu son mot de passe. Son identifiant : "
     "kmartin2. Pourriez-vous le réinitialiser ?", "reset_password", "auto", ("kmartin2",)),
    ("arrives-monday", "mdp", "kmartin2 arrive lundi, pourriez-vous réinitialiser son mot de passe ?",
     "reset_password", "human", ("kmartin2",)),
    # --- who is named --------------------------------------------------------------------------------------------
    ("subject-word-before-name", "Demande", "Bonjour,\n\nJulie Perrin, conseillère emploi, a oublié son mot de passe. "
     "Merci de procéder à la réinitialisation.", "reset_password", "auto", ("Julie Perrin",)),
    ("own-address-two-words", "Bloquée", "J'ai oublié mon mot de passe et je suis bloquée. Mon adresse mail pro : "
     "paul.renaud@cap-emploi-exemple.fr. Pouvez-vous débloquer et réinitialiser ?", "unlock_and_reset", "auto",
     ("paul.renaud@cap-emploi-exemple.fr",)),
    ("creole-my-account", "kont mwen bloké", "Bonjou, kont mwen bloké ankò. Ou pé ban mwen on kout men ? Mèsi",
     None, "human", ()),
    ("forward-of-a-request", "Fwd: session bloquée", "Je vous transfère la demande de notre conseillère, qui ne "
     "peut pas écrire puisqu'elle est bloquée.\n\n"
     "---------- Message transféré ----------\nDe : Julie Perrin\nObjet : session bloquée\n\nTu peux prévenir "
     "l'informatique que mon compte kmartin2 est verrouillé ? Merci", "unlock", "auto", ("kmartin2",)),

    # --- not the directory account, not a request -------------------------------------------------------------
    ("extranet-account", "Extranet", "Le compte extranet de kmartin est verrouillé, pouvez-vous le débloquer ?", None,
     "human", None),
    ("read-receipt", "Accusé de lecture : Compte verrouillé", "Votre message\n\n  À : Service informatique\n  Objet : "
     "Compte verrouillé\n\na été lu le mardi à 09:42.", "auto_reply", "ignore", None),
    ("defanged-phishing-link", "Document partagé", "Pour ouvrir la liste des comptes à réinitialiser, confirmez votre "
     "identité avec votre adresse et votre mot de passe : hxxps://partage-exemple.co/ouvrir?id=88213", None, "ignore",
     None),
    ("teams-and-an-unlock", "Accès Teams + compte", "Merci d'ajouter kmartin2 et lgarcia2 à l'équipe Teams « Emploi » "
     "et au groupe associé. Et pvernet est bloqué, si vous pouvez en profiter.", None, "human", None),
    ("sent-back-to-a-vendor", "Intervention", "Afin d'intervenir sur la session de kmartin2 ce soir, merci de "
     "réinitialiser son mot de passe et de nous le communiquer en retour de ce mail.", "reset_password", "human", None),
    # --- symptoms and causes that ask nothing else --------------------------------------------------------------
    ("stuck-on-the-screen", "mdp expirés", "Les mots de passe de kmartin2 et lgarcia2 ont expiré pendant leurs congés, "
     "ils restent bloqués sur l'écran de connexion. Merci de réinitialiser les deux.", "reset_password", "auto",
     ("kmartin2", "lgarcia2")),
    ("no-access-to-anything", "compte", "Mon compte kmartin2 est verrouillé depuis ce matin, je n'ai accès à rien. "
     "Merci de le débloquer.", "unlock", "auto", ("kmartin2",)),
    ("do-not-touch-their-passwords", "Déblocage uniquement", "Merci de débloquer kmartin2 et lgarcia2. Surtout ne "
     "touchez pas à leurs mots de passe, ils les connaissent.", "unlock", "auto", ("kmartin2", "lgarcia2")),
    ("arrived-as-a-replacement", "mdp", "Pourriez-vous réinitialiser le mot de passe du compte kmartin2 ? C'est notre "
     "chargé de projet arrivé en remplacement de Marc Dubois, il n'a jamais reçu le mot de passe initial.",
     "reset_password", "auto", ("kmartin2",)),
]


@pytest.fixture(scope="module")
def rules() -> RulesUnderstander:
    return RulesUnderstander()


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_wording(rules: RulesUnderstander, case: Case) -> None:
    assert_reading(rules, case, SENDER)
