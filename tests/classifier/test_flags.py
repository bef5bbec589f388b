"""The flags beside the label: anonymous, not satisfied with the answer, personal data."""

from __future__ import annotations

import pytest

from postvakt.classifier.flags import (
    disowns_complaint,
    earlier_answer,
    is_anonymous,
    not_satisfied,
    personal_data,
    withdraws_complaint,
)
from postvakt.classifier.model import Classifier
from postvakt.classifier.text import citizen_text
from postvakt.classifier.verdict import Label
from postvakt.privacy import PERSONNUMMER
from tests.classifier.mail import demo, eml, message

GATEWAY = "E-tjänster Exempel kommun <noreply@e-tjanster.exempel.se>"


# --------------------------------------------------------------------------- anonymous


def test_web_form_with_empty_contact_fields_is_anonymous():
    assert is_anonymous(demo("07-kontaktcenter-anonymt-hemtjanst.eml"))
    assert is_anonymous(eml("27_webform_anonymous.eml"))


def test_web_form_with_a_phone_number_is_not_anonymous():
    form = (
        "Ärendetyp: Klagomål\nNamn:\nE-post:\nTelefon: 070-174 06 12\nMeddelande: Ingen plogar.\n"
    )
    assert not is_anonymous(message(form, sender=GATEWAY))


def test_no_reply_gateway_with_an_address_in_the_text_is_not_anonymous():
    form = "Namn:\nE-post:\nMeddelande: Svara gärna till karin.ek@example.net, tack.\n"
    assert not is_anonymous(message(form, sender=GATEWAY))


def test_ordinary_sender_is_not_anonymous():
    assert not is_anonymous(message("Snön är inte plogad."))


def test_own_address_is_no_way_to_reach_the_sender():
    form = "Namn:\nE-post: kontaktcenter@exempel.se\nMeddelande: Ingen plogar.\n"
    own = ["kontaktcenter@exempel.se"]
    assert is_anonymous(message(form, sender=GATEWAY), own)


# --------------------------------------------------------------------------- not satisfied


@pytest.mark.parametrize(
    "text",
    [
        "Tack för svaret, men jag är inte nöjd.",
        "Ert svar räcker inte. Jag vill att närmaste chef tittar på det.",
        "Det här beskedet är inte acceptabelt.",
        "Jag vill att ärendet prövas igen.",
        "Vi ber er att pröva ansökan på nytt och att förklara hur detta kunde ske.",
        "Det har fortfarande inte plogats.",
        "Inget har hänt sedan ni svarade.",
        "I am not satisfied with your answer.",
        "Your reply does not answer my question.",
        "The bins have still not been emptied.",
    ],
)
def test_not_satisfied_phrases(text: str):
    assert not_satisfied(text)


@pytest.mark.parametrize(
    "text",
    [
        "Tack för svaret, då förstår jag!",
        "Jag är nöjd med svaret, tack för hjälpen.",
        "Here are the photos I promised.",
        "Kan ni pröva ansökan om bygglov före semestern?",
    ],
)
def test_satisfied_replies(text: str):
    assert not_satisfied(text) is None


def test_earlier_answer_or_case_number():
    assert earlier_answer("Jag fick ert svar i går.")
    assert earlier_answer("Det gäller ärende KS 2026/17.")
    assert not earlier_answer("Snön är inte plogad på Björkvägen.")


def test_reply_in_a_case_thread_that_is_not_satisfied(classifier: Classifier):
    verdict = classifier.classify(eml("26_reply_threading.eml"))
    assert verdict.followup_not_satisfied
    assert verdict.label.value == "complaint"
    assert any("ny prövning" in r for r in verdict.reasons)


def test_an_unsatisfied_reply_the_model_takes_for_an_opinion_is_a_complaint_to_review(
    classifier: Classifier,
):
    import json

    reply = message(
        "Jag är inte nöjd med svaret. Men tack ändå, det var en bra idé med fler bänkar.\n\n"
        "> Hej Anna, vi har tagit emot din fråga.",
        subject="SV: Din fråga om parken",
        headers={"In-Reply-To": "<park-1@exempel.se>"},
    )
    verdict = classifier.classify(reply)
    assert verdict.label.value == "complaint" and verdict.followup_not_satisfied
    assert verdict.needs_review is True  # the model said opinion: a person confirms
    # Plain Python values: the verdict goes to JSON and to the database as it is.
    for flag in ("needs_review", "anonymous", "followup_not_satisfied", "personal_data"):
        assert type(getattr(verdict, flag)) is bool, flag
    assert json.loads(json.dumps(verdict.as_dict()))["needs_review"] is True


