"""The yearly compilation as a spreadsheet (.xlsx) and as CSV.

The workbook has one sheet per level — the organisation, its administrations, its units, the
cases — and one with every answer and measure on a row of its own, and one with the counts
per service area.  Columns are typed (dates are dates, counts are numbers, the share answered
in time a percentage), every sheet has an autofilter on its header row and the header row
stays in view.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from postvakt.compilation.word import in_time_text
from postvakt.registry.report import CARE_NOTE, AnnualReport, Group, Row

__all__ = ["CSV_HEADERS", "to_csv", "to_xlsx"]

DATE_FORMAT = "yyyy-mm-dd"
SHARE_FORMAT = "0%"

_COUNTS = ("Klagomål", "Synpunkter", "Vård och omsorg (avvikelsemodulen)", "Totalt",
           "Bedömda (besvarade eller förfallna)", "Besvarade i tid", "Andel besvarade i tid",
           "Ej förfallna", "Median dagar till svar")  # fmt: skip


def _counts(group: Group) -> list[Any]:
    share = group.in_time_share
    return [
        group.complaints,
        group.opinions,
        group.care,
        group.total,
        group.judged,
        group.answered_in_time,
        share,
        group.not_yet_due,
        group.median_days,
    ]


def _case_cells(row: Row) -> list[Any]:
    """What a case's row says; a care case says where it is handled instead of its content."""
    care = row.individual_care
    return [
        row.administration,
        row.unit,
        row.number,
        row.kind,
        "vård och omsorg" if care else row.area,
        CARE_NOTE if care else row.concerned,
        "" if care else row.answer,
        "" if care else row.actions,
        row.received,
        row.acknowledged,
        row.answered,
        row.answer_due,
        row.days_to_answer,
        in_time_text(row),
    ]


CSV_HEADERS = ("Förvaltning", "Enhet", "Ärende", "Typ", "Verksamhetsområde", "Vad gällde det",
               "Chefens svar", "Vidtagna åtgärder", "Inkom", "Bekräftat", "Besvarat",
               "Svar senast", "Dagar till svar", "I tid")  # fmt: skip


def _ordered(report: AnnualReport) -> list[Row]:
    """Each unit's general rows, then its care group."""
    return [r for u in report.units for r in (*u.general_rows, *u.care_rows)]


def to_csv(report: AnnualReport) -> bytes:
    """One row per case, semicolon-separated UTF-8 with a BOM (as Swedish Excel reads it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_HEADERS)
    for row in _ordered(report):
        writer.writerow(
            "" if v is None else v.isoformat() if isinstance(v, date) else v
            for v in _case_cells(row)
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet(
    book: Any,
    title: str,
    headers: Sequence[str],
    rows: list[list[Any]],
    *,
    widths: dict[int, int] | None = None,
    formats: dict[int, str] | None = None,
) -> Any:
    """A sheet with a bold, frozen header row, an autofilter over the table and typed cells."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title)
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in rows:
        sheet.append(values)
    formats = formats or {}
    for index, values in enumerate(rows, start=2):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(index, column)
            if column in formats:
                cell.number_format = formats[column]
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
            if isinstance(value, str) and ("\n" in value or len(value) > 40):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    last = get_column_letter(len(headers))
    sheet.auto_filter.ref = f"A1:{last}{max(len(rows) + 1, 2)}"
    sheet.freeze_panes = "A2"
    for column, header in enumerate(headers, start=1):
        width = (widths or {}).get(column) or max(10, min(len(header) + 2, 24))
        sheet.column_dimensions[get_column_letter(column)].width = width
    return sheet


def _per_area(report: AnnualReport, key: Callable[[Row], str]) -> list[list[Any]]:
    rows = []
    for unit in report.units:
        for area, kinds in unit.by(key).items():
            rows.append(
                [unit.administration, unit.name, area, kinds["klagomål"], kinds["synpunkt"]]
            )
    return rows


def to_xlsx(report: AnnualReport, organisation: str = "Organisationen") -> bytes:
    """The compilation as a workbook: Organisation, Förvaltningar, Enheter, Ärenden, Svar och
    åtgärder, Verksamhetsområden."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    share = {_COUNTS.index("Andel besvarade i tid") + 1: SHARE_FORMAT}  # among the counts
    whole = report.organisation(organisation)
    _sheet(
        book,
        "Organisation",
        ("Organisation", "År", "Klar senast", "Uppgifter per", *_COUNTS),
        [[organisation, report.year, report.deadline, report.as_of, *_counts(whole)]],
        widths={1: 28},
        formats={4 + c: f for c, f in share.items()},
    )
    _sheet(
        book,
        "Förvaltningar",
        ("Förvaltning", "Chef", *_COUNTS),
        [[g.name, g.head or "", *_counts(g)] for g in report.administrations],
        widths={1: 28, 2: 26},
        formats={2 + c: f for c, f in share.items()},
    )
    _sheet(
        book,
        "Enheter",
        ("Förvaltning", "Enhet", "Chef", *_COUNTS),
        [[u.administration, u.name, u.head or "", *_counts(u)] for u in report.units],
        widths={1: 28, 2: 28, 3: 26},
        formats={3 + c: f for c, f in share.items()},
    )
    _sheet(
        book,
        "Ärenden",
        CSV_HEADERS,
        [_case_cells(r) for r in _ordered(report)],
        widths={1: 22, 2: 22, 3: 14, 6: 40, 7: 50, 8: 40},
    )
    entries = []
    for row in _ordered(report):
        if row.individual_care:
            continue
        for what, items in (("svar", row.answers), ("åtgärd", row.measures)):
            for e in items:
                review = "ja" if e.review else "nej"
                entries.append(
                    [row.administration, row.unit, row.number, what, e.day, e.by, review, e.text]
                )
    entries.sort(key=lambda v: (v[0], v[1], v[2], v[4]))
    _sheet(
        book,
        "Svar och åtgärder",
        ("Förvaltning", "Enhet", "Ärende", "Slag", "Datum", "Av", "Efter ny prövning", "Text"),
        entries,
        widths={1: 22, 2: 22, 3: 14, 6: 26, 8: 70},
    )
    _sheet(
        book,
        "Verksamhetsområden",
        ("Förvaltning", "Enhet", "Verksamhetsområde", "Klagomål", "Synpunkter"),
        _per_area(report, lambda r: r.area),
        widths={1: 28, 2: 28, 3: 24},
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
