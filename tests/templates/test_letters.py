"""Tests for :mod:`postvakt.templates`: real .docx files, opened again with python-docx."""

from __future__ import annotations

import io
import runpy
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from postvakt.errors import TemplateError
from postvakt.templates import LETTERS, SHIPPED, LetterRenderer

ROOT = Path(__file__).resolve().parents[2]
MAKE_TEMPLATES = ROOT / "scripts" / "make_templates.py"
FILENAME = LETTERS["acknowledgment"].filename


def context(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organisation": "Örebro kommun",
        "unit": "Kontaktcenter Ängsvägen",
        "date": "23 november 2026",
        "number": "KS 2026/17",
        "handler_name": "Åsa Öberg",
        "handler_title": "Handläggare på förvaltningen",
        "handler_email": "asa.oberg@testby.se",
        "handler_phone": "0123-456 78",
        "recipient_name": "Göran Sjöberg",
        "kind_phrase": "ditt klagomål",
        "received_date": "22 november 2026",
        "heading": "Snöröjningen på Björkvägen",
        "answer_due": "7 december 2026",
        "summary": "Björkvägen är inte plogad sedan i torsdags.",
        "letter_kind": "complaint",
    }
    values.update(overrides)
    return values


def paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def table_cells(data: bytes) -> list[str]:
    document = Document(io.BytesIO(data))
    return [cell.text for table in document.tables for row in table.rows for cell in row.cells]


def all_text(data: bytes) -> str:
    return "\n".join(paragraphs(data) + table_cells(data))


def custom_template(folder: Path, *lines: str) -> Path:
    """A Word document saved by python-docx, one paragraph per line."""
    folder.mkdir(parents=True, exist_ok=True)
    document = Document()
    for line in lines:
        document.add_paragraph(line)
    path = folder / FILENAME
    document.save(str(path))
    return path


# --------------------------------------------------------------------------- shipped letter


def test_every_letter_has_a_shipped_template():
    for letter in LETTERS.values():
        assert (SHIPPED / letter.filename).is_file()
        assert LetterRenderer().check(letter.name) == SHIPPED / letter.filename


def test_shipped_acknowledgment_renders_every_variable():
    data = LetterRenderer().render("acknowledgment", context())

    text = paragraphs(data)
    assert "Göran Sjöberg" in text
    assert "Vi har tagit emot ditt klagomål" in text
    assert "Ärende: Snöröjningen på Björkvägen" in text
    assert "Åsa Öberg" in text
    assert "Handläggare på förvaltningen" in text
    assert "Kontaktcenter Ängsvägen, Örebro kommun" in text
    assert "asa.oberg@testby.se, telefon 0123-456 78" in text
    body = "\n".join(text)
    assert (
        "Vi tog emot ditt klagomål den 22 november 2026 och har registrerat ärendet med "
        "diarienummer KS 2026/17." in body
    )
    assert "senast den 7 december 2026" in body

    cells = table_cells(data)
    assert cells == [
        "Örebro kommun\nKontaktcenter Ängsvägen",
        "Datum: 23 november 2026\nDiarienummer: KS 2026/17",
    ]

    everything = all_text(data)
    assert "{{" not in everything
    assert "}}" not in everything
    assert "{%" not in everything


def test_phone_line_left_out_without_a_phone_number():
    data = LetterRenderer().render("acknowledgment", context(handler_phone=None))
    text = paragraphs(data)
    assert "asa.oberg@testby.se" in text
    assert "telefon" not in all_text(data)


def test_citizen_text_comes_out_literally():
    nasty = (
        "Hej </w:t></w:r></w:p><w:p><w:r><w:t>injicerat & \"citat\" 'enkla' "
        "{{ organisation }} {% if true %}ja{% endif %} <b>fet</b> åäö"
    )
    data = LetterRenderer().render(
        "acknowledgment",
        context(heading=nasty, recipient_name="Kalle <w:p> & {{ x }} {% if %}", summary=nasty),
    )

    text = paragraphs(data)
    assert f"Ärende: {nasty}" in text
    assert "Kalle <w:p> & {{ x }} {% if %}" in text
    # The injected paragraph did not become a paragraph of its own.
    assert "injicerat" not in "\n".join(t for t in text if not t.startswith(("Ärende:", "Kalle")))
    # The whole file is still a valid package whose XML parses.
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        xml = package.read("word/document.xml").decode("utf-8")
    assert "&lt;/w:t&gt;" in xml
    assert "&amp;" in xml


# --------------------------------------------------------------------------- custom templates


def test_custom_template_with_unknown_variable_is_refused(tmp_path: Path):
    path = custom_template(tmp_path / "mallar", "Hej {{ recipient_name }}", "{{ kommunens_logga }}")

    renderer = LetterRenderer(tmp_path / "mallar")
    with pytest.raises(TemplateError) as info:
        renderer.check("acknowledgment")
    assert str(path) in str(info.value)
    assert "kommunens_logga" in str(info.value)
    assert "recipient_name" in str(info.value)  # the allowed ones are listed to help

    with pytest.raises(TemplateError) as info:
        renderer.render("acknowledgment", context())
    assert "kommunens_logga" in str(info.value)


