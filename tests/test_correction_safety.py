"""Corrections that must hold when two people act at once, and that must not reach what a
person may not see: a confirmation racing a withdrawal, two registrations of one message
(real PostgreSQL, real threads), a merge into a private case, a private message that was
not made a case, and what the database layer says of a row another transaction wrote first.

The interleavings are made certain, not hoped for: a third connection holds a row lock one
correction needs, so it stops exactly there (seen in ``pg_stat_activity``) while the other
goes ahead; then the lock is let go.  Nothing in Postvakt is patched."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.exc import IntegrityError

from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.errors import InvalidTransitionError, NotFoundError, PermissionDeniedError
from postvakt.registry.db import create_db_engine, database_errors
from postvakt.registry.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Correction,
    Disposition,
    EventKind,
    MessageRecord,
)
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.test_corrections import ARRIVED, COMPLAINT, NOW, OTHER_UNIT, THANKS


class Run(threading.Thread):
    """An action in a thread of its own, keeping what it returned or raised."""

    def __init__(self, action: Callable[[], object]):
        super().__init__(daemon=True)
        self.action = action
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.action()
        except BaseException as exc:  # reported by the test
            self.error = exc


def _waiting(conn: Connection, count: int, timeout: float = 20.0) -> None:
    """Until ``count`` backends of this database wait for a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
        ).scalar_one()
        if n >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} waiting for a lock never seen")


@pytest.fixture
def pg(postgres_url: str, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """The corrections' workspace (two cases, a thank-you that is no case) on PostgreSQL."""
    workspace = make_workspace(tmp_path / "ws", postgres_url)
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write(OTHER_UNIT)
    workspace.deliver(
        citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=ARRIVED), when=ARRIVED
    )
    workspace.deliver(
        citizen_mail(
            THANKS,
            subject="Tack!",
            sender="Birgitta Holm <birgitta@example.org>",
            to="anna@testby.se",
            message_id="<t1@example.net>",
            date=ARRIVED,
        ),
        "anna",
        when=ARRIVED,
    )
    config = load_config(workspace.config_path)
    with Service(config, clock=fixed_clock(ARRIVED)).open() as opened:
        opened.run_once()
    with Service(config, clock=fixed_clock(NOW)).open() as later:
        yield later, postgres_url


# ----------------------------------------------------------------- two people at once (PG)


def test_a_confirmation_racing_a_withdrawal_does_not_confirm_a_withdrawn_case(
    pg: tuple[Service, str],
) -> None:
    """The registrar withdraws KS 2026/1 while Anna confirms it: the withdrawal has written
    the case and waits (for its drafts); the confirmation reads the case meanwhile.  It
    reads it under the withdrawal's row lock, so it sees 'makulerat' and is refused: no
    'bekräftade' event after the withdrawal, no example kept for a withdrawn case."""
    service, url = pg
    with service.sessions() as session:
        case_id = session.scalars(select(Case.id).where(Case.reference == "KS 2026/1")).one()
    holder = create_engine(url)
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with holder.connect() as lock, watcher.connect() as watch:
            lock.begin()
            lock.execute(
                text("SELECT id FROM drafts WHERE case_id = :c FOR UPDATE"), {"c": case_id}
            ).all()
            withdraw = Run(
                lambda: service.corrections.withdraw(
                    "KS 2026/1", reason="Dubblett", by="registrator@testby.se"
                )
            )
            withdraw.start()
            _waiting(watch, 1)  # the withdrawal has written the case and waits for its drafts
            confirm = Run(lambda: service.corrections.confirm("KS 2026/1", by="anna@testby.se"))
            confirm.start()
            _waiting(watch, 2)  # the confirmation waits for the case's row
            lock.rollback()
            withdraw.join(30)
            confirm.join(30)
    finally:
        holder.dispose()
        watcher.dispose()
    assert withdraw.error is None, withdraw.error
    assert isinstance(confirm.error, InvalidTransitionError), repr(confirm.error)
    assert str(confirm.error).startswith("Ärendet KS 2026/1 är makulerat och kan inte ändras.")
    with service.sessions() as session:
        found = session.get_one(Case, case_id)
        kinds = [
            e.kind
            for e in session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            )
        ]
        taught = list(session.scalars(select(Correction.action)))
    assert found.status is CaseStatus.WITHDRAWN
    assert found.corrected_by == "registrator@testby.se"
    assert EventKind.CONFIRMED not in kinds
    assert taught == []


