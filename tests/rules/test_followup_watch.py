"""A citizen who writes again in a case after it was answered is owed a reply of their own.

The case's answer clock stopped at the answer; before, the new message joined the case and
was watched by nothing.  Now it has its own reply deadline, its handler is reminded (the
breach goes to the mailbox's owners and the unit head too), it is counted among the
unanswered messages, and a reply to it stops the clock.  A message that came before the
answer was covered by it and is not watched.  Through the real intake on a Maildir, on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.mailbox.maildir import deliver
from postvakt.registry.case_query import message_counts
from postvakt.registry.models import Case, CaseStatus, Disposition, MessageRecord
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.deadlines import due_items, to_notify
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.test_corrections import OTHER_UNIT

COMPLAINT = "Jag vill klaga på snöröjningen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
MORE = "Hej igen!\n\nEn sak till: kan ni också se över cykelbanan vid skolan?\n\nKarin Ek\n"


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=STOCKHOLM)


@pytest.fixture
def ws(db_url: str, tmp_path: Path) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", db_url)
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write(OTHER_UNIT)  # olle@testby.se, of a unit with a mailbox of its own
    return workspace


def run(ws: Workspace, now: datetime) -> None:
    with Service(load_config(ws.config_path), clock=fixed_clock(now)).open() as service:
        assert service.run_once().errors == []


def write(ws: Workspace, message_id: str, when: datetime, *, to: str = "c1@example.net") -> None:
    ws.deliver(
        citizen_mail(
            MORE,
            subject="SV: Klagomål på snöröjningen",
            message_id=f"<{message_id}>",
            date=when,
            headers={"In-Reply-To": f"<{to}>", "References": f"<{to}>"},
        ),
        when=when,
    )


def answer(ws: Workspace, name: str, to: str, when: datetime) -> None:
    """Anna answers ``to`` from the function mailbox (a plain reply, no letter)."""
    raw = citizen_mail(
        "Hej Karin! Vi plogar Björkvägen i dag.\n\nAnna",
        subject="SV: Klagomål på snöröjningen",
        sender="Kontakt <kontakt@testby.se>",
        to="karin.ek@example.net",
        date=when,
        headers={"In-Reply-To": f"<{to}>", "References": f"<{to}>"},
    )
    deliver(ws.maildir() / ".Sent", raw, name=name)


def watched(ws: Workspace, today: date) -> tuple[list, int]:
    with Service(load_config(ws.config_path), clock=fixed_clock(at(16, 8))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            items = [i for i in due_items(session) if i.kind == "reply"]
            return items, message_counts(session, today).unanswered


def records(ws: Workspace) -> dict[str, MessageRecord]:
    with Service(load_config(ws.config_path), clock=fixed_clock(at(16, 8))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            found = {r.message_id: r for r in session.scalars(select(MessageRecord))}
            session.expunge_all()
            return found


def test_a_message_after_the_answer_is_watched_until_it_is_answered(ws: Workspace) -> None:
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    write(ws, "f1@example.net", at(17, 9))  # before the answer: the answer covers it
    run(ws, at(17, 10))
    answer(ws, "answer", "c1@example.net", at(18, 10))
    run(ws, at(18, 11))
    write(ws, "f2@example.net", at(19, 9))  # after the answer: nobody's clock covers it
    run(ws, at(19, 10))

    found = records(ws)
    before, after = found["f1@example.net"], found["f2@example.net"]
    assert before.disposition is after.disposition is Disposition.FOLLOWUP
    assert before.case_id == after.case_id is not None
    assert before.answered_at is None  # the answer named only the complaint
    items, unanswered = watched(ws, date(2026, 11, 19))
    assert unanswered == 1
    (item,) = items
    assert item.ref == f"meddelande {after.id}"
    assert item.due == date(2026, 11, 26)  # Thu 19 + 5 working days
    assert item.case_id == after.case_id
    assert item.title.startswith("KS 2026/1: nytt meddelande efter svaret")
    # the case's handler answers it, not whoever reads the mailbox; the head hears of a breach
    assert item.responsible == ("anna@testby.se",)
    assert item.escalate_to == ("chef@testby.se",)
    calendar = WorkingCalendar()
    assert {(n.recipient, n.kind) for n in to_notify(items, date(2026, 11, 25), calendar)} == {
        ("anna@testby.se", "reminder")
    }
    assert {(n.recipient, n.kind) for n in to_notify(items, date(2026, 11, 27), calendar)} == {
        ("anna@testby.se", "breach"),
        ("chef@testby.se", "breach"),
    }

    answer(ws, "answer-2", "f2@example.net", at(20, 10))
    run(ws, at(20, 11))
    assert watched(ws, date(2026, 11, 20)) == ([], 0)
    assert records(ws)["f2@example.net"].answered_at == at(20, 10)


def messages(ws: Workspace, *args: str) -> int:
    return main(["--config", str(ws.config_path), "messages", *args], clock=fixed_clock(at(20, 9)))


def test_a_person_says_a_message_was_answered_otherwise_or_needs_no_answer(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """A thank-you after the answer, a question answered by telephone: no reply in Sent will
    ever stop their clocks, so a person does, and the case and the list say who and how."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    ws.deliver(
        citizen_mail(
            "Hej, när har ni öppet på kommunhuset?\n",
            subject="Öppettider",
            sender="olle@example.net",
            message_id="<q1@example.net>",
            date=at(16, 8),
        )
    )
    run(ws, at(16, 9))
    answer(ws, "answer", "c1@example.net", at(17, 10))
    run(ws, at(17, 11))
    write(ws, "f1@example.net", at(18, 9))
    run(ws, at(18, 10))
    found = records(ws)
    later, question = found["f1@example.net"], found["q1@example.net"]
    assert {i.record_id for i in watched(ws, date(2026, 11, 18))[0]} == {later.id, question.id}

    thanks = ["answered", "--record", str(later.id), "--how", "ett tack, behöver inget svar"]
    # someone with no right to the mailbox, and no reason at all, change nothing
    assert messages(ws, *thanks, "--by", "olle@testby.se") == 2
    assert "får inte registrera meddelanden i kontakt@testby.se" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        messages(ws, *thanks[:3], "--how", "  ", "--by", "anna@testby.se")
    assert "--how: får inte vara tom" in capsys.readouterr().err
    assert records(ws)["f1@example.net"].answered_at is None

    assert messages(ws, *thanks, "--by", "anna@testby.se") == 0
    out = capsys.readouterr().out
    assert f"Meddelande nr {later.id} i KS 2026/1 räknas som besvarat" in out
    by_phone = ["answered", "--record", str(question.id), "--how", "besvarat per telefon"]
    assert messages(ws, *by_phone, "--by", "anna@testby.se") == 0
    capsys.readouterr()
    assert watched(ws, date(2026, 11, 20)) == ([], 0)
    done = records(ws)["f1@example.net"]
    assert (done.answered_at, done.answered_by, done.answered_note) == (
        at(20, 9),
        "anna@testby.se",
        "ett tack, behöver inget svar",
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(at(20, 9))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            notes = [e.detail for e in session.scalars(select(Case)).one().events]
    assert (
        f"Meddelande nr {later.id} (SV: Klagomål på snöröjningen) räknas som besvarat: ett tack, behöver inget svar"
        in notes
    )
    # once is enough: a second time says when and by whom
    assert messages(ws, *by_phone, "--by", "anna@testby.se") == 2
    assert "är redan besvarat (2026-11-20 09:00, anna@testby.se)" in capsys.readouterr().err
    assert messages(ws, "list", "--json") == 0
    listed = {d["id"]: d for d in json.loads(capsys.readouterr().out)}
    assert listed[question.id]["answered_note"] == "besvarat per telefon"


def test_a_closed_case_and_a_private_one(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Closed is as answered; a private case's message is its handler's alone."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    answer(ws, "answer", "c1@example.net", at(17, 10))
    run(ws, at(17, 11))
    argv = ["--config", str(ws.config_path), "cases", "close", "KS 2026/1", "--action", "Plogat."]
    assert main(argv, clock=fixed_clock(at(17, 12))) == 0
    assert "avslutat" in capsys.readouterr().out.lower()
    with Service(load_config(ws.config_path), clock=fixed_clock(at(17, 12))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.CLOSED
            case.private = True  # as intake marks a message that asks for it
    write(ws, "f1@example.net", at(18, 9))
    run(ws, at(18, 10))
    items, unanswered = watched(ws, date(2026, 11, 18))
    assert unanswered == 1
    (item,) = items
    assert item.private and item.responsible == ("anna@testby.se",)


def test_a_reopened_case_covers_the_message_that_reopened_it(ws: Workspace) -> None:
    """'Jag är inte nöjd' reopens the case: its answer clock runs again and covers it."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    answer(ws, "answer", "c1@example.net", at(17, 10))
    run(ws, at(17, 11))
    ws.deliver(
        citizen_mail(
            "Jag är inte nöjd med ert svar. Det är fortfarande inte plogat!\n\nKarin Ek\n",
            subject="SV: Klagomål på snöröjningen",
            message_id="<n1@example.net>",
            date=at(18, 9),
            headers={"In-Reply-To": "<c1@example.net>"},
        ),
        when=at(18, 9),
    )
    run(ws, at(18, 10))
    with Service(load_config(ws.config_path), clock=fixed_clock(at(18, 11))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.REOPENED
            kinds = {i.kind for i in due_items(session)}
    assert "reply" not in kinds and "answer" in kinds