def test_satisfied_reply_is_no_follow_up(classifier: Classifier):
    reply = message(
        "Tack för svaret, då förstår jag! Jag skickar in blanketten i morgon.\n\nÅsa",
        subject="SV: Ditt ärende KS 2026/17",
        headers={"In-Reply-To": "<ks-2026-17@exempel.se>"},
    )
    verdict = classifier.classify(reply)
    assert not verdict.followup_not_satisfied
    assert verdict.label.value == "other"


def test_new_complaint_pointing_at_an_earlier_answer(classifier: Classifier):
    # No threading headers, but the citizen names the case and says the answer did not do.
    text = (
        "Hej! Jag fick ert svar om ärende KS 2026/17 förra veckan, men jag är inte nöjd. "
        "Snön ligger kvar och ingen har kommit."
    )
    verdict = classifier.classify(message(text, subject="Snöröjningen igen"))
    assert verdict.followup_not_satisfied
    assert verdict.label.value == "complaint"


def test_fresh_complaint_is_no_follow_up(classifier: Classifier):
    verdict = classifier.classify(demo("01-kontaktcenter-snorojning.eml"))
    assert verdict.label.value == "complaint"
    assert not verdict.followup_not_satisfied


# --------------------------------------------------------------------------- personal data


@pytest.mark.parametrize(
    "text",
    [
        "Mitt personnummer är 19450312-1234.",
        "Pnr 450312-1234",
        "Han är född 450312+1234.",
        "Samordningsnummer 450372-1234",
        "personnummer: 19450312 1234",
    ],
)
def test_personal_identity_numbers(text: str):
    assert personal_data(text)


@pytest.mark.parametrize(
    "text", ["Ring 070-174 06 12.", "Ärende KS 2026/17 från 2026-11-23.", "Kostade 1 250 kr."]
)
def test_phone_numbers_and_dates_are_not_personal_data(text: str):
    assert not personal_data(text)


def test_personnummer_never_appears_in_the_reasons(classifier: Classifier):
    body = (
        "Hej! Hemtjänsten har inte kommit till min mamma på tre dagar. Det gäller 19450312-1234, "
        "och jag är mycket missnöjd. 19450312-1234 19450312-1234\n\nKarin"
    )
    verdict = classifier.classify(message(body, subject="Mamma 450312-1234"))
    assert verdict.personal_data
    assert not any(PERSONNUMMER.search(r) for r in verdict.reasons)
    assert not any("1234" in r for r in verdict.reasons)
    assert any("personnummer" in r for r in verdict.reasons)


def test_personnummer_in_a_forwarded_citizens_signature(classifier: Classifier):
    # The signature is not read for the label, but it is searched for personal data.
    body = (
        "Kan ni registrera detta?\n\n---------- Vidarebefordrat meddelande ---------\n"
        "Från: Karin Ek <karin.ek@example.net>\nDate: fre 20 nov. 2026\nSubject: Hemtjänsten\n"
        "To: <anna@exempel.se>\n\nHemtjänsten kom inte i går.\n\nMvh\nKarin Ek\nPnr 450312-1234\n"
    )
    verdict = classifier.classify(
        message(
            body,
            subject="VB: Hemtjänsten",
            sender="Anna <anna@exempel.se>",
            to="kontaktcenter@exempel.se",
        )
    )
    assert verdict.forwarded
    assert verdict.personal_data


# --------------------------------------------------------------------------- withdrawals


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "Hej igen, jag vill ta tillbaka klagomålet jag skickade i måndags.",
            "jag vill ta tillbaka klagomålet",
        ),
        (
            "Föreningen återkallar härmed klagomålet, dnr KS 2026/41.",
            "Föreningen återkallar härmed klagomålet",
        ),
        (
            "Hi, please withdraw my complaint, I sent it to the wrong municipality.",
            "please withdraw my complaint",
        ),
        (
            "Härmed drar jag tillbaka mitt klagomål om\nbullret.",
            "Härmed drar jag tillbaka mitt klagomål",
        ),
        # in the writer's own words
        ("Så du kan stryka det klagomålet. Förlåt!", "du kan stryka det klagomålet"),
        ("Strunta i mitt klagomål i går, det var grannens kärl.", "Strunta i mitt klagomål"),
        ("Hej! Glöm mitt klagomål, det var fel av mig.", "Glöm mitt klagomål"),
        (
            "Jag återkallar härmed mitt överklagande av bygglovet.",
            "Jag återkallar härmed mitt överklagande",
        ),
        ("Please disregard my complaint from Monday.", "Please disregard my complaint"),
    ],
)
def test_a_withdrawn_complaint_is_found(text: str, words: str) -> None:
    assert withdraws_complaint(text) == words


