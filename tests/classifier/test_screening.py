"""Tests for :mod:`postvakt.classifier.screening` on real header shapes.

Each rule in ``RULES`` has at least one message that only it can catch (so the rule that
decides is the one under test), plus the messages from people that must get through.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from postvakt.classifier import Screening, screen
from postvakt.classifier.screening import RULES
from postvakt.mailbox.message import IncomingMessage, parse_message
from tests.support.workspace import citizen_mail

ROOT = Path(__file__).resolve().parents[2]
EML_DIR = ROOT / "tests" / "data" / "eml"
DEMO_DIR = ROOT / "src" / "postvakt" / "demo_messages"

COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen plogbil har varit här "
    "sedan i torsdags och jag kommer inte ut med rollatorn.\n\nMed vänlig hälsning\nKarin Ek\n"
)


def eml(name: str) -> IncomingMessage:
    return parse_message((EML_DIR / name).read_bytes())


def demo(name: str) -> IncomingMessage:
    return parse_message((DEMO_DIR / name).read_bytes())


def person(
    body: str = COMPLAINT,
    *,
    subject: str = "Snöröjningen på Björkvägen",
    sender: str = "Karin Ek <karin.ek@example.net>",
    headers: dict[str, str] | None = None,
) -> IncomingMessage:
    return parse_message(citizen_mail(body, subject=subject, sender=sender, headers=headers))


def screened_by(msg: IncomingMessage) -> str | None:
    result = screen(msg)
    if result is None:
        return None
    assert isinstance(result, Screening)
    assert result.reason.strip()
    return result.rule


def test_rule_names_are_the_documented_order():
    assert [name for name, _ in RULES] == [
        "delivery_report",
        "auto_submitted",
        "bounce_headers",
        "mailer_daemon",
        "autoreply_headers",
        "auto_reply_subject",
        "out_of_office_text",
        "bulk_mail",
    ]


# --------------------------------------------------------------------------- delivery_report


@pytest.mark.parametrize(
    "msg",
    [
        pytest.param(lambda: eml("24_dsn_bounce.eml"), id="postfix-dsn"),
        pytest.param(lambda: demo("09-kontaktcenter-leveransfel.eml"), id="demo-09"),
    ],
)
def test_delivery_status_report_from_mailer_daemon(msg):
    message = msg()
    assert message.content_type == "multipart/report"
    result = screen(message)
    assert result is not None
    assert result.rule == "delivery_report"
    assert "multipart/report" in result.reason


def test_read_receipt_from_a_person_is_a_report():
    # A read receipt (report-type=disposition-notification) from an ordinary person's
    # address, no Auto-Submitted: only the content type tells.
    receipt = EmailMessage()
    receipt["From"] = "Karin Ek <karin.ek@example.net>"
    receipt["To"] = "kontakt@testby.se"
    receipt["Subject"] = "Läst: Ditt ärende KS 2026/17"
    receipt["Date"] = "Mon, 23 Nov 2026 10:00:00 +0100"
    receipt["Message-ID"] = "<mdn-1@example.net>"
    receipt.set_content("Ditt meddelande har lästs.")
    receipt.make_mixed()
    receipt.replace_header(
        "Content-Type",
        receipt["Content-Type"].replace("multipart/mixed", "multipart/report")
        + '; report-type="disposition-notification"',
    )
    message = parse_message(receipt.as_bytes())
    assert message.is_report
    assert screened_by(message) == "delivery_report"


# --------------------------------------------------------------------------- auto_submitted


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("22_exchange_out_of_office.eml", "auto-replied"),
        ("23_sieve_vacation.eml", "auto-replied (vacation)"),
    ],
)
def test_corpus_automatic_replies(name: str, value: str):
    message = eml(name)
    result = screen(message)
    assert result is not None
    assert result.rule == "auto_submitted"
    assert value in result.reason


def test_exchange_out_of_office_demo():
    message = demo("04-kontaktcenter-autosvar-faktura.eml")
    assert message.auto_submitted == "auto-replied"
    assert message.x_auto_response_suppress == "All"
    assert screened_by(message) == "auto_submitted"


@pytest.mark.parametrize(
    "value", ["auto-generated", "auto-replied", "Auto-Notified; owner-email=x@y"]
)
def test_auto_submitted_values(value: str):
    assert screened_by(person(headers={"Auto-Submitted": value})) == "auto_submitted"


@pytest.mark.parametrize("value", ["no", "No", " no ", "no; comment"])
def test_auto_submitted_no_is_a_person(value: str):
    assert screen(person(headers={"Auto-Submitted": value})) is None


# --------------------------------------------------------------------------- mailer_daemon


@pytest.mark.parametrize(
    "sender",
    [
        "postmaster@mail.example.net",
        "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>",
        "Postmaster <Postmaster@outlook.example>",
    ],
)
def test_bounce_without_multipart_report(sender: str):
    body = (
        "This is the mail system at host mx.example.net.\n\n"
        "I'm sorry to have to inform you that your message could not be delivered.\n\n"
        "<karin.jonsson@hotmial.com>: Host or domain name not found\n"
    )
    message = person(body, subject="Returned mail: see transcript for details", sender=sender)
    assert message.content_type == "text/plain"
    assert message.auto_submitted is None
    result = screen(message)
    assert result is not None
    assert result.rule == "mailer_daemon"
    assert message.sender is not None
    assert message.sender.address in result.reason


def test_postmaster_lookalike_is_a_person():
    # Only the local part decides: a citizen called "postmaster.karlsson" is a person.
    assert screen(person(sender="Per Postmaster <postmaster.karlsson@example.net>")) is None


# --------------------------------------------------------------------------- autoreply_headers


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Frånvaro"},
        {"X-Auto-Response-Suppress": "All"},
        {"X-Auto-Response-Suppress": "DR, OOF, AutoReply"},
    ],
    ids=["x-autoreply", "x-autorespond", "exchange-suppress-all", "exchange-suppress-oof"],
)
def test_vendor_autoreply_headers(headers: dict[str, str]):
    # The subject and body are a person's: only the vendor header tells.
    assert screened_by(person(headers=headers)) == "autoreply_headers"


# --------------------------------------------------------------------------- auto_reply_subject


@pytest.mark.parametrize(
    "subject",
    [
        "Automatiskt svar: Ang. faktura",
        "Frånvaromeddelande",
        "Frånvaromeddelande: Snöröjningen",
        "Out of Office: Snöröjningen på Björkvägen",
        "Undeliverable: Ditt ärende KS 2026/17",
        "Automatic reply: Your case",
        "Autosvar: Ditt ärende",
    ],
)
def test_automatic_reply_subjects(subject: str):
    body = "Jag är på semester till och med den 30 november och läser inte min e-post."
    message = person(body, subject=subject)
    assert message.subject == subject
    assert screened_by(message) == "auto_reply_subject"


@pytest.mark.parametrize(
    "subject",
    [
        "Inget svar från er!",
        "Fortfarande inget automatiskt svar, och ingen har ringt",
        "SV: Snöröjningen",
        "Svar på er fråga om bygglov",
        "Varför kan inte brevet levereras till min adress?",
        "Office hours at the library",
    ],
)
def test_subjects_that_only_mention_replies_are_people(subject: str):
    assert screen(person(subject=subject)) is None


# --------------------------------------------------------------------------- bulk_mail


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"Precedence": "Junk"},
        {"List-Id": "Grannföreningen <grannar.lists.example.net>"},
        {"List-Unsubscribe": "<mailto:avregistrera@nyhetsbrev.example?subject=stopp>"},
    ],
    ids=["precedence-bulk", "precedence-list", "precedence-junk", "list-id", "list-unsubscribe"],
)
def test_bulk_and_list_mail(headers: dict[str, str]):
    assert screened_by(person(headers=headers)) == "bulk_mail"


@pytest.mark.parametrize(
    "msg",
    [
        pytest.param(lambda: eml("25_newsletter.eml"), id="corpus-newsletter"),
        pytest.param(lambda: demo("05-kontaktcenter-nyhetsbrev.eml"), id="demo-05"),
    ],
)
def test_newsletters(msg):
    # Demo 05 speaks of "klagomål och synpunkter": screening happens before words count.
    assert screened_by(msg()) == "bulk_mail"


def test_precedence_first_class_is_a_person():
    assert screen(person(headers={"Precedence": "first-class"})) is None


# --------------------------------------------------------------------------- people


@pytest.mark.parametrize(
    "name",
    [
        "01-kontaktcenter-snorojning.eml",
        "02-kontaktcenter-bibliotekets-oppettider.eml",
        "03-kontaktcenter-fraga-bygglov.eml",
        "06-anna-internt-motet-torsdag.eml",
        "08-kontaktcenter-missed-garbage-collection.eml",
        "10-anna-parkeringsbot.eml",
        "11-anna-skolmaten.eml",
        "12-kontaktcenter-potthal-cykelvag.eml",
        "14-anna-tack.eml",
    ],
)
def test_demo_messages_from_people_are_not_screened(name: str):
    assert screen(demo(name)) is None


@pytest.mark.parametrize(
    "name",
    [
        "01_utf8_8bit_snorojning.eml",
        "13_rfc2047_headers_cykelbana.eml",
        "18_mixed_pdf_jpeg_avfall.eml",
        "26_reply_threading.eml",
        "29_english_parking.eml",
    ],
)
def test_corpus_messages_from_people_are_not_screened(name: str):
    assert screen(eml(name)) is None


def test_ordinary_citizen_complaint_is_not_screened():
    assert screen(person()) is None


def test_angry_citizen_about_missing_answer_is_not_screened():
    message = person(
        "Jag har skickat tre mejl om hemtjänsten och aldrig fått något svar. "
        "Det här är oacceptabelt!",
        subject="Inget svar från er!",
    )
    assert screen(message) is None


# --------------------------------------------------------------------------- bounce_headers


def test_empty_envelope_sender_is_a_bounce_or_auto_reply():
    # Postfix's local delivery writes Return-Path: <> for mail with the null sender; only
    # bounces and automatic replies are sent with it (RFC 5321 4.5.5).
    message = person(
        "Your message could not be delivered.",
        subject="Notification",
        sender="Mail System <notifications@mx.example.net>",
        headers={"Return-Path": "<>"},
    )
    assert screened_by(message) == "bounce_headers"


def test_exim_failed_recipients_header():
    message = person(
        "This message was created automatically by mail delivery software.",
        subject="Mail delivery failed: returning message to sender",
        sender="Mail Delivery System <Mailer-Daemon@mx.example.net>",
        headers={"X-Failed-Recipients": "karin.jonsson@hotmial.com"},
    )
    assert screened_by(message) == "bounce_headers"


def test_ordinary_return_path_is_a_person():
    assert screen(person(headers={"Return-Path": "<karin.ek@example.net>"})) is None


# --------------------------------------------------------------------------- autoreply_headers


@pytest.mark.parametrize(
    "headers",
    [
        {"X-AutoReply-From": "karin.lundqvist@nordkontor.example"},
        {"X-Mail-Autoreply": "1"},
        {"Precedence": "auto_reply"},
    ],
)
def test_more_vendor_autoreply_headers(headers: dict[str, str]):
    assert screened_by(person(headers=headers)) == "autoreply_headers"


def test_x_autoreply_no_is_a_person():
    assert screen(person(headers={"X-Autoreply": "no"})) is None


# --------------------------------------------------------------------------- out_of_office_text

OUT_OF_OFFICE_BODIES = [
    "Hej!\n\nTack för ditt mejl. Jag är föräldraledig till och med den 4 januari och läser inte "
    "min e-post under tiden. I brådskande ärenden, kontakta kontaktcenter@exempel.se.\n\n"
    "Vänliga hälsningar\nAnna Berg",
    "Hej,\n\nJag är på semester och tillbaka den 12 augusti. Jag har begränsad tillgång till "
    "e-post.\n\n/Per",
    "Thank you for your message. I am out of the office until Monday 7 December with no access "
    "to email. For urgent matters please contact my colleague Lena.",
    "Hi, I'm on annual leave until 3 January and will reply when I return.",
]


@pytest.mark.parametrize("body", OUT_OF_OFFICE_BODIES)
def test_out_of_office_text_without_any_marker(body: str):
    # Some web mail and phone apps send out-of-office replies with no header marker and the
    # original subject: only the text tells.
    message = person(body, subject="SV: Möte om budgeten", sender="Anna <anna.berg@example.org>")
    assert message.auto_submitted is None
    assert screened_by(message) == "out_of_office_text"


@pytest.mark.parametrize(
    "body",
    [
        # A citizen who mentions a holiday in a complaint is a person.
        "Hej! Jag var på semester i tre veckor och när jag kom tillbaka hade ingen tömt "
        "soptunnan. Det luktar fruktansvärt. Jag vill att ni tömmer den i dag.",
        # About the mail, but nobody is away.
        "Tack för ditt mejl. Jag förstår fortfarande inte varför min ansökan avslogs.",
        # Away, but a long letter is not an automatic reply.
        "Jag är tjänstledig till den 1 mars och läser inte min e-post så ofta. "
        + "Men jag vill ändå klaga på snöröjningen. " * 60,
    ],
)
def test_people_mentioning_absence_are_not_screened(body: str):
    assert screen(person(body)) is None


# --------------------------------------------------------------------------- bulk_mail


def test_list_post_header_alone_is_list_mail():
    message = person(headers={"List-Post": "<mailto:grannar@lists.example.net>"})
    assert screened_by(message) == "bulk_mail"
