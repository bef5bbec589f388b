"""Every letter in every language it is shipped in, laid out by LibreOffice and read back with
pdftotext, checked for what readers notice: a template tag left, an address written twice, a
Swedish word in an English letter, an opinion or praise promised that what went wrong is put
right, "1 saker"; the e-mail that carries it ("Svar finns bifogat"); and the intake choosing
English letters for English mail and thanks for praise."""

from __future__ import annotations

import re
import subprocess
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.compilation.word import compilation_docx
from postvakt.config import Config, load_config
from postvakt.privacy import EMAIL_ADDRESS
from postvakt.registry.models import Case, CaseKind, CaseStatus, Mailbox, Unit
from postvakt.registry.report import AnnualReport, Entry, Row, UnitReport
from postvakt.service import Service
from postvakt.templates import LETTERS, LetterRenderer
from postvakt.templates.casework import CaseLetters, RenderedLetter, swedish_date
from postvakt.wording import count
from tests.support.workspace import Workspace, citizen_mail, make_workspace

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
DUE = date(2026, 11, 30)
SWEDISH_WORDS = {"och", "att", "det", "är", "vi", "du", "ditt", "dina", "senast", "för", "på",
                 "med", "har", "den", "om", "svar", "ärendet", "diarienummer", "hälsning",
                 "tack", "telefon", "datum", "inte", "nöjd", "av", "till"}  # fmt: skip
PROPER_NAMES = {"testby", "kommun", "kontaktcenter", "kommunledningen"}
"""Words of names, the same in an English letter."""


def case(kind: str = "complaint", *, language: str | None = None, praise: bool = False) -> Case:
    """A case as the registry holds it (not stored): a citizen whose mail program gave their
    address as their name, the kind of slip that wrote an address twice."""
    unit = Unit(name="Kontaktcenter", head="chef@testby.se")
    mailbox = Mailbox(address="kontakt@testby.se", name="Kontaktcenter", kind="function")
    summary = "Snöröjningen på Björkvägen" if language is None else "Snow on Björkvägen"
    return Case(
        reference="KS 2026/17",
        number="KS 2026/17",
        year=2026,
        seq=17,
        kind=CaseKind(kind),
        status=CaseStatus.REGISTERED,
        heading=f"Synpunkter och klagomål – {summary}",
        summary=summary,
        channel="email",
        anonymous=False,
        sender_name="karin.ek@example.net",
        sender_address="karin.ek@example.net",
        handler="anna@testby.se",
        received_at=datetime(2026, 11, 20, 9, 0, tzinfo=STOCKHOLM),
        registered_at=datetime(2026, 11, 20, 9, 5, tzinfo=STOCKHOLM),
        answer_due=DUE,
        language=language,
        classifier_flags=["praise"] if praise else [],
        unit=unit,
        mailbox=mailbox,
    )


# What each caller gives each letter (see casework.py, casework_forward.py, intake, care.py),
# with names that are only addresses wherever a caller may give one.
Values = Callable[[CaseLetters, Case], dict[str, Any]]
SAMPLES: dict[str, Values] = {
    "acknowledgment": lambda lt, c: {
        **lt.citizen(c), "answer_due": swedish_date(DUE), "summary": c.summary,
    },
    "acknowledgment_care": lambda lt, c: {**lt.citizen(c), "answer_due": swedish_date(DUE)},
    "answer": lambda lt, c: {
        **lt.citizen(c),
        "answer_text": "We clear the snow today." if c.language else "Vi plogar i dag.",
        "actions": "The route is changed." if c.language else "Rutten ändrad.",
    },
    "handover": lambda lt, c: {
        "handler": "anna@testby.se", **lt.citizen(c), "to_unit": "bygg@grannby.se",
        "to_contact": "bygg@grannby.se", "new_handler": "",
    },
    "new_review": lambda lt, c: {
        **lt.citizen(c), "reviewer_name": "kd@testby.se", "reviewer_title": "",
        "answer_due": swedish_date(DUE), "handler_name": "kd@testby.se",
        "handler_title": "", "handler_email": "kd@testby.se",
    },
    "cover": lambda lt, c: {
        "handler": "per@testby.se", "recipient_name": "bygg@grannby.se", "heading": c.heading,
        "kind_text": "Klagomål", "received_date": "20 november 2026",
        "answer_due": swedish_date(DUE), "sender": "Karin Ek <karin.ek@example.net>",
        "message": "Snön ligger kvar.", "reply_to": "per@testby.se",
        "reply_name": "per@testby.se", "attached": "ärendekortet",
        "handler_email": "per@testby.se",
    },
    "case_card": lambda lt, c: {
        "heading": c.heading, "kind_text": "Klagomål", "received_at": "2026-11-20 09:00",
        "registered_at": "2026-11-20 09:05", "channel": "e-post",
        "sender": "karin.ek@example.net <karin.ek@example.net>", "contact": "",
        "subject": "Snön", "mailbox": "kontakt@testby.se", "answer_due": swedish_date(DUE),
        "individual_care": "Nej", "message_id": "<a@example.net>", "summary": c.summary,
    },
}  # fmt: skip
VARIANTS = {
    "acknowledgment": ("complaint", "opinion", "praise"),
    "answer": ("complaint", "praise"),
}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return make_workspace(tmp_path_factory.mktemp("letters")).config


