"""Tests for :mod:`postvakt.templates.compiled`: the prepared-once renderer writes the same XML
as docxtpl's own ``DocxTemplate.render`` + ``save``, on every shipped template and on Word
documents made here with tables, a picture, a header and a footer."""

from __future__ import annotations

import io
import random
import re
import struct
import subprocess
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jinja2
import pytest
from docx import Document
from docx.shared import Cm
from docxtpl import DocxTemplate
from lxml import etree

from postvakt.templates import SHIPPED
from postvakt.templates.compiled import CompiledTemplate

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

# Values a letter really gets, and the ones that make XML and docxtpl's listing work.
PLAIN = {
    "organisation": "Örebro kommun",
    "unit": "Kontaktcenter Ängsvägen",
    "date": "23 november 2026",
    "number": "KS 2026/17",
    "handler_name": "Åsa Öberg",
    "handler_title": "Handläggare",
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
TRICKY = {
    **PLAIN,
    "recipient_name": "Åsa <Öberg> & Co",
    "heading": "Synpunkt – \"snö\" och 'is'\nrad två",
    "summary": "Första raden\nandra\tmed tabb & <vinkel> ]]> 😀",
    "handler_title": "",
    "handler_phone": "",
    "letter_kind": "opinion",
}
CARRIAGE = {**PLAIN, "summary": "rad ett\r\nrad två\r", "unit": "a\x0bb"}


def the_env() -> jinja2.Environment:
    """As LetterRenderer makes it."""
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None
        return {name: package.read(name) for name in package.namelist()}


def by_docxtpl(path: Path, context: dict[str, Any]) -> dict[str, bytes]:
    reference = DocxTemplate(str(path))
    reference.render(context, jinja_env=jinja2.Environment(autoescape=True), autoescape=True)
    out = io.BytesIO()
    reference.save(out)
    return members(out.getvalue())


def assert_as_docxtpl(path: Path, context: dict[str, Any], tagged: tuple[str, ...] = ()) -> bytes:
    data = CompiledTemplate(path, the_env()).render(context)
    ours, theirs = members(data), by_docxtpl(path, context)
    assert set(ours) == set(theirs)
    for name in ("word/document.xml", *tagged):
        assert ours[name] == theirs[name], name
    return data


def compilation_context(values: dict[str, Any]) -> dict[str, Any]:
    level = {"level": "Kommun", "name": values["unit"], "complaints": 3, "opinions": 2}
    level |= {"care": 1, "total": 5, "in_time": "80 %", "not_yet_due": 0, "median": "4"}
    row = {"number": "KS 2026/17", "kind": "klagomål", "concerned": values["heading"]}
    row |= {"answer": values["summary"], "actions": "", "received": "2026-11-20"}
    row |= {"answered": "2026-11-21", "due": "2026-12-07", "in_time": "ja"}
    section = {**level, "where": "Chef: Åsa Öberg.", "by_area": "Gator & vägar: 2", "rows": [row]}
    empty = {**section, "name": "Tom enhet", "rows": []}
    return {
        **values,
        "year": 2026,
        "deadline": "15 februari 2027",
        "as_of": "31 december 2026",
        "levels": [level, {**level, "level": "Enhet"}],
        "sections": [section, empty],
        "complaints": 3,
        "opinions": 2,
        "total": 5,
        "answered_in_time": "80 %",
        "median_days": "4",
        "by_area": "Gator & vägar: 2",
        "care": 1,
        "items": [row],
    }


SHIPPED_TEMPLATES = sorted(SHIPPED.rglob("*.docx"))


@pytest.mark.parametrize("path", SHIPPED_TEMPLATES, ids=lambda p: str(p.relative_to(SHIPPED)))
@pytest.mark.parametrize("values", [PLAIN, TRICKY, CARRIAGE], ids=["plain", "tricky", "cr"])
def test_every_shipped_template_writes_what_docxtpl_writes(
    path: Path, values: dict[str, Any]
) -> None:
    compiled = CompiledTemplate(path, the_env())
    context = compilation_context(values) if path.name == "sammanstallning.docx" else values
    context = {name: context.get(name, "värde & <mer>") for name in compiled.variables(the_env())}
    data = assert_as_docxtpl(path, context)
    text = members(data)["word/document.xml"].decode()
    assert "<w:body>" in text  # the body's namespaces declared once, on the root, as docxtpl
    if values is TRICKY and "recipient_name" in context:
        assert "Åsa &lt;Öberg&gt; &amp; Co" in text


def test_a_template_saved_by_libreoffice_writes_what_docxtpl_writes(tmp_path: Path) -> None:
    """An organisation's own template from another word processor: its XML declaration and
    namespaces differ from python-docx's; the letter still has docxtpl's document.xml."""
    source = tmp_path / "brev.docx"
    source.write_bytes((SHIPPED / "mottagningsbekraftelse.docx").read_bytes())
    subprocess.run(
        ["libreoffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
         "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(tmp_path / "lo"), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    path = tmp_path / "lo" / "brev.docx"
    assert b'<?xml version="1.0"' in members(path.read_bytes())["word/document.xml"][:40]
    compiled = CompiledTemplate(path, the_env())
    for values in (PLAIN, TRICKY, CARRIAGE):
        context = {name: values[name] for name in compiled.variables(the_env())}
        data = assert_as_docxtpl(path, context)
        assert members(data)["word/document.xml"].startswith(b"<?xml version='1.0'")
    body = compiled._finish(compiled._body.render(PLAIN))
    assert compiled._canonical(body) is not None  # and it takes the short path


def test_a_value_with_a_lone_surrogate_renders_as_docxtpl_renders_it() -> None:
    """A string decoded with surrogateescape cannot be UTF-8: lxml's lenient parse drops it
    (and, as docxtpl, what follows in the body); the letter is still written, not an error."""
    path = SHIPPED / "mottagningsbekraftelse.docx"
    values = {**PLAIN, "heading": "Sn\udcf6r\udce4jning"}
    document = members(assert_as_docxtpl(path, values))["word/document.xml"].decode()
    assert "\udcf6" not in document and ">Sn<" in document


def png(width: int, height: int) -> bytes:
    """A real PNG (one colour), made with zlib: python-docx reads its size from it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x20\x60\xa0" * width for _ in range(height))
    signature = b"\x89PNG\r\n\x1a\n"
    return (
        signature
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def letter_with_table_and_picture(
    folder: Path, *, broken_grid: bool = False, pictures: bool = True
) -> Path:
    """A letter made as an organisation makes one: a header, a table, a logo, a footer."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "logo.png").write_bytes(png(8, 4))
    document = Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "{{ organisation }} – {{ unit }}"
    section.footer.paragraphs[0].text = "Diarienummer {{ number }}"
    if pictures:
        document.add_picture(str(folder / "logo.png"), width=Cm(2))
    document.add_paragraph("Hej {{ recipient_name }}!")
    table = document.add_table(rows=2, cols=3)
    for row, (label, tag) in enumerate([("Ärende", "heading"), ("Sammanfattning", "summary")]):
        table.cell(row, 0).text = label
        table.cell(row, 1).text = "{{ " + tag + " }}"
        table.cell(row, 2).text = "{{ number }}"
    if broken_grid:  # a grid with one column too few: docxtpl's fix_tables adds it back
        grid = table._tbl.find(f"{W}tblGrid")
        grid.remove(grid.findall(f"{W}gridCol")[-1])
    document.add_paragraph("{% if letter_kind == 'complaint' %}Vi rättar felet.{% endif %}")
    if pictures:
        document.add_picture(str(folder / "logo.png"), width=Cm(1))
    path = folder / "brev.docx"
    document.save(str(path))
    return path


@pytest.mark.parametrize(
    "values", [PLAIN, TRICKY, {**CARRIAGE, "unit": "x"}], ids=["plain", "tricky", "cr"]
)
def test_a_letter_with_table_picture_header_and_footer_as_docxtpl(
    tmp_path: Path, values: dict[str, Any]
) -> None:
    path = letter_with_table_and_picture(tmp_path)
    data = assert_as_docxtpl(path, values, tagged=("word/header1.xml", "word/footer1.xml"))
    parts = members(data)
    body = parts["word/document.xml"].decode()
    assert body.count("<wp:docPr ") == 2 and 'id="1001"' in body and 'id="1002"' in body
    assert f"Örebro kommun – {values['unit']}" in parts["word/header1.xml"].decode()
    assert parts["word/media/image1.png"] == (tmp_path / "logo.png").read_bytes()
    texts = [p.text for p in Document(io.BytesIO(data)).paragraphs if p.text]
    assert texts[0] == f"Hej {values['recipient_name']}!"


def test_a_control_character_in_a_header_is_left_out_where_docxtpl_fails(tmp_path: Path) -> None:
    path = letter_with_table_and_picture(tmp_path)
    with pytest.raises(etree.XMLSyntaxError):
        by_docxtpl(path, CARRIAGE)
    data = CompiledTemplate(path, the_env()).render(CARRIAGE)
    assert "Örebro kommun – ab" in members(data)["word/header1.xml"].decode()
    assert Document(io.BytesIO(data)).sections[0].header.paragraphs[0].text == "Örebro kommun – ab"


@pytest.mark.parametrize("pictures", [True, False], ids=["pictures", "no-pictures"])
def test_a_table_whose_grid_needs_fixing_is_fixed_as_docxtpl_does(
    tmp_path: Path, pictures: bool
) -> None:
    path = letter_with_table_and_picture(tmp_path, broken_grid=True, pictures=pictures)
    for values in (PLAIN, TRICKY):
        data = assert_as_docxtpl(path, values, tagged=("word/header1.xml", "word/footer1.xml"))
        body = members(data)["word/document.xml"].decode()
        grid = body[body.index("<w:tblGrid>") : body.index("</w:tblGrid>")]
        assert grid.count("<w:gridCol ") == 3


def test_a_cell_left_out_by_a_condition_narrows_the_grid_as_docxtpl_does(tmp_path: Path) -> None:
    """A statement inside a table can change its cells even with plain values: docxtpl's
    fix_tables then rewrites the grid, so such a table never skips the lxml round trip."""
    document = Document()
    row = document.add_table(rows=1, cols=3).rows[0]
    row.cells[0].text = "{%tc if letter_kind == 'complaint' %}"
    row.cells[1].text = "Klagomål: {{ heading }}"
    row.cells[2].text = "{%tc endif %}"
    document.add_paragraph("Hej {{ recipient_name }}!")
    path = tmp_path / "villkor.docx"
    document.save(str(path))
    for values in (PLAIN, TRICKY):
        body = members(assert_as_docxtpl(path, values))["word/document.xml"].decode()
        # One cell left (its column widened to the table's width), or none and no column.
        complaint = values["letter_kind"] == "complaint"
        assert body.count("<w:gridCol ") == (1 if complaint else 0)
        assert ('<w:gridCol w:w="8640"/>' in body) == complaint


def test_runs_emptied_by_a_comment_or_whitespace_control_as_docxtpl(tmp_path: Path) -> None:
    """Jinja can leave an element empty that does not start with a tag: lxml then writes
    ``<w:t/>``, and so must the short path."""
    document = Document()
    document.add_paragraph("{# en anteckning till den som skriver mallen #}")
    document.add_paragraph("Telefon: ").add_run(" {{- handler_phone }}")
    document.add_paragraph("Hej {{ recipient_name }}!")
    path = tmp_path / "tomma.docx"
    document.save(str(path))
    compiled = CompiledTemplate(path, the_env())
    for values in (PLAIN, TRICKY):
        data = assert_as_docxtpl(path, values)
        body = compiled._finish(compiled._body.render(values))
        assert compiled._canonical(body) is not None
    assert '<w:t xml:space="preserve"/>' in members(data)["word/document.xml"].decode()


def test_letters_rendered_in_threads_each_number_their_pictures_from_1001(tmp_path: Path) -> None:
    path = letter_with_table_and_picture(tmp_path)
    compiled = CompiledTemplate(path, the_env())
    expected = by_docxtpl(path, PLAIN)["word/document.xml"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: compiled.render(PLAIN), range(40)))
    assert all(members(data)["word/document.xml"] == expected for data in results)


def as_docxtpl_finishes(compiled: CompiledTemplate, rendered: str) -> str:
    """docxtpl's ``render_xml_part`` after its Jinja render, step by step."""
    rendered = re.sub(r"\n<w:p([ >])", r"<w:p\1", rendered)
    for escaped, tag in (("{_{", "{{"), ("}_}", "}}"), ("{_%", "{%"), ("%_}", "%}")):
        rendered = rendered.replace(escaped, tag)
    return compiled._tpl.resolve_listing(rendered)


def test_the_short_path_writes_what_lxml_writes_for_any_value() -> None:
    """The body written without lxml equals lxml's round trip, and tabs and line breaks are
    resolved as docxtpl resolves them; seeded random values.  The short path is taken for
    the values letters have (quotes, empty values, line breaks included)."""
    compiled = CompiledTemplate(SHIPPED / "mottagningsbekraftelse.docx", the_env())
    names = sorted(compiled.variables(the_env()))
    pieces = [*"ab åäöÅÄÖ&<>\"';#{}%_\n\t\r\x0b\a\f", "😀", "]]>", "&#34;", "{_{", "\ufffe"]
    chance = random.Random(20)
    short = 0
    for round_ in range(400):
        alphabet = pieces if round_ % 2 else pieces[:22]  # half without \r and control chars
        context = {
            name: "".join(chance.choice(alphabet) for _ in range(chance.choice([0, 1, 4, 12])))
            for name in names
        }
        context["letter_kind"] = chance.choice(["complaint", "opinion", "praise"])
        rendered = compiled._body.render(context)
        body = compiled._finish(rendered)
        assert body == as_docxtpl_finishes(compiled, rendered)
        written = compiled._canonical(body)
        if written is not None:
            short += 1
            assert written == compiled._through_lxml(body), context
    assert short > 150
    for values in (PLAIN, TRICKY):
        body = compiled._finish(compiled._body.render(values))
        assert compiled._canonical(body) is not None


def test_the_package_is_a_zip_word_and_python_docx_read() -> None:
    path = SHIPPED / "mottagningsbekraftelse.docx"
    data = CompiledTemplate(path, the_env()).render(PLAIN)
    with zipfile.ZipFile(path) as template, zipfile.ZipFile(io.BytesIO(data)) as letter:
        assert sorted(letter.namelist()) == sorted(template.namelist())
        assert letter.testzip() is None
        for name in template.namelist():
            if name != "word/document.xml":
                assert letter.read(name) == template.read(name), name
    texts = [p.text for p in Document(io.BytesIO(data)).paragraphs]
    assert any("Snöröjningen på Björkvägen" in text for text in texts)
