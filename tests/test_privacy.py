"""Tests for :mod:`postvakt.privacy` and the log redaction in :mod:`postvakt.logs`."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from postvakt.clock import STOCKHOLM
from postvakt.logs import RedactingFilter, redact
from postvakt.privacy import EMAIL_ADDRESS, PERSONNUMMER, has_personnummer, mask_personnummer
from postvakt.service import Service

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
    "450312 1234",  # a space instead of the hyphen
    "19450312 1234",
    "450312 - 1234",  # spaces around the hyphen
    "450312- 1234",
    "450312 +1234",
    "450372 1234",  # samordningsnummer with a space
    "450312 -1234",
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
    log.info("hämtade %d meddelanden i brevlåda %d, ärende %s", 3, 2, "KS 2026/17")
    assert handler.lines[0].endswith("hämtade 3 meddelanden i brevlåda 2, ärende KS 2026/17")


# --------------------------------------------------------------- addresses and exceptions


def test_addresses_are_masked_from_info_up_and_kept_at_debug(logged):
    log, handler = logged
    log.debug("läser meddelande från %s", "goran.sjoberg@telia.com")
    log.info("svar till <goran.sjoberg@telia.com>, kopia till åsa@räksmörgås.se")
    log.warning("Message-ID <CAF1x2@mail.gmail.com> fanns redan")

    debug, info, warning = handler.lines
    assert "goran.sjoberg@telia.com" in debug
    assert "telia.com" not in info and "räksmörgås" not in info
    assert info.endswith("svar till <[e-post]>, kopia till [e-post]")
    assert "gmail" not in warning


def test_an_address_the_config_knows_is_named_by_its_config_key(tmp_path):
    from postvakt.config import load_config
    from postvakt.demo import DEMO_CONFIG
    from postvakt.logs import address_labels

    path = tmp_path / "postvakt.toml"
    path.write_text(DEMO_CONFIG, encoding="utf-8")
    labels = address_labels(load_config(path))
    assert labels == {
        "registrator@exempel.se": "organisation.registrar",
        "lena.chef@exempel.se": "people[1]",
        "kontaktcenter@exempel.se": "mailboxes[0] (Kontaktcenter)",
        "anna.berg@exempel.se": "mailboxes[1]",  # a personal mailbox's name is a person's
    }
    text = redact(
        "IDLE on Kontaktcenter@exempel.se: bröts; sagt till lena.chef@exempel.se, inte x@y.se",
        addresses=True,
        labels=labels,
    )
    assert text == "IDLE on mailboxes[0] (Kontaktcenter): bröts; sagt till people[1], inte [e-post]"


def test_an_exception_given_as_an_argument_is_told_without_its_text(logged):
    from postvakt.errors import UnavailableError

    log, handler = logged
    foreign = KeyError("Göran Sjöberg <goran.sjoberg@telia.com>")
    own = UnavailableError(
        "förbindelsen bröts (IMAPClientError: APPEND command error: BAD [b'Subject: Snöröjningen'])",
        mailbox="kontaktcenter@exempel.se",
    )
    log.error("brevlåda 1: %s", foreign)
    log.error("brevlåda 1: %(fel)s", {"fel": own})
    log.debug("brevlåda 1: %s", foreign)

    error_foreign, error_own, debug = handler.lines
    assert error_foreign.endswith("brevlåda 1: KeyError")
    assert "Sjöberg" not in error_foreign and "goran" not in error_foreign
    assert "UnavailableError: [e-post]: förbindelsen bröts" in error_own
    assert "Snöröjningen" not in error_own and "BAD [b'…']" in error_own
    assert "Göran Sjöberg" in debug  # DEBUG keeps the whole text


def test_a_traceback_above_debug_keeps_its_frames_but_not_a_foreign_text(logged):
    from postvakt.errors import NotFoundError

    log, handler = logged
    subject = "Snöröjningen på Björkvägen"
    try:
        try:
            {}[subject]
        except KeyError as exc:
            raise NotFoundError("Ärendet KS 2026/17 finns inte.") from exc
    except NotFoundError:
        log.exception("misslyckades")
        log.debug("misslyckades", exc_info=True)

    error, debug = handler.lines
    assert "Traceback (most recent call last)" in error and "test_privacy.py" in error
    assert "KeyError" in error and "NotFoundError: Ärendet KS 2026/17 finns inte." in error
    assert f"KeyError: '{subject}'" not in error
    assert f"KeyError: '{subject}'" in debug


def test_a_database_error_is_told_by_its_kind_not_its_row(tmp_path):
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import IntegrityError

    from postvakt.logs import describe

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (address TEXT UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES (:a)"), {"a": "goran.sjoberg@telia.com"})
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (:a)"), {"a": "goran.sjoberg@telia.com"})
    assert "goran.sjoberg@telia.com" in str(raised.value)  # what a driver's error carries
    told = describe(raised.value)
    assert told.startswith("IntegrityError (IntegrityError")
    assert "goran" not in told and "telia" not in told


def test_oidc_codes_in_an_access_log_line_are_masked(logged):
    log, handler = logged
    log.info('127.0.0.1:5000 - "GET /logga-in/oidc/klar?code=abc123&state=xyz HTTP/1.1" 303')
    assert "abc123" not in handler.text and "xyz" not in handler.text
    assert "code=***&state=***" in handler.text


def test_masking_is_linear_on_hostile_text():
    import time

    from postvakt.privacy import mask_addresses

    shapes = ["a" * 200_000, "a@" * 100_000, "a." * 100_000 + "@", "1" * 200_000, "@a-" * 70_000]
    started = time.perf_counter()
    for text in shapes:
        assert mask_addresses(mask_personnummer(text)) == text
    assert time.perf_counter() - started < 10  # linear: about 0.1 s; quadratic: hours


# ------------------------------------------------- whole runs: the demo, a failing database,
# hostile messages — everything logged at DEBUG and above is captured, as Postvakt's own
# handler writes it; nothing at INFO and above may name a sender, a subject or a number.

_RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.MULTILINE
)
RUN_AT = datetime(2026, 11, 30, 10, 0, tzinfo=STOCKHOLM)

# Hand-made hostile mail: line breaks in a name, an internationalised domain, a UTF-8 local
# part, personnummer in subjects and bodies in every form, format characters, broken MIME.
HOSTILE = [
    b"From: =?utf-8?Q?Kalle=0D=0A_Ankeborgsson?= <kalle.ankeborgsson@example.org>\r\n"
    b"To: kontaktcenter@exempel.se\r\n"
    b"Subject: =?utf-8?Q?Klagom=C3=A5l_p=C3=A5_hemtj=C3=A4nsten_f=C3=B6r_19450312-1234?=\r\n"
    b"Message-ID: <hostile-1@example.org>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Jag vill klaga p\xc3\xa5 hemtj\xc3\xa4nsten. Min mamma har personnummer 450312-1234 och "
    b"samordningsnummer 450372 1234. Personalen kommer aldrig i tid, det \xc3\xa4r "
    b"oacceptabelt.\r\n",
    # Two complaints from addresses no header can carry as they are: an internationalised
    # domain (written as punycode) and a UTF-8 local part (a letter without To:, for review).
    "From: Åsa Räksmörgås <asa@räksmörgås.se>\r\nTo: kontaktcenter@exempel.se\r\n"
    "Subject: Klagomål om parkeringen vid Räksmörgåsvägen 4503121234\r\n"
    "Message-ID: <hostile-2@räksmörgås.se>\r\nDate: Mon, 23 Nov 2026 09:05:00 +0100\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Jag är mycket missnöjd med parkeringen, den är dålig och ingen bryr sig. Jag vill klaga. "
    "Mitt personnummer är 194503121234.\r\n".encode(),
    '"Örjan Ölundsson" <örjan.ölundsson@exempel.nu>\r\n'.join(
        ["From: ", "To: kontaktcenter@exempel.se\r\n"]
    ).encode()
    + "Subject: 100 % missnöjd med %s och %(namn)s i hemtjänsten, 450312+1234\r\n"
    "Date: Mon, 23 Nov 2026 09:10:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Jag klagar på bemötandet i hemtjänsten, det är oacceptabelt. Personnummer 19450312 1234."
    "\r\n".encode(),
    b"From: Gunnel Gr\xc3\xa4vlingsson <gunnel.gravlingsson@example.net>\r\n"
    b"To: anna.berg@exempel.se\r\nSubject: Trasig bilaga om snor\xc3\xb6jningen 450312 - 1234\r\n"
    b"Message-ID: <hostile-4@example.net>\r\nDate: Mon, 23 Nov 2026 09:15:00 +0100\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"S2xhZ29tw6VsOiBzbsO2csO2am5pbmdlbiDDpHIgZMOlbGln!!!\x00\x00\r\n--b\r\n"
    b'Content-Type: application/pdf; name="19450312-1234.pdf"\r\n\r\n\x00\x01\x02\r\n',
    b"From: =?utf-8?B?QmVydGlsIEJyw6Rja2VzdGFk?= <bertil.brackestad@example.com>\r\n"
    b"Reply-To: =?utf-8?Q?Bertil=0ABr=C3=A4ckestad?= <bertil.brackestad@example.com>\r\n"
    b"To: kontaktcenter@exempel.se\r\nSubject: =?utf-8?Q?Synpunkt=0D=0ABcc:_x@evil.example?=\r\n"
    b"Date: Mon, 23 Nov 2026 09:20:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Jag tycker att biblioteket borde ha \xc3\xb6ppet l\xc3\xa4ngre, det vore bra.\r\n",
]


@dataclass
class Captured:
    """What Postvakt's log handler wrote, split by level."""

    text: str

    def records(self) -> list[tuple[str, str]]:
        starts = list(_RECORD.finditer(self.text))
        before = self.text[: starts[0].start()] if starts else self.text
        out = [("UNKNOWN", before)] if before.strip() else []
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(self.text)
            out.append((match.group(1), self.text[match.start() : end]))
        return out

    @property
    def debug(self) -> str:
        return "".join(text for level, text in self.records() if level == "DEBUG")

    @property
    def above_debug(self) -> str:
        return "".join(text for level, text in self.records() if level != "DEBUG")