def pdf_texts(files: list[Path]) -> dict[str, str]:
    """Each .docx as LibreOffice lays it out, read back from the PDF with pdftotext."""
    out = Path(tempfile.mkdtemp())
    subprocess.run(
        ["libreoffice", "--headless", f"-env:UserInstallation=file://{out}/profile",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, files)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    texts = {}
    for path in files:
        pdf = out / f"{path.stem}.pdf"
        raw = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True)
        texts[path.stem] = unicodedata.normalize("NFKC", raw.stdout.decode("utf-8"))
    return texts


def rendered(config: Config, tmp_path: Path) -> dict[str, tuple[RenderedLetter | None, Path]]:
    """Every letter in every language and kind, written to ``tmp_path``."""
    letters = CaseLetters(config, LetterRenderer())
    out: dict[str, tuple[RenderedLetter | None, Path]] = {}
    for name, letter in LETTERS.items():
        if name == "compilation":
            continue
        assert name in SAMPLES, f"the new letter {name!r} needs sample values in this test"
        for language in letter.languages:
            for kind in VARIANTS.get(name, ("complaint",)):
                the_case = case(
                    "complaint" if kind == "complaint" else "opinion",
                    language=None if language == "sv" else language,
                    praise=kind == "praise",
                )
                values = SAMPLES[name](letters, the_case)
                handler = values.pop("handler", None)
                result = letters.render(name, the_case, NOW, handler=handler, **values)
                key = f"{name}-{language}-{kind}"
                path = tmp_path / f"{key}.docx"
                path.write_bytes(result.data)
                out[key] = (result, path)
    report = AnnualReport(2026, date(2027, 2, 15), [_compiled_unit()], NOW.date())
    path = tmp_path / "compilation-sv-complaint.docx"
    path.write_bytes(compilation_docx(LetterRenderer(), config, report, NOW, by="kd@testby.se"))
    out["compilation-sv-complaint"] = (None, path)
    return out


def _compiled_unit() -> UnitReport:
    answer = Entry(date(2026, 11, 21), "anna@testby.se", "Vi plogar i dag.")
    row = Row(
        number="KS 2026/17", kind="klagomål", concerned="Snöröjningen", answers=(answer,),
        measures=(), area="övrigt", received=date(2026, 11, 20), acknowledged=None,
        answered=date(2026, 11, 21), answer_due=DUE, in_time=None, days_to_answer=1,
        unit="Kontaktcenter", administration="Kommunledningen", not_yet_due=True,
    )  # fmt: skip
    return UnitReport(
        "Kontaktcenter", head="kd@testby.se", rows=[row], administration="Kontaktcenter"
    )


