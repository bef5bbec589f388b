"""The yearly compilation of complaints and opinions: its data, per unit, per administration
and for the whole organisation.

The routines: the manager compiles the year's complaints and opinions once a year — what
each concerned, the manager's answer, the actions taken — by 15 February, for the yearly
review and analysis.  Each row carries *every* answer and *every* measure of its case, read
from the case's events (a case answered, reviewed anew and answered again has two answers),
and the times (received, acknowledged, first answered, due).

Totals are given at three levels: the unit; the administration (förvaltning) — a unit with
no parent is an administration, and every unit under it, however deep, rolls up into it —
and the whole organisation.  "Besvarade i tid" follows the one counting rule
(:func:`postvakt.registry.case_query.judge`): a case is judged when it was answered or when
its answer deadline has passed on the day the compilation is made (``as_of``); an
unanswered case not yet due is neither in time nor late.  Anonymous cases (nobody to
answer), cases handed over to another administration and cases waiting for the citizen
(their clock is paused) are not judged.

Complaints and opinions about an individual's own care are a group of their own: counted,
listed by number and dates only, and said to be handled in the care system's deviation
module — what they concerned is kept there, not in a compilation that goes to the board.

How rows are grouped into service areas is pluggable (``area_of``): the default reads the
case's ``service_area``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.case_query import OPEN_STATUSES, answered_day, judge
from postvakt.registry.models import Case, CaseKind, CaseStatus, EventKind, Unit

__all__ = [
    "CARE_NOTE",
    "KIND_SV",
    "NO_UNIT",
    "AnnualReport",
    "Entry",
    "Group",
    "Row",
    "UnitReport",
    "annual_report",
    "default_area",
]

KIND_SV = {CaseKind.COMPLAINT: "klagomål", CaseKind.OPINION: "synpunkt"}
CARE_NOTE = "Rör enskilds vård och omsorg – handläggs i verksamhetssystemets avvikelsemodul"
"""What a care case's row says instead of what it concerned, the answer and the actions."""
NO_UNIT = "(ingen enhet)"

AreaOf = Callable[[Case], str]
"""Which service area a case's row is counted under."""


def default_area(case: Case) -> str:
    """The case's recorded service area (``övrigt`` when none)."""
    return case.service_area or "övrigt"


@dataclass(frozen=True)
class Entry:
    """One answer or one measure of a case, as its event recorded it."""

    day: date
    by: str
    text: str
    review: bool = False
    """Given after the case was reopened for a new review (the citizen was not satisfied)."""

    def line(self) -> str:
        """'2026-11-19 (efter ny prövning): text' — how the compilation prints it."""
        after = " (efter ny prövning)" if self.review else ""
        return f"{self.day.isoformat()}{after}: {self.text}"


@dataclass(frozen=True)
class Row:
    number: str
    kind: str
    concerned: str
    answers: tuple[Entry, ...]
    """Every answer, in order: by hand, seen sent from the mailbox, a callback."""
    measures: tuple[Entry, ...]
    """Every measure taken (vidtagna åtgärder) and hand-over, in order."""
    area: str
    received: date
    acknowledged: date | None
    answered: date | None
    """The first answer."""
    answer_due: date | None
    in_time: bool | None
    """Answered by the due date; None when not judged (unanswered and not yet due,
    anonymous, handed over to another administration, waiting for the citizen)."""
    days_to_answer: int | None
    individual_care: bool = False
    """About an individual's own care: counted in its own group, its content not shown."""
    unit: str = NO_UNIT
    administration: str = NO_UNIT
    not_yet_due: bool = False
    """The answer deadline has not passed on the day the compilation was made."""
    still_open: bool = False
    """Open when the compilation was made (:data:`~postvakt.registry.case_query.OPEN_STATUSES`:
    not closed, forwarded or withdrawn) — the charts' "open cases by age"."""

    @property
    def answer(self) -> str:
        """Every answer, one per line with its date."""
        return "\n".join(e.line() for e in self.answers)

    @property
    def actions(self) -> str:
        """Every measure, one per line with its date."""
        return "\n".join(e.line() for e in self.measures)


