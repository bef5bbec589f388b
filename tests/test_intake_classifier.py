"""The trained classifier inside the intake: staff forwards, colleagues' mail, the review band,
personal data, and replies in a case's thread (not satisfied, automatic replies)."""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, CaseStatus, Disposition, Draft, Notification
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail

COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar och "
    "min mamma kommer inte ut.\n\nKarin Ek\n"
)
QUESTION = "Hej, när har ni öppet på kommunhuset i jul?\n"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def staff_forward(citizen_body: str) -> bytes:
    """Anna at Testby forwards a citizen's mail to the function mailbox (Outlook style)."""
    msg = EmailMessage()
    msg["From"] = "Anna Berg <anna@testby.se>"
    msg["To"] = "kontakt@testby.se"
    msg["Subject"] = "VB: Snöröjningen på Björkvägen"
    msg["Date"] = format_datetime(at(23, 9))
    msg["Message-ID"] = "<vb-1@testby.se>"
    msg.set_content(
        "Hej, kan ni registrera det här? Det kom till mig.\n\nAnna\n\n"
        "-----Ursprungligt meddelande-----\n"
        "Från: Karin Ek <karin.ek@example.net>\n"
        "Skickat: den 22 november 2026 18:02\n"
        "Till: Anna Berg <anna@testby.se>\n"
        "Ämne: Snöröjningen på Björkvägen\n\n" + citizen_body
    )
    return msg.as_bytes()


