"""Build the shipped Word templates in src/postvakt/templates/files/ from this script.

The .docx files are committed; run this script after changing a letter's wording:
    .venv/bin/python scripts/make_templates.py
Placeholders are docxtpl (Jinja2) tags.  Each placeholder sits in a run of its own text so
that Word keeps it whole.
"""

from __future__ import annotations

import io
import re
import runpy
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table

OUT = Path(__file__).resolve().parent.parent / "src" / "postvakt" / "templates" / "files"
FIXED = datetime(2026, 11, 23, 12, 0, 0)  # fixed metadata: the same script gives the same file


def _base(title: str, *, landscape: bool = False, english: bool = False) -> Document:
    """A letter's page (A4 portrait) with its heading; ``landscape`` for the wide tables of
    the compilation, which has no diary number; ``english`` for a citizen who wrote in English."""
    doc = Document()
    section = doc.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_height, section.page_width = Cm(21.0), Cm(29.7)
        section.left_margin = section.right_margin = Cm(1.5)
        section.top_margin, section.bottom_margin = Cm(1.5), Cm(1.5)
    else:
        section.page_height, section.page_width = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.5)
        section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)
    props = doc.core_properties
    props.title, props.author, props.created, props.modified = title, "Postvakt", FIXED, FIXED
    props.last_modified_by = "Postvakt"
    props.revision = 1
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    left.paragraphs[0].add_run("{{ organisation }}").bold = True
    left.add_paragraph("{{ unit }}")
    right.paragraphs[0].add_run(("Date" if english else "Datum") + ": {{ date }}")
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if not landscape:
        p = right.add_paragraph(("Reference" if english else "Diarienummer") + ": {{ number }}")
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph()
    return doc


def _signature(doc: Document, *, english: bool = False) -> None:
    doc.add_paragraph("Kind regards" if english else "Med vänlig hälsning")
    doc.add_paragraph()
    doc.add_paragraph("{{ handler_name }}")
    doc.add_paragraph("{{ handler_title }}")
    doc.add_paragraph("{{ unit }}, {{ organisation }}")
    phone = "telephone" if english else "telefon"
    doc.add_paragraph(
        "{{ handler_email }}{% if handler_phone %}, " + phone + " {{ handler_phone }}{% endif %}"
    )


_WHEN_ANSWER = (
    # A date already passed is never promised: the letter then says "as soon as possible"
    # (answer_due is empty; see postvakt.templates.casework.promised).
    "{% if answer_due %}Du får svar från oss senast den {{ answer_due }}. Om ärendet inte är "
    "klart då, berättar vi i svaret hur vi arbetar med det och när du kan vänta dig besked."
    "{% else %}Du får svar från oss så snart som möjligt. Är ärendet inte klart när vi svarar, "
    "berättar vi i svaret hur vi arbetar med det och när du kan vänta dig besked.{% endif %}"
)