def test_two_people_registering_one_message_at_once_get_one_case_and_a_clear_answer(
    pg: tuple[Service, str],
) -> None:
    """Two reviewers press 'Registrera' on the same message at once (or one double-clicks):
    one case comes of it, and the other is told in Swedish that it is a case already (it
    was a raw IntegrityError, the web's 'unexpected error' page)."""
    service, url = pg
    holder = create_engine(url)
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with holder.connect() as lock, watcher.connect() as watch:
            lock.begin()
            lock.execute(text("SELECT id FROM diary_sequences FOR UPDATE")).all()
            runs = [
                Run(
                    lambda who=who: service.corrections.register(
                        "t1@example.net", kind="synpunkt", by=who
                    )
                )
                for who in ("anna@testby.se", "registrator@testby.se")
            ]
            for i, run in enumerate(runs, start=1):
                run.start()
                _waiting(watch, i)  # the first waits for a number, the second for the message
            lock.rollback()
            for run in runs:
                run.join(30)
    finally:
        holder.dispose()
        watcher.dispose()
    with service.sessions() as session:
        made = session.scalars(
            select(Case.reference).where(Case.message_id == "t1@example.net")
        ).all()
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "t1@example.net")
        ).one()
    assert made == ["KS 2026/2"]
    assert runs[0].error is None, repr(runs[0].error)
    assert isinstance(runs[1].error, InvalidTransitionError), repr(runs[1].error)
    assert str(runs[1].error).startswith("Meddelandet är redan ärende KS 2026/2.")
    assert record.disposition is Disposition.CASE and record.reviewed_by == "anna@testby.se"


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = create_db_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE pair (a INTEGER PRIMARY KEY, b VARCHAR(10) NOT NULL)"))
        conn.execute(text("INSERT INTO pair (a, b) VALUES (1, 'en')"))
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_row_another_wrote_first_is_told_in_swedish_and_a_bug_is_not_hidden(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    """Where an action may meet another doing the same (``same_time``), a unique violation
    is the sentence given, an InvalidTransitionError (the web and the command line say it);
    a NOT NULL violation there, and a unique violation where it is not asked for (the
    intake runs its message again on one), go on as they are."""
    said = "Någon annan hann före."
    with (
        pytest.raises(InvalidTransitionError) as told,
        database_errors(same_time=said),
        engine.begin() as conn,
    ):
        conn.execute(text("INSERT INTO pair (a, b) VALUES (1, 'två')"))
    assert str(told.value) == said and isinstance(told.value.__cause__, IntegrityError)
    with (
        pytest.raises(IntegrityError),  # a bug: not null
        database_errors(same_time=said),
        engine.begin() as conn,
    ):
        conn.execute(text("INSERT INTO pair (a, b) VALUES (2, NULL)"))
    with (
        pytest.raises(IntegrityError),  # not asked for
        database_errors(),
        engine.begin() as conn,
    ):
        conn.execute(text("INSERT INTO pair (a, b) VALUES (1, 'tre')"))


# ------------------------------------------------------------------------------- privacy

DELEGATE = """
[[people]]
name = "Cecilia Ek"
address = "cecilia@testby.se"
unit = "Kontaktcenter"
"""
PERSONAL = 'address = "anna@testby.se"\nstart_from = 2026-01-01\nname = "Anna Berg"'


@pytest.fixture
def private(tmp_path: Path) -> Iterator[Service]:
    """Cecilia is Anna's delegate (an owner of Anna's personal mailbox) and an owner of
    kontakt@.  Anna has a private thank-you (no case) and a private complaint (a case,
    KS 2026/2); kontakt@ has an ordinary complaint (KS 2026/1)."""
    workspace: Workspace = make_workspace(tmp_path / "ws", f"sqlite:///{tmp_path / 'p.db'}")
    config = workspace.config_path.read_text(encoding="utf-8")
    head, tail = config.split(PERSONAL)
    owners = ('owners = ["anna@testby.se"]', 'owners = ["anna@testby.se", "cecilia@testby.se"]')
    head, tail = head.replace(*owners, 1), tail.replace(*owners, 1)
    workspace.config_path.write_text(head + PERSONAL + tail + DELEGATE, encoding="utf-8")
    workspace.deliver(
        citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=ARRIVED), when=ARRIVED
    )
    workspace.deliver(
        citizen_mail(
            THANKS + "PS. Det gäller min sons diagnos, som vi pratade om.\n",
            subject="Tack! (privat)",
            sender="Birgitta Holm <birgitta@example.org>",
            to="anna@testby.se",
            message_id="<p1@example.net>",
            date=ARRIVED,
            headers={"Sensitivity": "Private"},
        ),
        "anna",
        when=ARRIVED,
    )
    workspace.deliver(
        citizen_mail(
            COMPLAINT.replace("Björkvägen", "Ekvägen"),
            sender="Lisa Privat <lisa.privat@example.net>",
            to="anna@testby.se",
            message_id="<p2@example.net>",
            date=ARRIVED,
            headers={"Sensitivity": "Private"},
        ),
        "anna",
        when=ARRIVED,
    )
    config_read = load_config(workspace.config_path)
    with Service(config_read, clock=fixed_clock(ARRIVED)).open() as opened:
        opened.run_once()
    with Service(config_read, clock=fixed_clock(NOW)).open() as later:
        yield later


def _record(service: Service, message_id: str) -> MessageRecord:
    with service.sessions() as session:
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == message_id)
        ).one()
        session.expunge(record)
        return record


def _shown(service: Service, who: str, record_id: int) -> list[tuple[str, str]]:
    return [
        (i.subject, i.excerpt)
        for i in service.corrections.queue(who)
        if i.kind == "message" and i.id == record_id
    ]