def test_every_letter_in_both_languages_reads_right(config: Config, tmp_path: Path) -> None:
    letters = rendered(config, tmp_path)
    citizen = [n for n, letter in LETTERS.items() if "en" in letter.languages]
    assert sorted(citizen) == sorted(
        ["acknowledgment", "acknowledgment_care", "answer", "handover", "new_review"]
    )
    texts = pdf_texts([path for _, path in letters.values()])
    assert len(texts) == len(letters)
    for key, text in texts.items():
        name, language, kind = key.split("-")
        flat = " ".join(text.split())
        assert "{{" not in text and "{%" not in text and "}}" not in text, key
        twice = [
            a for a, n in Counter(a.lower() for a in EMAIL_ADDRESS.findall(text)).items() if n > 1
        ]
        assert twice == [], f"{key}: written twice: {twice}"
        assert not re.search(r"\b1 (saker|ärenden|meddelanden|dagar|enheter)\b", flat), key
        assert not re.search(r", ,|\(\)|^\s*,", flat), f"{key}: an empty value left its commas"
        if language == "en":
            words = {w.strip(".,:;()!").lower() for w in flat.split()}
            assert words & SWEDISH_WORDS - PROPER_NAMES == set(), f"{key}: Swedish words"
            assert "Kind regards" in flat and "November 2026" in flat, key
        elif name != "compilation":
            assert "november 2026" in flat, key
        if name == "acknowledgment":
            promise = "rättas till" if language == "sv" else "put right"
            assert (promise in flat) == (kind == "complaint"), key
            if kind == "praise":
                assert ("vänliga ord" if language == "sv" else "kind words") in flat
            if kind == "opinion":
                considered = "tas med i arbetet" if language == "sv" else "taken into account"
                assert considered in flat, key


def test_the_mail_that_carries_a_letter_reads_right(config: Config, tmp_path: Path) -> None:
    letters = rendered(config, tmp_path)
    text = {key: r.text for key, (r, _) in letters.items() if r is not None}
    assert "Svar finns bifogat." in text["answer-sv-complaint"]  # ett svar
    assert "Mottagningsbekräftelse finns bifogad." in text["acknowledgment-sv-complaint"]
    assert "Överlämning finns bifogad." in text["handover-sv-complaint"]
    for key, body in text.items():
        assert "karin.ek@example.net" not in body, f"{key}: greets an address"
    assert text["acknowledgment-sv-complaint"].startswith("Hej!\n")
    english = text["acknowledgment-en-opinion"]
    assert english.startswith("Hello,\n") and "Kind regards" in english
    assert "by 30 November 2026 at the latest" in english
    assert "The letter (Answer) is attached." in text["answer-en-complaint"]
    assert "Tack för dina vänliga ord!" in text["acknowledgment-sv-praise"]
    assert "du får svar" not in text["acknowledgment-sv-praise"]
    names = {r.filename for r, _ in letters.values() if r is not None}
    assert "Acknowledgement KS 2026-17.docx" in names and "Svar KS 2026-17.docx" in names


def test_counts_are_printed_with_the_noun_in_the_right_number() -> None:
    assert [count(n, "sak", "saker") for n in (0, 1, 2)] == ["0 saker", "1 sak", "2 saker"]
    # Every f-string in the code that prints a count before a noun or participle goes through
    # count(), or is guarded by a comparison of that count nearby (… if n > 1 else "ett …").
    plural = (r"saker|ärenden|meddelanden|brevlådor|enheter|personer|aviseringar|"
              r"sammanfattningar|rättelser|visningar|frånvaror|dagar|arbetsdagar|sekunder|"
              r"minuter|rader|sparade|levererade|behandlade|misslyckade|påbörjade|"
              r"oförändrade|satta|olästa|nya|medborgare")  # fmt: skip
    pattern = re.compile(r"\{([^{}]+)\}\s+(" + plural + r")\b")
    src = Path(__file__).resolve().parents[2] / "src" / "postvakt"
    found = []
    for path in sorted(src.rglob("*.py")):
        if {"corpus", "demo_messages"} & set(path.parts):
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            for match in pattern.finditer(line if ('f"' in line or "f'" in line) else ""):
                value = match.group(1).strip()
                if "port" in value or "host" in value:  # '{host}:{port} avslutade …' is a verb
                    continue
                near = "\n".join(lines[max(0, i - 6) : i + 5])
                if re.search(re.escape(value) + r"\s*(==|!=|>=|<=|>|<)", near):
                    continue
                found.append(f"{path.relative_to(src)}:{i + 1}: {match.group(0)}")
    assert found == [], "counts printed without count():\n" + "\n".join(found)