def acknowledgment() -> Document:
    doc = _base("Mottagningsbekräftelse")
    doc.add_paragraph("{{ recipient_name }}")
    doc.add_paragraph()
    doc.add_heading("Vi har tagit emot {{ kind_phrase }}", level=1)
    doc.add_paragraph(
        "Tack för att du hörde av dig till oss. Vi tog emot {{ kind_phrase }} den "
        "{{ received_date }} och har registrerat ärendet med diarienummer {{ number }}. "
        "Ange gärna diarienumret om du kontaktar oss igen om samma sak."
    )
    p = doc.add_paragraph()
    p.add_run("Ärende: ").bold = True
    p.add_run("{{ heading }}")
    doc.add_heading("Vad händer nu?", level=2)
    # Only a complaint is promised that what went wrong is put right; an opinion is told how
    # it is considered, praise is thanked (letter_kind; see templates.casework).
    doc.add_paragraph('{%p if letter_kind == "complaint" %}')
    doc.add_paragraph(
        "Ansvarig chef går igenom det du har skrivit och ser till att det som blivit fel "
        "rättas till. " + _WHEN_ANSWER
    )
    doc.add_paragraph('{%p elif letter_kind == "praise" %}')
    doc.add_paragraph(
        "Tack för dina vänliga ord! Vi för dem vidare till de medarbetare det gäller och till "
        "ansvarig chef. Beröm visar oss vad vi gör bra och ska fortsätta med, och det "
        "sammanställs en gång om året tillsammans med andra synpunkter."
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph(
        "Tack för att du tar dig tid att berätta vad du tycker. Ansvarig chef läser dina "
        "synpunkter, och de tas med i arbetet med att utveckla och förbättra verksamheten. "
        "Alla synpunkter sammanställs också en gång om året och är ett underlag i "
        "kvalitetsarbetet. " + _WHEN_ANSWER
    )
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph('{%p if letter_kind != "praise" %}')
    doc.add_paragraph(
        "Om du inte är nöjd med svaret du får kan du höra av dig till oss igen. Då gör "
        "närmaste chef en ny prövning av ärendet."
    )
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph(
        "Ditt meddelande är en allmän handling som diarieförs. Vi behandlar dina "
        "personuppgifter enligt dataskyddsförordningen för att kunna hantera ärendet."
    )
    _signature(doc)
    return doc


def acknowledgment_care() -> Document:
    """The acknowledgment of a case about an individual's care: nothing of what it concerns."""
    doc = _base("Mottagningsbekräftelse")
    doc.add_paragraph("{{ recipient_name }}")
    doc.add_paragraph()
    doc.add_heading("Vi har tagit emot {{ kind_phrase }}", level=1)
    doc.add_paragraph(
        "Tack för att du hörde av dig till oss. Vi tog emot {{ kind_phrase }} den "
        "{{ received_date }} och har gett ärendet nummer {{ number }}. Ange gärna numret om "
        "du kontaktar oss igen om samma sak."
    )
    doc.add_heading("Vad händer nu?", level=2)
    doc.add_paragraph(
        "Vi har lämnat ärendet vidare till den verksamhet som ansvarar, och ansvarig chef går "
        "igenom det. " + _WHEN_ANSWER
    )
    doc.add_paragraph(
        "Om du inte är nöjd med svaret du får kan du höra av dig till oss igen. Då gör "
        "närmaste chef en ny prövning av ärendet."
    )
    doc.add_paragraph(
        "Uppgifter om enskildas personliga förhållanden skyddas av sekretess, och därför "
        "återger vi inte i det här brevet vad du har skrivit. Vi behandlar dina personuppgifter "
        "enligt dataskyddsförordningen för att kunna hantera ärendet."
    )
    _signature(doc)
    return doc


def answer() -> Document:
    doc = _base("Svar")
    doc.add_paragraph("{{ recipient_name }}")
    doc.add_paragraph()
    doc.add_heading("Svar på {{ kind_phrase }}", level=1)
    p = doc.add_paragraph()
    p.add_run("Ärende: ").bold = True
    p.add_run("{{ heading }}")
    doc.add_paragraph("Tack för att du hörde av dig den {{ received_date }}. Här är vårt svar.")
    doc.add_paragraph("{{ answer_text }}")
    doc.add_paragraph("{%p if actions %}")
    doc.add_heading("Det här har vi gjort", level=2)
    doc.add_paragraph("{{ actions }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph('{%p if letter_kind != "praise" %}')
    doc.add_paragraph(
        "Om du inte är nöjd med svaret kan du höra av dig till oss igen och ange diarienumret "
        "{{ number }}. Då gör närmaste chef en ny prövning av ärendet."
    )
    doc.add_paragraph("{%p endif %}")
    _signature(doc)
    return doc


def handover() -> Document:
    doc = _base("Överlämning")
    doc.add_paragraph("{{ recipient_name }}")
    doc.add_paragraph()
    doc.add_heading("Ditt ärende har lämnats över", level=1)
    p = doc.add_paragraph()
    p.add_run("Ärende: ").bold = True
    p.add_run("{{ heading }}")
    doc.add_paragraph(
        "Det du skrev till oss den {{ received_date }} gäller en verksamhet som inte är vår. "
        "För att du ska få svar så snabbt som möjligt har vi i dag lämnat över ärendet till "
        "{{ to_unit }}. De hör av sig till dig."
    )
    doc.add_paragraph("{%p if new_handler %}")
    p = doc.add_paragraph()
    p.add_run("Ny handläggare: ").bold = True
    p.add_run("{{ new_handler }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p if to_contact %}")
    doc.add_paragraph("Du når dem på {{ to_contact }}.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph(
        "Ange gärna diarienumret {{ number }} om du kontaktar oss eller dem om samma sak."
    )
    _signature(doc)
    return doc


def new_review() -> Document:
    doc = _base("Ny prövning")
    doc.add_paragraph("{{ recipient_name }}")
    doc.add_paragraph()
    doc.add_heading("Ditt ärende prövas på nytt", level=1)
    p = doc.add_paragraph()
    p.add_run("Ärende: ").bold = True
    p.add_run("{{ heading }}")
    doc.add_paragraph(
        "Du har berättat att du inte är nöjd med vårt svar. Därför gör närmaste chef"
        "{% if reviewer_name %}, {{ reviewer_name }}{% if reviewer_title %}, "
        "{{ reviewer_title }}{% endif %},{% endif %} en ny prövning av ärendet. Du får ett nytt "
        "svar {% if answer_due %}senast den {{ answer_due }}{% else %}så snart som möjligt"
        "{% endif %}."
    )
    doc.add_paragraph("Ange gärna diarienumret {{ number }} om du kontaktar oss om samma sak.")
    _signature(doc)
    return doc


def cover() -> Document:
    """The cover letter (följebrev) to another administration a case is handed over to."""
    doc = _base("Följebrev")
    doc.add_paragraph("{{ recipient_name }}")
    doc.add_paragraph()
    doc.add_heading("Överlämnande av ärende", level=1)
    p = doc.add_paragraph()
    p.add_run("Ärende: ").bold = True
    p.add_run("{{ heading }}")
    doc.add_paragraph(
        "Vi har tagit emot ett ärende som gäller er verksamhet och lämnar över det till er för "
        "handläggning. Avsändaren har fått besked om att ärendet nu handläggs hos er."
    )
    rows = [
        ("Vårt diarienummer", "{{ number }}"),
        ("Typ", "{{ kind_text }}"),
        ("Inkom till oss", "{{ received_date }}"),
        ("Avsändare", "{{ sender }}"),
        ("Svar till avsändaren senast", "{{ answer_due }}"),
    ]
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run(value)
    doc.add_heading("Återkoppling", level=2)
    doc.add_paragraph("{%p if answer_due %}")
    doc.add_paragraph("Enligt våra rutiner ska avsändaren få svar senast den {{ answer_due }}.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph(
        # The address is the signature's (handler_email = reply_to): written once.
        "Vi ber er återkoppla till {% if reply_name %}{{ reply_name }}{% else %}oss{% endif %} "
        "på adressen nedan när ni har svarat avsändaren eller avslutat ärendet. Ange vårt "
        "diarienummer {{ number }}."
    )
    doc.add_heading("Avsändarens meddelande", level=2)
    doc.add_paragraph("{{ message }}")
    doc.add_paragraph("Bifogat: {{ attached }}.")
    _signature(doc)
    return doc


def case_card() -> Document:
    doc = _base("Ärendekort")
    doc.add_heading("Ärendekort", level=1)
    doc.add_paragraph("{{ heading }}")
    rows = [
        ("Diarienummer", "{{ number }}"),
        ("Ärendetyp", "{{ kind_text }}"),
        ("Inkom (ankomststämpel)", "{{ received_at }}"),
        ("Registrerat", "{{ registered_at }}"),
        ("Kanal", "{{ channel }}"),
        ("Avsändare", "{{ sender }}"),
        ("Kontaktuppgifter", "{{ contact }}"),
        ("Ämne", "{{ subject }}"),
        ("Inkom till", "{{ mailbox }}"),
        ("Enhet", "{{ unit }}"),
        ("Handläggare", "{{ handler_name }}"),
        ("Svar senast", "{{ answer_due }}"),
        ("Rör enskilds vård och omsorg", "{{ individual_care }}"),
        ("Message-ID", "{{ message_id }}"),
    ]
    table = doc.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].paragraphs[0].add_run(label).bold = True
        row.cells[1].paragraphs[0].add_run(value)
    doc.add_heading("Sammanfattning", level=2)
    doc.add_paragraph("{{ summary }}")
    doc.add_paragraph("Originalmeddelandet är bifogat som .eml. Skapat av Postvakt {{ date }}.")
    return doc


def _fixed_table(doc: Document, widths_cm: tuple[float, ...], rows: int) -> Table:
    """A table whose columns keep their widths (a fixed layout: Word and LibreOffice do not
    squeeze a column until its words break), with narrow cell margins, a header row that
    repeats on every page, and 9 pt text."""
    table = doc.add_table(rows=rows, cols=len(widths_cm))
    table.style = "Table Grid"
    table.autofit = False
    tbl_pr = table._tbl.tblPr
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(sum(int(Cm(w).twips) for w in widths_cm)))
    width.set(qn("w:type"), "dxa")
    for old in tbl_pr.findall(qn("w:tblW")):
        tbl_pr.remove(old)
    tbl_pr.append(width)
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), "57")  # 0.1 cm
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    tbl_pr.append(margins)
    for column, w in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(w)
    header = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header.append(repeat)
    return table


