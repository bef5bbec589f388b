"""Messages that are most often no new errand, though the model may read a complaint in them:
a short reply thanking for a matter put right, and mail that went to the wrong receiver.
A person confirms the case the model made (it is never turned into annat by the rule)."""

from __future__ import annotations

import pytest

from postvakt.classifier.flags import CLOSING_LENGTH, closes_thread, went_elsewhere
from postvakt.classifier.model import Classifier
from postvakt.classifier.verdict import Label
from tests.classifier.mail import message

THREAD = {"In-Reply-To": "<svar-1@exempel.se>", "References": "<svar-1@exempel.se>"}
QUOTE = (
    "\n\nKarin\n\nDen 20 nov. 2026 kl. 08:47 skrev Fastighetsenheten <fastighet@exempel.se>:\n"
    "> Hej Karin,\n> Vi ber om ursäkt för att elementet inte lagades efter de två första "
    "anmälningarna. En tekniker kommer i morgon.\n> Fastighetsenheten\n"
)


# --------------------------------------------------------------------------- closing thanks


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "Tack för att ni rättade det så snabbt och för ursäkten. Då är det ur världen.",
            "Då är det ur världen",
        ),
        (
            "Got it, thanks! The technician came this morning and it's warm again.",
            "it's warm again",
        ),
        ("Tusen tack! Nu fungerar det igen.", "Nu fungerar det igen"),
        ("Tack för svaret. Brunnen är lagad, så ni kan avsluta ärendet.", "är lagad"),
        ("Tack för hjälpen, det löste sig!", "det löste sig"),
        ("Thank you, the problem has been solved.", "problem has been solved"),
        ("Thanks, you can close the case.", "you can close the case"),
        ("Tack för att ni till slut lagade gatlampan. Nu lyser den igen.", "Nu lyser den igen"),
        ("Tack! Nu är det ordnat.", "Nu är det ordnat"),
        ("Tack, felet har åtgärdats nu.", "har åtgärdats"),
        ("Thanks for sorting the heating. The heating is working again.", "is working again"),
        ("Thanks for fixing the leak. All sorted now, you can close this.", "All sorted"),
    ],
)
def test_a_reply_thanking_for_a_matter_put_right_closes_the_thread(text: str, words: str) -> None:
    assert closes_thread(text, reply=True) == words


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        # not a reply: a first message with thanks is no thread to close
        ("Tack! Nu fungerar det igen.", False),
        # a matter put right, but …
        ("Tack, nu fungerar det igen, men det tog tre veckor och ingen ringde.", True),
        ("Thanks, it's working again. However I was charged twice.", True),
        # a question: more to come
        ("Tack, nu fungerar det igen. Vem betalar för den förstörda maten?", True),
        # no thanks
        ("Nu fungerar det igen efter tre veckor utan värme.", True),
        # not put right
        ("Tack för svaret. Lampan är inte lagad och det är fortfarande mörkt.", True),
        ("Tack för svaret. Det fungerar fortfarande inte.", True),
        # too long to be a closing thanks
        ("Tack. Nu fungerar det igen. " + "Jag vill berätta hur det gick till. " * 12, True),
        # denied, or only reported (found by review)
        ("Thanks for the reply. Nothing has been fixed, the streetlight is still dark.", True),
        ("Tack för svaret. Det fungerar nu inte alls, värmen har gått igen.", True),
        ("Ni skrev att problemet är löst. Det är det inte. Tack för ingenting.", True),
        ("Thanks for nothing. It's cold again, third time this winter.", True),
        ("Tack för svaret. Nu är det igen samma problem med sophämtningen.", True),
        # a "but" of another kind, before or after
        ("Tack. Lampan är lagad, fast den slocknade igen i går kväll.", True),
        ("Tack, nu fungerar det igen. Däremot har ingen tömt soptunnan.", True),
        ("Thanks, it's working again. It's broken again though.", True),
    ],
)
def test_no_closing_where_the_reply_does_not_close(text: str, reply: bool) -> None:
    assert closes_thread(text, reply=reply) is None


def test_the_length_limit_is_the_own_words() -> None:
    words = "Tack, då är det ordnat."
    assert closes_thread(words + " " * (CLOSING_LENGTH - len(words)), reply=True)
    assert closes_thread(words + "x" * (CLOSING_LENGTH + 1 - len(words)), reply=True) is None


def test_a_closing_thanks_the_model_makes_a_case_is_confirmed_by_a_person(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Tack för att ni lagade elementet så snabbt och för ursäkten. Då är det ur världen."
            + QUOTE,
            subject="Sv: Trasigt element i lägenheten – tredje anmälan",
            headers=THREAD,
        )
    )
    probabilities = dict(verdict.probabilities)
    # the model alone would have made a case without review
    assert probabilities[Label.COMPLAINT] + probabilities[Label.OPINION] >= 0.6
    assert verdict.is_case and verdict.needs_review
    assert verdict.reasons[0].startswith(
        "ett kort svar i tråden som tackar för att saken är ordnad (”Då är det ur världen”)"
    )
    # a thank-you is no follow-up that asks a manager for a new review
    assert not verdict.followup_not_satisfied
    # a rule asked for the review, not the model's doubt: no "osäker" reason
    assert not any("osäker" in r for r in verdict.reasons)


