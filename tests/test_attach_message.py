"""A message that belongs to an existing case joins it by hand (``postvakt cases attach``):
the citizen withdraws a complaint in a new mail, outside the case's thread.  The classifier
made no new case of it and put it in Granska; a person attaches it, and the case's handler
decides whether the case is closed.  Through ``postvakt.cli.main`` and the database, on
SQLite and PostgreSQL, with a real SMTP server for the handler's notice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.classifier.model import DISOWNED_REASON
from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.corrections.messages import (
    BEFORE_THE_WAIT,
    DETACHED,
    DISOWNED_IN_MESSAGE,
    OTHER_SENDER,
    WITHDRAWN_IN_MESSAGE,
)
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Correction,
    Disposition,
    EventKind,
    MessageRecord,
)
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail, make_workspace
from tests.test_corrections import COMPLAINT, OTHER_UNIT, THANKS

ARRIVED = datetime(2026, 11, 16, 8, 0, tzinfo=STOCKHOLM)  # a Monday
WITHDRAWN = datetime(2026, 11, 17, 9, 0, tzinfo=STOCKHOLM)
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=STOCKHOLM)
WITHDRAWAL = (
    "Hej igen!\n\nNu har plogbilen varit här, så jag vill ta tillbaka mitt klagomål om "
    "snöröjningen på Björkvägen.\n\nKarin Ek\n"
)
ADDRESS = "Hej igen!\n\nNi frågade efter adressen: det gäller Björkvägen 12.\n\nKarin Ek\n"


@pytest.fixture
def ws(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", db_url)
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write(OTHER_UNIT + smtp_server.config())
    return workspace


@pytest.fixture
def service(ws: Workspace) -> Iterator[Service]:
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=ARRIVED), when=ARRIVED)
    ws.deliver(
        citizen_mail(
            WITHDRAWAL,
            subject="Snöröjningen",  # a new mail, not a reply: nothing ties it to the case
            message_id="<w1@example.net>",
            date=WITHDRAWN,
        ),
        when=WITHDRAWN,
    )
    ws.deliver(
        citizen_mail(ADDRESS, subject="Adressen", message_id="<a1@example.net>", date=WITHDRAWN),
        when=WITHDRAWN,
    )
    ws.deliver(
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
    with Service(load_config(ws.config_path), clock=fixed_clock(WITHDRAWN)).open() as opened:
        report = opened.run_once()
        assert report.count(Disposition.CASE) == 1 and report.count(Disposition.NOT_CASE) == 3
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as later:
        yield later


def cli(ws: Workspace, *args: str) -> int:
    return main(["--config", str(ws.config_path), *args], clock=fixed_clock(NOW))


def record(service: Service, message_id: str) -> MessageRecord:
    assert service.sessions is not None
    with service.sessions() as session:
        found = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == message_id)
        ).one()
        session.expunge(found)
        return found


def the_case(service: Service) -> Case:
    assert service.sessions is not None
    with service.sessions() as session:
        found = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        _ = found.events
        session.expunge_all()
        return found


def review(ws: Workspace, capsys: pytest.CaptureFixture[str], by: str) -> list[dict]:
    capsys.readouterr()
    assert cli(ws, "cases", "review", "--by", by, "--json") == 0
    return json.loads(capsys.readouterr().out)


def attach(ws: Workspace, record_id: int, by: str = "anna@testby.se", to: str = "KS 2026/1") -> int:
    return cli(ws, "cases", "attach", "--record", str(record_id), "--to", to, "--by", by)


def test_a_withdrawal_in_a_new_mail_is_attached_to_its_case_and_the_handler_decides(
    ws: Workspace,
    service: Service,
    smtp_server: SmtpServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    withdrawal = record(service, "w1@example.net")
    assert withdrawal.disposition is Disposition.NOT_CASE and withdrawal.case_id is None
    # Granska shows it, with the classifier's reason first
    queued = {r["id"]: r for r in review(ws, capsys, "registrator@testby.se")}
    assert queued[withdrawal.id]["reasons"][0].startswith("skriver att ett klagomål tas tillbaka")
    # beside it, the sender's cases it may belong to; none for someone without a case
    assert queued[withdrawal.id]["sender_cases"] == ["KS 2026/1"]
    thanks = record(service, "t1@example.net")
    assert cli(ws, "cases", "flag", "--record", str(thanks.id), "--by", "anna@testby.se") == 0
    queued = {r["id"]: r for r in review(ws, capsys, "registrator@testby.se")}
    assert queued[thanks.id]["sender_cases"] == []
    before = the_case(service)
    assert before.handler == "anna@testby.se" and not before.needs_review

    assert attach(ws, withdrawal.id, "registrator@testby.se", to="ks 2026/1") == 0  # as typed
    out = capsys.readouterr().out
    assert f"Meddelande nr {withdrawal.id} hör nu till KS 2026/1" in out
    assert "klagomålet tas tillbaka" in out

    joined = record(service, "w1@example.net")
    assert joined.disposition is Disposition.FOLLOWUP and joined.case_id == before.id
    assert joined.reviewed_by == "registrator@testby.se"
    case = the_case(service)
    # never closed by the machine: it waits for its handler, who sees why
    assert case.status is before.status and case.status is not CaseStatus.CLOSED
    assert case.needs_review and WITHDRAWN_IN_MESSAGE in (case.review_reasons or [])
    notes = [e.detail for e in case.events if e.kind is EventKind.NOTE]
    assert any(
        f"Meddelande nr {withdrawal.id}" in n and "registrator@testby.se" in n for n in notes
    )
    assert any(WITHDRAWN_IN_MESSAGE in n for n in notes)
    # the message left the queue; the case is in it now, with the reason
    queued = review(ws, capsys, "anna@testby.se")
    assert [(r["kind"], r["number"]) for r in queued if r["kind"] == "case"] == [
        ("case", "KS 2026/1")
    ]
    assert withdrawal.id not in {r["id"] for r in queued if r["kind"] == "message"}
    # the handler is told, once, by mail
    told = smtp_server.to("anna@testby.se")
    assert len(told) == 1
    assert "KS 2026/1" in told[0].text and "tar tillbaka klagomålet" in told[0].text
    # nothing taught: belonging to a case says nothing of whether a message complains
    assert service.sessions is not None
    with service.sessions() as session:
        assert session.scalars(select(Correction)).all() == []
    # and it cannot be attached twice
    assert attach(ws, withdrawal.id, "registrator@testby.se") == 2
    assert "inget meddelande nr" in capsys.readouterr().err.lower()


def wait_from(service: Service, day: date) -> None:
    """The case waits for its citizen from ``day``, its answer due on Monday the 23rd."""
    assert service.sessions is not None
    with service.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        case.status, case.waiting_since = CaseStatus.WAITING, day
        case.answer_due = date(2026, 11, 23)


def test_the_citizens_message_resumes_a_waiting_case_from_when_it_came(
    ws: Workspace, service: Service, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wait_from(service, date(2026, 11, 16))
    address = record(service, "a1@example.net")  # Karin's, Tuesday the 17th
    assert attach(ws, address.id) == 0  # by the handler herself
    resumed = the_case(service)
    assert resumed.status is CaseStatus.REGISTERED and resumed.waiting_since is None
    # the five working days left on Monday the 16th run again from the day she wrote
    # (Tuesday the 17th), not from the day it was attached: Tuesday the 24th
    assert resumed.answer_due == date(2026, 11, 24)
    assert not resumed.needs_review  # her own message, in an open case: nothing to look at
    joined = record(service, "a1@example.net")
    assert joined.disposition is Disposition.FOLLOWUP and joined.case_id == resumed.id
    assert "tar tillbaka" not in capsys.readouterr().out
    assert smtp_server.to("anna@testby.se") == []  # she did it herself: nobody is told


def test_a_message_from_before_the_wait_leaves_it_waiting_and_asks_for_a_look(
    ws: Workspace, service: Service
) -> None:
    wait_from(service, date(2026, 11, 18))  # began the day after Karin wrote
    assert attach(ws, record(service, "a1@example.net").id) == 0
    case = the_case(service)
    assert case.status is CaseStatus.WAITING and case.answer_due == date(2026, 11, 23)
    assert case.needs_review and case.review_reasons == [BEFORE_THE_WAIT]
    assert record(service, "a1@example.net").disposition is Disposition.FOLLOWUP
    assert any(BEFORE_THE_WAIT in e.detail for e in case.events if e.kind is EventKind.NOTE)


def test_someone_elses_message_joins_but_resumes_nothing_and_is_looked_at(
    ws: Workspace, service: Service
) -> None:
    wait_from(service, date(2026, 11, 16))
    assert (
        attach(ws, record(service, "t1@example.net").id) == 0
    )  # Birgitta's, in Anna's own mailbox
    case = the_case(service)
    assert case.status is CaseStatus.WAITING  # not the citizen's answer
    assert case.needs_review and case.review_reasons == [OTHER_SENDER]
    assert record(service, "t1@example.net").case_id == case.id


def test_attach_refuses_a_stranger_an_unknown_case_and_a_withdrawn_one(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    withdrawal = record(service, "w1@example.net")

    def refused(to: str, by: str) -> str:
        capsys.readouterr()
        assert attach(ws, withdrawal.id, by, to=to) == 2
        err = capsys.readouterr().err
        assert err.startswith("Fel: ") and "Traceback" not in err
        return err

    assert "får inte registrera meddelanden i kontakt@testby.se" in refused(
        "KS 2026/1", "olle@testby.se"
    )
    assert "KS 2026/99" in refused("KS 2026/99", "anna@testby.se")
    assert (
        cli(ws, "cases", "withdraw", "KS 2026/1", "--reason", "dubblett", "--by", "anna@testby.se")
        == 0
    )
    assert "makulerat" in refused("KS 2026/1", "anna@testby.se")
    # nothing moved
    assert record(service, "w1@example.net").disposition is Disposition.NOT_CASE


def test_a_withdrawn_case_gives_its_follow_ups_back_to_the_reply_watch(
    ws: Workspace, service: Service
) -> None:
    assert attach(ws, record(service, "a1@example.net").id) == 0
    assert (
        cli(ws, "cases", "withdraw", "KS 2026/1", "--reason", "test", "--by", "anna@testby.se") == 0
    )
    for message_id in ("c1@example.net", "a1@example.net"):
        back = record(service, message_id)
        # watched again with the reply time of every citizen's message, not queued again
        assert back.disposition is Disposition.NOT_CASE, message_id
        assert back.reply_due is not None and back.reviewed_by == "anna@testby.se"


def test_a_message_attached_by_mistake_is_taken_off_again_to_the_queue(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    thanks = record(service, "t1@example.net")
    assert attach(ws, thanks.id) == 0
    capsys.readouterr()
    assert cli(ws, "cases", "detach", "--record", str(thanks.id), "--by", "anna@testby.se") == 0
    assert "hör inte längre till KS 2026/1 och står i granskningskön" in capsys.readouterr().out
    back = record(service, "t1@example.net")
    assert back.disposition is Disposition.NOT_CASE and back.case_id is None
    assert back.flagged_by == "anna@testby.se" and back.reviewed_at is None
    queued = review(ws, capsys, "anna@testby.se")
    assert thanks.id in {r["id"] for r in queued if r["kind"] == "message"}
    notes = [e.detail for e in the_case(service).events if e.kind is EventKind.NOTE]
    assert any(f"Meddelande nr {thanks.id}" in n and "hör inte till ärendet" in n for n in notes)
    # what joining did to the case is for a person to look at again
    assert DETACHED.format(number=thanks.id) in (the_case(service).review_reasons or [])
    # once off, it is no follow-up to take off; someone without the right is refused
    assert cli(ws, "cases", "detach", "--record", str(thanks.id), "--by", "anna@testby.se") == 2
    assert "är inget senare meddelande i ett ärende" in capsys.readouterr().err
    assert attach(ws, thanks.id) == 0
    capsys.readouterr()
    assert cli(ws, "cases", "detach", "--record", str(thanks.id), "--by", "olle@testby.se") == 2
    assert "får inte registrera meddelanden i anna@testby.se" in capsys.readouterr().err
    assert record(service, "t1@example.net").disposition is Disposition.FOLLOWUP


LATER = datetime(2026, 11, 18, 11, 0, tzinfo=STOCKHOLM)
MORE = "Hej igen!\n\nEn sak till: kan ni också se över cykelbanan vid skolan?\n\nKarin Ek\n"


def reply(ws: Workspace, message_id: str, *answers: str, body: str = MORE, hour: int = 11) -> None:
    """Karin's reply to ``answers`` (nearest last, as References lists them)."""
    when = LATER.replace(hour=hour)
    ws.deliver(
        citizen_mail(
            body,
            subject="SV: Klagomål på snöröjningen",
            message_id=f"<{message_id}>",
            date=when,
            headers={
                "In-Reply-To": f"<{answers[-1]}>",
                "References": " ".join(f"<{a}>" for a in answers),
            },
        ),
        when=when,
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(when)).open() as later:
        assert later.run_once().errors == []