def _cell(cell, text: str, *, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
    run = cell.paragraphs[0].add_run(text)
    run.bold = bold
    run.font.size = Pt(9)


def _loop_table(
    doc: Document,
    widths: tuple[float, ...],
    headers: tuple[str, ...],
    loop: str,
    cells: tuple[str, ...],
) -> None:
    """A fixed table with ``headers`` and one row per item of ``loop`` ('item in items')."""
    table = _fixed_table(doc, widths, 4)
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _cell(cell, text, bold=True)
    _cell(table.rows[1].cells[0], "{%tr for " + loop + " %}")
    for cell, text in zip(table.rows[2].cells, cells, strict=True):
        _cell(cell, text)
    _cell(table.rows[3].cells[0], "{%tr endfor %}")


_LEVEL_HEADERS = ("Nivå", "Namn", "Klagomål", "Synpunkter", "Vård och omsorg", "Totalt",
                  "Besvarade i tid", "Ej förfallna", "Median dagar till svar")  # fmt: skip
_LEVEL_FIELDS = ("level", "name", "complaints", "opinions", "care", "total", "in_time",
                 "not_yet_due", "median")  # fmt: skip
_CASE_HEADERS = ("Ärende", "Vad gällde det", "Chefens svar", "Vidtagna åtgärder", "Inkom",
                 "Besvarat", "Svar senast", "I tid")  # fmt: skip
_CASE_FIELDS = ("concerned", "answer", "actions", "received", "answered", "due", "in_time")
"""After the first column, which holds the number and the kind."""


def compilation() -> Document:
    """The yearly compilation: landscape A4, an overview of the totals, a table per unit."""
    doc = _base("Sammanställning", landscape=True)
    doc.add_heading("Sammanställning av synpunkter och klagomål {{ year }}", level=1)
    doc.add_paragraph(
        "{{ unit }}, {{ organisation }}. Underlag till den årliga genomgången och analysen; "
        "ska vara klar senast den {{ deadline }}. Uppgifterna gäller den {{ as_of }}. "
        "”Besvarade i tid” räknas bara för ärenden vars svarstid har gått ut; ärenden som "
        "ännu inte är förfallna redovisas för sig."
    )
    doc.add_heading("Översikt", level=2)
    _loop_table(
        doc,
        (2.8, 5.4, 2.3, 2.6, 2.4, 1.8, 3.2, 2.5, 2.4),
        _LEVEL_HEADERS,
        "t in levels",
        tuple("{{ t." + name + " }}" for name in _LEVEL_FIELDS),
    )
    doc.add_paragraph(
        "Klagomål och synpunkter som rör enskilds vård och omsorg: {{ care }}. De handläggs i "
        "verksamhetssystemets avvikelsemodul och redovisas där, inte ett och ett här."
    )
    doc.add_paragraph("{%p for s in sections %}")
    doc.add_heading("{{ s.name }}", level=2)
    doc.add_paragraph("{{ s.where }}")
    doc.add_paragraph(
        "Klagomål: {{ s.complaints }}. Synpunkter: {{ s.opinions }}. Totalt: {{ s.total }}. "
        "Besvarade i tid: {{ s.in_time }}. Median antal dagar till svar: {{ s.median }}."
    )
    doc.add_paragraph("Per verksamhetsområde: {{ s.by_area }}.")
    doc.add_paragraph("{%p if s.rows %}")
    _loop_table(
        doc,
        (2.6, 4.8, 5.8, 4.8, 2.2, 2.2, 2.2, 2.0),
        _CASE_HEADERS,
        "item in s.rows",
        (
            "{{ item.number }}\n{{ item.kind }}",
            *("{{ item." + name + " }}" for name in _CASE_FIELDS),
        ),
    )
    doc.add_paragraph("{%p else %}")
    doc.add_paragraph("Inga ärenden.")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p if handler_email %}")
    doc.add_paragraph("Sammanställd av")
    doc.add_paragraph(
        "{{ handler_name }}{% if handler_name and handler_title %}, {% endif %}{{ handler_title }}"
    )
    doc.add_paragraph(
        "{{ handler_email }}{% if handler_phone %}, telefon {{ handler_phone }}{% endif %}"
    )
    doc.add_paragraph("{%p endif %}")
    return doc