def test_a_private_message_is_kept_from_the_delegate_in_the_review_queue(
    private: Service,
) -> None:
    """Mail marked private is 'never shown to ... a delegate' (README), also when it was no
    case: the intake marks its record private; the delegate can neither flag it by its
    number nor read its subject and text in Granska, nor say it was answered.  The person,
    the head of the unit and the registrar still have it."""
    record = _record(private, "p1@example.net")
    assert record.disposition is Disposition.NOT_CASE and record.private
    assert not _record(private, "c1@example.net").private
    assert _record(private, "p2@example.net").private  # made a case: the case's mark too
    with pytest.raises(NotFoundError) as refused:
        private.corrections.flag(record.id, by="cecilia@testby.se")
    assert str(refused.value) == f"Det finns inget meddelande nr {record.id} att granska."
    assert _record(private, "p1@example.net").flagged_by is None
    private.corrections.flag(record.id, by="anna@testby.se")  # the person may
    assert _shown(private, "cecilia@testby.se", record.id) == []
    for who in ("anna@testby.se", "chef@testby.se", "registrator@testby.se"):
        assert [s for s, _text in _shown(private, who, record.id)] == ["Tack! (privat)"], who
    with pytest.raises(PermissionDeniedError):
        private.corrections.answered_otherwise(
            record.id, by="cecilia@testby.se", how="besvarat per telefon"
        )
    for act in (
        lambda: private.corrections.dismiss(record.id, by="cecilia@testby.se"),
        lambda: private.corrections.register(
            "p1@example.net", kind="synpunkt", by="cecilia@testby.se"
        ),
        lambda: private.corrections.attach(record.id, to="KS 2026/1", by="cecilia@testby.se"),
    ):
        with pytest.raises(NotFoundError):
            act()
    assert _record(private, "p1@example.net").disposition is Disposition.NOT_CASE


def test_a_delegate_cannot_merge_into_a_private_case_they_may_not_open(
    private: Service,
) -> None:
    """Cecilia may correct KS 2026/1 (she owns kontakt@) and owns Anna's mailbox as her
    delegate, so she may correct Anna's private case KS 2026/2 by that right alone, but
    not open it.  Merging into it is refused as attaching to it is (view and correct): the
    number typed in the form was enough before, and her case went into the private one."""
    with private.sessions() as session:
        kept = session.scalars(select(Case).where(Case.reference == "KS 2026/2")).one()
        assert kept.private and kept.handler == "anna@testby.se"
    with pytest.raises(PermissionDeniedError) as refused:
        private.corrections.merge("KS 2026/1", into="KS 2026/2", by="cecilia@testby.se")
    assert str(refused.value) == (
        "cecilia@testby.se får inte sammanföra ett ärende med det ärendet."
    )
    with private.sessions() as session:
        source = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        merged = session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.MERGED)).all()
    assert source.status is not CaseStatus.WITHDRAWN and source.merged_into_id is None
    assert merged == []
    # Anna, whose case it is, may.
    done = private.corrections.merge("KS 2026/1", into="KS 2026/2", by="anna@testby.se")
    assert done.text.startswith("KS 2026/1: makulerat och sammanfört med KS 2026/2")


def test_two_merges_crossing_each_other_end_in_one_merge_and_a_clear_answer(
    pg: tuple[Service, str],
) -> None:
    """Anna merges KS 2026/1 into KS 2026/2 while the registrar merges KS 2026/2 into KS
    2026/1.  Each took its own case first, then waited for the other's: the database ended
    one of them as a deadlock ("Databasen kan inte användas").  The cases are now taken in
    the order of their ids, so one merge goes through and the other is told the case it
    wanted is withdrawn."""
    service, url = pg
    service.corrections.register("t1@example.net", kind="synpunkt", by="registrator@testby.se")
    with service.sessions() as session:
        second = session.scalars(select(Case.id).where(Case.reference == "KS 2026/2")).one()
    holder = create_engine(url)
    watcher = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with holder.connect() as lock, watcher.connect() as watch:
            lock.begin()
            lock.execute(text("SELECT id FROM cases WHERE id = :c FOR UPDATE"), {"c": second}).all()
            back = Run(
                lambda: service.corrections.merge(
                    "KS 2026/2", into="KS 2026/1", by="registrator@testby.se"
                )
            )
            back.start()
            _waiting(watch, 1)  # first in line for KS 2026/2
            forth = Run(
                lambda: service.corrections.merge(
                    "KS 2026/1", into="KS 2026/2", by="anna@testby.se"
                )
            )
            forth.start()
            _waiting(watch, 2)
            lock.rollback()
            back.join(30)
            forth.join(30)
    finally:
        holder.dispose()
        watcher.dispose()
    assert not back.is_alive() and not forth.is_alive()
    errors = [run.error for run in (back, forth) if run.error is not None]
    assert len(errors) == 1, errors
    assert isinstance(errors[0], InvalidTransitionError), repr(errors[0])
    assert "makulerat" in str(errors[0])
    with service.sessions() as session:
        statuses = sorted(s.value for s in session.scalars(select(Case.status)))
    assert statuses.count("withdrawn") == 1
