"""Forwards by staff: the citizen's message inside, attached or written inline.

The inline shapes are the ones mail programs write, in Swedish and English: Gmail, Outlook
(desktop and web), Apple Mail and Thunderbird.  Internal mail from the own domains is
screened unless it forwards a citizen's message (:func:`postvakt.classifier.internal`).
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from postvakt.classifier import forwards_citizen, internal
from postvakt.classifier.forwarded import in_domains, inline_forwards
from postvakt.mailbox.message import IncomingMessage, parse_message
from tests.classifier.mail import OWN, demo, eml, message

CITIZEN_TEXT = (
    "Hej!\n\nPersonalen från hemtjänsten stannar bara fem minuter hos min mor och hinner inte "
    "hjälpa henne med duschen.\n\nSven Olofsson\n070-174 06 21"
)
STAFF = "Lena Fransson <lena.fransson@exempel.se>"

INLINE = {
    "gmail-sv": (
        "---------- Vidarebefordrat meddelande ---------\n"
        "Från: Sven Olofsson <sven.olofsson@example.com>\n"
        "Date: mån 29 jan. 2024 kl 10:00\nSubject: Hemtjänsten\nTo: <lena.fransson@exempel.se>\n"
    ),
    "gmail-en": (
        "---------- Forwarded message ---------\n"
        "From: Sven Olofsson <sven.olofsson@example.com>\n"
        "Date: Mon, Jan 29, 2024 at 10:00 AM\nSubject: Hemtjänsten\nTo: <lena.fransson@exempel.se>\n"
    ),
    "outlook-sv": (
        "-----Ursprungligt meddelande-----\n"
        "Från: Sven Olofsson [mailto:sven.olofsson@example.com]\n"
        "Skickat: den 29 januari 2024 10:00\nTill: Lena Fransson\nÄmne: Hemtjänsten\n"
    ),
    "outlook-en": (
        "-----Original Message-----\n"
        "From: Sven Olofsson <sven.olofsson@example.com>\n"
        "Sent: Monday, January 29, 2024 10:00 AM\nTo: Lena Fransson\nSubject: Hemtjänsten\n"
    ),
    "outlook-web": (
        "________________________________\n"
        "Från: Sven Olofsson <sven.olofsson@example.com>\n"
        "Skickat: den 29 januari 2024 10:00\nTill: Lena Fransson <lena.fransson@exempel.se>\n"
        "Ämne: Hemtjänsten\n"
    ),
    "outlook-block-only": (
        "Från: Sven Olofsson <sven.olofsson@example.com>\n"
        "Skickat: den 29 januari 2024 10:00\nTill: Lena Fransson\nÄmne: Hemtjänsten\n"
    ),
    "apple-sv": (
        "Början på vidarebefordrat brev:\n\n"
        "Från: Sven Olofsson <sven.olofsson@example.com>\nÄmne: Hemtjänsten\n"
        "Datum: 29 januari 2024 10:00:00 CET\nTill: lena.fransson@exempel.se\n"
    ),
    "apple-en": (
        "Begin forwarded message:\n\n"
        "From: Sven Olofsson <sven.olofsson@example.com>\nSubject: Hemtjänsten\n"
        "Date: 29 January 2024 at 10:00:00 CET\nTo: lena.fransson@exempel.se\n"
    ),
    "thunderbird-sv": (
        "-------- Vidarebefordrat meddelande --------\n"
        "Ämne: \tHemtjänsten\nDatum: \tMon, 29 Jan 2024 10:00:00 +0100\n"
        "Från: \tSven Olofsson <sven.olofsson@example.com>\nTill: \tlena.fransson@exempel.se\n"
    ),
}


def staff_forward(style: str, subject: str = "VB: Hemtjänsten") -> IncomingMessage:
    body = f"Hej! Kan ni registrera det här?\n\n/Lena\n\n{INLINE[style]}\n{CITIZEN_TEXT}\n"
    return message(body, subject=subject, sender=STAFF, to="kontaktcenter@exempel.se")


def attached_forward(inner: EmailMessage, sender: str = STAFF) -> IncomingMessage:
    outer = EmailMessage()
    outer["From"] = sender
    outer["To"] = "kontaktcenter@exempel.se"
    outer["Subject"] = f"VB: {inner['Subject']}"
    outer["Date"] = "Mon, 29 Jan 2024 13:37:12 +0100"
    outer["Message-ID"] = "<vb-1@exempel.se>"
    outer.set_content("Hej! Detta kom till fel brevlåda, kan ni ta hand om det?\n\nLena")
    outer.add_attachment(inner, filename="vidarebefordrat.eml")
    return parse_message(outer.as_bytes())


def inner_mail(body: str = CITIZEN_TEXT, **headers: str) -> EmailMessage:
    inner = EmailMessage()
    inner["From"] = headers.pop("From", "Sven Olofsson <sven.olofsson@example.com>")
    inner["To"] = "lena.fransson@exempel.se"
    inner["Subject"] = headers.pop("Subject", "Hemtjänsten")
    inner["Date"] = "Mon, 29 Jan 2024 10:00:00 +0100"
    for name, value in headers.items():
        inner[name.replace("_", "-")] = value
    inner.set_content(body)
    return inner


# --------------------------------------------------------------------------- inline forwards


@pytest.mark.parametrize("style", list(INLINE))
def test_inline_forward_from_staff_gives_the_citizens_message(style: str):
    found = forwards_citizen(staff_forward(style), OWN)
    assert found is not None
    assert found.sender is not None
    assert found.sender.address == "sven.olofsson@example.com"
    assert found.sender.name == "Sven Olofsson"
    assert found.subject == "Hemtjänsten"
    assert found.body_text.startswith("Hej!\n\nPersonalen från hemtjänsten")
    assert "Kan ni registrera" not in found.body_text  # the colleague's note is not in it


@pytest.mark.parametrize("style", list(INLINE))
def test_inline_forward_is_found_without_configured_domains(style: str):
    # With a forward subject, the shape alone says it is a forward.
    found = forwards_citizen(staff_forward(style))
    assert found is not None and found.subject == "Hemtjänsten"


def test_outlook_block_in_a_reply_is_no_forward():
    # Outlook writes the same block when replying: a citizen's reply quoting the municipality.
    reply = message(
        "Tack för svaret, men det har fortfarande inte plogats.\n\nÅsa\n\n"
        "Från: Kontaktcenter <kontaktcenter@exempel.se>\nSkickat: den 17 januari 2024 09:12\n"
        "Till: Åsa Lindström\nÄmne: Ditt ärende KC-2024-0113\n\nHej Åsa! Vi har skickat ditt "
        "ärende vidare till gatuenheten.\n",
        subject="SV: Ditt ärende KC-2024-0113",
        sender="Åsa Lindström <asa.lindstrom@example.com>",
    )
    assert inline_forwards(reply.body_text)  # the block is there …
    assert forwards_citizen(reply, OWN) is None  # … but it is a quote, not a forward


def test_colleague_chain_gives_the_citizen_further_down():
    body = (
        "Till kontaktcenter.\n\n"
        "---------- Vidarebefordrat meddelande ---------\n"
        "Från: Per Lind <per.lind@exempel.se>\nDate: fre 20 nov. 2026 kl 14:32\n"
        "Subject: VB: Snöröjningen\nTo: Lena <lena.fransson@exempel.se>\n\n"
        "Lena, det här är väl ditt område?\n\n"
        "---------- Vidarebefordrat meddelande ---------\n"
        "Från: Karin Ek <karin.ek@example.net>\nDate: fre 20 nov. 2026 kl 09:15\n"
        "Subject: Snöröjningen\nTo: per.lind@exempel.se\n\n"
        "Vår gata har inte plogats på en vecka.\n"
    )
    msg = message(body, subject="VB: VB: Snöröjningen", sender=STAFF)
    found = forwards_citizen(msg, OWN)
    assert found is not None and found.sender is not None
    assert found.sender.address == "karin.ek@example.net"
    assert found.body_text == "Vår gata har inte plogats på en vecka."


def test_outlook_name_without_address_is_still_a_citizen():
    body = (
        "Hej, se nedan.\n\n-----Ursprungligt meddelande-----\nFrån: Sven Olofsson\n"
        "Skickat: den 29 januari 2024 10:00\nÄmne: Hemtjänsten\n\n" + CITIZEN_TEXT
    )
    found = forwards_citizen(message(body, subject="VB: Hemtjänsten", sender=STAFF), OWN)
    assert found is not None
    assert found.sender is None
    assert "fem minuter" in found.body_text


# --------------------------------------------------------------------------- attached forwards


def test_attached_forward_from_the_eml_corpus():
    msg = eml("21_forwarded_rfc822_hemtjanst.eml")
    found = forwards_citizen(msg, OWN)
    assert found is not None and found.sender is not None
    assert found.sender.address == "sven.olofsson@example.com"
    assert "stannar bara fem minuter" in found.body_text
    assert found is msg.forwarded[0]


def test_attached_newsletter_is_no_citizen():
    newsletter = inner_mail(
        "Nyhetsbrev november: webbinarium om klagomål och synpunkter.",
        From="Kontaktcenterföreningen <nyhetsbrev@kontaktcenterforeningen.example>",
        Subject="Nyhetsbrev november",
        List_Unsubscribe="<https://kontaktcenterforeningen.example/avregistrera>",
    )
    assert forwards_citizen(attached_forward(newsletter), OWN) is None


def test_attached_mail_from_a_colleague_is_no_citizen():
    colleague = inner_mail("Kan du ta mötet på torsdag?", From="Per Lind <per.lind@exempel.se>")
    assert forwards_citizen(attached_forward(colleague), OWN) is None


def test_plain_mail_forwards_nothing():
    assert forwards_citizen(message(CITIZEN_TEXT, subject="Hemtjänsten"), OWN) is None


# --------------------------------------------------------------------------- internal mail


def test_colleagues_mail_is_internal():
    result = internal(demo("06-anna-internt-motet-torsdag.eml"), OWN)
    assert result is not None
    assert result.rule == "internal"
    assert "exempel.se" in result.reason


@pytest.mark.parametrize("style", ["gmail-sv", "outlook-sv", "apple-en"])
def test_staff_forwarding_a_citizen_is_not_internal(style: str):
    assert internal(staff_forward(style), OWN) is None


def test_staff_attaching_a_citizens_mail_is_not_internal():
    assert internal(eml("21_forwarded_rfc822_hemtjanst.eml"), OWN) is None


def test_staff_forwarding_a_newsletter_is_internal():
    newsletter = inner_mail(
        "Månadens nyheter.",
        From="nyhetsbrev@leverantor.example",
        Subject="Nyheter",
        Precedence="bulk",
    )
    result = internal(attached_forward(newsletter), OWN)
    assert result is not None and result.rule == "internal"


def test_web_form_gateway_in_own_domain_is_not_internal():
    gateway = message(
        "Ärendetyp: Klagomål\nNamn:\nE-post:\nTelefon:\nMeddelande: Ingen har plogat.\n",
        subject="Nytt ärende",
        sender="noreply@e-tjanster.exempel.se",
    )
    assert internal(gateway, OWN) is not None  # a subdomain of the own domain …
    assert internal(gateway, OWN, ["NoReply@e-tjanster.exempel.se"]) is None  # … but a gateway


def test_citizens_and_unconfigured_domains_are_not_internal():
    assert internal(message(CITIZEN_TEXT), OWN) is None
    assert internal(demo("06-anna-internt-motet-torsdag.eml"), ()) is None


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("anna@exempel.se", True),
        ("noreply@e-tjanster.exempel.se", True),
        ("anna@EXEMPEL.SE", True),
        ("anna@annanexempel.se", False),
        ("anna@exempel.se.example.net", False),
    ],
)
def test_in_domains(address: str, inside: bool):
    assert in_domains(address, ["exempel.se"]) is inside