@pytest.fixture
def production_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], Captured]]:
    """Postvakt's own logging set-up, with every logger (libraries too) at DEBUG."""
    from postvakt.logs import configure_logging

    root, own = logging.getLogger(), logging.getLogger("postvakt")
    sqlalchemy = logging.getLogger("sqlalchemy")  # which sets itself to WARNING on import
    saved = (root.handlers[:], root.level, own.handlers[:], own.level, own.propagate)
    saved_sqlalchemy = sqlalchemy.level
    capsys.readouterr()
    configure_logging("DEBUG")
    root.setLevel(logging.DEBUG)
    sqlalchemy.setLevel(logging.DEBUG)  # statements at INFO, rows at DEBUG
    try:
        yield lambda: Captured(capsys.readouterr().err)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        own.handlers[:], own.level, own.propagate = saved[2], saved[3], saved[4]
        sqlalchemy.setLevel(saved_sqlalchemy)


MACHINES = ("noreply@", "mailer-daemon@", "nyhetsbrev@")  # senders that are no person


@dataclass(frozen=True)
class Needles:
    texts: frozenset[str]
    """Addresses, subjects and numbers: looked for anywhere, in any case."""
    words: frozenset[str]
    """Parts of names: looked for as whole words."""

    def found_in(self, text: str) -> list[str]:
        lower = text.lower()
        found = [t for t in self.texts if t.lower() in lower]
        return found + [w for w in self.words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]