@dataclass
class Group:
    """The totals of a set of rows: a unit, an administration or the whole organisation."""

    name: str
    level: str
    """'enhet', 'förvaltning' or 'organisation'."""
    head: str | None = None
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
    def total(self) -> int:
        return len(self.rows)

    def by(self, key: Callable[[Row], str]) -> dict[str, Counter[str]]:
        """Counts per kind for each value of ``key`` (e.g. the service area)."""
        groups: dict[str, Counter[str]] = {}
        for row in self.rows:
            groups.setdefault(key(row), Counter())[row.kind] += 1
        return dict(sorted(groups.items()))

    @property
    def by_area(self) -> dict[str, Counter[str]]:
        return self.by(lambda r: r.area)

    @property
    def judged(self) -> int:
        """Cases whose deadline has passed (and that had someone to answer)."""
        return sum(1 for r in self.rows if r.in_time is not None)

    @property
    def answered_in_time(self) -> int:
        return sum(1 for r in self.rows if r.in_time)

    @property
    def not_yet_due(self) -> int:
        return sum(1 for r in self.rows if r.not_yet_due)

    @property
    def in_time_share(self) -> float | None:
        return self.answered_in_time / self.judged if self.judged else None

    @property
    def median_days(self) -> float | None:
        days = [r.days_to_answer for r in self.rows if r.days_to_answer is not None]
        return statistics.median(days) if days else None


@dataclass
class UnitReport(Group):
    level: str = "enhet"
    administration: str = ""
    depth: int = 0
    """0 for an administration's own unit, 1 for a unit right under it, …"""

    @property
    def unit(self) -> str:
        return self.name


@dataclass
class AnnualReport:
    year: int
    deadline: date
    units: list[UnitReport]
    as_of: date | None = None
    """The day the compilation was made: deadlines after it are not judged."""

    @property
    def administrations(self) -> list[Group]:
        """One group per administration, with every row of its units, in the units' order."""
        groups: dict[str, Group] = {}
        for unit in self.units:
            group = groups.get(unit.administration)
            if group is None:
                head = unit.head if unit.depth == 0 else None
                group = groups[unit.administration] = Group(
                    unit.administration, "förvaltning", head
                )
            elif unit.depth == 0:
                group.head = unit.head
            group.rows.extend(unit.rows)
        return list(groups.values())

    def organisation(self, name: str) -> Group:
        """Every row of the report as one group named ``name``."""
        return Group(name, "organisation", None, [r for u in self.units for r in u.rows])

    @property
    def rows(self) -> list[Row]:
        return [r for u in self.units for r in u.rows]


def _day(value: datetime | None) -> date | None:
    return value.astimezone(STOCKHOLM).date() if value else None


def _after(detail: str, marker: str) -> str:
    """The part of an event's text after ``marker`` (the whole text when it is not there)."""
    _head, found, tail = detail.partition(marker)
    return tail.strip() if found else detail.strip()


def _entries(case: Case, received: date) -> tuple[list[Entry], list[Entry]]:
    """Every answer and every measure of ``case``, from its events."""
    answers: list[Entry] = []
    measures: list[Entry] = []
    review = False
    last_answer = None
    for event in case.events:
        day = _day(event.at)
        assert day is not None
        if event.kind is EventKind.REOPENED:
            review = True
        elif event.kind is EventKind.ANSWERED:
            if event.detail.startswith("Svar skickat:"):
                text = "Svar skickat från brevlådan (ämne: " + _after(event.detail, ":") + ")"
            else:
                text = _after(event.detail, "Svar:")
            last_answer = len(answers)
            answers.append(Entry(day, event.actor, text, review))
        elif event.kind is EventKind.CALLBACK:
            answers.append(Entry(day, event.actor, f"Återkoppling per telefon: {event.detail}"))
        elif event.kind is EventKind.CLOSED:
            text = _after(event.detail, "Vidtagna åtgärder:")
            if text:
                measures.append(Entry(day, event.actor, text, review))
        elif event.kind is EventKind.FORWARDED:
            measures.append(Entry(day, event.actor, event.detail.strip(), review))
    # Events written before the whole text was kept hold its first 300 characters: the last
    # answer's whole text is on the case.
    full = case.answer_text or ""
    if last_answer is not None and full:
        entry = answers[last_answer]
        if full != entry.text and full.startswith(entry.text):
            answers[last_answer] = Entry(entry.day, entry.by, full, entry.review)
    if not measures and case.actions:  # closed before measures were kept on the event
        measures.append(Entry(_day(case.closed_at) or received, "", case.actions))
    return answers, measures


