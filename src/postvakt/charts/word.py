"""Charts in a Word document: PNG pictures (Word cannot take SVG from python-docx), each
with its title above it, its figures in words as the picture's alternative text, and its
note below.

:func:`add_charts` puts them in an already rendered document: after the totals table (the
table whose first cell says 'Nivå') and the text that follows it, before the next heading —
in the shipped compilation template that is right after 'Översikt' — or, in a template
without such a table, at the end.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentType
from docx.oxml.ns import qn
from docx.shared import Cm
from docx.text.paragraph import Paragraph

from postvakt.charts import Chart
from postvakt.charts.render import png

__all__ = ["CHART_WIDTH", "add_charts", "alt_text"]

CHART_WIDTH = Cm(16)
"""How wide a chart is printed (a landscape A4 page has about 26 cm between its margins)."""

HEADING = "Diagram"


def alt_text(chart: Chart) -> str:
    """The chart's figures in words: 'Klagomål: januari 3, februari 0 …'."""
    parts = []
    for series in chart.series:
        figures = ", ".join(
            f"{category} {chart.text(value)}"
            for category, value in zip(chart.categories, series.values, strict=True)
        )
        parts.append(f"{series.name}: {figures}.")
    return f"{chart.title}. " + " ".join(parts)


def _anchor(document: DocumentType) -> object | None:
    """The body element the charts go before (None: the end of the document)."""
    body = document.element.body
    children = list(body.iterchildren())
    totals = next(
        (
            i
            for i, el in enumerate(children)
            if el.tag == qn("w:tbl")
            and "".join(t.text or "" for t in el.iter(qn("w:t"))).startswith("Nivå")
        ),
        None,
    )
    if totals is None:
        return None
    for el in children[totals + 1 :]:
        if el.tag == qn("w:sectPr"):
            return el
        if el.tag == qn("w:p") and Paragraph(el, document).style.name.startswith("Heading"):
            return el
    return None


def _style(document: DocumentType, name: str) -> str | None:
    return name if any(s.name == name for s in document.styles) else None


def add_charts(data: bytes, charts: Sequence[Chart]) -> bytes:
    """``data`` (a .docx) with ``charts`` added (see the module's docstring); charts with
    nothing to show are left out."""
    shown = [c for c in charts if not c.empty]
    if not shown:
        return data
    document = Document(io.BytesIO(data))
    anchor = _anchor(document)
    added: list[Paragraph] = []

    def paragraph(text: str = "", style: str | None = None, bold: bool = False) -> Paragraph:
        p = document.add_paragraph(style=style)
        if text:
            p.add_run(text).bold = bold
        added.append(p)
        return p

    paragraph(HEADING, _style(document, "Heading 2"), bold=_style(document, "Heading 2") is None)
    for number, chart in enumerate(shown, start=1):
        paragraph(chart.title, bold=True).paragraph_format.keep_with_next = True
        picture = paragraph()
        picture.paragraph_format.keep_with_next = bool(chart.note)
        run = picture.add_run()
        shape = run.add_picture(io.BytesIO(png(chart)), width=CHART_WIDTH)
        properties = shape._inline.docPr  # python-docx has no API for the alternative text
        properties.set("name", f"Diagram {number}")
        properties.set("descr", alt_text(chart))
        if chart.note:
            paragraph(chart.note)
    if anchor is not None:
        for p in added:  # add_paragraph put them at the end: move them into place, in order
            anchor.addprevious(p._p)  # type: ignore[attr-defined]
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
