"""The yearly compilation of complaints and opinions, per unit.

The routines: the manager compiles the year's complaints and opinions once a year — what
each concerned, the manager's answer, the actions taken — by 15 February, for the yearly
review and analysis.  Each row carries the times too (received, acknowledged, answered),
and each unit a summary: counts by kind and service area, the share answered in time, and
the median number of days to an answer.

Complaints and opinions about an individual's own care are a group of their own: counted,
listed by number and dates only, and said to be handled in the care system's deviation
module — what they concerned is kept there, not in a compilation that goes to the board.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import Case, CaseKind, CaseStatus, EventKind, Unit

__all__ = [
    "CARE_NOTE",
    "AnnualReport",
    "Row",
    "UnitReport",
    "annual_report",
    "to_csv",
    "to_xlsx",
]

KIND_SV = {CaseKind.COMPLAINT: "klagomål", CaseKind.OPINION: "synpunkt"}
CARE_NOTE = "Rör enskilds vård och omsorg – handläggs i verksamhetssystemets avvikelsemodul"
"""What a care case's row says instead of what it concerned, the answer and the actions."""


@dataclass(frozen=True)
class Row:
    number: str
    kind: str
    concerned: str
    answer: str
    actions: str
    area: str
    received: date
    acknowledged: date | None
    answered: date | None
    answer_due: date | None
    in_time: bool | None
    """Answered by the due date; None when there was nobody to answer (anonymous)."""
    days_to_answer: int | None
    individual_care: bool = False
    """About an individual's own care: counted in its own group, its content not shown."""


@dataclass
class UnitReport:
    unit: str
    head: str | None
    rows: list[Row] = field(default_factory=list)

    @property
    def general_rows(self) -> list[Row]:
        """The complaints and opinions that do not concern an individual's own care."""
        return [r for r in self.rows if not r.individual_care]

    @property
    def care_rows(self) -> list[Row]:
        """Those about an individual's own care (handled in the deviation module)."""
        return [r for r in self.rows if r.individual_care]

    @property
    def complaints(self) -> int:
        return sum(1 for r in self.general_rows if r.kind == "klagomål")

    @property
    def opinions(self) -> int:
        return sum(1 for r in self.general_rows if r.kind == "synpunkt")

    @property
    def care(self) -> int:
        return len(self.care_rows)

    @property
    def by_area(self) -> dict[str, Counter[str]]:
        areas: dict[str, Counter[str]] = {}
        for row in self.rows:
            areas.setdefault(row.area, Counter())[row.kind] += 1
        return dict(sorted(areas.items()))

    @property
    def in_time_share(self) -> float | None:
        judged = [r.in_time for r in self.rows if r.in_time is not None]
        return sum(judged) / len(judged) if judged else None

    @property
    def median_days(self) -> float | None:
        days = [r.days_to_answer for r in self.rows if r.days_to_answer is not None]
        return statistics.median(days) if days else None


@dataclass
class AnnualReport:
    year: int
    deadline: date
    units: list[UnitReport]


def _first(case: Case, kind: EventKind) -> datetime | None:
    return next((e.at for e in case.events if e.kind is kind), None)


def _day(value: datetime | None) -> date | None:
    return value.astimezone(STOCKHOLM).date() if value else None


def annual_report(
    session: Session, year: int, deadline: date, unit: str | None = None
) -> AnnualReport:
    """Every complaint and opinion received in ``year``, per unit (or for one unit)."""
    start = datetime(year, 1, 1, tzinfo=STOCKHOLM)
    end = datetime(year + 1, 1, 1, tzinfo=STOCKHOLM)
    query = (
        select(Case)
        .options(selectinload(Case.events), selectinload(Case.unit))
        .where(
            Case.received_at >= start,
            Case.received_at < end,
            Case.status != CaseStatus.WITHDRAWN,  # makulerat: not a complaint or opinion
        )
        .order_by(Case.year, Case.seq, Case.entry)
    )
    units: dict[str, UnitReport] = {}
    for u in session.scalars(select(Unit).order_by(Unit.name)):
        if unit is None or u.name == unit:
            units[u.name] = UnitReport(u.name, u.head)
    for case in session.scalars(query):
        name = case.unit.name if case.unit else "(ingen enhet)"
        if unit is not None and name != unit:
            continue
        report = units.setdefault(name, UnitReport(name, None))
        received = _day(case.received_at)
        assert received is not None
        answered = _day(_first(case, EventKind.ANSWERED))
        report.rows.append(
            Row(
                number=case.label,
                kind=KIND_SV[case.kind],
                concerned=case.summary,
                answer=case.answer_text or "",
                actions=case.actions or "",
                area=case.service_area or "övrigt",
                received=received,
                acknowledged=_day(_first(case, EventKind.ACKNOWLEDGED)),
                answered=answered,
                answer_due=case.answer_due,
                in_time=None
                if case.anonymous
                else (
                    answered is not None
                    and case.answer_due is not None
                    and answered <= case.answer_due
                ),
                days_to_answer=(answered - received).days if answered else None,
                individual_care=case.individual_care,
            )
        )
    return AnnualReport(year, deadline, list(units.values()))


HEADERS = ("Enhet", "Diarienummer", "Typ", "Verksamhetsområde", "Vad gällde det", "Chefens svar",
           "Vidtagna åtgärder", "Inkom", "Bekräftat", "Besvarat", "Svar senast", "I tid")  # fmt: skip


def _cells(unit: str, row: Row) -> list[str]:
    iso = lambda d: d.isoformat() if d else ""  # noqa: E731 - a formatter used only here
    in_time = {True: "ja", False: "nej", None: ""}[row.in_time]
    if row.individual_care:  # the deviation module keeps what it concerned
        return [unit, row.number, row.kind, "vård och omsorg", CARE_NOTE, "", "",
                iso(row.received), iso(row.acknowledged), iso(row.answered), iso(row.answer_due), in_time]  # fmt: skip
    return [unit, row.number, row.kind, row.area, row.concerned, row.answer, row.actions,
            iso(row.received), iso(row.acknowledged), iso(row.answered), iso(row.answer_due), in_time]  # fmt: skip


def _grouped(unit: UnitReport) -> list[Row]:
    """The general rows first, then the care group."""
    return unit.general_rows + unit.care_rows


def to_csv(report: AnnualReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # Swedish Excel reads semicolons
    writer.writerow(HEADERS)
    for unit in report.units:
        for row in _grouped(unit):
            writer.writerow(_cells(unit.unit, row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


def to_xlsx(report: AnnualReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "Sammanfattning"
    summary.append(
        [f"Synpunkter och klagomål {report.year}", f"Klar senast {report.deadline.isoformat()}"]
    )
    summary.append(
        ["Enhet", "Klagomål", "Synpunkter", "Vård och omsorg (avvikelsemodulen)",
         "Besvarade i tid", "Median dagar till svar"]
    )  # fmt: skip
    for unit in report.units:
        share = unit.in_time_share
        summary.append(
            [
                unit.unit,
                unit.complaints,
                unit.opinions,
                unit.care,
                None if share is None else round(share, 3),
                unit.median_days,
            ]
        )
    for cell in summary[2]:
        cell.font = Font(bold=True)
    for unit in report.units:
        sheet = book.create_sheet(unit.unit[:31] or "Enhet")
        sheet.append(list(HEADERS[1:]))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in _grouped(unit):
            sheet.append(_cells(unit.unit, row)[1:])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