def _judge(case: Case, as_of: date) -> tuple[bool | None, bool]:
    """(answered in time, not yet due) for ``case`` on ``as_of``, by the one counting rule
    (:func:`postvakt.registry.case_query.judge`): an answered case is judged whenever it
    was answered, an unanswered one once its deadline has passed."""
    verdict = judge(
        status=case.status,
        anonymous=case.anonymous,
        answer_due=case.answer_due,
        answered=answered_day(case.events),
        as_of=as_of,
    )
    if verdict is None or verdict == "not_yet_due":
        return None, verdict == "not_yet_due"
    return verdict == "in_time", False


def _tree(units: Iterable[Unit]) -> list[tuple[Unit, str, int]]:
    """Every unit with its administration's name and its depth under it, administration by
    administration, each followed by the units under it (depth first, by name)."""
    units = list(units)
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    for kids in children.values():
        kids.sort(key=lambda u: u.name)
    known = {u.id for u in units}
    # A unit whose parent is not a unit is an administration too.
    roots = sorted(
        (u for u in units if u.parent_id is None or u.parent_id not in known),
        key=lambda u: u.name,
    )
    out: list[tuple[Unit, str, int]] = []
    seen: set[int] = set()

    def walk(unit: Unit, top: str, depth: int) -> None:
        if unit.id in seen:
            return
        seen.add(unit.id)
        out.append((unit, top, depth))
        for child in children.get(unit.id, []):
            walk(child, top, depth + 1)

    for root in roots:
        walk(root, root.name, 0)
    for unit in sorted(units, key=lambda u: u.name):  # a cycle of parents: each its own
        walk(unit, unit.name, 0)
    return out


def annual_report(
    session: Session,
    year: int,
    deadline: date,
    unit: str | None = None,
    *,
    as_of: date | None = None,
    area_of: AreaOf = default_area,
) -> AnnualReport:
    """Every complaint and opinion received in ``year``, per unit (or for one unit).

    ``as_of`` is the day the compilation is made (pass the clock's date); deadlines on or
    after it are not judged.  Without it, the compilation's own ``deadline`` is used.
    """
    as_of = as_of or deadline
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
    for u, top, depth in _tree(session.scalars(select(Unit))):
        if unit is None or u.name == unit:
            units[u.name] = UnitReport(u.name, head=u.head, administration=top, depth=depth)
    for case in session.scalars(query):
        name = case.unit.name if case.unit else NO_UNIT
        if unit is not None and name != unit:
            continue
        report = units.get(name)
        if report is None:
            report = units[name] = UnitReport(name, administration=name)
        received = _day(case.received_at)
        assert received is not None
        answers, measures = _entries(case, received)
        first = next((_day(e.at) for e in case.events if e.kind is EventKind.ANSWERED), None)
        in_time, not_yet_due = _judge(case, as_of)
        report.rows.append(
            Row(
                number=case.label,
                kind=KIND_SV[case.kind],
                concerned=case.summary,
                answers=tuple(answers),
                measures=tuple(measures),
                area=area_of(case),
                received=received,
                acknowledged=next(
                    (_day(e.at) for e in case.events if e.kind is EventKind.ACKNOWLEDGED), None
                ),
                answered=first,
                answer_due=case.answer_due,
                in_time=in_time,
                days_to_answer=(first - received).days if first else None,
                individual_care=case.individual_care,
                unit=name,
                administration=report.administration,
                not_yet_due=not_yet_due,
                still_open=case.status in OPEN_STATUSES,
            )
        )
    return AnnualReport(year, deadline, list(units.values()), as_of)
