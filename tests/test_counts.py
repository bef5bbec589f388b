"""The counting rule itself, on a handful of cases whose answers are worked out by hand:
overdue is a case (not a deadline), and "besvarade i tid" judges a case once it is answered
or its deadline has passed — an open case not yet due is in neither count nor the
denominator.  On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.registry.case_query import (
    CaseFilter,
    CaseScope,
    answered_in_time,
    count_cases,
    due_state,
    judge,
)
from postvakt.registry.models import Case, CaseEvent, CaseKind, CaseStatus, EventKind, Unit
from postvakt.web import create_app
from tests.web.support import NOW, ctx_of, make_config

TODAY = NOW.date()  # Tuesday 24 November 2026
C, OP = CaseKind.COMPLAINT, CaseKind.OPINION
S = CaseStatus

# (seq, kind, status, ack due, answer due, answered on (days from today), reopened after it)
SMALL = (
    (1, OP, S.REGISTERED, None, TODAY + timedelta(3), None, False),  # open, not yet due
    (2, OP, S.ANSWERED, None, TODAY + timedelta(3), -1, False),  # answered early: in time
    (3, OP, S.CLOSED, None, TODAY - timedelta(10), -5, False),  # answered late
    (4, OP, S.ACKNOWLEDGED, None, TODAY - timedelta(1), None, False),  # unanswered, due passed
    (5, OP, S.REOPENED, None, TODAY - timedelta(2), -9, True),  # answered, reopened, due passed
    (6, C, S.REGISTERED, TODAY - timedelta(1), TODAY + timedelta(5), None, False),  # ack late
    (7, C, S.REGISTERED, TODAY - timedelta(8), TODAY - timedelta(2), None, False),  # both late
    (8, OP, S.WAITING, None, TODAY - timedelta(5), None, False),  # clock paused
    (9, C, S.CLOSED, None, TODAY - timedelta(3), -3, False),  # answered on the due day
)
ANONYMOUS = 10  # like 4, but anonymous: nobody to answer


def _seed(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    app = create_app(make_config(tmp_path / "ws", db_url), clock=fixed_clock(NOW), environ={})
    ctx = ctx_of(app)
    with ctx.sessions() as session, session.begin():
        unit = session.scalars(select(Unit).where(Unit.name == "Kontaktcenter")).one()
        rows = [*SMALL, (ANONYMOUS, OP, S.ACKNOWLEDGED, None, TODAY - timedelta(1), None, False)]
        for seq, kind, status, ack, due, answered, reopened in rows:
            when = NOW - timedelta(days=20)
            case = Case(
                reference=f"KS 2026/{seq}", number=f"KS 2026/{seq}", year=2026, seq=seq,
                kind=kind, status=status, heading=f"Ärende {seq}", summary="", unit=unit,
                anonymous=seq == ANONYMOUS, received_at=when, registered_at=when,
                ack_due=ack, answer_due=due, classifier_reasons=[],
            )  # fmt: skip
            session.add(case)
            if answered is not None:
                at = datetime.combine(TODAY + timedelta(answered), datetime.min.time(), STOCKHOLM)
                at += timedelta(hours=16)  # late in the day: the day counts, not the hour
                session.add(CaseEvent(case=case, at=at, kind=EventKind.ANSWERED, actor="a@x"))
                if reopened:
                    again = at + timedelta(days=1)
                    session.add(CaseEvent(case=case, at=again, kind=EventKind.REOPENED, actor="a"))
    return app


def test_the_rule_on_cases_worked_out_by_hand(tmp_path: Path, db_url: str) -> None:
    app = _seed(tmp_path, db_url)
    ctx = ctx_of(app)
    every = CaseScope.everything()
    try:
        with ctx.sessions() as session:
            # Overdue: 4, 5, 6 (its acknowledgement), 7 (two deadlines, one case) — not the
            # waiting 8, not the anonymous 10, not anything answered or closed.
            overdue = count_cases(session, every, CaseFilter(overdue=True), TODAY)
            assert overdue == 4
            listed = {
                c.seq for c in session.scalars(select(Case)) if due_state(c, TODAY) == "overdue"
            }
            assert listed == {4, 5, 6, 7}
            # Open: everything not closed (3, 9) — 1, 2, 4, 5, 6, 7, 8, 10.
            assert count_cases(session, every, CaseFilter(), TODAY) == 8

            counted = answered_in_time(session, every, CaseFilter(status="all"), TODAY)
            # Judged: 2 (early, in time), 3 (late), 4 (due passed, unanswered), 5 (the answer
            # before the reopening does not count: due passed), 7 (answer due passed), 9 (on
            # the day: in time).  Not judged: 1 and 6 (not yet due), 8 (waiting), 10 (anonymous).
            assert (counted.in_time, counted.judged, counted.not_yet_due) == (2, 6, 2)
            assert counted.percent == 33
    finally:
        ctx.close()


def test_judge_alone() -> None:
    due = date(2026, 11, 20)
    kw = {"status": S.ACKNOWLEDGED, "anonymous": False, "answer_due": due}
    assert judge(**kw, answered=None, as_of=due) == "not_yet_due"  # due today: not passed
    assert judge(**kw, answered=None, as_of=due + timedelta(1)) == "late"
    assert judge(**kw, answered=due, as_of=due - timedelta(5)) == "in_time"
    assert judge(**kw, answered=due + timedelta(1), as_of=due) == "late"
    assert judge(**{**kw, "anonymous": True}, answered=None, as_of=due + timedelta(9)) is None
    assert judge(**{**kw, "status": S.WAITING}, answered=None, as_of=due + timedelta(9)) is None
