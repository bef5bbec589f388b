"""A pass that grows its tables many times over refreshes PostgreSQL's planner statistics
(registry/planner_statistics.py): after a new site's first large pass the tables are
analysed, a small pass leaves it to autovacuum, and SQLite is never asked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.intake import Intake
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.planner_statistics import MIN_ROWS, TABLES, PlannerStatistics
from postvakt.service import Service
from tests.support.memory_connector import MemoryConnector
from tests.support.workspace import citizen_mail, make_workspace
from tests.test_intake import COMPLAINT, QUESTION


def _analyses(url: str) -> dict[str, int]:
    """How many times each of the tables was analysed by hand (autovacuum's own not
    counted)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT relname, analyze_count FROM pg_stat_user_tables")
            ).all()
    finally:
        engine.dispose()
    return {name: count for name, count in rows if name in TABLES}


def _pass(url: str, tmp_path: Path, clock: Clock, messages: int) -> None:
    ws = make_workspace(tmp_path / "ws", url)
    connector = MemoryConnector("kontakt@testby.se")
    for n in range(messages):
        body = COMPLAINT if n % 3 else QUESTION
        connector.add(citizen_mail(f"{body}\n{n}", message_id=f"<s{n}@example.net>"))
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=100)
        report = intake.run_mailbox(connector)
    assert len(report.outcomes) == messages and not report.errors


def test_a_large_first_pass_analyses_the_tables_it_filled(
    postgres_url: str, tmp_path: Path, clock: Clock
) -> None:
    assert set(_analyses(postgres_url).values()) <= {0}  # a new database: never analysed
    _pass(postgres_url, tmp_path, clock, MIN_ROWS + 100)
    assert _analyses(postgres_url) == dict.fromkeys(TABLES, 1)


def test_a_small_pass_leaves_the_statistics_to_autovacuum(
    postgres_url: str, tmp_path: Path, clock: Clock
) -> None:
    _pass(postgres_url, tmp_path, clock, 150)
    analyses = _analyses(postgres_url)
    assert set(analyses) == set(TABLES) and set(analyses.values()) == {0}


def test_the_next_analysis_waits_until_the_table_has_doubled(postgres_url: str) -> None:
    sessions = session_factory(open_database(postgres_url))
    with sessions() as session:
        statistics = PlannerStatistics(session)
        statistics.wrote(MIN_ROWS - 1)
        assert statistics.analysed == 0
        statistics.wrote(1)  # never analysed: the minimum is due
        assert statistics.analysed == 1
        assert _analyses(postgres_url)["messages"] == 1
        # Analysed empty, so the minimum again; with rows, as many as it held.
        with session.begin():
            session.execute(
                text(
                    "INSERT INTO mailboxes (address, kind, connector, active) "
                    "VALUES ('a@testby.se', 'personal', 'imap', true)"
                )
            )
            session.execute(
                text(
                    "INSERT INTO messages (mailbox_id, folder, message_key, processed_at, "
                    "disposition, reasons, defects, private) "
                    "SELECT 1, 'INBOX', n::text, now(), 'not_case', '[]', '[]', false "
                    "FROM generate_series(1, :n) AS n"
                ),
                {"n": 2 * MIN_ROWS},
            )
        statistics.wrote(MIN_ROWS)
        assert statistics.analysed == 2  # the table now holds 2 x MIN_ROWS
        statistics.wrote(2 * MIN_ROWS - 1)
        assert statistics.analysed == 2
        statistics.wrote(1)
        assert statistics.analysed == 3
    assert _analyses(postgres_url)["messages"] == 3


def test_sqlite_is_never_asked(tmp_path: Path) -> None:
    sessions = session_factory(open_database(f"sqlite:///{tmp_path / 'p.db'}"))
    with sessions() as session:
        statistics = PlannerStatistics(session)
        statistics.wrote(100 * MIN_ROWS)
        assert statistics.analysed == 0 and not session.in_transaction()


def test_a_database_that_refuses_is_logged_once_and_the_pass_goes_on(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A database without the tables (here: never migrated) stands for one that refuses
    ANALYZE: one line at INFO, no exception, and nothing asked again."""
    engine = create_engine(postgres_url)
    sessions = session_factory(engine)
    with sessions() as session, caplog.at_level(logging.DEBUG, "postvakt.registry"):
        statistics = PlannerStatistics(session)
        statistics.wrote(MIN_ROWS)
        statistics.wrote(10 * MIN_ROWS)
        assert statistics.analysed == 0 and not session.in_transaction()
    said = [r for r in caplog.records if r.levelno == logging.INFO]
    assert [r.getMessage() for r in said] == [
        "planner statistics not refreshed (ProgrammingError); the pass goes on"
    ]
    engine.dispose()