def test_a_reply_to_a_message_taken_off_a_case_does_not_lead_back_into_it(
    ws: Workspace, service: Service
) -> None:
    reply(ws, "r1@example.net", "c1@example.net")
    joined = record(service, "r1@example.net")
    assert joined.disposition is Disposition.FOLLOWUP and joined.case_id == the_case(service).id
    assert cli(ws, "cases", "detach", "--record", str(joined.id), "--by", "anna@testby.se") == 0
    # the reply answers the message that was taken off: not the case further up the thread
    reply(ws, "r2@example.net", "c1@example.net", "r1@example.net", hour=12)
    assert record(service, "r2@example.net").case_id != the_case(service).id
    # a reply to the case's own message still joins it
    reply(ws, "r3@example.net", "c1@example.net", hour=13)
    assert record(service, "r3@example.net").case_id == the_case(service).id


def test_a_withdrawn_case_takes_no_reply_and_a_merged_ones_thread_goes_on(
    ws: Workspace, service: Service
) -> None:
    ws.deliver(
        citizen_mail(
            "Hej!\n\nJag vill klaga på att gatlampan på Björkvägen har varit släckt i tre veckor "
            "trots två felanmälningar.\n\nKarin Ek\n",
            subject="Gatlampan",
            message_id="<c2@example.net>",
            date=LATER,
        ),
        when=LATER,
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(LATER)).open() as later:
        assert later.run_once().count(Disposition.CASE) == 1
    assert (
        cli(ws, "cases", "merge", "KS 2026/2", "--into", "KS 2026/1", "--by", "anna@testby.se") == 0
    )
    reply(ws, "r4@example.net", "c2@example.net", hour=12)
    assert record(service, "r4@example.net").case_id == the_case(service).id
    assert (
        cli(ws, "cases", "withdraw", "KS 2026/1", "--reason", "test", "--by", "anna@testby.se") == 0
    )
    reply(ws, "r5@example.net", "c1@example.net", hour=13)
    late = record(service, "r5@example.net")
    assert late.case_id != the_case(service).id and late.disposition is not Disposition.FOLLOWUP
    assert late.reply_due is not None  # judged on its own, and watched


