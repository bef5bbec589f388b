"""A first fault report (a defect named, no fault found with the handling) is not decided by
the model alone: the corpus's authors split on such messages."""

from __future__ import annotations

from collections import Counter

import pytest

from postvakt.classifier.corpus import Example
from postvakt.classifier.fault_report import fault_report
from postvakt.classifier.model import Classifier
from postvakt.classifier.text import citizen_text
from postvakt.classifier.verdict import Label
from tests.classifier.mail import message

FIRST_REPORTS = [
    (
        "Gatlyktan utanför förskolan har slutat lysa i kväll. Ville bara meddela så ni vet.",
        "slutat lysa",
    ),
    ("Skylten vid återvinningen har blåst ner i stormen och ligger över containern.", "blåst ner"),
    (
        "Hi, the pedestrian light on Bruksgatan isn't working, the button does nothing.",
        "isn't working",
    ),
    ("Det ligger en död säl på stranden vid badplatsen. Många barn där i dag.", "död säl"),
    ("En bänk i parken är trasig, en planka har spruckit. Någon kan slå sig.", "trasig"),
    # The kinds of a municipality's fault-report form beyond "broken": water, loose,
    # fallen, snow and ice, graffiti and damage, litter, signals, sight.
    (
        "Det droppar från taket i läsesalen på biblioteket, någon har ställt en hink.",
        "droppar från taket",
    ),
    (
        "Vattnet ur kranen är ljusbrunt sedan i morse. Har det hänt något?",
        "Vattnet ur kranen är ljusbrunt",
    ),
    ("Brunnslocket utanför nummer 15 har lossnat och slamrar när bilar kör över.", "har lossnat"),
    (
        "Ett träd har fallit över gångvägen vid badplatsen efter blåsten i natt.",
        "Ett träd har fallit",
    ),
    ("Det är halt på gångvägen till vårdcentralen, flera äldre går där.", "är halt på"),
    ("Någon har sprayat klotter på busskuren vid torget i helgen.", "sprayat klotter"),
    ("Någon har dumpat en soffa i skogsdungen bakom skolan.", "Någon har dumpat"),
    ("Trafikljuset för gående vid Kvarnvägen slår inte om när man trycker.", "slår inte om"),
    (
        "Buskarna i hörnet har vuxit sig så höga att man inte ser bilar som kommer.",
        "vuxit sig så höga",
    ),
    ("Hi, the bus shelter glass on Main Street has been smashed, glass everywhere.", "smashed"),
]

COMPLAINTS_ABOUT_THE_HANDLING = [
    "Gatlyktan har varit trasig i tre veckor och ingen har gjort något.",
    "Lampan i gångtunneln är trasig igen, jag har redan anmält det två gånger.",
    "The street light is still broken. I reported it in October.",
    "Bänken är sönder sedan i somras. Oacceptabelt!",
    "Jag vill klaga: lekplatsens gunga är trasig och ni svarar inte.",
    "The lift at the library has been out of order for a month.",
    "The lift has been out of order for three weeks.",
    "Lampan i tunneln är trasig för andra gången i vinter.",
    "Skylten är trasig sedan 14 mars.",
    "Gungan på lekplatsen är trasig och det är farligt för barnen. Dåligt skött!",
    "Staketet vid skolan är sönder, hela området är misskött.",
    "Bänkarna är trasiga, parken sköts inte alls.",
    "The swings are broken and the whole playground is badly maintained.",
    "Gungan är trasig. Lekplatsen missköts.",
    "Trottoaren är HALT PÅ hela Skolgatan, den har inte sandats på hela veckan.",
    "Återvinningsstationen har varit överfull hela julhelgen. Skärpning!",
    "The recycling station has been overflowing for like 2 weeks now.",
    "Our bins have been overflowing over the last three weeks and nobody has come.",
    "Klotter på skolan igen. Det är inte första gången.",
]


@pytest.mark.parametrize(("text", "defect"), FIRST_REPORTS)
def test_a_first_fault_report_names_its_defect(text: str, defect: str) -> None:
    assert fault_report(text) == defect


@pytest.mark.parametrize("text", COMPLAINTS_ABOUT_THE_HANDLING)
def test_a_defect_with_fault_found_in_the_handling_is_no_first_report(text: str) -> None:
    assert fault_report(text) is None


