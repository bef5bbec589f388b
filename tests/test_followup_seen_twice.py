"""A citizen's reply in a case's thread that reaches two watched mailboxes (a reply to all,
a Cc to a function mailbox) is one message: a follow-up of the case where it is read first,
and a duplicate with the same case wherever it is read again — as a new message read twice
is a case once and a duplicate after.  The case notes it once, the reply clock counts it
once (an answer from either mailbox answers it), and taking it off the case takes its copy
along; both sightings are recorded.  In one pass or in two, either mailbox first, one
message at a time or in a batch, on SQLite and PostgreSQL; and when two processes read the
two copies at the same moment (PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.intake import MessageOutcome, Work
from postvakt.mailbox.base import FetchedMessage
from postvakt.mailbox.maildir import deliver
from postvakt.registry.case_query import awaiting_reply
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    EventKind,
    FailedMessage,
    Mailbox,
    MessageRecord,
)
from postvakt.rules.deadlines import due_items
from postvakt.service import Service
from tests.support.rows import records_of
from tests.support.workspace import Workspace, citizen_mail, make_workspace

KARIN = "Karin Ek <karin.ek@example.net>"
BY = "anna@testby.se"
ARRIVED = datetime(2026, 11, 16, 8, 0, tzinfo=STOCKHOLM)  # a Monday
ANSWERED = datetime(2026, 11, 17, 9, 0, tzinfo=STOCKHOLM)
WROTE = datetime(2026, 11, 18, 9, 30, tzinfo=STOCKHOLM)  # Karin's reply to all
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=STOCKHOLM)
LATER = NOW + timedelta(hours=2)
SNOW = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar och "
    "bussen kommer inte fram.\n\nKarin Ek\n"
)
MORE = (
    "Hej igen!\n\nTack för svaret. En fråga till: plogas gångvägen till skolan också i "
    "morgon?\n\nKarin Ek\n"
)
JOINED = "Nytt meddelande från avsändaren i ärendet"
OTHERS = (
    "Hej!\n\nJag vill klaga på att gatlampan på Ekvägen {n} har varit släckt i tre veckor "
    "trots två felanmälningar.\n\nOlle Ek\n",
    "Hej, när har ni öppet på kommunhuset i jul? ({n})\n",
)


def karins_reply() -> bytes:
    """Karin's answer to all: to the function mailbox, Cc Anna's own."""
    return citizen_mail(
        MORE,
        sender=KARIN,
        to="kontakt@testby.se",
        subject="SV: Klagomål på snöröjningen",
        message_id="<r1@example.net>",
        date=WROTE,
        headers={
            "Cc": BY,
            "In-Reply-To": "<snow@example.net>",
            "References": "<snow@example.net>",
        },
    )


def run(ws: Workspace, when: datetime) -> list[MessageOutcome]:
    with Service(load_config(ws.config_path), clock=fixed_clock(when)).open() as service:
        report = service.run_once()
        assert report.errors == []
        return report.outcomes


def sent(ws: Workspace, who: str, raw: bytes, name: str) -> None:
    deliver(ws.maildir(who) / ".Sent", raw, name=name)


def answered_complaint(db_url: str, tmp_path: Path) -> Workspace:
    """Karin's complaint (KS 2026/1) in the function mailbox, answered from it the next day."""
    ws = make_workspace(tmp_path / "ws", db_url)
    ws.deliver(
        citizen_mail(SNOW, sender=KARIN, message_id="<snow@example.net>", date=ARRIVED),
        when=ARRIVED,
    )
    assert [o.disposition for o in run(ws, ARRIVED)] == [Disposition.CASE]
    answer = citizen_mail(
        "Hej Karin!\n\nVi plogar Björkvägen i morgon bitti.\n\nAnna Berg\n",
        sender="Kontaktcenter <kontakt@testby.se>",
        to="karin.ek@example.net",
        subject="SV: Klagomål på snöröjningen",
        date=ANSWERED,
        headers={"In-Reply-To": "<snow@example.net>"},
    )
    sent(ws, "kontakt", answer, "answer")
    run(ws, ANSWERED)
    return ws


@pytest.fixture
def ws(db_url: str, tmp_path: Path) -> Workspace:
    return answered_complaint(db_url, tmp_path)


@pytest.fixture
def service(ws: Workspace) -> Iterator[Service]:
    with Service(load_config(ws.config_path), clock=fixed_clock(LATER)).open() as opened:
        yield opened


def with_others(ws: Workspace, who: str, raw: bytes, others: int, when: datetime) -> None:
    """``raw`` into ``who``'s inbox, between ``others`` messages of other people (more than
    one message in the folder: the pass reads them in a batch, with its look-ahead)."""
    for n in range(others):
        ws.deliver(
            citizen_mail(OTHERS[n % 2].format(n=f"{who}-{n}"), sender="Olle <olle@example.net>"),
            who,
            when=when,
        )
        if n == 0:
            ws.deliver(raw, who, when=when)
    if not others:
        ws.deliver(raw, who, when=when)