DISOWNING = (
    "Hej!\n\nI dag fick jag ett brev om ”ditt klagomål om snöröjningen”. Jag har inte skickat "
    "något klagomål, det måste vara en förväxling.\n\nKarin Ek\n"
)


def test_a_letter_to_the_wrong_person_is_attached_and_its_handler_checks_the_addressee(
    ws: Workspace, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """ "Jag har inte skickat något klagomål" in a new mail: no new case; a person attaches it,
    and the case's handler is asked to check who its letters went to."""
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=ARRIVED), when=ARRIVED)
    ws.deliver(
        citizen_mail(DISOWNING, subject="Brevet", message_id="<d1@example.net>", date=WITHDRAWN),
        when=WITHDRAWN,
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(WITHDRAWN)).open() as opened:
        report = opened.run_once()
        assert report.count(Disposition.CASE) == 1 and report.count(Disposition.NOT_CASE) == 1
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as service:
        disowning = record(service, "d1@example.net")
        assert disowning.disposition is Disposition.NOT_CASE and disowning.case_id is None
        queued = {r["id"]: r for r in review(ws, capsys, "registrator@testby.se")}
        assert queued[disowning.id]["reasons"][0].startswith(DISOWNED_REASON)
        assert queued[disowning.id]["sender_cases"] == ["KS 2026/1"]

        assert attach(ws, disowning.id, "registrator@testby.se") == 0
        out = capsys.readouterr().out
        assert "aldrig har lämnat något klagomål" in out
        case = the_case(service)
        assert case.needs_review and DISOWNED_IN_MESSAGE in (case.review_reasons or [])
        assert WITHDRAWN_IN_MESSAGE not in (case.review_reasons or [])
        notes = [e.detail for e in case.events if e.kind is EventKind.NOTE]
        assert any(DISOWNED_IN_MESSAGE in n for n in notes)
    told = smtp_server.to("anna@testby.se")
    assert len(told) == 1
    assert "aldrig har lämnat något klagomål" in told[0].text