def test_file_that_is_not_a_docx_is_refused(tmp_path: Path):
    folder = tmp_path / "mallar"
    folder.mkdir()
    path = folder / FILENAME
    path.write_text("{\\rtf1\\ansi Det här är ett RTF-dokument}", encoding="utf-8")

    with pytest.raises(TemplateError) as info:
        LetterRenderer(folder).check("acknowledgment")
    assert str(path) in str(info.value)
    assert "Spara den som .docx" in str(info.value)


def test_template_with_a_syntax_error_is_refused(tmp_path: Path):
    path = custom_template(tmp_path / "mallar", "Diarienummer: {{ number ")

    with pytest.raises(TemplateError) as info:
        LetterRenderer(tmp_path / "mallar").check("acknowledgment")
    assert str(path) in str(info.value)
    assert "syntax" in str(info.value).lower()


def test_custom_template_is_preferred_over_the_shipped_one(tmp_path: Path):
    folder = tmp_path / "mallar"
    path = custom_template(
        folder,
        "{{ organisation }} – egen mall",
        "Till {{ recipient_name }}: vi har fått {{ kind_phrase }} ({{ number }}).",
        "{% if handler_phone %}Ring {{ handler_phone }}.{% endif %}",
    )
    renderer = LetterRenderer(folder)
    assert renderer.check("acknowledgment") == path

    text = paragraphs(renderer.render("acknowledgment", context()))

    assert text == [
        "Örebro kommun – egen mall",
        "Till Göran Sjöberg: vi har fått ditt klagomål (KS 2026/17).",
        "Ring 0123-456 78.",
    ]


def test_folder_without_own_template_falls_back_to_shipped(tmp_path: Path):
    folder = tmp_path / "mallar"
    folder.mkdir()
    renderer = LetterRenderer(folder)
    assert renderer.check("acknowledgment") == SHIPPED / FILENAME
    assert "Vi har tagit emot ditt klagomål" in paragraphs(
        renderer.render("acknowledgment", context())
    )


def test_missing_context_values_are_an_error():
    context_without = context()
    del context_without["answer_due"]
    del context_without["number"]

    with pytest.raises(TemplateError) as info:
        LetterRenderer().render("acknowledgment", context_without)
    assert "answer_due" in str(info.value)
    assert "number" in str(info.value)


def test_unknown_letter_is_an_error():
    with pytest.raises(TemplateError) as info:
        LetterRenderer().render("avslag", context())
    assert "avslag" in str(info.value)


# --------------------------------------------------------------------------- the build script


def _build(out: Path) -> Path:
    """Run the script's build function (not ``main``, which writes into src/)."""
    namespace = runpy.run_path(str(MAKE_TEMPLATES))
    out.mkdir(parents=True, exist_ok=True)
    path = out / FILENAME
    path.write_bytes(namespace["build"]("mottagningsbekraftelse"))
    return path


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_make_templates_is_deterministic(tmp_path: Path):
    first = _build(tmp_path / "a")
    second = _build(tmp_path / "b")

    assert paragraphs(first.read_bytes()) == paragraphs(second.read_bytes())
    assert table_cells(first.read_bytes()) == table_cells(second.read_bytes())
    # The zip members may carry the time they were written; their contents may not differ.
    assert _parts(first) == _parts(second)


def test_shipped_template_is_what_the_script_builds(tmp_path: Path):
    built = _build(tmp_path / "built")
    assert _parts(built) == _parts(SHIPPED / FILENAME)
    assert built.read_bytes() == (SHIPPED / FILENAME).read_bytes()  # fixed zip dates too


def test_the_shipped_template_is_slim(tmp_path: Path):
    """Only the styles the letter uses; no thumbnail or custom XML: drafts stay small."""
    parts = _parts(SHIPPED / FILENAME)
    assert (SHIPPED / FILENAME).stat().st_size < 15_000
    assert "word/stylesWithEffects.xml" not in parts and "docProps/thumbnail.jpeg" not in parts
    assert not any(name.startswith("customXml/") for name in parts)
    styles = parts["word/styles.xml"].decode()
    assert 'w:styleId="Heading1"' in styles and "latentStyles" not in styles