def _personal_data(messages: list[bytes]) -> Needles:
    """Every sender address, sender name, subject and personnummer in ``messages``."""
    from postvakt.mailbox.message import parse_message

    texts: set[str] = set()
    words: set[str] = set()
    for raw in messages:
        msg = parse_message(raw)
        for person in (msg.sender, *msg.reply_to):
            if person is not None and not person.address.startswith(MACHINES):
                texts.update({person.address, person.address.partition("@")[0]})
                name = " ".join(person.name.split())
                if name:
                    texts.add(name)
                    words.update(w for w in re.split(r"[\s,]+", name) if len(w) > 2)
        if msg.subject.strip():
            texts.add(msg.subject.strip())
        for text in (msg.subject, msg.body_text):
            for number in PERSONNUMMER.finditer(text):
                digits = re.sub(r"\D", "", number.group())
                texts.update({number.group(), digits, digits[-10:]})
    return Needles(frozenset(texts - {""}), frozenset(words))


def _assert_nothing_personal(captured: Captured, needles: Needles) -> None:
    leaks = needles.found_in(captured.above_debug)
    assert not leaks, f"logged above DEBUG: {leaks}\n{captured.above_debug[:3000]}"
    addresses = EMAIL_ADDRESS.findall(captured.above_debug)
    assert not addresses, f"an address above DEBUG: {addresses}"
    assert not PERSONNUMMER.search(captured.above_debug)