def records(service: Service, message_id: str = "r1@example.net") -> list[MessageRecord]:
    return records_of(service, message_id)


def mailbox_of(service: Service, record: MessageRecord) -> str:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.get_one(Mailbox, record.mailbox_id).address


def snow(service: Service) -> Case:
    assert service.sessions is not None
    with service.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        case.events  # noqa: B018 — loaded before the session closes
        session.expunge_all()
        return case


def awaiting(service: Service) -> tuple[int, list[int | None]]:
    """Karin's reply's records that wait for a reply (as the counts count them), and those
    the reminders name."""
    assert service.sessions is not None
    with service.sessions() as session:
        mine = [MessageRecord.message_id == "r1@example.net"]
        counted = session.scalar(
            select(func.count(MessageRecord.id)).where(*awaiting_reply(), *mine)
        )
        ids = set(session.scalars(select(MessageRecord.id).where(*mine)))
        reminded = [i.record_id for i in due_items(session) if i.record_id in ids]
        return counted or 0, reminded


def assert_seen_once(service: Service, first_in: str) -> tuple[MessageRecord, MessageRecord]:
    """One follow-up (read first, in ``first_in``) and one copy, both of KS 2026/1: the case
    notes it once, the reply clock runs once; nothing failed."""
    case = snow(service)
    found = records(service)
    assert [r.disposition for r in found] == [Disposition.FOLLOWUP, Disposition.DUPLICATE]
    message, copy = found
    assert mailbox_of(service, message) == first_in
    assert {mailbox_of(service, r) for r in found} == {"kontakt@testby.se", BY}
    assert message.case_id == copy.case_id == case.id
    assert copy.reply_due is None  # a copy has no clock of its own
    joined = [e for e in case.events if e.kind is EventKind.NOTE and e.detail.startswith(JOINED)]
    assert len(joined) == 1, [e.detail for e in case.events]
    assert case.status is CaseStatus.ANSWERED and case.review_reasons in (None, [])
    assert awaiting(service) == (1, [message.id])
    assert service.sessions is not None
    with service.sessions() as session:
        assert session.scalars(select(FailedMessage)).all() == []
    return message, copy


@pytest.mark.parametrize("others", [0, 2], ids=["alone", "in-a-batch"])
def test_a_reply_to_all_read_in_one_pass_is_a_follow_up_and_a_copy(
    ws: Workspace, service: Service, others: int
) -> None:
    raw = karins_reply()
    with_others(ws, "kontakt", raw, others, NOW)
    with_others(ws, "anna", raw, others, NOW)

    outcomes = [o for o in run(ws, NOW) if o.subject.startswith("SV:")]

    assert sorted((o.disposition.value, o.case) for o in outcomes) == [
        ("duplicate", "KS 2026/1"),
        ("followup", "KS 2026/1"),
    ]
    first = next(o.mailbox for o in outcomes if o.disposition is Disposition.FOLLOWUP)
    assert_seen_once(service, first)


@pytest.mark.parametrize("others", [0, 2], ids=["alone", "in-a-batch"])
@pytest.mark.parametrize("first", ["kontakt", "anna"])
def test_a_reply_read_again_in_a_later_pass_is_a_copy_of_the_follow_up(
    ws: Workspace, service: Service, first: str, others: int
) -> None:
    """The second mailbox's copy is read a pass later (watched later, or its server was
    down): a duplicate with the case of the first sighting, whichever mailbox that was."""
    raw = karins_reply()
    second = "anna" if first == "kontakt" else "kontakt"
    with_others(ws, first, raw, others, NOW)
    assert Disposition.FOLLOWUP in [o.disposition for o in run(ws, NOW)]
    with_others(ws, second, raw, others, NOW + timedelta(minutes=30))

    again = [o for o in run(ws, NOW + timedelta(minutes=30)) if o.subject.startswith("SV:")]

    assert [(o.disposition, o.case) for o in again] == [(Disposition.DUPLICATE, "KS 2026/1")]
    assert_seen_once(service, "kontakt@testby.se" if first == "kontakt" else BY)


