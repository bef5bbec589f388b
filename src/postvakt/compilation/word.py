"""The yearly compilation as a Word document (landscape, a table per unit).

Rendered from the ``compilation`` template (``sammanstallning.docx``): an overview table with
the totals of the whole organisation, each administration and each unit, then one section per
unit with every case — what it concerned, every answer, every measure and the dates.  Cases
about an individual's own care are counted, never itemised.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from postvakt.charts.figures import yearly_charts
from postvakt.charts.word import add_charts
from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.registry.report import AnnualReport, Group, Row, UnitReport
from postvakt.templates import LetterRenderer
from postvakt.templates.casework import swedish_date

__all__ = ["compilation_docx", "in_time_text", "share_text"]

WHOLE = "Hela organisationen"
"""What the document is about when it covers every unit."""


def share_text(group: Group) -> str:
    """'83 % (5 av 6)' — the share answered in time of those judged (answered, or their
    deadline passed: :func:`postvakt.registry.case_query.judge`)."""
    share = group.in_time_share
    if share is None:
        return "–"
    return f"{round(share * 100)} % ({group.answered_in_time} av {group.judged})"


def in_time_text(row: Row) -> str:
    """'ja', 'nej', 'ej förfallet' (unanswered, the deadline has not passed) or '' (not judged)."""
    if row.in_time is None:
        return "ej förfallet" if row.not_yet_due else ""
    return "ja" if row.in_time else "nej"


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _median(group: Group) -> str:
    return "–" if group.median_days is None else f"{group.median_days:g}"


def _areas(group: Group) -> str:
    return (
        ", ".join(f"{area} {sum(kinds.values())}" for area, kinds in group.by_area.items()) or "–"
    )


def _totals(group: Group) -> dict[str, Any]:
    return {
        "level": group.level,
        "name": group.name,
        "complaints": group.complaints,
        "opinions": group.opinions,
        "care": group.care,
        "total": group.total,
        "in_time": share_text(group),
        "not_yet_due": group.not_yet_due,
        "median": _median(group),
    }


def _item(row: Row) -> dict[str, str]:
    return {
        "number": row.number,
        "kind": row.kind,
        "concerned": row.concerned,
        "answer": row.answer,
        "actions": row.actions,
        "received": _iso(row.received),
        "acknowledged": _iso(row.acknowledged),
        "answered": _iso(row.answered),
        "due": _iso(row.answer_due),
        "in_time": in_time_text(row),
    }


def _section(config: Config, unit: UnitReport, signer: str | None) -> dict[str, Any]:
    person = config.person(unit.head) if unit.head else None
    # The head by name; by address only when the signature does not print that address.
    head = person.name if person else (unit.head if unit.head != signer else "")
    where = [] if unit.depth == 0 else [f"Förvaltning: {unit.administration}"]
    if head:
        where.append(f"Chef: {head}")
    return {
        **_totals(unit),
        "where": ". ".join(where) + ("." if where else ""),
        "by_area": _areas(unit),
        # Care complaints are a group of their own: counted, never itemised here — they are
        # handled (and their details kept) in the deviation module.
        "rows": [_item(r) for r in unit.general_rows],  # not "items": that is dict.items
    }


def compilation_docx(
    renderer: LetterRenderer,
    config: Config,
    report: AnnualReport,
    now: datetime,
    *,
    units: list[UnitReport] | None = None,
    by: str | None = None,
) -> bytes:
    """The compilation of ``units`` (default: every unit of ``report``) as a .docx.

    One unit: its totals and its cases, signed by its head.  Several: the totals of the
    whole organisation and of each administration too, signed by ``by`` when given.  The
    charts of :func:`postvakt.charts.figures.yearly_charts` follow the totals.
    """
    chosen = report.units if units is None else units
    scope = AnnualReport(report.year, report.deadline, chosen, report.as_of)
    single = len(chosen) == 1
    whole = scope.organisation(config.organisation.name if not single else chosen[0].name)
    signer = chosen[0].head if single and chosen[0].head else by
    person = config.person(signer) if signer else None
    levels = [] if single else [_totals(whole), *map(_totals, scope.administrations)]
    levels += [{**_totals(u), "name": ("  " * u.depth) + u.name} for u in chosen]
    as_of = report.as_of or now.astimezone(STOCKHOLM).date()
    document = renderer.render(
        "compilation",
        {
            "organisation": config.organisation.name,
            "unit": chosen[0].name if single else WHOLE,
            "date": swedish_date(now.astimezone(STOCKHOLM).date()),
            "number": "",
            # A name that is only an address is no name: the address is printed below it.
            "handler_name": person.name if person else "",
            "handler_title": (person.title if person else "") or "",
            "handler_email": signer or "",
            "handler_phone": (person.phone if person else "") or "",
            "year": report.year,
            "deadline": swedish_date(report.deadline),
            "as_of": swedish_date(as_of),
            "levels": levels,
            "sections": [_section(config, u, signer) for u in chosen],
            # The whole scope's figures, for templates written for one unit.
            "complaints": whole.complaints,
            "opinions": whole.opinions,
            "total": whole.total,
            "answered_in_time": share_text(whole),
            "median_days": _median(whole),
            "by_area": _areas(whole),
            "care": whole.care,
            "items": [_item(r) for r in whole.general_rows],
        },
    )
    # The same charts as on Sammanställning, as pictures after the totals.
    dated = AnnualReport(report.year, report.deadline, chosen, as_of)
    return add_charts(document, yearly_charts(dated, whole.name))
