"""A message joins a case only from a party to it; quoting a diary number lets nobody in."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.intake.steps import DISOWNED_BY_SENDER, WITHDRAWN_BY_SENDER
from postvakt.registry.models import Case, CaseStatus, Disposition, MessageRecord
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail

KARIN = "Karin Ek <karin.ek@example.net>"
PER = "Per Holm <per.holm@example.org>"
COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar "
    "och bussen kommer inte fram.\n\nKarin Ek\n"
)
OTHER = (
    "Hej!\n\nJag vill också klaga. Sopbilen har inte tömt våra kärl på Ekvägen på två veckor "
    "och ingen svarar när jag ringer.\n\nPer Holm\n"
)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def registered(ws: Workspace) -> None:
    ws.deliver(
        citizen_mail(COMPLAINT, sender=KARIN, message_id="<case@example.net>"), when=at(16, 8)
    )
    with service_at(ws, at(16)) as service:
        assert service.run_once().outcomes[0].case == "KS 2026/1"


def cases(service: Service) -> dict[str, Case]:
    assert service.sessions is not None
    with service.sessions() as session:
        found = {c.reference: c for c in session.scalars(select(Case))}
        for case in found.values():
            _ = case.events  # loaded before the session closes
        session.expunge_all()
        return found


def test_a_stranger_quoting_a_number_gets_a_case_of_their_own_marked_for_review(
    workspace: Workspace,
) -> None:
    registered(workspace)
    workspace.deliver(
        citizen_mail(OTHER, sender=PER, subject="Angående KS 2026/1 – samma sak hos oss"),
        when=at(17, 9),
    )
    with service_at(workspace, at(17)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.CASE and outcome.case == "KS 2026/2"
        found = cases(service)
    new, old = found["KS 2026/2"], found["KS 2026/1"]
    assert new.sender_address == "per.holm@example.org"
    assert new.needs_review
    assert any("nämner ärende KS 2026/1" in r for r in new.review_reasons)
    assert old.sender_address == "karin.ek@example.net"  # untouched
    assert old.status is CaseStatus.REGISTERED
    assert "KS 2026/2" in old.events[-1].detail and "annan avsändare" in old.events[-1].detail


def test_a_stranger_replying_in_the_thread_does_not_reopen_a_closed_case(
    workspace: Workspace,
) -> None:
    registered(workspace)
    with service_at(workspace, at(17)) as service:
        assert service.casework is not None
        service.casework.answer("KS 2026/1", actor="anna@testby.se", text="Vi plogar i morgon.")
        service.casework.close("KS 2026/1", actor="anna@testby.se", action="Plogat.")
    workspace.deliver(
        citizen_mail(
            "Jag är inte nöjd med svaret, KS 2026/1. Det är fortfarande inte plogat!",
            sender=PER,
            subject="SV: Klagomål på snöröjningen KS 2026/1",
            headers={"In-Reply-To": "<case@example.net>"},
        ),
        when=at(20, 9),
    )
    with service_at(workspace, at(20)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is not Disposition.FOLLOWUP
        assert outcome.case != "KS 2026/1"
        found = cases(service)
        assert found["KS 2026/1"].status is CaseStatus.CLOSED
        assert service.sessions is not None
        with service.sessions() as session:
            record = session.scalars(
                select(MessageRecord).order_by(MessageRecord.id.desc())
            ).first()
            assert record is not None
            assert any("nämner ärende KS 2026/1" in r for r in record.reasons)


def test_the_citizen_quoting_the_number_joins_the_case(workspace: Workspace) -> None:
    registered(workspace)
    workspace.deliver(
        citizen_mail(
            "Hej igen, fortfarande inte plogat. Mvh Karin",
            sender=KARIN,
            subject="KS 2026/1 snöröjningen",
        ),
        when=at(17, 9),
    )
    with service_at(workspace, at(17)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.FOLLOWUP and outcome.case == "KS 2026/1"
        assert set(cases(service)) == {"KS 2026/1"}


def test_the_party_a_case_was_forwarded_to_may_write_in_it(workspace: Workspace) -> None:
    registered(workspace)
    with service_at(workspace, at(17)) as service:
        assert service.casework is not None
        service.casework.forward(
            "KS 2026/1",
            actor="anna@testby.se",
            to="Trafikverket",
            contact="region.ost@trafikverket.example",
        )
    workspace.deliver(
        citizen_mail(
            "Vi har tagit emot ärendet KS 2026/1 och återkommer till medborgaren.",
            sender="Trafikverket <region.ost@trafikverket.example>",
            subject="Ärende KS 2026/1",
        ),
        when=at(18, 9),
    )
    with service_at(workspace, at(18)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.FOLLOWUP and outcome.case == "KS 2026/1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "Hej igen! Jag vill ta tillbaka mitt klagomål, grannen har plogat åt oss nu. "
            "Förlåt för besväret. Karin",
            WITHDRAWN_BY_SENDER,
        ),
        (  # the letter may have gone to the wrong person
            "Hej! Jag fick ert brev om ”ditt klagomål om snöröjningen”, men jag har inte "
            "skickat något klagomål. Jag bor inte ens på Björkvägen. Karin",
            DISOWNED_BY_SENDER,
        ),
    ],
    ids=["withdraws", "never-complained"],
)
def test_a_reply_about_the_complaint_itself_puts_the_case_before_a_person(
    workspace: Workspace, body: str, reason: str
) -> None:
    """A reply withdrawing the complaint, or saying the writer never made it, joins its case
    (no new case, no number) and marks the case for review with a note saying what to check:
    a person decides whether it is closed, or who its letters went to."""
    registered(workspace)
    workspace.deliver(
        citizen_mail(
            body,
            sender=KARIN,
            subject="SV: Snöröjningen",
            headers={"In-Reply-To": "<case@example.net>"},
        ),
        when=at(17, 9),
    )
    with service_at(workspace, at(17)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.FOLLOWUP and outcome.case == "KS 2026/1"
        found = cases(service)
    assert set(found) == {"KS 2026/1"}
    case = found["KS 2026/1"]
    assert case.needs_review
    assert case.review_reasons == [reason]
    assert any(e.detail == reason for e in case.events)
    assert case.status is not CaseStatus.CLOSED  # a person closes it, not the machine