# From a review of the wider lexicon: complaints about the handling that name such a defect,
# and harmless or figurative text with the same words.
HANDLING_NOT_FIRST_REPORT = [
    "Det är livsfarligt halt på trottoarerna. Snöröjningen i år är under all kritik.",
    "Er entreprenör har krossat rutan i vår dörr med plogbilen och ingen ber ens om ursäkt.",
    "Snöplogen har plogat igen vår infart så den är igensnöad. Det här är tredje gången i vinter!",
    "Papperskorgarna vid torget är överfulla. Skärp er!",
    "Hur svårt kan det vara att sanda? Det är halt på alla gångvägar.",
    "The streetlight has been flickering for the past three weeks.",
    "The bins are overflowing because the council cut collection. Terrible decision.",
    "The light isn’t working and you haven’t answered my two emails.",
]
NO_DEFECT_AT_ALL = [
    "Provet visade en halt på 12 mg nitrat per liter.",
    "Vi gjorde halt vid rastplatsen och åt vår matsäck.",
    "Min son går i en överfull klass med 32 elever.",
    "Kommunens regelverk står i vägen för nya företag.",
    "Står biblioteket öppet på lördagar?",
    "Kommunen har sprayat glyfosat längs vägkanterna.",
    "Vi erbjuder krossat sandningsmaterial till bra pris.",
    "Beslutet krossade hela vår förenings verksamhet.",
    "Kommunen har dumpat ansvaret på föräldrarna.",
    "Jag har lossnat lite i nacken efter sjukgymnastiken.",
    "Vi föreslår en laglig vägg för graffiti, det minskar klotter på skolorna.",
    "Han är en vältalig talesperson.",
    "Det är stopp i handläggningen sedan i somras.",
    "Er sopbil slamrar och väcker hela kvarteret klockan fem.",
]
STILL_FIRST_REPORTS = [
    (
        "The swing in the park is broken, the chain has snapped. Please fix it so no one gets hurt.",
        "broken",
    ),
    ("The swing chain is broken. Luckily nobody was hurt.", "broken"),
    ("After last weeks storm the bench by the pond is broken.", "broken"),
    ("En nedfallen gren ligger över cykelvägen vid ån.", "nedfallen gren"),
    ("Trädet har fallit över gångvägen.", "Trädet har fallit"),
    ("The pavement on Mill Road is icy.", "is icy"),
    ("Ett brunnslock har lossnat på cykelvägen.", "har lossnat"),
]


@pytest.mark.parametrize("text", HANDLING_NOT_FIRST_REPORT)
def test_a_complaint_about_the_handling_that_names_a_defect_is_no_first_report(
    text: str,
) -> None:
    assert fault_report(text) is None


@pytest.mark.parametrize("text", NO_DEFECT_AT_ALL)
def test_the_same_words_in_other_senses_are_no_defect(text: str) -> None:
    assert fault_report(text) is None


@pytest.mark.parametrize(("text", "defect"), STILL_FIRST_REPORTS)
def test_a_harmless_nobody_or_a_missing_apostrophe_leaves_a_first_report(
    text: str, defect: str
) -> None:
    assert fault_report(text) == defect


def test_who_looks_after_it_is_no_grievance() -> None:
    text = "Gatlyktan vid bron är trasig. Vägen sköts inte av kommunen utan av Trafikverket."
    assert fault_report(text) == "trasig"


def test_no_defect_no_first_report() -> None:
    assert fault_report("Vilka öppettider har biblioteket under julen?") is None
    assert fault_report("Bemötandet i receptionen var otrevligt.") is None


def test_a_case_made_of_a_first_fault_report_is_confirmed_by_a_person(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Hej, gungan på lekplatsen vid Ekbacken är trasig, kedjan har gått av. Det är "
            "farligt, barnen kan skada sig allvarligt! /Maria",
            subject="Trasig gunga",
        )
    )
    assert verdict.is_case  # the model's label stands: a person confirms or dismisses it
    assert verdict.needs_review
    assert verdict.reasons[0].startswith("läser som en första felanmälan (”")
    assert "en person avgör" in verdict.reasons[0]
    assert not any(r.startswith("osäker") for r in verdict.reasons)


def test_a_complaint_about_a_defect_left_unrepaired_is_decided_as_before(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Gatlyktan utanför förskolan har varit trasig i tre veckor. Jag har redan anmält "
            "det två gånger och ingen har gjort något. Barnen går hem i mörker.",
            subject="Trasig gatlykta – igen",
        )
    )
    assert verdict.label is Label.COMPLAINT
    assert not verdict.needs_review
    assert not any("felanmälan" in r for r in verdict.reasons)