def test_a_citizens_mail_forwarded_by_staff_is_the_citizens_case(workspace: Workspace) -> None:
    workspace.deliver(staff_forward(COMPLAINT), when=at(23, 9))
    with service_at(workspace, at(23)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.CASE, outcome
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.sender_address == "karin.ek@example.net"  # the citizen, not Anna
            assert case.subject == "Snöröjningen på Björkvägen"
            assert case.message_id == "vb-1@testby.se"  # the forward's: nothing twice
            assert "forwarded" in case.classifier_flags
            assert any("vidarebefordrat av personal" in r for r in case.classifier_reasons)
            draft = session.scalars(select(Draft)).one()
            assert draft.to_address == "karin.ek@example.net"
            assert draft.subject == "SV: Snöröjningen på Björkvägen"


def test_a_colleagues_own_mail_is_internal(workspace: Workspace) -> None:
    workspace.deliver(
        citizen_mail(
            "Hej! Jag är missnöjd med att mötet flyttades igen. Kan vi ses på torsdag?",
            subject="Mötet",
            sender="Anna Berg <anna@testby.se>",
        )
    )
    with service_at(workspace, at(23)) as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.disposition is Disposition.INTERNAL
    assert outcome.reason == "intern e-post från den egna organisationen (testby.se)"


def with_band(ws: Workspace, band: str) -> Workspace:
    ws.config_path.write_text(
        ws.config_path.read_text() + f"\n[classifier]\nreview_band = {band}\n", encoding="utf-8"
    )
    return ws


def test_in_the_review_band_a_question_is_registered_for_a_person_to_confirm(
    workspace: Workspace,
) -> None:
    ws = with_band(workspace, "[0.0, 1.0]")  # everything is uncertain
    ws.deliver(citizen_mail(QUESTION, subject="Öppettider i jul"))
    with service_at(ws, at(23)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.CASE  # not silently dropped
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.needs_review and "needs_review" in case.classifier_flags
            assert any(r.startswith("osäker bedömning") for r in case.classifier_reasons)


def test_without_a_review_band_a_question_is_not_a_case(workspace: Workspace) -> None:
    ws = with_band(workspace, "[0.0, 0.0]")
    ws.deliver(citizen_mail(QUESTION, subject="Öppettider i jul"))
    with service_at(ws, at(23)) as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.disposition is Disposition.NOT_CASE


def test_a_personnummer_is_flagged_and_never_in_the_heading_or_the_log(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    workspace.deliver(
        citizen_mail(
            COMPLAINT + "Mammas personnummer är 19450312-1234.\n",
            subject="Klagomål 19450312-1234 hemtjänsten",
        )
    )
    with caplog.at_level(logging.DEBUG), service_at(workspace, at(23)) as service:
        service.run_once()
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert "personal_data" in case.classifier_flags
            assert "1234" not in case.heading and "ÅÅMMDD-XXXX" in case.heading
    assert "19450312-1234" not in caplog.text


def reply(body: str, *, when: datetime, headers: dict[str, str] | None = None) -> bytes:
    return citizen_mail(
        body,
        subject="SV: Klagomål på snöröjningen",
        date=when,
        headers={"In-Reply-To": "<case@example.net>", **(headers or {})},
    )


def registered(ws: Workspace) -> None:
    ws.deliver(citizen_mail(COMPLAINT, message_id="<case@example.net>"), when=at(16, 8))
    with service_at(ws, at(16)) as service:
        assert service.run_once().outcomes[0].case == "KS 2026/1"


def case_of(ws: Workspace) -> Case:
    with service_at(ws, at(30)) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            session.expunge(case)
            return case


def test_not_satisfied_before_the_answer_is_noted_not_reopened(workspace: Workspace) -> None:
    registered(workspace)
    workspace.deliver(
        reply("Jag är inte nöjd, det är fortfarande oplogat!", when=at(17, 9)), when=at(17, 9)
    )
    with service_at(workspace, at(17)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.FOLLOWUP
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.REGISTERED
            assert case.events[-1].detail.startswith("Avsändaren skriver att hen inte är nöjd")


def test_not_satisfied_after_the_answer_reopens_for_the_nearest_manager(
    workspace: Workspace,
) -> None:
    registered(workspace)
    with service_at(workspace, at(17)) as service:
        assert service.casework is not None
        service.casework.answer("KS 2026/1", actor="anna@testby.se", text="Vi plogar i morgon.")
    workspace.deliver(
        reply("Tack, men jag är inte nöjd med svaret. Ingen har plogat.", when=at(20, 9)),
        when=at(20, 9),
    )
    with service_at(workspace, at(20, 7)) as service:  # before working time: the head is
        (outcome,) = service.run_once().outcomes  # told later, not at seven in the morning
        assert outcome.disposition is Disposition.FOLLOWUP and outcome.case == "KS 2026/1"
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status is CaseStatus.REOPENED
            assert case.handler == "chef@testby.se"  # the head of Anna's unit (Kontaktcenter)
            assert [e.kind.value for e in case.events][-3:] == ["reopened", "escalated", "drafted"]
            assert "inte nöjd" in case.events[-3].detail
            (queued,) = session.scalars(select(Notification)).all()
            assert (queued.recipient, queued.kind, queued.status) == (
                "chef@testby.se",
                "assigned",
                "queued",
            )
        drafts = [
            email.message_from_bytes(d.read_bytes(), policy=email.policy.default)
            for d in workspace.drafts()
        ]
        (review,) = [
            d
            for d in drafts
            if any(a.get_filename().startswith("Ny prövning") for a in d.iter_attachments())
        ]
        assert review["To"] == "Karin Ek <karin.ek@example.net>"


def test_an_automatic_reply_in_the_thread_neither_joins_nor_reopens(workspace: Workspace) -> None:
    registered(workspace)
    with service_at(workspace, at(17)) as service:
        assert service.casework is not None
        service.casework.answer("KS 2026/1", actor="anna@testby.se", text="Vi plogar i morgon.")
    workspace.deliver(
        reply(
            "Jag är inte på kontoret och är inte nöjd med att behöva vara borta. Åter 1 december.",
            when=at(20, 9),
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    with service_at(workspace, at(20)) as service:
        (outcome,) = service.run_once().outcomes
    assert outcome.disposition is Disposition.SCREENED and outcome.case is None
    assert case_of(workspace).status is CaseStatus.ANSWERED