BUILDERS = {
    "mottagningsbekraftelse": acknowledgment,
    "mottagningsbekraftelse_omsorg": acknowledgment_care,
    "svar": answer,
    "overlamning": handover,
    "ny_provning": new_review,
    "foljebrev": cover,
    "arendekort": case_card,
    "sammanstallning": compilation,
}
# The letters to citizens in English (written to ``files/en/``), built from the same page and
# signature: a citizen who writes in English gets these.
BUILDERS_EN = runpy.run_path(str(Path(__file__).with_name("letters_en.py")))["builders"](
    _base, _signature
)


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DROP = ("word/stylesWithEffects.xml", "docProps/thumbnail.jpeg", "customXml/")


def slim(data: bytes) -> bytes:
    """python-docx's default package carries 790 KB of style XML, a thumbnail and custom XML.

    Keep only the styles the letter uses (with what they are based on or linked to) and
    drop the optional parts, so every letter and every draft is a few kilobytes.
    """
    from lxml import etree

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {i.filename: source.read(i) for i in source.infolist()}
    document = parts["word/document.xml"].decode()
    used = set(re.findall(r'w:(?:pStyle|rStyle|tblStyle) w:val="([^"]+)"', document))
    styles = etree.fromstring(parts["word/styles.xml"])
    ns = {"w": W}
    by_id = {s.get(f"{{{W}}}styleId"): s for s in styles.findall("w:style", ns)}
    keep = set(used) | {i for i, s in by_id.items() if s.get(f"{{{W}}}default") == "1"}
    pending = list(keep)
    while pending:
        style = by_id.get(pending.pop())
        for ref in ("basedOn", "link", "next"):
            node = style.find(f"w:{ref}", ns) if style is not None else None
            target = node.get(f"{{{W}}}val") if node is not None else None
            if target and target not in keep:
                keep.add(target)
                pending.append(target)
    for style_id, style in by_id.items():
        if style_id not in keep:
            styles.remove(style)
    for latent in styles.findall("w:latentStyles", ns):
        styles.remove(latent)
    parts["word/styles.xml"] = etree.tostring(
        styles, xml_declaration=True, encoding="UTF-8", standalone=True
    )
    parts = {n: d for n, d in parts.items() if not n.startswith(DROP)}
    # Remove what pointed at the dropped parts.
    parts["[Content_Types].xml"] = re.sub(
        rb'<Override PartName="/(word/stylesWithEffects.xml|docProps/thumbnail.jpeg|customXml/[^"]*)"[^>]*/>',
        b"",
        parts["[Content_Types].xml"],
    )
    for rels in ("_rels/.rels", "word/_rels/document.xml.rels"):
        parts[rels] = re.sub(
            rb'<Relationship [^>]*Target="[^"]*(stylesWithEffects|thumbnail|customXml)[^"]*"[^>]*/>',
            b"",
            parts[rels],
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            info = zipfile.ZipInfo(name, date_time=FIXED.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return out.getvalue()


def build(name: str, language: str = "sv") -> bytes:
    buffer = io.BytesIO()
    (BUILDERS_EN if language == "en" else BUILDERS)[name]().save(buffer)
    return slim(buffer.getvalue())


def main() -> None:
    for language, builders, folder in (("sv", BUILDERS, OUT), ("en", BUILDERS_EN, OUT / "en")):
        folder.mkdir(parents=True, exist_ok=True)
        for name in builders:
            path = folder / f"{name}.docx"
            path.write_bytes(build(name, language))
            print(path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
