"""Tests for :mod:`postvakt.privacy` and the log redaction in :mod:`postvakt.logs`."""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator

import pytest

from postvakt.logs import RedactingFilter, redact
from postvakt.privacy import PERSONNUMMER, has_personnummer, mask_personnummer

MASK = "ÅÅMMDD-XXXX"

PERSONNUMMER_FORMS = [
    "19450312-1234",  # with century and hyphen
    "450312-1234",  # without century
    "194503121234",  # twelve digits
    "4503121234",  # ten digits
    "450312+1234",  # over 100 years old
    "19450312+1234",
    "20020312-1234",
    "020312-1234",
    "450372-1234",  # samordningsnummer: day 12 + 60
    "19450372-1234",
    "194503721234",
    "19450391-1234",  # samordningsnummer on the 31st
    "19451231-9876",
]

NOT_PERSONNUMMER = [
    "KS 2026/17",
    "Dnr KS 2026/0017",
    "KS-2026-0017",
    "2026-11-23",
    "20261123",
    "2026-11-23 10:15",
    "23/11 2026",
    "070-123 45 67",
    "+46 70 123 45 67",
    "08-123 456 78",
    "0046 70 123 45 67",
    "010-123 45 67",
    "700 kr",
    "12 500 kr",
    "1 234 567,50 kr",
    "2450000 kronor",
    "Fakturanummer 4711",
    "Bankgiro 123-4567",
    "123 45 Exempelby",
    "19451332-1234",  # month 13 does not exist
    "450332-1234",  # day 32 is neither a day nor a samordningsnummer
]


@pytest.mark.parametrize("number", PERSONNUMMER_FORMS)
def test_personnummer_forms_are_masked(number: str):
    text = f"Mitt personnummer är {number}, ring mig på 070-123 45 67."
    masked = mask_personnummer(text)
    assert number not in masked
    assert masked == f"Mitt personnummer är {MASK}, ring mig på 070-123 45 67."
    assert has_personnummer(text)
    assert not has_personnummer(masked)


@pytest.mark.parametrize("number", PERSONNUMMER_FORMS)
def test_personnummer_masked_wherever_it_stands(number: str):
    for text in (number, f"pnr:{number}", f"({number})", f"{number}.", f"Pnr {number}\n"):
        assert number not in mask_personnummer(text)


@pytest.mark.parametrize("text", NOT_PERSONNUMMER)
def test_other_numbers_are_not_masked(text: str):
    sentence = f"Ärendet gäller {text} enligt brevet."
    assert mask_personnummer(sentence) == sentence
    assert not has_personnummer(sentence)
    assert PERSONNUMMER.search(sentence) is None


def test_several_personnummer_in_one_text():
    text = "Mamma 19300101-1234 och pappa 280202-5678 bor på Storgatan 1, 123 45 Exempelby."
    assert mask_personnummer(text) == (
        f"Mamma {MASK} och pappa {MASK} bor på Storgatan 1, 123 45 Exempelby."
    )


def test_redact_masks_personnummer_and_secrets():
    assert redact("login user=kontakt password=hemligt123 ok") == (
        "login user=kontakt password=*** ok"
    )
    assert redact("Lösenord: sommar2026") == "Lösenord: ***"
    assert redact("token=abc.def.ghi") == "token=***"
    assert redact("ärende 19450312-1234 password=secret") == f"ärende {MASK} password=***"
    assert redact("KS 2026/17 registrerat 2026-11-23") == "KS 2026/17 registrerat 2026-11-23"


@pytest.mark.parametrize(
    "header",
    [
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0",
        "Authorization: Basic a29udGFrdDpoZW1saWd0",
    ],
)
def test_redact_masks_the_credential_of_an_authorization_header(header: str):
    credential = header.rsplit(" ", 1)[1]
    redacted = redact(f"EWS svarade 401 på begäran med {header}")
    assert credential not in redacted
    assert redacted.startswith("EWS svarade 401 på begäran med Authorization:")


# --------------------------------------------------------------------------- the logging filter


class Collect(logging.Handler):
    """Keeps every formatted record, as a stream handler would write it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, Collect]]:
    """A parent logger with a redacting handler, as ``configure_logging`` sets up for
    'postvakt', and a child logger that logs through it."""
    name = f"postvakt_privacy_test_{uuid.uuid4().hex}"
    parent = logging.getLogger(name)
    handler = Collect()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    parent.handlers[:] = [handler]
    parent.setLevel(logging.DEBUG)
    parent.propagate = False
    try:
        yield logging.getLogger(f"{name}.intake"), handler
    finally:
        parent.handlers.clear()


@pytest.mark.parametrize("number", PERSONNUMMER_FORMS)
def test_log_message_never_carries_a_personnummer(logged, number: str):
    log, handler = logged
    log.info("ärende med personnummer %s registrerat som KS 2026/17", number)
    log.warning(f"direkt i texten: {number}")
    log.error("som dict: %(pnr)s", {"pnr": number})

    assert len(handler.lines) == 3
    assert number not in handler.text
    assert handler.text.count(MASK) == 3
    assert "KS 2026/17" in handler.text


def test_exception_traceback_never_carries_a_personnummer(logged):
    log, handler = logged
    try:
        try:
            raise KeyError("19450312-1234")
        except KeyError as inner:
            raise ValueError("kunde inte tolka 450312-1234 i ärende KS 2026/17") from inner
    except ValueError:
        log.exception("fel vid inläsning av 194503121234")

    assert "Traceback (most recent call last)" in handler.text
    assert "ValueError" in handler.text
    assert "KeyError" in handler.text
    for number in ("19450312-1234", "450312-1234", "194503121234"):
        assert number not in handler.text
    assert "KS 2026/17" in handler.text


def test_exception_already_formatted_elsewhere_is_still_redacted(logged):
    log, handler = logged
    try:
        raise RuntimeError("personnummer 19450312-1234")
    except RuntimeError:
        record = log.makeRecord(
            log.name, logging.ERROR, __file__, 0, "misslyckades", None, sys.exc_info()
        )
    # Another handler formatted the record first and cached exc_text unredacted.
    record.exc_text = logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
    assert "19450312-1234" in record.exc_text
    log.handle(record)

    assert handler.lines
    assert "19450312-1234" not in handler.text
    assert "RuntimeError" in handler.text


def test_log_masks_password(logged):
    log, handler = logged
    log.info("ansluter till imap.testby.se med password=secret")
    log.info("config %s", "password = secret2 user=kontakt")

    assert "secret" not in handler.text
    assert "password=***" in handler.text
    assert "password = ***" in handler.text
    assert "user=kontakt" in handler.text


def test_clean_messages_pass_unchanged(logged):
    log, handler = logged
    log.info("hämtade %d meddelanden från %s", 3, "kontakt@testby.se")
    assert handler.lines[0].endswith("hämtade 3 meddelanden från kontakt@testby.se")