def test_a_reply_that_complains_after_the_thanks_stays_a_case_as_decided(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Tack för svaret. Nu fungerar det igen, men det tog tre veckor och jag vill ha en "
            "förklaring till varför ingen kom." + QUOTE,
            subject="Sv: Trasigt element i lägenheten – tredje anmälan",
            headers=THREAD,
        )
    )
    assert verdict.label is Label.COMPLAINT
    assert not any("tackar för att saken är ordnad" in r for r in verdict.reasons)


# --------------------------------------------------------------------------- wrong receiver


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        (
            "Hi, sorry, this was supposed to go to the ski school not the council.",
            "own",
            "this was supposed to go to",
        ),
        ("Oops, I sent this to the wrong email.", "own", "I sent this to the wrong"),
        ("Sorry, wrong recipient!", "own", "wrong recipient"),
        (
            "Förlåt, jag skickade det här till fel adress.",
            "own",
            "jag skickade det här till fel adress",
        ),
        ("Mejlet skulle till skolan, inte till er.", "own", "Mejlet skulle till"),
        (
            "Please ignore my last email about the lesson times!",
            "disregard",
            "ignore my last email",
        ),
        ("Please disregard the previous email.", "disregard", "disregard the previous email"),
        ("Ursäkta, bortse från mitt förra mejl.", "disregard", "bortse från mitt förra mejl"),
        (
            "Jag tror att ni har skickat det till fel\nperson.",
            "theirs",
            "ni har skickat det till fel person",
        ),
        (
            "You keep sending my water bills to the wrong address.",
            "theirs",
            "You keep sending my water bills to the wrong address",
        ),
        (
            "Hej, jag tror att jag har fått ett mejl som var tänkt till någon annan.",
            "theirs",
            "fått ett mejl som var tänkt till någon annan",
        ),
        (
            "I got a letter that was meant for someone else, about a building permit.",
            "theirs",
            "got a letter that was meant for someone else",
        ),
        (
            "Jag har fått ett mejl från er som nog var tänkt till någon annan.",
            "theirs",
            "fått ett mejl från er som nog var tänkt till någon annan",
        ),
        (
            "I received a letter addressed to someone else.",
            "theirs",
            "received a letter addressed to someone else",
        ),
        # the writer's own mail, though it "hamnade hos fel mottagare" (found by review)
        ("Förlåt, mitt mejl hamnade hos fel mottagare.", "own", "fel mottagare"),
        (
            "Ursäkta, mejlet skulle till skolan men det gick till fel adress.",
            "own",
            "mejlet skulle till",
        ),
        (
            "Jag skickade ett mejl som var tänkt till någon annan – förlåt, fel mottagare!",
            "own",
            "fel mottagare",
        ),
    ],
)
def test_mail_that_went_to_the_wrong_receiver_is_found(text: str, kind: str, words: str) -> None:
    assert went_elsewhere(text) == (kind, words)


@pytest.mark.parametrize(
    "text",
    [
        "Bussen gick åt fel håll och chauffören var otrevlig.",
        "Ni har fel i er faktura: jag har betalat.",
        "Please ignore the typos, I am upset.",
        "Jag skickade ansökan till er i mars och har inte fått svar.",
        # not about mail at all (found by review)
        "The snowplough was supposed to go to our street on Monday but never came.",
        "The money was supposed to go to the playground, not to the new logo.",
    ],
)
def test_no_wrong_receiver_where_none_is_named(text: str) -> None:
    assert went_elsewhere(text) is None


def test_mail_to_the_wrong_receiver_the_model_makes_a_case_is_confirmed_by_a_person(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Sorry, this was supposed to go to the bus company, not the council: the bus never "
            "came again this morning and the driver was rude. Ben",
            subject="The bus",
        )
    )
    assert dict(verdict.probabilities)[Label.COMPLAINT] >= 0.6
    assert verdict.is_case and verdict.needs_review  # never dropped: a person decides
    assert verdict.reasons[0].startswith(
        "skriver att meddelandet gick till fel mottagare (”this was supposed to go to”)"
    )


def test_a_letter_the_municipality_sent_to_the_wrong_person_is_not_called_no_errand(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Hej! Jag har fått ett brev om att min ansökan om parkeringstillstånd har avslagits. "
            "Jag har aldrig sökt något sådant tillstånd. Jag tror att ni har skickat det till fel "
            "person.\n\nVänligen\nGunilla",
            subject="Fel person?",
        )
    )
    assert verdict.is_case  # the model's case stands, before a person, as a possible breach
    assert verdict.needs_review
    assert verdict.reasons[0].startswith(
        "skriver att kommunen har skickat något till fel mottagare"
    )
    assert "personuppgiftsincident" in verdict.reasons[0]
    assert not any("ärende för kommunen" in r for r in verdict.reasons)


def test_a_complaint_that_names_a_wrong_address_and_demands_redress_is_decided_as_any(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(
        message(
            "Ni skickade mitt beslut till fel adress och nu har jag missat tiden att överklaga. "
            "Jag kräver en förklaring och att ni rättar till det.",
            subject="Klagomål",
        )
    )
    assert verdict.label is Label.COMPLAINT
    assert not any("fel mottagare" in r for r in verdict.reasons)


def test_a_care_matter_is_never_put_as_a_wrong_receiver(classifier: Classifier) -> None:
    text = (
        "Ni har skickat min mammas journal till fel person. Hon har demens och fick fel medicin "
        "i tisdags på äldreboendet."
    )
    assert went_elsewhere(text) is not None  # the words are there …
    verdict = classifier.classify(message(text, subject="Mamma"))
    assert verdict.is_case and verdict.individual_care  # … but a care matter is routed as one
    assert not any("fel mottagare" in r for r in verdict.reasons)
