"""A flush's new rows get their ids before the flush: the ids the database would have given,
also with several processes writing at once."""

from __future__ import annotations

import multiprocessing
from datetime import datetime

import pytest
from sqlalchemy import event, func, select

from postvakt.clock import STOCKHOLM
from postvakt.registry.cases import add_event
from postvakt.registry.db import create_db_engine, open_database, session_factory
from postvakt.registry.models import Case, CaseEvent, CaseKind, CaseStatus, EventKind
from postvakt.registry.numbering import allocate_number

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM)


def _case(session, n: int) -> Case:
    number = allocate_number(session, fmt="{prefix} {year}/{seq}", prefix="KS", year=2026)
    case = Case(
        reference=number.reference,
        number=number.number,
        diary_number=number.number,
        year=number.year,
        seq=number.seq,
        kind=CaseKind.COMPLAINT,
        status=CaseStatus.REGISTERED,
        heading="Snöröjning",
        summary="Snöröjning",
        channel="e-post",
        received_at=WHEN,
        registered_at=WHEN,
        message_id=f"<{n}@example.net>",
    )
    session.add(case)
    return case


def _batch(sessions, first: int, size: int) -> list[int]:
    """``size`` cases with an event each in one flush, as a batch of the intake writes them."""
    with sessions.begin() as session, session.no_autoflush:  # as the intake: nothing early
        cases = [_case(session, first + n) for n in range(size)]
        for case in cases:
            add_event(session, case, EventKind.REGISTERED, actor="test", at=WHEN)
        session.flush()
        return [case.id for case in cases]


def _statements(engine) -> list[str]:
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: sent.append(a[2]))
    return sent


def test_the_ids_are_the_databases_own_in_the_order_added(db_url: str) -> None:
    engine = open_database(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as session:  # one row: the database's own id
        single = _case(session, 0)
        session.flush()
    sent = _statements(engine)
    ids = _batch(sessions, 1, 5)
    assert ids == list(range(single.id + 1, single.id + 6))
    inserts = [s for s in sent if s.startswith("INSERT INTO cases")]
    assert len(inserts) == 1 and "RETURNING" not in inserts[0]  # one row's statement, many rows
    with sessions() as session:
        events = session.execute(select(CaseEvent.case_id).order_by(CaseEvent.id)).scalars()
        assert list(events) == ids  # each event on its own case, in the order added


def test_an_id_given_by_hand_in_the_same_flush_is_not_given_again(tmp_path) -> None:
    sessions = session_factory(open_database(f"sqlite:///{tmp_path / 'p.db'}"))
    with sessions.begin() as session, session.no_autoflush:
        cases = [_case(session, n) for n in range(3)]
        cases[1].id = 7  # set by hand, as a test or an import might
        session.flush()
        assert sorted(case.id for case in cases) == [7, 8, 9]
    with sessions.begin() as session:  # deleted at the top: SQLite counts on from the highest
        session.delete(session.get(Case, 9))
    assert _batch(sessions, 10, 2) == [9, 10]


def _writer(url: str, worker: int, batches: int, start) -> list[int]:
    engine = create_db_engine(url, busy_timeout=60)
    sessions = session_factory(engine)
    start.wait()
    ids = [i for b in range(batches) for i in _batch(sessions, 1000 * worker + 10 * b, 10)]
    engine.dispose()
    return ids


@pytest.mark.parametrize("workers,batches", [(3, 8)])
def test_processes_writing_at_once_never_share_an_id(
    db_url: str, workers: int, batches: int
) -> None:
    open_database(db_url).dispose()  # migrate once, before the writers start
    ctx = multiprocessing.get_context("spawn")
    manager = ctx.Manager()
    start = manager.Event()
    with ctx.Pool(workers) as pool:
        results = [pool.apply_async(_writer, (db_url, w, batches, start)) for w in range(workers)]
        start.set()
        ids = [i for result in results for i in result.get(timeout=240)]
    manager.shutdown()
    assert len(ids) == len(set(ids)) == workers * batches * 10
    sessions = session_factory(create_db_engine(db_url))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == len(ids)
        pairs = session.execute(select(CaseEvent.case_id, Case.id).join(Case)).all()
        assert len(pairs) == len(ids) and all(a == b for a, b in pairs)


def test_an_engine_without_begin_immediate_lets_sqlite_give_the_ids(tmp_path) -> None:
    """Counting on from the highest id needs the write lock from the transaction's start:
    on an engine made without it (not by create_db_engine) the database gives the ids."""
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'p.db'}"
    open_database(url).dispose()
    plain = create_engine(url)
    sent = _statements(plain)
    assert _batch(session_factory(plain), 1, 3) == [1, 2, 3]
    inserts = [s for s in sent if s.startswith("INSERT INTO cases")]
    assert inserts and all("RETURNING" in s for s in inserts)  # ids from SQLite itself
