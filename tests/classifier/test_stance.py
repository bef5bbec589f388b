"""What the writer's own words say their message is (classifier/stance.py): praise that means
the opposite is a complaint, and a message that says it gives a view is never dropped as
annat unseen."""

from __future__ import annotations

import pytest

from postvakt.classifier.model import Classifier
from postvakt.classifier.stance import ironic_praise, states_a_view
from postvakt.classifier.verdict import Label
from tests.classifier.mail import message

# --------------------------------------------------------------------------- irony


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Tack för ingenting, kan man väl säga. Cykelbanan plogas alltid sist.", "Tack för ingenting"),
        ("Thanks for nothing. The bin was not emptied again.", "Thanks for nothing"),
        ("Ni skickade fakturan till inkasso. Fortsätt så, det går ju så bra.",
         "Fortsätt så, det går ju så bra"),
        ("Är det för mycket begärt att bussen kommer i tid?", "Är det för mycket begärt"),
        ("Snöplogen lämnade en vall framför infarten igen. Maybe next year then?",
         "Maybe next year then"),
        ("Ni högg ned ekarna. Men det är klart, det är ju bara vi skattebetalare.",
         "det är ju bara vi skattebetalare"),
        ("The waste fee went up while collection got worse. Brilliant planning as always.",
         "Brilliant planning as always"),
    ],
)  # fmt: skip
def test_unmistakable_irony_is_found_without_a_shortcoming_word(text: str, words: str) -> None:
    assert ironic_praise(text, []) == words


@pytest.mark.parametrize(
    "text",
    [
        "Hej! Vilken service! Personalen hjälpte mig med datorn. Tack!",
        "Snyggt jobbat med den nya cykelvägen, den är plogad varje morgon.",
        "Riktigt bra jobbat, verkligen. Tack till alla i hemtjänsten.",
        "Grattis till den nya simhallen, ni har lyckats!",
        "Keep up the good work, som man säger.",
        "Kanske nästa år kan ni ordna en julmarknad på torget?",
        "Tack så mycket för den underbara servicen på biblioteket.",
    ],
)
def test_praise_in_earnest_is_no_irony(text: str) -> None:
    assert ironic_praise(text, []) is None


def test_praise_that_can_be_earnest_is_ironic_only_beside_a_shortcoming() -> None:
    text = "E-tjänsten kraschar varje gång man laddar upp ritningar. Snyggt jobbat."
    assert ironic_praise(text, []) is None
    assert ironic_praise(text, ["!brist"]) == "Snyggt jobbat"
    assert ironic_praise(text, ["!upprepning"]) == "Snyggt jobbat"


def test_an_ironic_complaint_the_model_reads_as_an_opinion_is_a_complaint_a_person_confirms(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Tack för ingenting, kan man väl säga. Cykelbanan längs Parkgatan plogas alltid "
            "sist. Per"
        )
    )
    probabilities = dict(verdict.probabilities)
    assert probabilities[Label.OPINION] > probabilities[Label.COMPLAINT]  # the model alone
    assert verdict.label is Label.COMPLAINT and verdict.needs_review
    assert verdict.reasons[0].startswith(
        "ironiskt beröm (”Tack för ingenting”) om något som gått fel: ett klagomål, fast "
        "modellen lutade åt synpunkt ("
    )


def test_earnest_praise_stays_an_opinion(classifier: Classifier) -> None:
    verdict = classifier.classify(
        message("Hej! Vilken service! Personalen på biblioteket hjälpte mig med datorn. Tack!")
    )
    assert verdict.label is Label.OPINION
    assert not any("ironiskt" in r for r in verdict.reasons)


# --------------------------------------------------------------------------- a view


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Jag skulle vilja se fler solceller på kommunens byggnader.", "Jag skulle vilja se fler"),
        ("Det vore bra om man kunde boka tid via webben.", "Det vore bra om"),
        ("Jag vill lämna ett medborgarförslag om en gångbro.", "Jag vill lämna ett medborgarförslag"),
        ("Jag anser att ängen vid Sjövägen ska få växa fritt.", "Jag anser att ängen vid Sjövägen ska"),
        ("Kanske kan kommunen ha öppna möten i varje stadsdel.", "Kanske kan kommunen"),
        ("Varför inte låta brukarna välja dag för städningen?", "Varför inte låta"),
        ("I wish the municipality shared information in the local paper.",
         "I wish the municipality"),
        ("I would like to suggest a language café at the library.", "I would like to suggest"),
    ],
)  # fmt: skip
def test_a_view_in_the_writers_own_words_is_found(text: str, words: str) -> None:
    assert states_a_view(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "Hur gör jag om jag vill lämna synpunkter på detaljplanen?",
        "Jag skulle vilja se mina fakturor från förra året. Var hittar jag dem?",
        "Vi skulle gärna vilja att ni kommer till vår byavandring.",
        "Det vore roligt om nämnden kom till slåtterdagen.",
        "Var lämnar man beröm?",
    ],
)
def test_no_view_where_none_is_given(text: str) -> None:
    assert states_a_view(text) is None


def test_an_unsure_annat_that_gives_a_view_is_an_opinion_a_person_confirms(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message("Hej, jag skulle vilja se fler solceller på kommunens byggnader. Hör gärna av er.")
    )
    probabilities = dict(verdict.probabilities)
    assert max(probabilities, key=probabilities.__getitem__) is Label.OTHER  # the model alone
    assert probabilities[Label.OTHER] < 0.9
    assert verdict.label is Label.OPINION and verdict.needs_review
    assert verdict.reasons[0].startswith(
        "skriver att det är en synpunkt eller ett förslag (”jag skulle vilja se fler”), men "
        "modellen bedömer meddelandet som annat ("
    )
    assert verdict.reasons[0].endswith("registrerat som synpunkt så att en person avgör")


@pytest.mark.parametrize(
    "text",
    [
        # sure annat
        "Hej! Jag vill lämna synpunkter på detaljplanen för Granvägen. Vilket datum går "
        "samrådstiden ut? /Lars",
        # unsure, but it asks something besides: no number for a question
        "Hej! Jag vill ge beröm till personalen. Vilken e-postadress ska jag skicka det till?",
    ],
)
def test_an_annat_that_gives_a_view_and_asks_is_no_case_but_shown(
    classifier: Classifier, text: str
) -> None:
    verdict = classifier.classify(message(text))
    assert verdict.label is Label.OTHER
    assert verdict.states_a_view and verdict.shown_though_annat
    assert verdict.as_dict()["states_a_view"] is True
    assert verdict.reasons[0].endswith("en person ser efter om det är ett ärende")
