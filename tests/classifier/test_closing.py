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
        "ett kort tack i en tråd för att saken är ordnad (”Då är det ur världen”)"
    )
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
    assert not any(r.startswith("ett kort tack") for r in verdict.reasons)


# --------------------------------------------------------------------------- wrong receiver


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "Hi, sorry, this was supposed to go to the ski school not the council.",
            "was supposed to go to",
        ),
        ("Please ignore my last email about the lesson times!", "ignore my last email"),
        ("Ursäkta, bortse från mitt förra mejl.", "bortse från mitt förra mejl"),
        ("Jag tror att ni har skickat det till fel\nperson.", "till fel person"),
        ("I sent it to the wrong municipality, sorry!", "to the wrong municipality"),
        ("Mejlet skulle gå till skolan, inte till er.", "Mejlet skulle gå till"),
    ],
)
def test_mail_that_went_to_the_wrong_receiver_is_found(text: str, words: str) -> None:
    assert went_elsewhere(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "Bussen gick åt fel håll och chauffören var otrevlig.",
        "Ni har fel i er faktura: jag har betalat.",
        "Please ignore the typos, I am upset.",
        "Jag skickade ansökan till er i mars och har inte fått svar.",
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
        "skriver att något har gått till fel mottagare (”was supposed to go to”)"
    )


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