@pytest.mark.parametrize(
    ("subject", "body", "words"),
    [
        (
            "Soptunnan",
            "Strunta i mitt klagomål i går, det var grannens kärl.",
            "Strunta i mitt klagomål",
        ),
        ("Hej", "Hej\n\nStryk mitt klagomål om soporna, det löste sig.", "Stryk mitt klagomål"),
    ],
)
def test_a_withdrawal_opening_a_line_of_the_body_is_found(
    subject: str, body: str, words: str
) -> None:
    # what the classifier reads: the subject and the body as one text
    assert withdraws_complaint(citizen_text(message(body, subject=subject)).text) == words


@pytest.mark.parametrize(
    "text",
    [
        "Jag tänker inte ta tillbaka mitt klagomål förrän någon har svarat.",
        "I will not withdraw my complaint.",
        "Can you withdraw the debt collection? I paid on time.",
        "Ni försöker få mig att ta tillbaka mitt klagomål om hemtjänsten.",
        "Handläggaren bad mig ta tillbaka klagomålet, det tänker jag inte göra.",
        "Jag vägrar dra tillbaka mitt klagomål.",
        "Kommunen återkallade serveringstillståndet efter grannarnas klagomål.",
        "Jag vill lämna ett klagomål på snöröjningen.",
        "Ni kan inte bara strunta i mitt klagomål!",
        "Ni verkar strunta i mitt klagomål.",  # not an imperative
        "Du kan glömma det, jag står fast vid mitt klagomål.",
        "Ni kan knappast stryka mitt klagomål så lätt.",
        "Ni kan avskriva mitt klagomål om ni vill, men jag går till JO.",
        "Ni kan bortse från bilagan i mitt klagomål, här kommer rätt bild.",
        "Stryk mitt namn från klagomålet, jag vill vara anonym.",
        "Please ignore typos in my complaint.",
        "Kan jag återkalla mitt överklagande?",  # asks how
        "Can I withdraw my appeal?",
        "Ni kan glömma att jag tar tillbaka mitt klagomål.",  # it will never happen
        "Glöm att vi drar tillbaka klagomålet, vi går vidare till IVO.",
    ],
)
def test_no_withdrawal_where_none_is_made(text: str) -> None:
    assert withdraws_complaint(text) is None


def test_a_withdrawal_is_no_new_case_but_a_person_sees_it(classifier: Classifier) -> None:
    verdict = classifier.classify(
        message(
            "Hello, I would like to withdraw my complaint about the rude driver on line 4 "
            "last Monday. We have talked it through with the bus company.",
            subject="Complaint about the bus driver",
        )
    )
    probabilities = dict(verdict.probabilities)
    assert probabilities[Label.COMPLAINT] > 0.9  # the model alone would have made a case
    assert verdict.label is Label.OTHER and verdict.withdraws_complaint
    assert verdict.shown_though_annat  # Granska: noted on the case it concerns
    assert not verdict.needs_review and not verdict.followup_not_satisfied
    assert verdict.reasons[0].startswith("skriver att ett klagomål tas tillbaka (”")
    assert verdict.as_dict()["withdraws_complaint"] is True


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (  # a new complaint in the same message
            "Receptionen",
            "Jag drar tillbaka mitt klagomål från i går om parkeringen, men jag vill klaga på "
            "bemötandet i receptionen i dag. Personalen var otrevlig.",
        ),
        (  # may concern someone's own care
            "Mamma",
            "Jag vill ta tillbaka mitt klagomål om mammas hemtjänst. Men hon har fortfarande "
            "liggsår och får inte sin medicin i tid.",
        ),
    ],
)
def test_a_withdrawal_beside_a_complaint_or_a_care_matter_stays_a_case(
    classifier: Classifier, subject: str, body: str
) -> None:
    assert withdraws_complaint(body) is not None  # the words are there …
    verdict = classifier.classify(message(body, subject=subject))
    assert verdict.is_case and not verdict.withdraws_complaint  # … but the case stands
    assert not any("tas tillbaka" in r for r in verdict.reasons)


# --------------------------------------------------------------------------- never complained

LETTER_TO_THE_WRONG_PERSON = (
    "Hej,\n\nI dag fick jag ett brev där det står ”Vi har tagit emot ditt klagomål om "
    "snöröjningen och handläggaren kontaktar dig”. Jag har inte skickat något klagomål, jag "
    "bor inte ens på Björkvägen. Kan det vara en förväxling med någon med samma namn?\n\n"
    "Vänliga hälsningar\nKarin Ek\n"
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (LETTER_TO_THE_WRONG_PERSON, "Jag har inte skickat något klagomål"),
        (
            "Vi fick en bekräftelse på ert klagomål om bygglovet. Vi har inte klagat på något!",
            "Vi har inte klagat",
        ),
        (
            "Today I got a letter saying your complaint has been registered. I have never "
            "sent any complaint.",
            "I have never sent any complaint",
        ),
        (
            "Jag har aldrig lämnat in något klagomål, men i brevet står det så.",
            "Jag har aldrig lämnat in något klagomål",
        ),
    ],
)
def test_a_writer_who_never_complained_is_found(text: str, words: str) -> None:
    assert disowns_complaint(text) == words


