"""Tests for :mod:`postvakt.classifier.contact` and the web-form fields it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from postvakt.classifier import Contact, find_contact
from postvakt.classifier.contact import is_no_reply
from postvakt.classifier.webform import form_fields
from postvakt.mailbox.message import Address, IncomingMessage, parse_message
from tests.support.workspace import citizen_mail

ROOT = Path(__file__).resolve().parents[2]
EML_DIR = ROOT / "tests" / "data" / "eml"
DEMO_DIR = ROOT / "src" / "postvakt" / "demo_messages"

OWN = ("kontakt@testby.se", "anna@testby.se")
GATEWAY = "E-tjänster Testby kommun <noreply@e-tjanst.testby.se>"


def message(body: str, **kwargs: object) -> IncomingMessage:
    return parse_message(citizen_mail(body, **kwargs))  # type: ignore[arg-type]


def contact(body: str, own: tuple[str, ...] = OWN, **kwargs: object) -> Contact:
    return find_contact(message(body, **kwargs), own)


def gateway(body: str, own: tuple[str, ...] = OWN) -> Contact:
    return contact(body, own, sender=GATEWAY, subject="Nytt ärende från e-tjänsten")


# --------------------------------------------------------------------------- reply address


def test_normal_sender_is_the_reply_address():
    found = contact(
        "Hej! Snön är inte plogad.\n\nKarin Ek", sender="Karin Ek <Karin.Ek@Example.net>"
    )
    assert found.reply_to == Address("Karin Ek", "karin.ek@example.net")
    assert found.name == "Karin Ek"
    assert not found.anonymous


def test_reply_to_wins_over_from():
    found = contact(
        "Svara gärna till min privata adress.",
        sender="Karin Ek <karin.ek@foretaget.example>",
        headers={"Reply-To": "Karin Ek privat <karin.privat@example.org>"},
    )
    assert found.reply_to is not None
    assert found.reply_to.address == "karin.privat@example.org"
    assert not found.anonymous


def test_demo_signature_gives_phone_and_postal_address():
    found = find_contact(
        parse_message((DEMO_DIR / "01-kontaktcenter-snorojning.eml").read_bytes()),
        ["kontaktcenter@exempel.se", "anna.berg@exempel.se"],
    )
    assert found.reply_to == Address("Göran Sjöberg", "goran.sjoberg@telia.com")
    assert found.phone == "070-174 06 12"
    assert found.postal is not None
    assert "123 45 Exempelby" in found.postal


# --------------------------------------------------------------------------- web forms


@pytest.mark.parametrize(
    "address",
    [
        "noreply@e-tjanst.testby.se",
        "no-reply@kommun.example",
        "do-not-reply@kommun.example",
        "donotreply@kommun.example",
        "svara-ej@kommun.example",
        "ej.svar@kommun.example",
        "webform@kommun.example",
    ],
)
def test_no_reply_addresses(address: str):
    assert is_no_reply(address)


@pytest.mark.parametrize(
    "address", ["karin.ek@example.net", "noreen@example.net", "svar@kommun.example"]
)
def test_ordinary_addresses_are_not_no_reply(address: str):
    assert not is_no_reply(address)


def test_gateway_with_empty_form_fields_is_anonymous():
    body = (
        "Ärendetyp: Klagomål\n"
        "Verksamhet: Äldreomsorg\n"
        "Namn: \n"
        "E-post: \n"
        "Telefon: \n"
        "Meddelande: Personalen kommer tre timmar för sent varje morgon.\n"
    )
    found = gateway(body)
    assert found.reply_to is None
    assert found.phone is None
    assert found.postal is None
    assert found.name is None
    assert found.anonymous


@pytest.mark.parametrize(
    ("source", "own"),
    [
        (DEMO_DIR / "07-kontaktcenter-anonymt-hemtjanst.eml", ("kontaktcenter@exempel.se",)),
        (EML_DIR / "27_webform_anonymous.eml", ("kontaktcenter@exempel.se",)),
    ],
    ids=["demo-07", "corpus-27"],
)
def test_real_anonymous_web_forms(source: Path, own: tuple[str, ...]):
    found = find_contact(parse_message(source.read_bytes()), own)
    assert found.reply_to is None
    assert found.anonymous


def test_gateway_with_contact_fields_replies_to_the_form_address():
    body = (
        "Ärendetyp: Synpunkt\n"
        "Namn: Maria Öberg\n"
        "E-post: Maria.Oberg@Example.com\n"
        "Telefon: 070-123 45 67\n"
        "Meddelande: Det finns bara en parkeringsplats för rörelsehindrade vid simhallen.\n"
    )
    found = gateway(body)
    assert found.reply_to == Address("Maria Öberg", "maria.oberg@example.com")
    assert found.name == "Maria Öberg"
    assert found.phone == "070-123 45 67"
    assert not found.anonymous


def test_gateway_with_only_a_phone_number_is_not_anonymous():
    body = "Namn: \nE-post: \nTelefon: 08-123 456 78\nMeddelande: Gatlyktan är trasig.\n"
    found = gateway(body)
    assert found.reply_to is None
    assert found.phone == "08-123 456 78"
    assert not found.anonymous


def test_real_web_form_with_contact_fields():
    found = find_contact(
        parse_message((EML_DIR / "28_webform_contact.eml").read_bytes()),
        ["kontaktcenter@exempel.se"],
    )
    assert found.reply_to is not None
    assert found.reply_to.address == "maria.oberg@example.com"
    assert found.name == "Maria Öberg"
    assert found.phone == "070-123 45 67"
    assert not found.anonymous


# --------------------------------------------------------------------------- phone numbers


@pytest.mark.parametrize(
    "personnummer",
    [
        "19450312-1234",
        "450312-1234",
        "194503121234",
        "4503121234",
        "450312+1234",
        "20020312-1234",
        "020312-1234",
        "450372-1234",  # samordningsnummer
    ],
)
def test_personnummer_is_never_the_phone_number(personnummer: str):
    found = gateway(f"Namn: Karl Berg\nMeddelande: Mitt personnummer är {personnummer}, tack.")
    assert found.phone is None
    assert found.anonymous  # a personnummer is no way of reaching anyone

    in_signature = contact(f"Hej!\n\nSnön är inte plogad.\n\nKarl Berg\nPnr {personnummer}\n")
    assert in_signature.phone is None


def test_personnummer_next_to_a_phone_number_gives_the_phone_number():
    found = contact("Karl Berg\nPersonnummer: 19450312-1234\nTelefon: 070-123 45 67\n")
    assert found.phone == "070-123 45 67"
    found = contact("Karl Berg\nTelefon: 070-123 45 67\nPersonnummer: 450312-1234\n")
    assert found.phone == "070-123 45 67"


@pytest.mark.parametrize(
    "phone", ["070-123 45 67", "+46 70 123 45 67", "08-123 456 78", "0046 70 123 45 67"]
)
def test_swedish_phone_number_in_signature(phone: str):
    body = f"Hej!\n\nSnön är inte plogad på Björkvägen.\n\nMed vänlig hälsning\nKarl Berg\nTel. {phone}\n"
    found = gateway(body)
    assert found.phone == phone
    assert not found.anonymous


def test_phone_number_spacing_is_normalised():
    assert contact("Ring mig på 070-123\t45 67 efter fem.").phone == "070-123 45 67"


def test_dates_and_diary_numbers_are_not_phone_numbers():
    found = contact("Ärendet KS 2026/17 från 2026-11-23 kostade 1 250 kr.", sender=GATEWAY)
    assert found.phone is None


# --------------------------------------------------------------------------- addresses in the text


def test_own_addresses_in_the_text_are_ignored():
    body = (
        "Namn: \nE-post: \nTelefon: \n"
        "Meddelande: Jag har skrivit till Kontakt@testby.se och anna@testby.se utan svar.\n"
    )
    found = gateway(body)
    assert found.emails_in_text == ()
    assert found.reply_to is None
    assert found.anonymous


def test_other_addresses_in_the_text_are_found():
    body = "Meddelande: Svara till min dotter lena.ek@example.org, inte till kontakt@testby.se."
    found = gateway(body)
    assert found.emails_in_text == ("lena.ek@example.org",)
    assert found.reply_to is not None
    assert found.reply_to.address == "lena.ek@example.org"


def test_own_address_as_sender_is_not_a_reply_address():
    found = contact("Vidarebefordrat utan text.", sender="Kontaktcenter <kontakt@testby.se>")
    assert found.reply_to is None


def test_postal_address_counts_as_contact():
    body = (
        "Namn: \nE-post: \nTelefon: \n"
        "Meddelande: Gatlyktan utanför mitt hus är trasig.\n\nStorgatan 1, 123 45 Exempelby\n"
    )
    found = gateway(body)
    assert found.reply_to is None
    assert found.phone is None
    assert found.postal is not None
    assert "123 45 Exempelby" in found.postal
    assert not found.anonymous


def test_postal_address_form_field():
    body = "Namn: Karl Berg\nAdress: Storgatan 1, 123 45 Exempelby\nMeddelande: Trasig lykta."
    found = gateway(body)
    assert found.postal == "Storgatan 1, 123 45 Exempelby"
    assert not found.anonymous


# --------------------------------------------------------------------------- form fields


def test_form_fields_message_runs_to_the_end():
    text = (
        "Ärendetyp: Klagomål\n"
        "Namn: Karl Berg\n"
        "E-post: karl@example.net\n"
        "Telefon: 070-123 45 67\n"
        "Meddelande: Första raden.\n"
        "Namn: det här är en del av meddelandet\n"
        "\n"
        "Sista raden.\n"
        "Inskickat: 2026-11-23 08:00\n"
    )
    fields = form_fields(text)
    assert fields["ärendetyp"] == "Klagomål"
    assert fields["namn"] == "Karl Berg"
    assert fields["epost"] == "karl@example.net"
    assert fields["telefon"] == "070-123 45 67"
    assert fields["meddelande"] == (
        "Första raden.\nNamn: det här är en del av meddelandet\n\nSista raden.\n"
        "Inskickat: 2026-11-23 08:00"
    )


def test_form_fields_accept_other_spellings():
    fields = form_fields("Name: Karl\nEmail: k@example.net\nMobil: 070-1\nMessage: hej\nhopp")
    assert fields == {
        "namn": "Karl",
        "epost": "k@example.net",
        "telefon": "070-1",
        "meddelande": "hej\nhopp",
    }


def test_form_fields_empty_values_and_no_form():
    assert form_fields("Namn:\nE-post:\nMeddelande: x") == {
        "namn": "",
        "epost": "",
        "meddelande": "x",
    }
    assert form_fields("Hej! Snön är inte plogad.\nMvh Karl") == {}