@pytest.mark.parametrize("answered_from", ["kontakt", "anna"])
def test_an_answer_from_either_mailbox_answers_the_reply_once(
    ws: Workspace, service: Service, answered_from: str
) -> None:
    """Anna answers Karin's question from the function mailbox, or from her own where the
    Cc came: the reply clock stops, and no reminder is left for the other copy."""
    raw = karins_reply()
    ws.deliver(raw, "kontakt", when=NOW)
    ws.deliver(raw, "anna", when=NOW)
    run(ws, NOW)
    message, copy = assert_seen_once(service, "kontakt@testby.se")
    answer = citizen_mail(
        "Hej Karin!\n\nJa, gångvägen plogas också.\n\nAnna Berg\n",
        sender=f"Anna Berg <{BY}>",
        to="karin.ek@example.net",
        subject="SV: Klagomål på snöröjningen",
        date=NOW + timedelta(hours=1),
        headers={"In-Reply-To": "<r1@example.net>", "References": "<snow@example.net>"},
    )
    sent(ws, answered_from, answer, "question-answered")

    run(ws, LATER)

    assert awaiting(service) == (0, [])
    after = {r.id: r for r in records(service)}
    assert after[message.id].answered_at == NOW + timedelta(hours=1)
    assert after[copy.id].disposition is Disposition.DUPLICATE


def test_taking_the_reply_off_the_case_takes_its_copy_along(
    ws: Workspace, service: Service
) -> None:
    raw = karins_reply()
    ws.deliver(raw, "kontakt", when=NOW)
    run(ws, NOW)
    ws.deliver(raw, "anna", when=NOW)
    run(ws, NOW + timedelta(minutes=30))
    message, copy = assert_seen_once(service, "kontakt@testby.se")

    done = service.corrections.detach(message.id, by=BY)

    after = {r.id: r for r in records(service)}
    assert (after[message.id].case_id, after[message.id].disposition) == (
        None,
        Disposition.NOT_CASE,
    )
    assert (after[copy.id].case_id, after[copy.id].disposition) == (None, Disposition.DUPLICATE)
    assert f"Kopian nr {copy.id} (samma e-post, läst på ett annat ställe) följde med." in done.text
    assert [r.case_id for r in records(service, "snow@example.net")] == [snow(service).id]


# ------------------------------------------------- two processes at the same moment


def _waiting_on_a_lock(service: Service) -> int:
    assert service.engine is not None
    with service.engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
        ).scalar_one()


@pytest.mark.postgres
def test_two_processes_reading_the_two_copies_at_once_record_one_follow_up(
    postgres_url: str, tmp_path: Path
) -> None:
    """One process reads the function mailbox's copy, another Anna's, at the same moment:
    the second to join the case waits for the first to commit, then finds its follow-up
    and records a duplicate.  Without that wait both would see no follow-up and join."""
    ws = answered_complaint(postgres_url, tmp_path)
    raw = karins_reply()
    ws.deliver(raw, "kontakt", when=NOW)
    ws.deliver(raw, "anna", when=NOW)
    with (
        Service(ws.config, clock=fixed_clock(NOW)).open() as first,
        Service(ws.config, clock=fixed_clock(NOW)).open() as second,
    ):
        assert first.intake is not None and second.intake is not None
        assert first.sessions is not None and second.sessions is not None
        ids = {}
        with first.sessions() as session:
            for address in ("kontakt@testby.se", BY):
                ids[address] = session.scalars(
                    select(Mailbox.id).where(Mailbox.address == address)
                ).one()
        ours = first.connectors["kontakt@testby.se"]
        theirs = second.connectors[BY]
        (fetched,) = [
            f
            for f in ours.fetch_new("INBOX", None, lambda _key: False)
            if isinstance(f, FetchedMessage) and f.raw == raw
        ]
        (other,) = [
            f
            for f in theirs.fetch_new("INBOX", None, lambda _key: False)
            if isinstance(f, FetchedMessage) and f.raw == raw
        ]
        done: list[MessageOutcome] = []
        other_intake, other_sessions = second.intake, second.sessions

        def other_process() -> None:
            with other_sessions() as session:
                done.append(other_intake.process(session, ids[BY], other))

        thread = threading.Thread(target=other_process)
        record = first.intake._record

        def record_then_let_the_other_run(
            work: Work, disposition: Disposition, replay: bool
        ) -> None:
            record(work, disposition, replay)
            thread.start()  # our transaction is still open: the other must wait for it
            deadline = time.monotonic() + 20
            while thread.is_alive() and time.monotonic() < deadline:
                if _waiting_on_a_lock(first):
                    break
                time.sleep(0.05)

        setattr(first.intake, "_record", record_then_let_the_other_run)  # noqa: B010
        with first.sessions() as session:
            ours_done = first.intake.process(session, ids["kontakt@testby.se"], fetched)
        thread.join(30)
        assert not thread.is_alive()

        assert (ours_done.disposition, ours_done.case) == (Disposition.FOLLOWUP, "KS 2026/1")
        assert [(o.disposition, o.case) for o in done] == [(Disposition.DUPLICATE, "KS 2026/1")]
        assert_seen_once(second, "kontakt@testby.se")
