"""The diary system's number of a case, once known — typed by the registrar (Registrator
page, ``postvakt cases number``), found in the registrar's reply to a notice, imported in
bulk (``postvakt cases import-numbers``) or given by Public 360 when Postvakt creates the case.

A number already carried by another case is refused: two cases never share a diary number
(the collective number of anonymous complaints excepted).  Every change is an event on the
case: who, when, how, and the number it replaced.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.errors import InvalidInputError, NotFoundError
from postvakt.registry.cases import add_event, case_by_number, normalise_number
from postvakt.registry.models import Case, EventKind

__all__ = ["ImportReport", "import_numbers", "set_diary_number"]

MAX_LENGTH = 100


def set_diary_number(
    session: Session, case: Case, number: str, *, by: str, at: datetime, how: str
) -> bool:
    """Give ``case`` the diary number ``number``; False when it already had it.

    Raises :class:`InvalidInputError` (Swedish) for an empty or over-long number, or one that
    another case carries.
    """
    text = normalise_number(number)
    if not text:
        raise InvalidInputError("Diarienumret är tomt.")
    if len(text) > MAX_LENGTH:
        raise InvalidInputError(f"Diarienumret är längre än {MAX_LENGTH} tecken; kontrollera det.")
    if case.diary_number == text:
        return False
    other = session.scalars(
        select(Case).where(
            (Case.diary_number == text) | (Case.reference == text), Case.id != case.id
        )
    ).first()
    if other is not None and not (case.anonymous and other.anonymous):
        raise InvalidInputError(
            f"{text} är redan diarienummer för ett annat ärende ({other.reference}). "
            "Ett diarienummer hör till ett enda ärende; kontrollera numret."
        )
    before = case.diary_number
    case.diary_number = text
    if case.diary_entered_at is None:
        case.diary_entered_number, case.diary_entered_by, case.diary_entered_at = text, by, at
    detail = f"Diarienummer {text} ({how}, av {by})"
    if before and before != case.number:
        detail += f"; ersätter {before}"
    add_event(session, case, EventKind.NOTE, actor=by, at=at, detail=detail)
    return True


@dataclass
class ImportReport:
    """What ``cases import-numbers`` did, line by line."""

    set: list[tuple[int, str, str]] = field(default_factory=list)
    """(line, reference, diary number) given."""
    unchanged: list[tuple[int, str]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(line, what was wrong, in Swedish)."""


def import_numbers(session: Session, text: str, *, by: str, at: datetime) -> ImportReport:
    """Read 'reference;diary number' lines (a header line is skipped) and give each case its
    number.  Each line that does not match is reported and nothing of it is changed."""
    report = ImportReport()
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = next((d for d in ";\t" if d in first), ",")  # Swedish Excel writes ';'
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for line, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            report.problems.append((line, "väntade två fält: referens;diarienummer"))
            continue
        reference, number = cells[0], cells[1]
        if line == 1 and reference.lower() in ("referens", "reference", "nummer", "number"):
            continue  # a header
        case = case_by_number(session, reference)
        if case is None:
            report.problems.append((line, f"inget ärende med referensen {reference!r}"))
            continue
        try:
            with session.begin_nested():
                changed = set_diary_number(session, case, number, by=by, at=at, how="import")
        except InvalidInputError as exc:
            report.problems.append((line, str(exc)))
            continue
        if changed:
            report.set.append((line, case.reference, normalise_number(number)))
        else:
            report.unchanged.append((line, case.reference))
    return report


def case_for_number(session: Session, reference: str) -> Case:
    case = case_by_number(session, reference)
    if case is None:
        raise NotFoundError(
            f"Det finns inget ärende med referens eller nummer {reference!r}. "
            "Se 'postvakt cases list'."
        )
    return case
