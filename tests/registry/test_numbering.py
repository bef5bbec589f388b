"""Diary numbers never repeat nor skip, also with several processes registering at once."""

from __future__ import annotations

import multiprocessing
from datetime import datetime

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.registry.cases import NewCase, register_case
from postvakt.registry.db import create_db_engine, open_database, session_factory
from postvakt.registry.models import Case, CaseKind, CollectiveNumber
from postvakt.registry.numbering import Numbering, allocate_number

FMT = "{prefix} {year}/{seq}"
WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM)


def _new_case(
    message_id: str | None = None, *, anonymous: bool = False, year: int = 2026
) -> NewCase:
    return NewCase(
        kind=CaseKind.COMPLAINT,
        summary="Snöröjning",
        heading="Synpunkter och klagomål – Snöröjning",
        received_at=WHEN,
        registered_at=WHEN.replace(year=year),
        anonymous=anonymous,
        message_id=message_id,
    )


def _register(session, message_id=None, *, year=2026, anonymous=False, prefix="KS"):
    return register_case(
        session,
        _new_case(message_id, anonymous=anonymous, year=year),
        numbering=Numbering(prefix=prefix, diary_format=FMT),
        actor="test",
        detail="test",
    )


class RolledBack(Exception):
    pass


def _worker(
    url: str, worker: int, count: int, start: multiprocessing.synchronize.Event
) -> list[str]:
    """Register ``count`` cases; every fourth transaction takes a number and then rolls back."""
    engine = create_db_engine(url, busy_timeout=60)
    sessions = session_factory(engine)
    start.wait()
    committed: list[str] = []
    for i in range(count):
        try:
            with sessions.begin() as session:
                case = _register(session, f"w{worker}-{i}@test", anonymous=(i % 7 == 3))
                reference = case.reference
                if i % 4 == 1:
                    raise RolledBack
            committed.append(reference)
        except RolledBack:
            pass
    engine.dispose()
    return committed


def _run_parallel(url: str, workers: int, count: int) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    manager = ctx.Manager()
    start = manager.Event()
    with ctx.Pool(workers) as pool:
        results = [pool.apply_async(_worker, (url, w, count, start)) for w in range(workers)]
        start.set()  # every worker begins at once
        references = [r for result in results for r in result.get(timeout=240)]
    manager.shutdown()
    return references


def test_numbers_follow_the_format_and_count_per_year(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        first = allocate_number(session, fmt="{prefix} {year}/{seq:04d}", prefix="BUN", year=2026)
        second = allocate_number(session, fmt="{prefix} {year}/{seq:04d}", prefix="BUN", year=2026)
        next_year = allocate_number(
            session, fmt="{prefix} {year}/{seq:04d}", prefix="BUN", year=2027
        )
        other_diary = allocate_number(session, fmt=FMT, prefix="KS", year=2026)
    assert (first.number, second.number) == ("BUN 2026/0001", "BUN 2026/0002")
    assert next_year.number == "BUN 2027/0001"
    assert other_diary.number == "KS 2026/1"


def test_a_rolled_back_registration_gives_its_number_back(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        assert _register(session, "a@test").reference == "KS 2026/1"
    with pytest.raises(RolledBack), sessions.begin() as session:
        assert _register(session, "b@test").reference == "KS 2026/2"
        raise RolledBack
    with sessions.begin() as session:
        assert _register(session, "c@test").reference == "KS 2026/2"


def test_anonymous_cases_share_the_years_collective_number(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        a = _register(session, "1@test")
        anon1 = _register(session, "2@test", anonymous=True)
        b = _register(session, "3@test")
        anon2 = _register(session, "4@test", anonymous=True)
        anon_next_year = _register(session, "5@test", anonymous=True, year=2027)
    assert a.reference == "KS 2026/1"
    assert (anon1.number, anon1.entry, anon1.reference) == ("KS 2026/2", 1, "KS 2026/2-1")
    assert b.reference == "KS 2026/3"  # the collective number took one number, once
    assert (anon2.number, anon2.entry, anon2.reference) == ("KS 2026/2", 2, "KS 2026/2-2")
    assert anon_next_year.reference == "KS 2027/1-1"
    with sessions() as session:
        collectives = session.scalars(
            select(CollectiveNumber).order_by(CollectiveNumber.year)
        ).all()
        assert [(c.number, c.last_entry) for c in collectives] == [
            ("KS 2026/2", 2),
            ("KS 2027/1", 1),
        ]


@pytest.mark.parametrize("workers,count", [(4, 24)])
def test_parallel_workers_never_repeat_nor_skip(db_url: str, workers: int, count: int) -> None:
    engine = open_database(db_url)  # migrate once, before the workers start
    engine.dispose()
    references = _run_parallel(db_url, workers, count)

    assert len(references) == len(set(references)), "a reference was given twice"
    sessions = session_factory(create_db_engine(db_url))
    with sessions() as session:
        cases = session.scalars(select(Case)).all()
        stored = sorted(c.reference for c in cases)
        seqs = {c.seq for c in cases}
        anonymous_entries = sorted(c.entry for c in cases if c.anonymous)
    assert stored == sorted(references)
    # Every number from 1 to the highest was used (by a case or as the collective number).
    assert seqs == set(range(1, max(seqs) + 1))
    # Anonymous entries under the collective number are 1..n too.
    assert anonymous_entries == list(range(1, len(anonymous_entries) + 1))
    expected_rolled_back = workers * sum(1 for i in range(count) if i % 4 == 1)
    assert len(references) == workers * count - expected_rolled_back
