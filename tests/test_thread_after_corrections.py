"""A citizen's reply after a correction joins the case that holds the message it answers
*now*: after a merge, the case it was merged into; after the merge is undone (the message
taken off again and registered anew), the new case; after the message was taken off a case,
no case; after a withdrawal, no case (judged on its own and watched).  The same on SQLite
and PostgreSQL, whatever order the database returns rows that share a Message-ID in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, CaseStatus, Disposition, Draft, MessageRecord
from postvakt.service import Service
from tests.support.rows import case_id, cases_by_reference
from tests.support.workspace import Workspace, citizen_mail, make_workspace

KARIN = "Karin Ek <karin.ek@example.net>"
ARRIVED = datetime(2026, 11, 16, 8, 0, tzinfo=STOCKHOLM)  # a Monday
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=STOCKHOLM)  # the Wednesday after
SNOW = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar och "
    "bussen kommer inte fram.\n\nKarin Ek\n"
)
LAMP = (
    "Hej!\n\nJag vill klaga på att gatlampan på Björkvägen har varit släckt i tre veckor trots "
    "två felanmälningar.\n\nKarin Ek\n"
)
MORE = "Hej igen!\n\nEn sak till: lampan vid busshållplatsen är också trasig.\n\nKarin Ek\n"


@pytest.fixture
def ws(db_url: str, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", db_url)


@pytest.fixture
def service(ws: Workspace) -> Iterator[Service]:
    """Karin's two complaints: the snow (KS 2026/1, <snow@…>) and the lamp (KS 2026/2,
    <lamp@…>), each with its acknowledgement drafted."""
    ws.deliver(
        citizen_mail(SNOW, sender=KARIN, message_id="<snow@example.net>", date=ARRIVED),
        when=ARRIVED,
    )
    ws.deliver(
        citizen_mail(
            LAMP,
            sender=KARIN,
            subject="Gatlampan",
            message_id="<lamp@example.net>",
            date=ARRIVED,
        ),
        when=ARRIVED,
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(ARRIVED)).open() as opened:
        assert opened.run_once().count(Disposition.CASE) == 2
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as later:
        assert cases_by_reference(later) == {
            "KS 2026/1": "snow@example.net",
            "KS 2026/2": "lamp@example.net",
        }
        yield later


def status(service: Service, reference: str) -> CaseStatus:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalars(select(Case.status).where(Case.reference == reference)).one()


def record(service: Service, message_id: str) -> MessageRecord:
    """The message's first record (a copy read later has one of its own)."""
    assert service.sessions is not None
    with service.sessions() as session:
        found = session.scalars(
            select(MessageRecord)
            .where(MessageRecord.message_id == message_id)
            .order_by(MessageRecord.id)
            .limit(1)
        ).one()
        session.expunge(found)
        return found


def acknowledgement(service: Service, reference: str) -> str:
    """The Message-ID of Postvakt's acknowledgement in the case (the letter Karin got): the
    case's only draft."""
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalars(
            select(Draft.message_id)
            .join(Case, Draft.case_id == Case.id)
            .where(Case.reference == reference)
        ).one()