def _demo_messages() -> list[bytes]:
    from postvakt.demo import _sample_messages

    return [raw for _name, raw in _sample_messages()]


def test_a_whole_demo_logs_no_sender_subject_or_number(production_logs, tmp_path):
    from postvakt.demo import run_demo

    assert run_demo(tmp_path / "demo") == 0
    captured = production_logs()

    needles = _personal_data(_demo_messages())
    assert {"goran.sjoberg@telia.com", "Snöröjningen på Björkvägen"} <= needles.texts
    assert {"Göran", "Sjöberg", "Aoife"} <= needles.words
    assert "goran.sjoberg@telia.com" in captured.debug  # the capture saw the rows at DEBUG
    _assert_nothing_personal(captured, needles)


def _demo_service(tmp_path: Path, db_url: str, extra: Sequence[bytes] = ()) -> Service:
    from postvakt.clock import fixed_clock
    from postvakt.config import load_config
    from postvakt.demo import build_demo
    from postvakt.mailbox.maildir import deliver

    path = build_demo(tmp_path / "demo")
    text = path.read_text(encoding="utf-8").replace("sqlite:///postvakt.db", db_url)
    path.write_text(text, encoding="utf-8")
    for i, raw in enumerate(extra):
        mailbox = "anna.berg" if b"To: anna.berg@" in raw else "kontaktcenter"
        deliver(tmp_path / "demo" / "mail" / mailbox, raw, name=f"hostile-{i}")
    return Service(load_config(path), clock=fixed_clock(RUN_AT))


def test_a_failing_database_logs_no_sender_subject_or_number(
    production_logs, tmp_path: Path, db_url: str
):
    """Every case insert is refused by the database, in words that quote the row (as a
    PostgreSQL DETAIL line does): each message fails and is kept, and the log says which,
    by ids and the kind of error only."""
    from sqlalchemy import text

    with _demo_service(tmp_path, db_url) as service:
        service.open()
        assert service.engine is not None
        with service.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION "
                        "'refused % % %', NEW.sender_address, NEW.sender_name, NEW.subject; "
                        "END $$ LANGUAGE plpgsql"
                    )
                )
                connection.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON cases "
                        "FOR EACH ROW EXECUTE FUNCTION refuse()"
                    )
                )
            else:
                connection.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON cases "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                    )
                )
        report = service.run_once()
    captured = production_logs()

    failed = [o for o in report.outcomes if o.disposition.value == "failed"]
    assert len(failed) >= 7  # every message that would have been a case
    errors = [t for level, t in captured.records() if level == "ERROR"]
    assert len(errors) >= len(failed)
    assert all(re.search(r"failed \((IntegrityError|ProgrammingError) \(", t) for t in errors)
    if db_url.startswith("postgresql"):  # the refusal's words name her, at DEBUG only
        assert "ingrid.wallen@outlook.com" in captured.debug
        assert "RaiseException, P0001" in captured.above_debug
    else:
        assert "SQLITE_CONSTRAINT_TRIGGER" in captured.above_debug
    _assert_nothing_personal(captured, _personal_data(_demo_messages()))


def test_hostile_messages_log_no_sender_subject_or_number(production_logs, tmp_path: Path):
    from sqlalchemy import select

    from postvakt.registry.models import Case

    with _demo_service(tmp_path, f"sqlite:///{tmp_path / 'hostile.db'}", HOSTILE) as service:
        service.open()
        report = service.run_once()
        assert service.sessions is not None
        with service.sessions() as session:
            checked = list(session.scalars(select(Case).where(Case.address_check.is_(True))))
    captured = production_logs()

    hostile = {o.key: o.case for o in report.outcomes if o.key.startswith("hostile-")}
    assert len(hostile) == len(HOSTILE) and all(hostile.values())  # each one is a case
    assert [c.sender_address for c in checked] == ["örjan.ölundsson@exempel.nu"]
    needles = _personal_data(HOSTILE + _demo_messages())
    assert {"asa@räksmörgås.se", "450312+1234", "4503121234"} <= needles.texts
    assert {"Ankeborgsson", "Örjan", "Bräckestad"} <= needles.words
    assert "kalle.ankeborgsson@example.org" in captured.debug
    _assert_nothing_personal(captured, needles)
