"""Common first names in France (folded: lower case, no accents), written from general knowledge, not from the corpus.

A capitalised pair is read as a person only when one of its words is a known first name: "Julie Martin",
"MARTIN Julie", "julie martin". Product and place names ("Portail Partenaire", "Val d'Exemple") never are.
Hyphenated first names ("Jean-Marc") count when each part is known.
"""

from __future__ import annotations

_NAMES = """
    aaron abdel abdelkader abdallah abdou abdoulaye adam adama adele adeline adrien agathe agnes ahmed aicha aida
    aime aimee alain alan albane albert alex alexandra alexandre alexandrine alexia alexis alice aline alix
    amandine amaury ambre amel amelie amina amine amir amira anais anastasia andre andrea andree ange angela
    angelique anissa anita anne annabelle annick annie anouk antoine antoinette anthony antonin apolline arielle
    arlette armand arnaud arthur astrid aubin audrey augustin aurelie aurelien aurore axel axelle ayoub aziz
    baptiste barbara bastien beatrice benedicte benjamin benoit bernadette bernard bertrand blanche blandine
    boris brahim brice brigitte bruno camille capucine carine carla carole caroline catherine cecile cedric
    celia celine chantal charles charlotte chloe christelle christian christiane christine christophe claire
    clara clarisse claude claudine clement clementine coline colette constance coralie corentin corinne cyril
    cyrille damien daniel danielle danièle david deborah delphine denis denise diane didier dimitri djamel
    dominique dorian dylan edith edouard eléonore eleonore elias elie eliane elisa elisabeth elise ella elodie
    eloise elsa emeline emile emilie emma emmanuel emmanuelle enzo eric erwan estelle esther ethan etienne eugenie
    eva eve evelyne fabien fabienne fabrice fanny farid farida fatou fatoumata fatima florence florent florian
    francis franck francois francoise frederic frederique gabriel gabrielle gael gaelle gaetan gaston gauthier
    genevieve georges gerald gerard geraldine gerome ghislaine gilbert gilles ginette gisele gregoire gregory
    guillaume gustave guy gwen gwenaelle gwendoline hakim halima hamid hannah hassan helene henri herve hocine
    hortense hugo hugues ibrahim ilan ines irene isabelle jacqueline jacques jade jason jean jeanne jeannine
    jennifer jeremie jeremy jerome jessica joachim joel joelle johan johanna jonathan jordan joseph josephine
    josette josiane jules julia julie julien juliette justine karim karima karine katia kelly kenza kevin khadija
    laetitia lamia lana laura laure laurence laurent lea lea leila lena leo leon leonie lilian liliane lina lionel
    lisa lise lou louis louise luc luca lucas lucie lucien lucile ludivine ludovic luna lydia lydie madeleine
    magali maelle maeva malik malika mamadou manon manuel marc marcel marguerite margot marianne marie marine
    marion marius martine marwa mathias mathieu mathilde matthieu maurice maxence maxime melanie melissa
    mehdi michael michel michele micheline mickael mila mireille mohamed mohammed monique morgan morgane moussa
    muriel myriam nadege nadia nadine naima nathalie nathan nicolas nicole nina noah noe noel noelle noemie
    nora norbert oceane octave odette odile olivia olivier omar oscar pascal pascale patrice patricia patrick
    paul paule pauline perrine philippe pierre pierrick quentin rachel rachid raphael raphaelle raymond regine
    remi renaud rene richard robert robin rodolphe romain romane rose rosalie roxane ruben sabine sabrina sacha
    salim salima salome samia samir samira samuel sandra sandrine sara sarah sebastien serge severine simon
    simone solene sonia sophie stephane stephanie suzanne sylvain sylvie tania tatiana theo theophile therese
    thibault thibaut thierry thomas timothee tiphaine tom tony valentin valentine valerie vanessa victor victoire
    vincent violette virginie viviane vivien wassim william xavier yacine yanis yann yannick yasmine yassine
    yohan youssef yves yvette yvonne zakaria zineb zoe loic loïc lois youcef sofiane souad nabil nassim nawel
    bilal walid rayan ryan kylian mael maël killian ophelie aurélie jeanine gaelle samuel paulette germaine
    josiane marina mylene mylène priscilla cindy jessy steve steven jimmy mickael fabienne agathe ambroise
    blaise bérénice berenice cassandre clothilde clotilde eliott gaspard honore ines isaac lazare leandre
    lison marceau maud nael nelly octavie prune quitterie roland sidonie solange tristan ulysse ursule vianney
"""

FIRST_NAMES: frozenset[str] = frozenset(_NAMES.split())


def is_first_name(word: str) -> bool:
    """True when ``word`` (folded) is a known first name, or a hyphenated one made of known first names."""
    return word in FIRST_NAMES or ("-" in word and all(part in FIRST_NAMES for part in word.split("-")))
