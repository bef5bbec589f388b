"""The charts themselves: what each counts, from the registry's counts only.

Two sets, the same four kinds of chart:

- :func:`recent_charts` — Översikt: the last twelve months of the cases a person may see,
  counted by :mod:`postvakt.registry.case_query` (``count_cases``, ``count_cases_by``,
  ``answered_in_time``), each figure with the address of the case list that shows exactly
  those cases.
- :func:`yearly_charts` — Sammanställning and the yearly compilation's Word document: one
  year's complaints and opinions, counted by :mod:`postvakt.registry.report` (the same
  figures as the compilation's tables).

The charts: complaints and opinions per month; per unit; the share answered in time (by
:func:`postvakt.registry.case_query.judge`); open cases by age (days since they came in).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy.orm import Session

from postvakt.charts import Chart, Series
from postvakt.registry.case_query import (
    CaseFilter,
    CaseScope,
    answered_in_time,
    count_cases,
    count_cases_by,
)
from postvakt.registry.report import AnnualReport, Group, Row
from postvakt.wording import MONTHS_SV

__all__ = ["AGES", "MONTHS", "Link", "age_filter", "recent_charts", "yearly_charts"]

Link = Callable[[CaseFilter], str]
"""The address of the case list for a filter (the web panel's); None: no links (Word)."""

MONTHS = MONTHS_SV

AGES: tuple[tuple[int, int | None, str], ...] = (
    (0, 7, "0–7 dagar"),
    (8, 14, "8–14 dagar"),
    (15, 30, "15–30 dagar"),
    (31, 90, "31–90 dagar"),
    (91, None, "mer än 90 dagar"),
)
"""The age groups of open cases: (least days, most days or None, what the group is called).
A case's age is the number of days since the day it came in."""

AGE_TICKS = ("0–7", "8–14", "15–30", "31–90", "över 90")
"""The age groups as the picture's axis says them (under it: 'dagar sedan de kom in')."""

AGE_AXIS = "dagar sedan ärendet kom in"

KINDS = (("complaint", "Klagomål"), ("opinion", "Synpunkter"))


def _months_back(today: date, count: int) -> list[tuple[date, date]]:
    """The first and last day of the ``count`` months up to and including today's."""
    months: list[tuple[date, date]] = []
    year, month = today.year, today.month
    for _ in range(count):
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        months.append((first, following - timedelta(days=1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def age_filter(today: date, least: int, most: int | None) -> CaseFilter:
    """Open cases that came in ``least``–``most`` days before ``today``."""
    return CaseFilter(
        since=today - timedelta(days=most) if most is not None else None,
        until=today - timedelta(days=least),
    )


def _links(link: Link | None, filters: list[CaseFilter]) -> tuple[str | None, ...]:
    return tuple(link(f) for f in filters) if link is not None else ()


def _month_labels(months: list[tuple[date, date]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The table's ('januari 2026', …) and the picture's short ('jan\n2026', 'feb', …)."""
    long = tuple(f"{MONTHS[f.month - 1]} {f.year}" for f, _ in months)
    short = tuple(
        MONTHS[f.month - 1][:3] + (f"\n{f.year}" if i == 0 or f.month == 1 else "")
        for i, (f, _) in enumerate(months)
    )
    return long, short


def recent_charts(
    session: Session, scope: CaseScope, today: date, *, link: Link | None = None, months: int = 12
) -> list[Chart]:
    """Översikt's charts: the last ``months`` months of the cases in ``scope``."""
    span = _months_back(today, months)
    long, short = _month_labels(span)
    since = span[0][0]
    per_month = []
    for kind, name in KINDS:
        wanted = [CaseFilter(kind=kind, status="all", since=f, until=u) for f, u in span]
        per_month.append(
            Series(
                name,
                tuple(float(count_cases(session, scope, w, today)) for w in wanted),
                _links(link, wanted),
            )
        )
    by_unit = {
        kind: count_cases_by(
            session, scope, CaseFilter(kind=kind, status="all", since=since), today, "unit"
        )
        for kind, _ in KINDS
    }
    units = sorted({u for counts in by_unit.values() for u in counts})
    per_unit = [
        Series(
            name,
            tuple(float(by_unit[kind].get(u, 0)) for u in units),
            _links(link, [CaseFilter(unit=u, kind=kind, status="all", since=since) for u in units]),
        )
        for kind, name in KINDS
    ]
    judged = [
        answered_in_time(session, scope, CaseFilter(status="all", since=f, until=u), today)
        for f, u in span
    ]
    in_time = Series(
        "Besvarade i tid",
        tuple(float(j.percent) if j.percent is not None else None for j in judged),
        _links(link, [CaseFilter(status="all", since=f, until=u) for f, u in span]),
    )
    ages = [age_filter(today, least, most) for least, most, _ in AGES]
    by_age = Series(
        "Öppna ärenden",
        tuple(float(count_cases(session, scope, w, today)) for w in ages),
        _links(link, ages),
    )
    return [
        Chart(
            "per-manad",
            f"Nya klagomål och synpunkter per månad, de senaste {months} månaderna",
            "Månad",
            long,
            tuple(per_month),
            short=short,
        ),
        Chart(
            "per-enhet",
            f"Nya klagomål och synpunkter per enhet sedan {since.day} {MONTHS[since.month - 1]}"
            f" {since.year}",
            "Enhet",
            tuple(units),
            tuple(per_unit),
            horizontal=True,
            note="Ärenden utan enhet räknas inte här.",
        ),
        Chart(
            "i-tid",
            "Andel ärenden besvarade i tid, efter den månad de kom in",
            "Månad",
            long,
            (in_time,),
            short=short,
            percent=True,
            details=tuple(
                f"{j.in_time} av {j.judged}" if j.judged else "inget att bedöma" for j in judged
            ),
            detail_heading="Besvarade i tid av bedömda",
            note=IN_TIME_NOTE,
        ),
        Chart(
            "alder",
            "Öppna ärenden efter ålder (dagar sedan de kom in)",
            "Ålder",
            tuple(label for _, _, label in AGES),
            (by_age,),
            short=AGE_TICKS,
            axis_label=AGE_AXIS,
        ),
    ]


IN_TIME_NOTE = (
    "Ett ärende bedöms när det har besvarats eller när svarstiden har gått ut; "
    "obesvarade ärenden vars svarstid inte har gått ut räknas inte."
)


def _group(rows: list[Row]) -> Group:
    return Group("", "", rows=rows)


def _share(group: Group) -> float | None:
    share = group.in_time_share
    return None if share is None else round(100 * share)


def yearly_charts(report: AnnualReport, whole: str, *, link: Link | None = None) -> list[Chart]:
    """The charts of one year's compilation (``whole``: what all its units are called)."""
    year = report.year
    as_of = report.as_of or report.deadline
    months = [
        (date(year, m, 1), date(year + m // 12, m % 12 + 1, 1) - timedelta(days=1))
        for m in range(1, 13)
    ]
    by_month = [_group([r for r in report.rows if r.received.month == m]) for m in range(1, 13)]
    first, last = date(year, 1, 1), date(year, 12, 31)
    charts = [
        Chart(
            "ar-per-manad",
            f"Klagomål och synpunkter per månad {year}",
            "Månad",
            tuple(MONTHS),
            (
                Series(
                    "Klagomål",
                    tuple(float(g.complaints) for g in by_month),
                    _links(
                        link,
                        [
                            CaseFilter(kind="complaint", status="all", since=f, until=u)
                            for f, u in months
                        ],
                    ),
                ),
                Series(
                    "Synpunkter",
                    tuple(float(g.opinions) for g in by_month),
                    _links(
                        link,
                        [
                            CaseFilter(kind="opinion", status="all", since=f, until=u)
                            for f, u in months
                        ],
                    ),
                ),
            ),
            short=tuple(m[:3] for m in MONTHS),
            note=CARE_APART,
        )
    ]
    units = report.units
    if len(units) > 1:
        charts.append(
            Chart(
                "ar-per-enhet",
                f"Klagomål och synpunkter per enhet {year}",
                "Enhet",
                tuple(u.unit for u in units),
                tuple(
                    Series(
                        name,
                        tuple(float(getattr(u, field)) for u in units),
                        _links(
                            link,
                            [
                                CaseFilter(
                                    unit=u.unit, kind=kind, status="all", since=first, until=last
                                )
                                for u in units
                            ],
                        ),
                    )
                    for name, kind, field in (
                        ("Klagomål", "complaint", "complaints"),
                        ("Synpunkter", "opinion", "opinions"),
                    )
                ),
                horizontal=True,
                note=CARE_APART,
            )
        )
    groups: list[Group] = [report.organisation(whole), *units] if len(units) > 1 else [*units]
    charts.append(
        Chart(
            "ar-i-tid",
            f"Andel besvarade i tid {year}",
            "Enhet",
            tuple(g.name for g in groups),
            (Series("Besvarade i tid", tuple(_share(g) for g in groups)),),
            percent=True,
            horizontal=True,
            details=tuple(
                f"{g.answered_in_time} av {g.judged}" if g.judged else "inget att bedöma"
                for g in groups
            ),
            detail_heading="Besvarade i tid av bedömda",
            note=IN_TIME_NOTE,
        )
    )
    still_open = [r for r in report.rows if r.still_open]
    counts = []
    filters = []
    for least, most, _label in AGES:
        counts.append(
            float(
                sum(
                    1
                    for r in still_open
                    if least <= (as_of - r.received).days
                    and (most is None or (as_of - r.received).days <= most)
                )
            )
        )
        wanted = age_filter(as_of, least, most)
        filters.append(
            CaseFilter(
                since=max(first, wanted.since) if wanted.since else first,
                until=min(last, wanted.until) if wanted.until else last,
            )
        )
    charts.append(
        Chart(
            "ar-alder",
            f"Ärenden från {year} som fortfarande är öppna, efter ålder",
            "Ålder",
            tuple(label for _, _, label in AGES),
            (Series("Öppna ärenden", tuple(counts), _links(link, filters)),),
            short=AGE_TICKS,
            axis_label=AGE_AXIS,
            note=f"Ålder räknad till {as_of.day} {MONTHS[as_of.month - 1]} {as_of.year}.",
        )
    )
    return charts


CARE_APART = (
    "Klagomål och synpunkter som rör enskilds vård och omsorg räknas inte här "
    "(de redovisas i avvikelsemodulen)."
)
