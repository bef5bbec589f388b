"""What the classifier reads: the citizen's own words, without quotes, signatures or notes."""

from __future__ import annotations

import pytest

from postvakt.classifier.text import citizen_text, new_text, without_signature
from tests.classifier.mail import OWN, demo, eml, message


def test_gmail_quote_is_cut_off():
    reply = eml("26_reply_threading.eml")
    text = citizen_text(reply)
    assert text.reply
    assert "fortfarande inte plogats" in text.body
    assert "skickat ditt ärende vidare" not in text.body  # the municipality's quoted answer
    assert "skrev" not in text.body


def test_outlook_quote_with_our_own_klagomål_is_cut_off():
    # The quoted answer thanks for a "klagomål": that word must not make the reply a complaint.
    reply = message(
        "Tack så mycket, det löste sig.\n\nAli\n\n"
        "Från: Exempel kommun <forskola@exempel.se>\nSkickat: den 20 november 2026 10:12\n"
        "Till: Ali Larsson <ali@example.net>\nÄmne: Ditt ärende KS 2026/2165\n\n"
        "Hej! Vi har tagit emot ditt klagomål och återkommer inom fem arbetsdagar.\n",
        subject="SV: Ditt ärende KS 2026/2165",
        headers={"In-Reply-To": "<ks-2026-2165@exempel.se>"},
    )
    text = citizen_text(reply)
    assert text.body == "Tack så mycket, det löste sig."
    assert text.reply
    assert text.text == text.body  # a reply's subject is the earlier message's


def test_lines_quoted_with_angle_brackets_are_dropped():
    assert new_text("Jag håller inte med.\n> Vi plogar i morgon.\n> /Gatuenheten\nMvh Karin") == (
        "Jag håller inte med.\nMvh Karin"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hej!\n\nSnön är inte plogad på Björkvägen 12.\n\nMed vänlig hälsning\nKarl Berg\n"
            "Björkvägen 12\n123 45 Exempelby\nTel. 070-174 06 12",
            "Hej!\n\nSnön är inte plogad på Björkvägen 12.",
        ),
        ("Hur gör man?\n\nTack på förhand!\nKarl", "Hur gör man?\n\nTack på förhand!"),
        ("Tack för hjälpen igår!\n\nBirgitta Holm", "Tack för hjälpen igår!"),
        ("Skärpning!\n/K", "Skärpning!"),
        ("DET ÄR OACCEPTABELT\n\nKind regards,\nJohn", "DET ÄR OACCEPTABELT"),
        ("Bussen kom inte.\n\nSkickat från min iPhone", "Bussen kom inte."),
        ("Det har inte plogats på Björkvägen", "Det har inte plogats på Björkvägen"),
    ],
)
def test_signature_is_left_out(text: str, expected: str):
    assert without_signature(text) == expected


def test_web_form_gives_the_message_field_and_the_case_type():
    text = citizen_text(demo("07-kontaktcenter-anonymt-hemtjanst.eml"))
    assert text.form_type == "Klagomål"
    assert text.body.startswith("Min mamma har hemtjänst i Norra Exempelby.")
    assert "Verksamhet" not in text.body


def test_staff_forward_reads_only_the_citizen():
    text = citizen_text(eml("21_forwarded_rfc822_hemtjanst.eml"), OWN)
    assert text.forwarded
    assert text.subject == "Klagomål på hemtjänsten i Norrby"
    assert "stannar bara fem minuter" in text.body
    assert "registrera" not in text.body  # the colleague's note
    assert text.message.sender is not None
    assert text.message.sender.address == "sven.olofsson@example.com"


def test_staff_forward_is_recognised_without_configured_domains():
    # A colleague passing mail on inside the organisation: sender and recipient share a domain.
    assert citizen_text(eml("21_forwarded_rfc822_hemtjanst.eml")).forwarded


def test_citizen_forwarding_their_own_mail_is_read_whole():
    body = (
        "Jag skickade detta för två veckor sedan och har inte fått något svar.\n\n"
        "---------- Vidarebefordrat meddelande ---------\n"
        "Från: Karin Ek <karin.ek@example.net>\nDate: mån 9 nov. 2026 kl 08:00\n"
        "Subject: Soptunnan\nTo: <avfall@exempel.se>\n\nSoptunnan har inte tömts sedan oktober.\n"
    )
    text = citizen_text(
        message(body, subject="Fwd: Soptunnan", sender="Karin Ek <karin.ek@example.net>"), OWN
    )
    assert not text.forwarded
    assert "inte fått något svar" in text.body
    assert "Soptunnan har inte tömts" in text.body


@pytest.mark.parametrize(
    ("kind", "side"),
    [
        ("Klagomål", True),
        ("Synpunkt", True),
        ("Beröm", True),
        ("Lämna synpunkt", True),
        ("Complaint", True),
        ("Fråga", False),
        ("Frågor om faktura", False),
        ("Felanmälan gata", False),
        ("Ansökan om trygghetslarm", False),
        ("Bokning", False),
        ("General enquiry", False),
        ("Övrigt", None),
        ("Fråga/Synpunkt", None),
        # Not a complaint or opinion to the municipality, or a whole e-service's name:
        ("Klagomål på buller", None),
        ("Synpunkter på detaljplan", None),
        ("Synpunkter och klagomål", None),
        ("Medborgarförslag", None),
        # English words are words: no "order" in "Border", no "fault" in "Default".
        ("Border", None),
        ("Default", None),
        ("Questionnaire", None),
        ("", None),
        (None, None),
    ],
)
def test_the_side_a_web_form_type_puts_a_message_on(kind, side):
    from postvakt.classifier.webform import form_side

    assert form_side(kind) is side


def test_the_case_type_field_wins_over_a_category():
    msg = message(
        "Kategori: Gator och vägar\nÄrendetyp: Klagomål\nNamn:\nMeddelande: Ingen plogar.\n"
    )
    assert citizen_text(msg).form_type == "Klagomål"
    area_only = message("Kategori: Gator och vägar\nNamn:\nMeddelande: Ingen plogar.\n")
    assert citizen_text(area_only).form_type is None  # an area, not a case type
    english = message("Type: Question\nName:\nMessage: When do you open?\n")
    assert citizen_text(english).form_type == "Question"
