"""A web form sent as "Klagomål" that the model reads as an opinion: registered as the model
read it, and shown to a person who says which (citizens pick a wrong type too)."""

from __future__ import annotations

import pytest

from postvakt.classifier.verdict import Label
from tests.classifier.mail import message

OP = Label.OPINION

PRAISE = "Personalen på förskolan Lärkan är fantastisk, tack för ett fint år!"
"""What the model surely reads as an opinion (praise)."""


def _form(kind: str, text: str, field: str = "Ärendetyp") -> str:
    return f"{field}: {kind}\nNamn:\nE-post:\nTelefon:\nMeddelande: {text}\n"


def test_the_model_alone_reads_the_praise_as_an_opinion(classifier):
    verdict = classifier.classify(message(PRAISE, subject="Hej"))
    assert verdict.label is OP and not verdict.needs_review, verdict


@pytest.mark.parametrize(
    ("kind", "field"),
    [("Klagomål", "Ärendetyp"), ("Lämna klagomål", "Ärendetyp"), ("Complaint", "Type")],
)
def test_sent_as_a_complaint_a_person_says_which(classifier, kind, field):
    verdict = classifier.classify(message(_form(kind, PRAISE, field), subject="Nytt ärende"))
    # The model's reading stays (a case either way: nothing is dropped) ...
    assert verdict.label is OP and verdict.confidence >= 0.9, verdict
    # ... but it is not decided without a person, and the first reason says why.
    assert verdict.needs_review and verdict.disputed_by_form, verdict
    assert verdict.reasons[0].startswith(f"webbformulärets ärendetyp är ”{kind}”, men modellen")
    assert "synpunkt" in verdict.reasons[0] and verdict.reasons[0].endswith("en person avgör")


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        (_form("Synpunkt", PRAISE), "Nytt ärende"),
        (_form("Beröm", PRAISE), "Nytt ärende"),
        # a service area is not a case type; an e-service's name is not the citizen's choice
        (_form("Klagomål på buller", PRAISE), "Nytt ärende"),
        (_form("Synpunkter och klagomål", PRAISE), "Nytt ärende"),
        # typed into an ordinary e-mail's subject, the word is the writer's title, which
        # weighs only against an annat (test_sources)
        (PRAISE, "Klagomål – förskolan Lärkan"),
    ],
)
def test_otherwise_the_opinion_is_decided(classifier, body, subject):
    verdict = classifier.classify(message(body, subject=subject))
    assert verdict.label is OP and not verdict.needs_review, verdict
    assert not verdict.disputed_by_form, verdict


def test_a_complaint_sent_as_a_complaint_is_not_disputed(classifier):
    text = (
        "Hemtjänsten har inte kommit på tre dagar fast mamma ska ha hjälp varje morgon. "
        "Ingen svarar när jag ringer. Det är oacceptabelt, jag vill att ni rättar till det."
    )
    verdict = classifier.classify(message(_form("Klagomål", text), subject="Nytt ärende"))
    assert verdict.label is Label.COMPLAINT and not verdict.disputed_by_form, verdict


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("Klagomål", True),
        ("klagomal", True),
        ("Lämna klagomål", True),
        ("Complaint", True),
        ("Klagomål.", True),
        ("Synpunkt", False),
        ("Synpunkter och klagomål", False),
        ("Klagomål på buller", False),
        ("", False),
        (None, False),
    ],
)
def test_which_case_types_say_complaint(kind, says):
    from postvakt.classifier.webform import form_says_complaint

    assert form_says_complaint(kind) is says