def test_the_compiled_renderer_matches_docxtpl_itself() -> None:
    """The prepared-once renderer gives the same document as docxtpl's own full render."""
    import io as _io

    import docx as _docx
    import jinja2
    from docxtpl import DocxTemplate

    from postvakt.templates import SHIPPED, LetterRenderer

    context = {
        "organisation": "Exempel kommun",
        "unit": "Kontaktcenter",
        "date": "23 november 2026",
        "number": "KS 2026/17",
        "handler_name": "Anna Berg",
        "handler_title": "Handläggare",
        "handler_email": "anna@exempel.se",
        "handler_phone": "0123-45 67",
        "recipient_name": "Åsa <Öberg> & Co",
        "kind_phrase": "ditt klagomål",
        "received_date": "20 november 2026",
        "heading": "Synpunkter och klagomål – rad ett\nrad två",
        "answer_due": "27 november 2026",
        "summary": "x",
        "letter_kind": "complaint",
    }

    def text(data: bytes) -> list[str]:
        document = _docx.Document(_io.BytesIO(data))
        cells = [c.text for row in document.tables[0].rows for c in row.cells]
        return [p.text for p in document.paragraphs] + cells

    reference = DocxTemplate(str(SHIPPED / "mottagningsbekraftelse.docx"))
    reference.render(context, jinja_env=jinja2.Environment(autoescape=True), autoescape=True)
    out = _io.BytesIO()
    reference.save(out)
    fast = LetterRenderer().render("acknowledgment", context)
    assert text(fast) == text(out.getvalue())
    assert "Ärende: Synpunkter och klagomål – rad ett\nrad två" in text(fast)


@pytest.mark.parametrize("look_again", [0.0, 3600.0], ids=["looked-at-again", "within-a-pass"])
def test_an_own_template_added_later_is_used_once_the_files_are_looked_at_again(
    tmp_path: Path, look_again: float
):
    """A pass of thousands of letters looks at the template files once per ``look_again``
    seconds, not once per letter; after that a new own template is taken into use."""
    folder = tmp_path / "mallar"
    folder.mkdir()
    renderer = LetterRenderer(folder, look_again=look_again)
    first = paragraphs(renderer.render("acknowledgment", context()))
    assert "Vi har tagit emot ditt klagomål" in first
    custom_template(folder, "{{ organisation }} – egen mall")
    second = paragraphs(renderer.render("acknowledgment", context()))
    assert second == (["Örebro kommun – egen mall"] if look_again == 0 else first)


@pytest.mark.parametrize(("language", "subject"), [(None, "Ditt ärende"), ("en", "Your case")])
def test_a_care_letters_subject_is_in_the_letters_language_and_quotes_nothing(
    language: str | None, subject: str
):
    from postvakt.registry.models import Case
    from postvakt.templates.casework import care_subject

    case = Case(reference="KS 2026/7", number="KS 2026/7", language=language)
    case.heading = "Pappa föll i badrummet"  # the citizen's words: never in the subject
    assert care_subject(case) == f"{subject} KS 2026/7"


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("sv", "registrerat det med diarienummer KS 2026/7, och du får svar senast den 1 december"),
        ("en", "KS 2026/7, and you will receive an answer by 1 December at the latest"),
    ],
)
def test_the_carrier_mail_puts_a_comma_before_the_promise(language: str, sentence: str):
    from postvakt.registry.models import Case, CaseKind
    from postvakt.templates.language import mail_text

    case = Case(reference="KS 2026/7", number="KS 2026/7", kind=CaseKind.COMPLAINT)
    case.sender_name = "Karin Ek"
    due = "1 december" if language == "sv" else "1 December"
    context = {"answer_due": due, "unit": "Kontaktcenter", "organisation": "Testby kommun"}
    text = mail_text(
        "acknowledgment",
        case,
        context,
        language=language,
        title="Mottagningsbekräftelse",
        neuter=False,
        promises=True,
    )
    assert sentence in text.replace("\n", " ")


def test_an_own_english_acknowledgment_is_checked_at_start_not_in_the_first_pass(
    tmp_path: Path,
) -> None:
    """Both languages of the acknowledgments are compiled when the intake starts: a broken
    English one stops the start with its path named, and none is compiled in a pass."""
    from postvakt.clock import STOCKHOLM, fixed_clock
    from postvakt.config import load_config
    from postvakt.intake import Intake
    from postvakt.registry.db import open_database, session_factory
    from tests.support.workspace import make_workspace

    ws = make_workspace(tmp_path / "ws")
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text + '\n[templates]\nfolder = "mallar"\n', encoding="utf-8")
    (ws.root / "mallar").mkdir()
    config = load_config(ws.config_path)
    sessions = session_factory(open_database(config.database_url))
    clock = fixed_clock(datetime(2026, 12, 1, 9, 0, tzinfo=STOCKHOLM))

    intake = Intake(config, sessions, clock=clock)  # the shipped ones, both languages
    assert {(p.parent.name, p.name) for p in intake.renderer._compiled} >= {
        (SHIPPED.name, FILENAME),
        ("en", FILENAME),
    }

    path = custom_template(ws.root / "mallar" / "en", "Dear {{ recipient_name ")
    with pytest.raises(TemplateError) as info:
        Intake(config, sessions, clock=clock)
    assert str(path) in str(info.value)
    assert "syntax" in str(info.value).lower()