@pytest.mark.parametrize(
    "text",
    [
        # the opening of a complaint
        "Jag har aldrig klagat förut, men nu får det vara nog. Ert brev var otrevligt.",
        "Jag har aldrig klagat, men nu räcker det. Ert mejl kom för sent.",
        "I have never made a complaint before but your letter was rude.",
        "Jag har inte skickat något klagomål tidigare, men nu gör jag det. Brevet var fel.",
        # no letter or confirmation named: nothing to say it is about a case already made
        "Jag har inte skickat något klagomål om hemtjänsten.",
        # words between, or "men nu" later in the sentence (a review of the rule found these)
        "Jag har aldrig klagat på något förut, men nu skriver jag för att soporna inte "
        "hämtats. Ert brev var fel.",
        "Vi har aldrig klagat i alla år, men nu är det nog. Ni svarar inte på vårt brev.",
        "I never complained when the bins were late, but this time your letter was rude.",
        "Jag har inte klagat på hemtjänsten på fem år. Mamma fick inte sina mediciner, "
        "brevet från enhetschefen kom aldrig.",
        "Jag har inte lämnat något klagomål ännu, men era brev är fel.",
    ],
)
def test_no_disowning_where_the_writer_complains(text: str) -> None:
    assert disowns_complaint(text) is None


def test_a_letter_to_the_wrong_person_is_no_new_case_but_a_person_sees_it(
    classifier: Classifier,
) -> None:
    verdict = classifier.classify(message(LETTER_TO_THE_WRONG_PERSON, subject="Brev om klagomål"))
    assert verdict.label is Label.OTHER and verdict.disowns_complaint
    assert not verdict.withdraws_complaint
    assert verdict.shown_though_annat  # Granska: a person finds the case and its addressee
    assert not verdict.needs_review and not verdict.followup_not_satisfied
    assert verdict.reasons[0].startswith("skriver att hen aldrig har lämnat det klagomål")
    assert "vem ärendets brev gick till" in verdict.reasons[0]
    assert verdict.as_dict()["disowns_complaint"] is True


def test_never_having_complained_never_makes_a_sure_case_annat(classifier: Classifier) -> None:
    """Many complaints open with "I have never complained …": the rule puts the case before a
    person, with its reason first, but never drops what the model is sure of."""
    text = (
        "Today I got a letter saying your complaint has been registered. I have never sent any "
        "complaint. Maybe my neighbour?"
    )
    verdict = classifier.classify(message(text, subject="Letter"))
    probs = dict(verdict.probabilities)
    assert probs[Label.COMPLAINT] > max(probs[Label.OTHER], 0.55)  # the model: a complaint
    assert verdict.label is Label.COMPLAINT and verdict.disowns_complaint
    assert verdict.needs_review
    assert verdict.reasons[0].startswith("skriver att hen aldrig har lämnat det klagomål")
    assert verdict.reasons[0].endswith("och om detta ändå är ett klagomål")
    assert not any(r.startswith("osäker bedömning") for r in verdict.reasons)


def test_a_disowning_takes_precedence_over_a_withdrawal(classifier: Classifier) -> None:
    """Withdrawing a complaint one never made asks for the letters to be checked, not for the
    case to be closed."""
    text = (
        "Jag har inte skickat något klagomål, så jag tar tillbaka klagomålet. Ert brev gick "
        "nog till fel person."
    )
    assert withdraws_complaint(text) is not None
    verdict = classifier.classify(message(text, subject="Brevet"))
    assert verdict.disowns_complaint and not verdict.withdraws_complaint
    assert not any(r.startswith("skriver att ett klagomål tas tillbaka") for r in verdict.reasons)


def test_never_having_complained_beside_a_new_complaint_stays_a_case(
    classifier: Classifier,
) -> None:
    for body in (
        "Jag fick ett brev om ”ditt klagomål”, men jag har inte skickat något klagomål. "
        "Däremot vill jag klaga på att ni skickar mina uppgifter till fel person!",
        "Jag har inte gjort något klagomål på bygglovet, grannen har. Ändå skriver ni i ert "
        "brev att jag klagat. Jag kräver en rättelse och en ursäkt.",
    ):
        assert disowns_complaint(body) is not None
        verdict = classifier.classify(message(body))
        assert verdict.is_case and not verdict.disowns_complaint
