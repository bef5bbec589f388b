"""Tests for :mod:`postvakt.classifier.baseline` on the demo messages and plain citizen mail.

The expected labels of the demo messages are the dispositions in
``src/postvakt/demo_messages/README.md``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from postvakt.classifier import Label, Verdict
from postvakt.classifier.baseline import CUES, classify
from postvakt.mailbox.message import IncomingMessage, parse_message
from tests.support.workspace import citizen_mail

DEMO_DIR = Path(__file__).resolve().parents[2] / "src" / "postvakt" / "demo_messages"

ENGLISH_REASONS = frozenset(
    {
        "says they want to complain",
        "the word 'complaint'",
        "expresses dissatisfaction",
        "something that should have been done was not",
        "delays or missed service",
        "makes a suggestion or gives a view",
    }
)

DEMO = {
    "01-kontaktcenter-snorojning.eml": Label.COMPLAINT,
    "02-kontaktcenter-bibliotekets-oppettider.eml": Label.OPINION,
    "03-kontaktcenter-fraga-bygglov.eml": Label.OTHER,
    "08-kontaktcenter-missed-garbage-collection.eml": Label.COMPLAINT,
    "10-anna-parkeringsbot.eml": Label.COMPLAINT,
    "11-anna-skolmaten.eml": Label.OPINION,
    "12-kontaktcenter-potthal-cykelvag.eml": Label.COMPLAINT,
    "14-anna-tack.eml": Label.OTHER,
}
SWEDISH_DEMO = [name for name in DEMO if name != "08-kontaktcenter-missed-garbage-collection.eml"]


def demo(name: str) -> IncomingMessage:
    return parse_message((DEMO_DIR / name).read_bytes())


def citizen(subject: str, body: str) -> IncomingMessage:
    return parse_message(citizen_mail(body, subject=subject))


def assert_well_formed(verdict: Verdict) -> None:
    assert isinstance(verdict.label, Label)
    assert 0 < verdict.confidence <= 1
    assert verdict.reasons
    assert all(isinstance(r, str) and r.strip() for r in verdict.reasons)
    assert verdict.is_case == (verdict.label is not Label.OTHER)


def test_english_reasons_are_real_cue_reasons():
    # Guards the language checks below: they must name reasons the cues really give.
    assert {cue.reason for cue in CUES} >= ENGLISH_REASONS


# --------------------------------------------------------------------------- demo messages


@pytest.mark.parametrize(("name", "label"), list(DEMO.items()))
def test_demo_message_label(name: str, label: Label):
    verdict = classify(demo(name))
    assert verdict.label is label, verdict
    assert_well_formed(verdict)


@pytest.mark.parametrize("name", SWEDISH_DEMO)
def test_swedish_messages_get_swedish_reasons(name: str):
    verdict = classify(demo(name))
    assert not set(verdict.reasons) & ENGLISH_REASONS, verdict.reasons


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("01-kontaktcenter-snorojning.eml", "skriver att hen vill klaga"),
        ("01-kontaktcenter-snorojning.eml", "ordet 'klagomål'"),
        ("10-anna-parkeringsbot.eml", "kräver rättelse"),
        ("12-kontaktcenter-potthal-cykelvag.eml", "skriver att hen vill klaga"),
        ("02-kontaktcenter-bibliotekets-oppettider.eml", "ordet 'synpunkt'"),
        ("11-anna-skolmaten.eml", "lämnar ett förslag"),
        ("08-kontaktcenter-missed-garbage-collection.eml", "says they want to complain"),
    ],
)
def test_demo_reasons_name_what_weighed(name: str, reason: str):
    assert reason in classify(demo(name)).reasons


# --------------------------------------------------------------------------- plain citizen mail


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (
            "Klagomål på hemtjänsten",
            "Jag är mycket missnöjd med hemtjänsten. Personalen har inte kommit i tid en "
            "enda gång den här veckan. Det är oacceptabelt.",
        ),
        (
            "Ingen har plogat",
            "Hej, vår gata har inte plogats på en vecka och ingen har svarat på mina samtal. "
            "Jag vill klaga på detta.",
        ),
        (
            "Bemötandet i receptionen",
            "Jag blev otrevligt bemött i receptionen på stadshuset igår. Det är inte okej att "
            "bli behandlad så.",
        ),
    ],
)
def test_clear_swedish_complaints(subject: str, body: str):
    verdict = classify(citizen(subject, body))
    assert verdict.label is Label.COMPLAINT, verdict
    assert_well_formed(verdict)
    assert not set(verdict.reasons) & ENGLISH_REASONS


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (
            "Förslag: fler papperskorgar",
            "Hej! Jag har ett förslag: det vore bra om det fanns fler papperskorgar längs "
            "promenadstråket vid sjön.",
        ),
        ("Lekparken vid torget", "Jag tycker att lekparken vid torget borde få fler gungor."),
        ("Tack", "Jag vill tacka personalen på äldreboendet för det fina bemötandet i höstas."),
    ],
)
def test_opinions_proposals_and_praise(subject: str, body: str):
    verdict = classify(citizen(subject, body))
    assert verdict.label is Label.OPINION, verdict
    assert_well_formed(verdict)


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (
            "Öppettider i jul",
            "Hej! Vilka öppettider har biblioteket under julen? Har ni öppet på annandagen?",
        ),
        ("Fråga om simhallen", "Hej! Hur sent har simhallen öppet på fredagar?\n\nMvh Karl"),
        ("När öppnar återvinningscentralen på lördag?", "Tack på förhand!"),
        ("Opening hours", "When is the library open on Saturdays?"),
    ],
)
def test_questions_about_opening_hours_are_other(subject: str, body: str):
    verdict = classify(citizen(subject, body))
    assert verdict.label is Label.OTHER, verdict
    assert_well_formed(verdict)
    assert not verdict.is_case


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        (
            "Complaint about the school bus",
            "I want to complain: the school bus has not arrived on time this week and my son "
            "was late for school. This is unacceptable.",
        ),
        (
            "Street lights",
            "The street lights on Ekvägen have not been fixed for a month. I am very "
            "disappointed with the poor service.",
        ),
    ],
)
def test_english_complaints(subject: str, body: str):
    verdict = classify(citizen(subject, body))
    assert verdict.label is Label.COMPLAINT, verdict
    assert_well_formed(verdict)


def test_empty_message_is_other():
    verdict = classify(citizen("", ""))
    assert verdict.label is Label.OTHER
    assert_well_formed(verdict)


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", list(DEMO))
def test_same_input_same_verdict(name: str):
    raw = (DEMO_DIR / name).read_bytes()
    first = classify(parse_message(raw))
    assert classify(parse_message(raw)) == first
    message = parse_message(raw)
    assert [classify(message) for _ in range(3)] == [first, first, first]


def test_stronger_evidence_gives_higher_confidence():
    weak = classify(citizen("Gatan", "Jag vill klaga på gatan."))
    strong = classify(
        citizen(
            "Klagomål",
            "Jag vill klaga. Jag är mycket missnöjd, det är oacceptabelt och ingen har återkommit.",
        )
    )
    assert weak.label is strong.label is Label.COMPLAINT
    assert strong.confidence > weak.confidence
