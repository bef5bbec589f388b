"""Deadlines: every citizen message, every case; pauses, follow-ups and who is told."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import load_config
from postvakt.errors import InvalidTransitionError
from postvakt.registry.lifecycle import wait_for_citizen
from postvakt.registry.models import Case, CaseStatus, Disposition, MessageRecord
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.deadlines import due_items, to_notify
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail

COMPLAINT = "Jag vill klaga på snöröjningen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
QUESTION = "Hej, när har ni öppet på kommunhuset?\n"


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, 0, tzinfo=STOCKHOLM)


def open_service(ws: Workspace, clock: Clock) -> Service:
    return Service(load_config(ws.config_path), clock=clock).open()


@pytest.mark.parametrize(
    "received,policy,reply_due",
    [
        # Wed 23 Dec 2026 + 5 wd: [24 julafton, 25, 26-27] 28 (1), 29, 30 (3), [31 nyårsafton, 1 Jan, 2-3] 4 (4), 5 (5)
        (at(2026, 12, 23), "orebro", "2027-01-05"),
        # Thu 31 Dec 2026 (nyårsafton) + 5 wd: 4 (1), 5 (2), [6 trettondedag] 7 (3), 8 (4), [9-10] 11 (5)
        (at(2026, 12, 31), "orebro", "2027-01-11"),
        # Fri 19 Jun 2026 (midsommarafton) + 5 wd: 22, 23, 24, 25, 26
        (at(2026, 6, 19), "orebro", "2026-06-26"),
        # Sat 21 Nov 2026: counts from Monday 23 -> Fri 27
        (at(2026, 11, 21), "orebro", "2026-11-27"),
        # Linköping, 7 days from Fri 18 Dec 2026 = Fri 25 Dec (juldagen) -> Mon 28 Dec
        (at(2026, 12, 18), "linkoping", "2026-12-28"),
        # Timrå, a week from Thu 24 Dec 2026 = Thu 31 Dec (nyårsafton) -> Mon 4 Jan
        (at(2026, 12, 24), "timra", "2027-01-04"),
    ],
)
def test_cases_list_shows_reply_due_on_holiday_eves_and_year_ends(
    workspace: Workspace, received: datetime, policy: str, reply_due: str
) -> None:
    text = workspace.config_path.read_text().replace('policy = "orebro"', f'policy = "{policy}"')
    workspace.config_path.write_text(text)
    workspace.deliver(citizen_mail(COMPLAINT, date=received), when=received)
    workspace.deliver(
        citizen_mail(QUESTION, subject="Öppettider", sender="olle@example.net", date=received),
        when=received,
    )
    with open_service(workspace, fixed_clock(at(2027, 1, 12))) as service:
        service.run_once()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "postvakt",
            "--config",
            str(workspace.config_path),
            "cases",
            "list",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    (case,) = json.loads(result.stdout)
    assert case["reply_due"] == reply_due
    messages = subprocess.run(
        [
            sys.executable,
            "-m",
            "postvakt",
            "--config",
            str(workspace.config_path),
            "messages",
            "list",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    dues = {m["subject"]: m["reply_due"] for m in json.loads(messages.stdout)}
    assert dues["Öppettider"] == reply_due  # a question gets the same reply deadline


def test_machine_and_internal_mail_get_no_deadline(workspace: Workspace, clock: Clock) -> None:
    workspace.deliver(
        citizen_mail(
            "Jag är ledig.", subject="Automatiskt svar", headers={"Auto-Submitted": "auto-replied"}
        )
    )
    workspace.deliver(citizen_mail("Lunch?", sender="per@testby.se", subject="Lunch"))
    workspace.deliver(
        citizen_mail("Nyheter", subject="Nyhetsbrev", headers={"List-Id": "<n.example>"})
    )
    with open_service(workspace, clock) as service:
        service.run_once()
        assert service.sessions is not None
        with service.sessions() as session:
            assert [r.reply_due for r in session.scalars(select(MessageRecord))] == [
                None,
                None,
                None,
            ]
            assert due_items(session) == []


def test_who_is_reminded_and_who_is_told_of_a_breach(workspace: Workspace) -> None:
    received = at(2026, 11, 16)  # Monday: due Monday 23 Nov (Örebro, 5 wd)
    workspace.deliver(citizen_mail(COMPLAINT, date=received), when=received)
    workspace.deliver(
        citizen_mail(QUESTION, subject="Öppettider", sender="olle@example.net", date=received),
        "anna",
        when=received,
    )
    calendar = WorkingCalendar()
    with open_service(workspace, fixed_clock(at(2026, 11, 16, 11))) as service:
        service.run_once()
        assert service.sessions is not None
        with service.sessions() as session:
            items = {(i.kind, i.mailbox): i for i in due_items(session)}
    assert set(items) == {
        ("ack", "kontakt@testby.se"),
        ("answer", "kontakt@testby.se"),
        ("reply", "anna@testby.se"),
    }
    answer = items[("answer", "kontakt@testby.se")]
    assert answer.due == date(2026, 11, 23)
    assert answer.responsible == ("anna@testby.se",)  # the handler: the function mailbox's owner
    assert answer.escalate_to == ("chef@testby.se",)  # the unit head
    # Thursday 19th: two working days left -> nobody yet (reminders come one day before).
    assert to_notify(list(items.values()), date(2026, 11, 19), calendar) == []
    # Friday 20th: one working day before -> reminders to the responsible only.
    friday = to_notify(list(items.values()), date(2026, 11, 20), calendar)
    assert {(n.recipient, n.kind) for n in friday} == {("anna@testby.se", "reminder")}
    # Tuesday 24th: passed -> breach to the responsible and the unit head.
    tuesday = to_notify(list(items.values()), date(2026, 11, 24), calendar)
    assert {(n.recipient, n.kind) for n in tuesday} == {
        ("anna@testby.se", "breach"),
        ("chef@testby.se", "breach"),
    }


def test_a_case_waiting_for_the_citizen_pauses_and_resumes_its_clock(workspace: Workspace) -> None:
    received = at(2026, 11, 16)
    raw = citizen_mail(COMPLAINT, date=received, message_id="<c@example.net>")
    workspace.deliver(raw, when=received)
    with open_service(workspace, fixed_clock(at(2026, 11, 17))) as service:
        service.run_once()
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            case = session.scalars(select(Case)).one()
            assert case.answer_due == date(2026, 11, 23)
            # Wednesday 18th: Anna asks for more information; 3 working days are left (19, 20, 23).
            wait_for_citizen(session, case, actor="anna@testby.se", at=at(2026, 11, 18, 15))
        with service.sessions() as session:
            assert due_items(session) == []  # no clock runs while the case waits
    # The citizen answers on Tuesday 1 December, in the same thread.
    reply = citizen_mail(
        "Gatan heter Björkvägen 12.",
        subject="SV: Klagomål på snöröjningen",
        date=at(2026, 12, 1),
        headers={"In-Reply-To": "<c@example.net>"},
    )
    workspace.deliver(reply, when=at(2026, 12, 1))
    with open_service(workspace, fixed_clock(at(2026, 12, 1, 11))) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.FOLLOWUP and outcome.case == "KS 2026/1"
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.REGISTERED and case.waiting_since is None
            # 3 working days from Tue 1 Dec: 2, 3, 4 -> Friday 4 December.
            assert case.answer_due == date(2026, 12, 4)
            kinds = [e.kind.value for e in case.events]
            assert kinds[-3:] == ["waiting", "note", "note"]
            assert "Svarstiden är pausad" in case.events[-3].detail
            assert "löper igen; svar senast 2026-12-04" in case.events[-1].detail
            assert session.scalar(select(Case.id).where(Case.id != case.id)) is None  # no new case


def test_a_closed_case_cannot_wait(workspace: Workspace, clock: Clock) -> None:
    workspace.deliver(citizen_mail(COMPLAINT))
    with open_service(workspace, clock) as service:
        service.run_once()
        assert service.sessions is not None
        with service.sessions() as session, session.begin():
            case = session.scalars(select(Case)).one()
            case.status = CaseStatus.CLOSED
            with pytest.raises(InvalidTransitionError, match="avslutat"):
                wait_for_citizen(session, case, actor="anna@testby.se", at=at(2026, 11, 24))


def test_a_diary_number_in_the_subject_joins_the_case(workspace: Workspace, clock: Clock) -> None:
    workspace.deliver(citizen_mail(COMPLAINT, message_id="<first@example.net>"), name="1")
    workspace.deliver(
        citizen_mail(
            "Det är fortfarande inte plogat, jag är mycket missnöjd!",
            subject="Ang. ks 2026/1 – fortfarande oplogat",
            message_id="<second@example.net>",
        ),
        name="2",
    )
    with open_service(workspace, clock) as service:
        outcomes = {o.key: o for o in service.run_once().outcomes}
        assert (
            outcomes["2"].disposition is Disposition.FOLLOWUP and outcomes["2"].case == "KS 2026/1"
        )