def test_what_the_rule_finds_in_the_corpus_is_mostly_annat(corpus: list[Example]) -> None:
    """Measured on the whole corpus, whose authors labelled a first fault report annat: most
    of what the rule matches is annat, from many authors, and few are complaints (a
    complaint about something else that names a defect in passing).  The model, learning
    from sources that put the line in different places, still calls many of these
    complaints on a source it has not seen: a person decides them."""
    labels: Counter[Label] = Counter()
    sources: set[str] = set()
    for example in corpus:
        text = citizen_text(example.message)
        if fault_report(f"{text.subject}\n{text.body}"):
            labels[example.label] += 1
            if example.label is Label.OTHER:
                sources.add(example.source)
    matched = sum(labels.values())
    assert matched >= 40
    assert labels[Label.OTHER] / matched >= 0.6
    assert labels[Label.COMPLAINT] / matched <= 0.25
    assert len(sources) >= 6


def test_an_opinion_about_a_defect_is_worded_as_one(classifier: Classifier) -> None:
    verdict = classifier.classify(
        message(
            "Bänken vid dammen är trasig. Jag föreslår att ni byter ut den mot en med "
            "ryggstöd, det vore fint för oss äldre.",
            subject="Bänken",
        )
    )
    assert verdict.label is Label.OPINION and verdict.needs_review
    assert "avgör om det är en synpunkt eller en felanmälan (annat)" in verdict.reasons[0]


def test_a_possible_care_matter_is_never_called_a_fault_report(classifier: Classifier) -> None:
    """A broken safety alarm is a fault and may be a lex Sarah matter: the reason must not
    invite a person to dismiss it as a fault report."""
    text = "Mammas trygghetslarm fungerar inte, hon har hemtjänst. Kan någon komma och titta?"
    assert fault_report(text) == "fungerar inte"
    verdict = classifier.classify(message(text, subject="Trygghetslarmet"))
    assert verdict.care_probability >= verdict.care_threshold
    assert not any("felanmälan" in r for r in verdict.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "Hej! Brunnslocket mitt i gatan utanför Rönnbärsvägen 15 har lossnat och slamrar "
        "varje gång en bil kör över. Det hörs in i sovrummet. Kanske värt att titta på. /Bertil",
        "Hej! Någon har sprayat fula ord på väggen i gångtunneln vid stationen. Barnen går "
        "där varje dag så det vore bra om det kunde tas bort. /Maja",
        "Hej, det är väldigt halt på gångvägen mellan bussen och vårdcentralen i morse. "
        "Flera äldre gick där. Kanske behövs det sandas? /Annika",
    ],
)
def test_no_first_report_of_the_wider_kinds_is_made_a_case_unseen(
    classifier: Classifier, text: str
) -> None:
    """A loose manhole cover, graffiti, ice: the model may take such a first report for a
    case, and is often sure; it is then registered for a person to confirm (when it is
    unsure, the review band has already sent it there)."""
    verdict = classifier.classify(message(text, subject="Felanmälan"))
    assert fault_report(text) is not None
    if verdict.is_case:
        assert verdict.needs_review
        if not any(r.startswith("osäker bedömning") for r in verdict.reasons):
            assert verdict.reasons[0].startswith("läser som en första felanmälan (”")


def test_a_web_forms_own_subject_is_no_sign_of_dissatisfaction(classifier: Classifier) -> None:
    """The e-service's subject ("Synpunkter och klagomål – webbformulär") names complaints,
    but the citizen did not write it: a first fault report sent through it is still one."""
    body = (
        "Ärendetyp: Klagomål\nNamn: Vera Sundqvist\nE-post: vera.sundqvist@example.net\n"
        "Telefon:\nMeddelande: Gungan på lekplatsen vid Ekbacken är trasig, kedjan har gått "
        "av. Det är farligt, barnen kan skada sig allvarligt!"
    )
    msg = message(
        body,
        subject="Synpunkter och klagomål – webbformulär",
        sender="E-tjänster Exempel kommun <noreply@e-tjanster.exempel.se>",
    )
    citizen = citizen_text(msg)
    assert citizen.from_form and citizen.own_subject is None
    assert fault_report(citizen.text) is None  # the form's subject reads as a grievance …
    assert fault_report(citizen.own_text) == "trasig"  # … the citizen's words do not
    verdict = classifier.classify(msg)
    assert dict(verdict.probabilities)[Label.COMPLAINT] >= 0.6  # the model makes a case
    assert verdict.is_case and verdict.needs_review  # … which a person confirms
    assert verdict.reasons[0].startswith("läser som en första felanmälan (”trasig”)")