# --------------------------------------------------------------------------- from the intake


def intake_workspace(tmp_path: Path) -> Workspace:
    ws = make_workspace(tmp_path / "ws")
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as service:
        service.run_once()  # the mailboxes are watched from now on
    return ws


def drafted(ws: Workspace, when: datetime, raw: bytes) -> str:
    """The text of the acknowledgment drafted for ``raw`` (its Word letter read back)."""
    import email
    import io
    from email import policy

    import docx

    before = set(ws.drafts())
    ws.deliver(raw, when=when)
    with Service(load_config(ws.config_path), clock=fixed_clock(when)).open() as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.case, outcome
    (new,) = set(ws.drafts()) - before
    message = email.message_from_bytes(new.read_bytes(), policy=policy.default)
    (part,) = list(message.iter_attachments())
    document = docx.Document(io.BytesIO(part.get_content()))
    body = message.get_body(("plain",)).get_content()
    return part.get_filename() + "\n" + body + "\n" + "\n".join(p.text for p in document.paragraphs)


def test_english_mail_gets_english_letters_and_praise_is_thanked(tmp_path: Path) -> None:
    ws = intake_workspace(tmp_path)
    when = datetime(2026, 11, 23, 11, 0, tzinfo=STOCKHOLM)
    english = drafted(
        ws,
        when,
        citizen_mail(
            "Hello,\n\nThe garbage at Ekvägen 7 has not been collected for two weeks and nobody "
            "answers the phone. The smell is terrible. This is not acceptable.\n\nAoife Brennan\n",
            subject="Garbage not collected again",
            sender="Aoife Brennan <aoife@example.net>",
            date=when,
        ),
    )
    assert english.startswith("Acknowledgement KS 2026/1".replace("/", "-"))
    assert "Dear Aoife Brennan," in english and "We have received your complaint" in english
    assert "Case: Garbage not collected again" in english and "November 2026" in english
    assert not {"och", "ditt", "senast"} & {w.strip(".,").lower() for w in english.split()}

    later = datetime(2026, 11, 23, 13, 0, tzinfo=STOCKHOLM)
    praise = drafted(
        ws,
        later,
        citizen_mail(
            "Hej!\n\nStort tack till personalen på Stadsbiblioteket som hjälpte mig så vänligt "
            "med datorn i går. Ni är fantastiska och jag är mycket nöjd!\n\nVänliga hälsningar\n"
            "Maria Berg\n",
            subject="Tack till biblioteket",
            sender="Maria Berg <maria.berg@example.net>",
            date=later,
        ),
    )
    assert "Tack för dina vänliga ord!" in praise and "Vi har tagit emot ditt beröm" in praise
    assert "rättas till" not in praise and "ny prövning" not in praise

    last = datetime(2026, 11, 23, 14, 0, tzinfo=STOCKHOLM)
    opinion = drafted(
        ws,
        last,
        citizen_mail(
            "Hej!\n\nJag tycker att biblioteket borde ha öppet längre på lördagar. Det vore bra "
            "för oss som arbetar i veckorna.\n\nMvh\nIngrid Wallén\n",
            subject="Förslag om öppettider",
            sender="Ingrid Wallén <ingrid@example.net>",
            date=last,
        ),
    )
    assert "Vi har tagit emot dina synpunkter" in opinion
    assert "tas med i arbetet med att utveckla" in opinion and "rättas till" not in opinion


def test_an_address_given_as_the_name_is_no_name(tmp_path: Path) -> None:
    ws = intake_workspace(tmp_path)
    when = datetime(2026, 11, 23, 11, 0, tzinfo=STOCKHOLM)
    text = drafted(
        ws,
        when,
        citizen_mail(
            "Hej!\n\nIngen har plogat Björkvägen på tre dagar. Det är inte okej.\n",
            sender='"karin.ek@example.net" <karin.ek@example.net>',
            date=when,
        ),
    )
    assert text.count("karin.ek@example.net") == 1  # the letter's addressee line, once
    assert "Hej!\n" in text