def reply(ws: Workspace, message_id: str, *answers: str, hour: int) -> MessageRecord:
    """Karin's reply to ``answers`` (nearest last, as References lists them), read in a pass
    of its own; its record."""
    when = NOW.replace(hour=hour)
    ws.deliver(
        citizen_mail(
            MORE,
            sender=KARIN,
            subject="SV: Gatlampan",
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
        return record(later, message_id)


def merged_by_mistake(service: Service) -> MessageRecord:
    """The lamp merged into the snow by mistake; its message is now the snow's."""
    service.corrections.merge("KS 2026/2", into="KS 2026/1", by="anna@testby.se")
    moved = record(service, "lamp@example.net")
    assert moved.case_id == case_id(service, "KS 2026/1")
    assert moved.disposition is Disposition.FOLLOWUP
    return moved


def test_a_reply_after_a_merge_joins_the_case_it_was_merged_into(
    ws: Workspace, service: Service
) -> None:
    merged_by_mistake(service)
    snow = case_id(service, "KS 2026/1")
    to_the_message = reply(ws, "r1@example.net", "lamp@example.net", hour=11)
    assert (to_the_message.case_id, to_the_message.disposition) == (snow, Disposition.FOLLOWUP)
    ack = acknowledgement(service, "KS 2026/2")
    to_the_letter = reply(ws, "r2@example.net", "lamp@example.net", ack, hour=12)
    assert (to_the_letter.case_id, to_the_letter.disposition) == (snow, Disposition.FOLLOWUP)


def test_a_reply_after_a_merge_is_undone_joins_the_case_that_holds_the_message_now(
    ws: Workspace, service: Service
) -> None:
    """Undone: the lamp's message taken off the snow ('Hör inte till ärendet') and registered
    anew (KS 2026/3).  The withdrawn KS 2026/2 still names the message and still points to
    the snow; neither may lead the reply there."""
    moved = merged_by_mistake(service)
    service.corrections.detach(moved.id, by="anna@testby.se")
    done = service.corrections.register("lamp@example.net", kind="klagomal", by="anna@testby.se")
    assert done.case == "KS 2026/3"
    anew = case_id(service, "KS 2026/3")
    assert record(service, "lamp@example.net").case_id == anew
    # three rows name the lamp's Message-ID: the withdrawn case, the new one, the record
    assert list(cases_by_reference(service).values()).count("lamp@example.net") == 2

    answer = reply(ws, "r1@example.net", "lamp@example.net", hour=11)

    assert (answer.case_id, answer.disposition) == (anew, Disposition.FOLLOWUP)


def test_a_reply_to_the_acknowledgement_after_a_merge_is_undone_joins_the_new_case(
    ws: Workspace, service: Service
) -> None:
    """Karin answers the acknowledgement she got for KS 2026/2 (the nearest message in the
    thread is Postvakt's letter in the withdrawn case): its merge was undone, so the thread
    goes on where the case's message is now, not in the snow."""
    ack = acknowledgement(service, "KS 2026/2")
    moved = merged_by_mistake(service)
    service.corrections.detach(moved.id, by="anna@testby.se")
    service.corrections.register("lamp@example.net", kind="klagomal", by="anna@testby.se")

    answer = reply(ws, "r1@example.net", "lamp@example.net", ack, hour=11)

    assert (answer.case_id, answer.disposition) == (
        case_id(service, "KS 2026/3"),
        Disposition.FOLLOWUP,
    )


def test_a_copy_in_another_mailbox_does_not_lead_back_after_the_merge_is_undone(
    ws: Workspace, service: Service
) -> None:
    """The lamp also reached Anna's own mailbox: a duplicate of KS 2026/2, which the merge
    moves to the snow with the message, and which leaves the snow with it when the message
    is taken off again (tests/test_detach_duplicate_copies.py)."""
    ws.deliver(
        citizen_mail(
            LAMP,  # the same bytes (Bcc)
            sender=KARIN,
            subject="Gatlampan",
            message_id="<lamp@example.net>",
            date=ARRIVED,
        ),
        "anna",
        when=ARRIVED,
    )
    assert service.run_once().count(Disposition.DUPLICATE) == 1
    moved = merged_by_mistake(service)
    service.corrections.detach(moved.id, by="anna@testby.se")
    snow = case_id(service, "KS 2026/1")
    assert service.sessions is not None
    with service.sessions() as session:
        copy = session.scalars(
            select(MessageRecord).where(
                MessageRecord.message_id == "lamp@example.net", MessageRecord.id != moved.id
            )
        ).one()
    assert (copy.case_id, copy.disposition) == (None, Disposition.DUPLICATE)

    taken_off = reply(ws, "r1@example.net", "lamp@example.net", hour=11)
    assert taken_off.case_id != snow and taken_off.disposition is not Disposition.FOLLOWUP

    done = service.corrections.register("lamp@example.net", kind="klagomal", by="anna@testby.se")
    answer = reply(ws, "r2@example.net", "lamp@example.net", hour=12)
    assert (answer.case_id, answer.disposition) == (
        case_id(service, done.case),
        Disposition.FOLLOWUP,
    )


def test_a_reply_to_a_message_taken_off_after_a_merge_joins_no_case(
    ws: Workspace, service: Service
) -> None:
    """Taken off the snow and not registered (yet): the message is in no case, so a reply
    to it is judged on its own, as after any 'Hör inte till ärendet'."""
    moved = merged_by_mistake(service)
    service.corrections.detach(moved.id, by="anna@testby.se")

    answer = reply(ws, "r1@example.net", "lamp@example.net", hour=11)

    assert answer.case_id != case_id(service, "KS 2026/1")
    assert answer.disposition is not Disposition.FOLLOWUP


def test_a_reply_to_a_follow_up_registered_as_a_case_of_its_own_follows_it(
    ws: Workspace, service: Service
) -> None:
    """A reply in the snow's thread that is about something else is taken off the snow and
    registered as a case of its own; a reply to it joins that case."""
    off_topic = reply(ws, "r1@example.net", "snow@example.net", hour=11)
    assert off_topic.case_id == case_id(service, "KS 2026/1")
    service.corrections.detach(off_topic.id, by="anna@testby.se")
    done = service.corrections.register("r1@example.net", kind="klagomal", by="anna@testby.se")

    answer = reply(ws, "r2@example.net", "snow@example.net", "r1@example.net", hour=12)

    assert (answer.case_id, answer.disposition) == (
        case_id(service, done.case),
        Disposition.FOLLOWUP,
    )


def test_a_withdrawn_case_takes_no_reply_until_its_message_is_registered_again(
    ws: Workspace, service: Service
) -> None:
    """Withdrawn (README: a withdrawn case takes no more replies): a reply is judged on its
    own and watched.  Registered again, the message is the new case's, and so is the next
    reply to it."""
    service.corrections.reclassify("KS 2026/2", kind="annat", by="anna@testby.se")
    withdrawn = case_id(service, "KS 2026/2")

    ignored = reply(ws, "r1@example.net", "lamp@example.net", hour=11)

    assert ignored.case_id != withdrawn and ignored.disposition is not Disposition.FOLLOWUP
    assert ignored.reply_due is not None  # judged on its own, and watched

    done = service.corrections.register("lamp@example.net", kind="klagomal", by="anna@testby.se")
    anew = case_id(service, done.case)
    assert anew != withdrawn

    answer = reply(ws, "r2@example.net", "lamp@example.net", hour=12)

    assert (answer.case_id, answer.disposition) == (anew, Disposition.FOLLOWUP)
    assert status(service, "KS 2026/2") is CaseStatus.WITHDRAWN
