"""A message's copies go where the message goes.  A copy is the same e-mail (Message-ID and
content) read at another place — a Bcc to a second watched mailbox, the file delivered
again — which the intake records as a duplicate of what the message became.  A merge moves
the merged case's message and its copies to the case it joins; taking the message off again
('Hör inte till ärendet'), registering it anew, attaching it elsewhere, or registering a
withdrawn case's message again takes its copies along, and no listing shows a copy under a
case its message is not in.  The same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, Disposition, EventKind, MessageRecord
from postvakt.service import Service
from tests.support.rows import case_id, cases_by_reference, records_of
from tests.support.workspace import Workspace, citizen_mail, make_workspace

KARIN = "Karin Ek <karin.ek@example.net>"
BY = "anna@testby.se"
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
BENCH = (
    "Hej!\n\nJag vill klaga på att parkbänken vid lekplatsen på Björkvägen har varit trasig "
    "sedan i somras trots att jag har anmält det två gånger.\n\nKarin Ek\n"
)
MORE = "Hej igen!\n\nEn sak till: lampan vid busshållplatsen är också trasig.\n\nKarin Ek\n"


def lamp_mail() -> bytes:
    return citizen_mail(
        LAMP, sender=KARIN, subject="Gatlampan", message_id="<lamp@example.net>", date=ARRIVED
    )


@pytest.fixture
def ws(db_url: str, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", db_url)


@pytest.fixture
def service(ws: Workspace) -> Iterator[Service]:
    """Karin's three complaints: the snow (KS 2026/1), the lamp (KS 2026/2) and the bench
    (KS 2026/3); the lamp also reached Anna's own mailbox (Bcc), read two days later: a
    copy, recorded as a duplicate of KS 2026/2."""
    ws.deliver(
        citizen_mail(SNOW, sender=KARIN, message_id="<snow@example.net>", date=ARRIVED),
        when=ARRIVED,
    )
    ws.deliver(lamp_mail(), when=ARRIVED)
    ws.deliver(
        citizen_mail(
            BENCH,
            sender=KARIN,
            subject="Parkbänken",
            message_id="<bench@example.net>",
            date=ARRIVED,
        ),
        when=ARRIVED,
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(ARRIVED)).open() as opened:
        assert opened.run_once().count(Disposition.CASE) == 3
    ws.deliver(lamp_mail(), "anna", when=ARRIVED)
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as later:
        assert later.run_once().count(Disposition.DUPLICATE) == 1
        assert cases_by_reference(later) == {
            "KS 2026/1": "snow@example.net",
            "KS 2026/2": "lamp@example.net",
            "KS 2026/3": "bench@example.net",
        }
        message, copy = records_of(later, "lamp@example.net")
        assert (message.disposition, copy.disposition) == (Disposition.CASE, Disposition.DUPLICATE)
        assert message.case_id == copy.case_id == case_id(later, "KS 2026/2")
        yield later


def last_note(service: Service, reference: str) -> str:
    assert service.sessions is not None
    with service.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        return [e.detail for e in case.events if e.kind is EventKind.NOTE][-1]


def listed(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> dict[int, str | None]:
    """``postvakt messages list --json``: record number -> the case it is listed under."""
    capsys.readouterr()
    assert main(["--config", str(ws.config_path), "messages", "list", "--json"]) == 0
    return {row["id"]: row["case"] for row in json.loads(capsys.readouterr().out)}


def merged_and_taken_off(service: Service) -> tuple[MessageRecord, MessageRecord]:
    """The lamp merged into the snow by mistake (its copy goes along), then its message
    taken off the snow again; the message and its copy as they are after the merge."""
    service.corrections.merge("KS 2026/2", into="KS 2026/1", by=BY)
    message, copy = records_of(service, "lamp@example.net")
    snow = case_id(service, "KS 2026/1")
    assert (message.case_id, message.disposition) == (snow, Disposition.FOLLOWUP)
    assert (copy.case_id, copy.disposition) == (snow, Disposition.DUPLICATE)
    # the merge event names both: the message, and the copy that went with it
    assert service.sessions is not None
    with service.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        merged = [e.detail for e in case.events if e.kind is EventKind.MERGED][-1]
    assert f"dess meddelande nr {message.id} hör nu hit" in merged, merged
    assert f"även meddelande nr {copy.id} hör nu hit" in merged, merged
    return message, copy


def test_a_merged_message_taken_off_again_takes_its_copy_with_it(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    message, copy = merged_and_taken_off(service)

    done = service.corrections.detach(message.id, by=BY)

    after = {r.id: r for r in records_of(service, "lamp@example.net")}
    assert (after[message.id].case_id, after[message.id].disposition) == (
        None,
        Disposition.NOT_CASE,
    )
    # the copy is the same e-mail: in no case either, and still a copy (not in the queue)
    assert (after[copy.id].case_id, after[copy.id].disposition) == (None, Disposition.DUPLICATE)
    said = f"Kopian nr {copy.id} (samma e-post, läst på ett annat ställe) följde med."
    assert said in done.text
    assert said in last_note(service, "KS 2026/1")
    # no listing shows the copy under the snow any more
    shown = listed(ws, capsys)
    assert shown[message.id] is None and shown[copy.id] is None
    queued = [i.id for i in service.corrections.queue(BY) if i.kind == "message"]
    assert message.id in queued and copy.id not in queued


def test_the_copy_follows_its_message_registered_anew(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    message, copy = merged_and_taken_off(service)
    service.corrections.detach(message.id, by=BY)

    done = service.corrections.register("lamp@example.net", kind="klagomal", by=BY)

    assert done.case == "KS 2026/4"
    anew = case_id(service, "KS 2026/4")
    after = {r.id: r for r in records_of(service, "lamp@example.net")}
    assert (after[message.id].case_id, after[message.id].disposition) == (anew, Disposition.CASE)
    assert (after[copy.id].case_id, after[copy.id].disposition) == (anew, Disposition.DUPLICATE)
    assert f"Kopian nr {copy.id}" in done.text
    shown = listed(ws, capsys)
    assert shown[message.id] == shown[copy.id] == "KS 2026/4"


def test_the_copy_follows_its_message_attached_to_another_case(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """Taken off the snow, the lamp is attached to the bench (KS 2026/3): the copy too."""
    message, copy = merged_and_taken_off(service)
    service.corrections.detach(message.id, by=BY)

    done = service.corrections.attach(message.id, to="KS 2026/3", by=BY)

    bench = case_id(service, "KS 2026/3")
    after = {r.id: r for r in records_of(service, "lamp@example.net")}
    assert (after[message.id].case_id, after[message.id].disposition) == (
        bench,
        Disposition.FOLLOWUP,
    )
    assert (after[copy.id].case_id, after[copy.id].disposition) == (bench, Disposition.DUPLICATE)
    said = f"Kopian nr {copy.id} (samma e-post, läst på ett annat ställe) följde med."
    assert said in done.text and said in last_note(service, "KS 2026/3")
    shown = listed(ws, capsys)
    assert shown[message.id] == shown[copy.id] == "KS 2026/3"


def test_a_later_messages_copies_go_with_it_and_nothing_else_does(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """Karin's reply in the snow's thread, read twice (the file delivered again): a
    follow-up and its copy.  Taken off the snow, both leave it; the snow's own message and
    the merged lamp's records stay where they are.  Registered, both are the new case's."""
    service.corrections.merge("KS 2026/2", into="KS 2026/1", by=BY)
    when = NOW.replace(hour=11)
    raw = citizen_mail(
        MORE,
        sender=KARIN,
        subject="SV: Klagomål på snöröjningen",
        message_id="<r1@example.net>",
        date=when,
        headers={"In-Reply-To": "<snow@example.net>", "References": "<snow@example.net>"},
    )
    for hour in (11, 12):
        ws.deliver(raw, when=NOW.replace(hour=hour))
        with Service(
            load_config(ws.config_path), clock=fixed_clock(NOW.replace(hour=hour))
        ).open() as later:
            assert later.run_once().errors == []
    snow = case_id(service, "KS 2026/1")
    reply, copy = records_of(service, "r1@example.net")
    assert (reply.case_id, reply.disposition) == (snow, Disposition.FOLLOWUP)
    assert (copy.case_id, copy.disposition) == (snow, Disposition.DUPLICATE)

    done = service.corrections.detach(reply.id, by=BY)

    after = {r.id: r for r in records_of(service, "r1@example.net")}
    assert (after[reply.id].case_id, after[copy.id].case_id) == (None, None)
    assert f"Kopian nr {copy.id}" in done.text
    stayed = records_of(service, "snow@example.net") + records_of(service, "lamp@example.net")
    assert {r.case_id for r in stayed} == {snow}

    registered = service.corrections.register("r1@example.net", kind="klagomal", by=BY)

    anew = case_id(service, registered.case)
    after = {r.id: r for r in records_of(service, "r1@example.net")}
    assert (after[reply.id].case_id, after[copy.id].case_id) == (anew, anew)
    shown = listed(ws, capsys)
    assert shown[reply.id] == shown[copy.id] == registered.case


def test_a_withdrawn_cases_message_registered_again_takes_its_copy_along(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lamp changed to 'annat' (withdrawn) and then registered again: the new case
    holds the message and its copy; the withdrawn KS 2026/2 keeps its number and events."""
    message, copy = records_of(service, "lamp@example.net")
    service.corrections.reclassify("KS 2026/2", kind="annat", by=BY)

    done = service.corrections.register("lamp@example.net", kind="klagomal", by=BY)

    anew = case_id(service, done.case)
    assert anew != case_id(service, "KS 2026/2")
    after = {r.id: r for r in records_of(service, "lamp@example.net")}
    assert (after[message.id].case_id, after[copy.id].case_id) == (anew, anew)
    assert after[copy.id].disposition is Disposition.DUPLICATE
    shown = listed(ws, capsys)
    assert shown[message.id] == shown[copy.id] == done.case


def test_a_message_without_copies_says_nothing_of_copies(service: Service) -> None:
    service.corrections.merge("KS 2026/3", into="KS 2026/1", by=BY)
    (bench,) = records_of(service, "bench@example.net")

    done = service.corrections.detach(bench.id, by=BY)

    assert done.text == (
        f"Meddelande nr {bench.id} hör inte längre till KS 2026/1 och står i granskningskön."
    )
