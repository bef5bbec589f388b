"""The unit head's daily mail: the complaints and opinions registered in their unit since the
last one, each with a link to its case page (the notifier writes it from ``[web] base_url``),
and the deadlines running in the unit.

Deciding only: :func:`head_digest` reads the database and returns the lines; the rule job
``head-digest`` (``[rules] head_digest``, at ``head_digest_time``) sends them through the
notifier, which makes them one mail per head, in working time, each line once.  A head who
heads several units gets one mail for all of them; a head whose units got nothing new gets
no mail that day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.registry.models import Case, CaseKind, CaseStatus, Unit
from postvakt.rules.notify import Planned, page_link, swedish_day

__all__ = ["RUNNING_LIMIT", "case_link", "head_digest"]

RUNNING_LIMIT = 30
"""At most this many running deadlines are listed; the rest are on the Översikt page."""

_OPEN = (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED)
_KIND_SV = {CaseKind.COMPLAINT: "klagomål", CaseKind.OPINION: "synpunkt"}
_PREFIX = "Synpunkter och klagomål – "


def case_link(config: Config, case_id: int) -> str | None:
    """The case page's address, when ``[web] base_url`` says where the dashboard is."""
    return page_link(config.web.base_url, f"/arenden/{case_id}")


def _title(case: Case) -> str:
    if case.individual_care:  # none of the citizen's words (OSL 26 kap.)
        return "rör enskilds vård och omsorg"
    return case.heading.removeprefix(_PREFIX)


def _deadlines(case: Case, today: date) -> str:
    if case.anonymous:
        return "anonymt, inget svar att ge"
    if case.status is CaseStatus.WAITING:
        return "väntar på medborgaren"
    if case.status not in _OPEN:
        return {
            CaseStatus.ANSWERED: "besvarat",
            CaseStatus.FORWARDED: "överlämnat",
            CaseStatus.CLOSED: "avslutat",
        }.get(case.status, case.status.value)
    parts = []
    if case.kind is CaseKind.COMPLAINT and case.status is CaseStatus.REGISTERED and case.ack_due:
        parts.append(("bekräftelse", case.ack_due))
    if case.answer_due:
        parts.append(("svar", case.answer_due))
    return ", ".join(
        f"{what} skulle ha lämnats senast {swedish_day(due)}"
        if due < today
        else f"{what} senast {swedish_day(due)}"
        for what, due in parts
    )


def _line(config: Config, case: Case, today: date, *, new: bool) -> str:
    unit = case.unit.name if case.unit else ""
    handler = config.person(case.handler) if case.handler else None
    who = f", handläggare {handler.name if handler else case.handler}" if case.handler else ""
    head = f"{case.label} {_KIND_SV[case.kind]} i {unit}: {_title(case)}{who if new else ''}"
    return f"{head} – {_deadlines(case, today)}"


def _nearest(case: Case) -> date | None:
    ack = case.ack_due if case.status is CaseStatus.REGISTERED else None
    dues = [d for d in (ack, case.answer_due) if d]
    return min(dues) if dues else None


def head_digest(
    session: Session, config: Config, *, since: datetime, now: datetime, today: date
) -> list[Planned]:
    """For each unit head: a ``new_case`` line per complaint or opinion registered in a unit
    they head after ``since`` (until ``now``), and, when there is one, a ``running`` line per
    other open case of those units with a deadline (nearest first, at most
    :data:`RUNNING_LIMIT`)."""
    new_cases = list(
        session.scalars(
            select(Case)
            .options(selectinload(Case.unit))
            .where(
                Case.registered_at > since,
                Case.registered_at <= now,
                Case.unit_id.is_not(None),
                Case.status != CaseStatus.WITHDRAWN,
                Case.merged_into_id.is_(None),
            )
            .order_by(Case.registered_at, Case.id)
        )
    )
    heads: dict[str, list[Case]] = {}
    for case in new_cases:
        assert case.unit is not None
        heads.setdefault(case.unit.head, []).append(case)
    if not heads:
        return []
    running = _open_cases(session, [u for u in session.scalars(select(Unit)) if u.head in heads])
    planned: list[Planned] = []
    for head, cases in sorted(heads.items()):
        for case in cases:
            planned.append(
                Planned(
                    head,
                    "new_case",
                    case.reference,
                    case.registered_at.astimezone(STOCKHOLM).date(),
                    _line(config, case, today, new=True),
                    private=case.private,
                    page=f"/arenden/{case.id}",
                )
            )
        seen = {c.id for c in cases}
        theirs = [c for c in running if c.unit is not None and c.unit.head == head]
        planned += [
            Planned(
                head,
                "running",
                case.reference,
                today,
                _line(config, case, today, new=False),
                private=case.private,
                page=f"/arenden/{case.id}",
            )
            for case in [c for c in theirs if c.id not in seen][:RUNNING_LIMIT]
        ]
    return planned


def _open_cases(session: Session, units: list[Unit]) -> list[Case]:
    """The open cases of ``units`` that have a deadline, the nearest first."""
    if not units:
        return []
    found = [
        c
        for c in session.scalars(
            select(Case)
            .options(selectinload(Case.unit))
            .where(
                Case.status.in_(_OPEN),
                Case.anonymous.is_(False),
                Case.unit_id.in_([u.id for u in units]),
                Case.merged_into_id.is_(None),
            )
        )
        if _nearest(c)
    ]
    found.sort(key=lambda c: (_nearest(c) or date.max, c.id))
    return found
