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


def test_a_message_after_the_answer_is_watched_until_it_is_answered(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
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
    # ... but it covered it: nothing to stop
    phone = ["answered", "--record", str(before.id), "--how", "per telefon"]
    assert messages(ws, *phone, "--by", "anna@testby.se") == 2
    assert "väntar inte på något eget svar" in capsys.readouterr().err
    items, unanswered = watched(ws, date(2026, 11, 19))
    assert unanswered == 1
    (item,) = items
    assert item.ref == f"meddelande {after.id}"
    assert item.due == date(2026, 11, 26)  # Thu 19 + 5 working days
    assert item.case_id == after.case_id
    assert item.title == (
        "Nytt meddelande i KS 2026/1 efter svaret: SV: Klagomål på snöröjningen från "
        "karin.ek@example.net"
    )
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

    # only the case's citizen is owed a reply: not whoever else may write in its thread
    # (the organisation it was handed over to)
    set_sender(ws, "f2@example.net", "registrator@region.example")
    assert watched(ws, date(2026, 11, 19)) == ([], 0)
    set_sender(ws, "f2@example.net", "Karin.Ek@example.net")  # as the case's, in any case
    assert watched(ws, date(2026, 11, 19))[1] == 1
    # her first mail had a Reply-To: answers go there, and she writes again from her own
    with Service(load_config(ws.config_path), clock=fixed_clock(at(19, 11))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            session.scalars(select(Case)).one().sender_address = "karin.privat@example.org"
    assert watched(ws, date(2026, 11, 19))[1] == 1

    answer(ws, "answer-2", "f2@example.net", at(20, 10))
    run(ws, at(20, 11))
    assert watched(ws, date(2026, 11, 20)) == ([], 0)
    assert records(ws)["f2@example.net"].answered_at == at(20, 10)


def set_sender(ws: Workspace, message_id: str, sender: str) -> None:
    with Service(load_config(ws.config_path), clock=fixed_clock(at(16, 8))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            found = session.scalars(
                select(MessageRecord).where(MessageRecord.message_id == message_id)
            ).one()
            found.sender_address = sender


def test_a_withdrawn_cases_message_is_watched_as_a_message_of_its_own(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Made 'annat' by a person, the message keeps its case's id for history, but it is a
    message again: the mailbox's people answer it, with no word of a case."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    argv = ["--config", str(ws.config_path), "cases", "reclassify", "KS 2026/1", "--kind"]
    assert main([*argv, "annat", "--by", "anna@testby.se"], clock=fixed_clock(at(16, 10))) == 0
    capsys.readouterr()
    items, unanswered = watched(ws, date(2026, 11, 16))
    (item,) = items
    assert unanswered == 1 and item.case_id is None and not item.private
    assert item.title == "Klagomål på snöröjningen från karin.ek@example.net"
    assert item.responsible == ("anna@testby.se",)  # kontakt@'s owner
    assert item.escalate_to == ("chef@testby.se",)
    # the list keeps the number for history, and says the case is no more
    assert messages(ws, "list", "--open") == 0
    assert "KS 2026/1 (makulerat)" in capsys.readouterr().out
    assert messages(ws, "list", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["case"] == "KS 2026/1" and listed["case_withdrawn"] is True


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
    assert messages(ws, "list", "--open", "--json") == 0  # the same ones, by the same rule
    assert {d["id"] for d in json.loads(capsys.readouterr().out)} == {later.id, question.id}

    thanks = ["answered", "--record", str(later.id), "--how", "ett tack, behöver inget svar"]
    # someone with no right to the mailbox, and no reason at all, change nothing
    assert messages(ws, *thanks, "--by", "olle@testby.se") == 2
    refused = capsys.readouterr().err
    assert f"olle@testby.se får inte svara på meddelande nr {later.id}" in refused
    assert "KS 2026/1" not in refused  # nothing of the message to whoever may not answer it
    # the registrar reads every case but answers none by that role alone
    assert messages(ws, *thanks, "--by", "registrator@testby.se") == 2
    assert f"får inte svara på meddelande nr {later.id}" in capsys.readouterr().err
    phone = ["answered", "--record", str(question.id), "--how", "besvarat per telefon"]
    assert messages(ws, *phone, "--by", "olle@testby.se") == 2
    assert f"får inte svara på meddelande nr {question.id}" in capsys.readouterr().err
    complaint = found["c1@example.net"]  # answered in Sent
    assert (
        messages(
            ws, "answered", "--record", str(complaint.id), *phone[3:], "--by", "anna@testby.se"
        )
        == 2
    )
    assert "Meddelande nr 1 är redan besvarat (2026-11-17 10:00, kontakt" in (
        capsys.readouterr().err
    )
    assert messages(ws, "answered", "--record", "99999", *phone[3:], "--by", "anna@testby.se") == 2
    assert "Det finns inget meddelande nr 99999" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        messages(ws, *thanks[:3], "--how", "  ", "--by", "anna@testby.se")
    assert "--how: får inte vara tom" in capsys.readouterr().err
    assert records(ws)["f1@example.net"].answered_at is None

    assert messages(ws, *thanks, "--by", "anna@testby.se") == 0
    out = capsys.readouterr().out
    assert f"Meddelande nr {later.id} i KS 2026/1 räknas som besvarat" in out
    by_phone = phone
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
    assert messages(ws, "list") == 0
    assert "(besvarat per telefon)" in capsys.readouterr().out
    assert messages(ws, "list", "--open", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_closed_case_and_a_private_one(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Closing does not answer what the citizen asked after the answer; a private case's
    message is its handler's, and names nothing of the case beyond its number."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    answer(ws, "answer", "c1@example.net", at(17, 10))
    run(ws, at(17, 11))
    asked = at(17, 11).replace(minute=30)  # after the answer, before the close
    write(ws, "f0@example.net", asked)
    run(ws, asked.replace(minute=40))
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
    found = records(ws)
    assert unanswered == 2
    assert {i.record_id for i in items} == {found["f0@example.net"].id, found["f1@example.net"].id}
    for item in items:
        assert item.private and item.responsible == ("anna@testby.se",)
        assert item.title == "Nytt meddelande i KS 2026/1 efter svaret"


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


def test_a_reply_in_the_cases_thread_answers_what_was_asked_after_the_answer(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anna answers Karin's new question by replying to the case's first message (her mail
    program keeps that thread): the question is answered; not another case of Karin's with
    the same subject, nor a message taken off the case."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    answer(ws, "answer", "c1@example.net", at(17, 10))
    run(ws, at(17, 11))
    write(ws, "f1@example.net", at(18, 9))
    ws.deliver(
        citizen_mail(
            "Jag vill klaga igen: nu har sandningen också uteblivit.\n\nKarin Ek\n",
            message_id="<c2@example.net>",  # a new mail, the same subject: a case of its own
            date=at(18, 10),
        ),
        when=at(18, 10),
    )
    write(ws, "f3@example.net", at(18, 12))  # taken off the case: a message in no case
    run(ws, at(18, 13))
    found = records(ws)
    argv = ["--config", str(ws.config_path), "cases", "detach", "--record"]
    detach = [*argv, str(found["f3@example.net"].id), "--by", "anna@testby.se"]
    assert main(detach, clock=fixed_clock(at(18, 14))) == 0
    found = records(ws)
    assert found["c2@example.net"].disposition is Disposition.CASE
    assert found["c2@example.net"].case_id != found["c1@example.net"].case_id
    answer(ws, "answer-2", "c1@example.net", at(19, 10))
    run(ws, at(19, 11))
    found = records(ws)
    assert found["f1@example.net"].answered_at == at(19, 10)
    assert found["c2@example.net"].answered_at is None
    assert found["f3@example.net"].answered_at is None  # answered in no case's thread
    with Service(load_config(ws.config_path), clock=fixed_clock(at(19, 12))).open() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            statuses = {c.reference: c.status for c in session.scalars(select(Case))}
    assert statuses == {"KS 2026/1": CaseStatus.ANSWERED, "KS 2026/2": CaseStatus.REGISTERED}


def test_a_message_after_a_hand_over_says_so_when_the_case_is_closed_since(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The title names what stopped the case's clock, not the status it has now: a case
    handed over and then closed was handed over, not answered."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=at(16, 8)))
    run(ws, at(16, 9))
    base = ["--config", str(ws.config_path), "cases"]
    forward = [*base, "forward", "KS 2026/1", "--to", "Trafikverket", "--contact", "tv@tv.example"]
    assert main(forward, clock=fixed_clock(at(17, 10))) == 0
    close = [*base, "close", "KS 2026/1", "--action", "Överlämnat till Trafikverket."]
    assert main(close, clock=fixed_clock(at(17, 11))) == 0
    capsys.readouterr()
    write(ws, "f1@example.net", at(18, 9))
    run(ws, at(18, 10))
    (item,), unanswered = watched(ws, date(2026, 11, 18))
    assert unanswered == 1
    assert item.title.startswith("Nytt meddelande i KS 2026/1 efter överlämnandet: ")


def test_a_private_message_that_is_no_case_is_reminded_of_without_its_subject(
    ws: Workspace,
) -> None:
    """A message marked private (Sensitivity: Private) that became no case waits for a reply
    in a mailbox a delegate also reads: its reminder names neither its subject nor its
    sender, and never goes to whoever covers the person."""
    mail = citizen_mail(
        "Hej, när har ni öppet på lördag?", subject="Öppettider", date=at(16, 8)
    ).replace(b"\nSubject:", b"\nSensitivity: Private\nSubject:", 1)
    assert b"Sensitivity: Private" in mail
    ws.deliver(mail, "anna")
    run(ws, at(16, 9))
    items, _unanswered = watched(ws, date(2026, 11, 16))
    (item,) = [i for i in items if i.case_id is None]
    assert item.private
    assert "Öppettider" not in item.title and "@" not in item.title
