"""People correct the machine: confirm, reclassify, withdraw, register, assign, merge, the
review queue — each through ``postvakt.cli.main`` and the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postvakt.cli import main
from postvakt.cli.corrections import reason_cell
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Correction,
    Disposition,
    Draft,
    DraftStatus,
    MessageRecord,
)
from postvakt.registry.report import annual_report
from postvakt.rules.deadlines import due_items
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail, make_workspace

ARRIVED = datetime(2026, 11, 16, 8, 0, tzinfo=STOCKHOLM)  # a Monday
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=STOCKHOLM)  # the Wednesday after
COMPLAINT = (
    "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar och "
    "bussen kommer inte fram.\n\nKarin Ek\n"
)
OPINION = "Hej! Jag har ett förslag: det vore bra om biblioteket hade öppet på söndagar.\n\nPer\n"
THANKS = "Hej Anna!\n\nTack för hjälpen igår, nu har jag skickat in ansökan.\n\nBirgitta\n"
OTHER_UNIT = """
[[units]]
name = "Bygglov"
head = "bygg.chef@testby.se"
parent = "Kommunledningen"

[[people]]
name = "Olle Bygg"
address = "olle@testby.se"
unit = "Bygglov"
"""


@pytest.fixture
def ws(db_url: str, tmp_path: Path) -> Workspace:
    workspace = make_workspace(tmp_path / "ws", db_url)
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write(OTHER_UNIT)
    return workspace


@pytest.fixture
def service(ws: Workspace) -> Iterator[Service]:
    ws.deliver(citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=ARRIVED), when=ARRIVED)
    ws.deliver(
        citizen_mail(
            OPINION,
            subject="Förslag om biblioteket",
            sender="Per Holm <per.holm@example.org>",
            message_id="<o1@example.net>",
            date=ARRIVED,
        ),
        when=ARRIVED,
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
    with Service(load_config(ws.config_path), clock=fixed_clock(ARRIVED)).open() as opened:
        report = opened.run_once()
        assert report.count(Disposition.CASE) == 2 and report.count(Disposition.NOT_CASE) == 1
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as later:
        yield later


def cli(ws: Workspace, *args: str) -> int:
    return main(["--config", str(ws.config_path), *args], clock=fixed_clock(NOW))


def case(service: Service, reference: str) -> Case:
    assert service.sessions is not None
    with service.sessions() as session:
        found = session.scalars(select(Case).where(Case.reference == reference)).one()
        _ = found.events, found.merged_into
        session.expunge_all()
        return found


def corrections(service: Service) -> list[tuple[str, str | None, str, str]]:
    assert service.sessions is not None
    with service.sessions() as session:
        return [
            (c.action, c.predicted, c.label, c.by)
            for c in session.scalars(select(Correction).order_by(Correction.id))
        ]


def numbers(service: Service) -> dict[str, str]:
    """reference -> kind of every case, withdrawn ones included."""
    assert service.sessions is not None
    with service.sessions() as session:
        return {c.reference: c.kind.value for c in session.scalars(select(Case))}


# --------------------------------------------------------------------------- confirm


def test_confirm_clears_review_and_keeps_an_example(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert service.sessions is not None
    with service.sessions.begin() as session:
        session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one().needs_review = True
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "anna@testby.se") == 0
    assert "bekräftat som klagomål" in capsys.readouterr().out
    confirmed = case(service, "KS 2026/1")
    assert not confirmed.needs_review and confirmed.corrected_by == "anna@testby.se"
    assert confirmed.events[-1].kind.value == "confirmed"
    assert corrections(service) == [("confirm", "complaint", "complaint", "anna@testby.se")]


def test_someone_without_the_right_is_refused_clearly(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    # Staff of another unit, and an address the config does not know.
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "olle@testby.se") == 2
    err = capsys.readouterr().err
    assert "olle@testby.se får inte bekräfta ärende KS 2026/1" in err
    assert "registratorn" in err and "Traceback" not in err
    assert cli(ws, "cases", "withdraw", "KS 2026/1", "--reason", "x", "--by", "vem@annan.se") == 2
    assert "finns inte i konfigurationen" in capsys.readouterr().err
    assert case(service, "KS 2026/1").status is CaseStatus.REGISTERED
    assert corrections(service) == []
    # The head of the unit and the registrar may.
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "chef@testby.se") == 0
    assert cli(ws, "cases", "confirm", "KS 2026/2", "--by", "registrator@testby.se") == 0


# --------------------------------------------------------------------------- reclassify


def test_complaint_to_opinion_stops_the_acknowledgement_clock(
    ws: Workspace, service: Service
) -> None:
    before = case(service, "KS 2026/1")
    assert before.kind.value == "complaint" and before.ack_due is not None
    assert (
        cli(ws, "cases", "reclassify", "KS 2026/1", "--kind", "synpunkt", "--by", "anna@testby.se")
        == 0
    )
    after = case(service, "KS 2026/1")
    assert after.kind.value == "opinion" and after.ack_due is None
    # The answer clock follows the rule for every message, counted from the arrival.
    assert after.answer_due == date(2026, 11, 23)  # 5 working days after Monday 16th
    assert service.sessions is not None
    with service.sessions() as session:
        kinds = {(i.kind, i.ref) for i in due_items(session)}
    assert ("ack", "KS 2026/1") not in kinds and ("answer", "KS 2026/1") in kinds
    assert corrections(service) == [("reclassify", "complaint", "opinion", "anna@testby.se")]
    assert "ändrade typ från klagomål till synpunkt" in after.events[-1].detail


def test_anything_to_annat_withdraws_and_the_message_stays_watched(
    ws: Workspace, service: Service
) -> None:
    assert (
        cli(ws, "cases", "reclassify", "KS 2026/2", "--kind", "annat", "--by", "anna@testby.se")
        == 0
    )
    withdrawn = case(service, "KS 2026/2")
    assert withdrawn.status is CaseStatus.WITHDRAWN
    assert withdrawn.withdrawn_reason == "inte klagomål eller synpunkt"
    assert service.sessions is not None
    with service.sessions() as session:
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "o1@example.net")
        ).one()
        assert record.disposition is Disposition.NOT_CASE and record.case_id == withdrawn.id
        refs = {i.ref for i in due_items(session)}
        assert f"meddelande {record.id}" in refs and "KS 2026/2" not in refs
        report = annual_report(session, 2026, date(2027, 2, 15))
        listed = {row.number for unit in report.units for row in unit.rows}
    assert "KS 2026/2" not in listed and "KS 2026/1" in listed


# --------------------------------------------------------------------------- withdraw


def test_withdrawn_is_makulerat_its_number_never_reused_and_its_drafts_taken_back(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(ws.drafts("kontakt")) == 2  # both acknowledgements were placed
    assert (
        cli(
            ws,
            "cases",
            "withdraw",
            "KS 2026/1",
            "--reason",
            "Testmeddelande",
            "--by",
            "registrator@testby.se",
        )
        == 0
    )
    gone = case(service, "KS 2026/1")
    assert gone.status is CaseStatus.WITHDRAWN and gone.withdrawn_reason == "Testmeddelande"
    assert service.sessions is not None
    with service.sessions() as session:
        draft = session.scalars(select(Draft).where(Draft.case_id == gone.id)).one()
        assert draft.status in (DraftStatus.REMOVE, DraftStatus.REMOVED)
    # The number stays taken: the next case is KS 2026/3, nothing renumbered.
    ws.deliver(citizen_mail(COMPLAINT + "Igen.", message_id="<c2@example.net>", date=NOW), when=NOW)
    service.run_once()
    assert numbers(service) == {
        "KS 2026/1": "complaint",
        "KS 2026/2": "opinion",
        "KS 2026/3": "complaint",
    }
    # It cannot be corrected further, and says why.
    capsys.readouterr()
    assert cli(ws, "cases", "confirm", "KS 2026/1", "--by", "anna@testby.se") == 2
    assert "makulerat" in capsys.readouterr().err
    # JSON says it.
    assert cli(ws, "cases", "show", "KS 2026/1", "--json", "--by", "anna@testby.se") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "withdrawn" and data["status_sv"] == "makulerat"
    assert data["withdrawn_reason"] == "Testmeddelande"
    assert data["corrected_by"] == "registrator@testby.se" and data["corrected_at"]
    assert data["classifier_label"] == "complaint" and data["classifier_probability"] > 0


# --------------------------------------------------------------------------- register


def test_a_message_that_was_not_made_a_case_is_registered_with_deadlines_from_arrival(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    drafts_before = len(ws.drafts("anna"))
    assert (
        cli(
            ws,
            "cases",
            "register",
            "--message-id",
            "<t1@example.net>",
            "--kind",
            "synpunkt",
            "--by",
            "anna@testby.se",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "KS 2026/3: registrerat som synpunkt" in out
    registered = case(service, "KS 2026/3")
    assert registered.received_at == ARRIVED  # the arrival stamp, not the correction's time
    assert registered.answer_due == date(2026, 11, 23)  # from the arrival, not from today
    assert registered.classifier_label == "other"  # the machine's view stays beside it
    assert registered.corrected_by == "anna@testby.se"
    assert registered.events[0].actor == "anna@testby.se"
    assert len(ws.drafts("anna")) == drafts_before + 1  # the acknowledgement was drafted
    assert service.sessions is not None
    with service.sessions() as session:
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "t1@example.net")
        ).one()
        assert record.disposition is Disposition.CASE and record.case_id == registered.id
    assert corrections(service)[-1] == ("register", "other", "opinion", "anna@testby.se")
    # Registering it again is refused with advice.
    assert (
        cli(
            ws,
            "cases",
            "register",
            "--message-id",
            "t1@example.net",
            "--kind",
            "klagomal",
            "--by",
            "anna@testby.se",
        )
        == 2
    )
    assert "redan ärende KS 2026/3" in capsys.readouterr().err


def test_register_refuses_an_unknown_message_and_a_stranger(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli(
            ws,
            "cases",
            "register",
            "--message-id",
            "<nope@x>",
            "--kind",
            "klagomal",
            "--by",
            "anna@testby.se",
        )
        == 2
    )
    assert "Inget mottaget meddelande" in capsys.readouterr().err
    assert (
        cli(
            ws,
            "cases",
            "register",
            "--message-id",
            "<t1@example.net>",
            "--kind",
            "klagomal",
            "--by",
            "olle@testby.se",
        )
        == 2
    )
    assert "får inte registrera meddelanden i anna@testby.se" in capsys.readouterr().err


# --------------------------------------------------------------------------- assign, merge


def test_assign_gives_the_case_to_another_handler(ws: Workspace, service: Service) -> None:
    assert (
        cli(ws, "cases", "assign", "KS 2026/1", "--to", "olle@testby.se", "--by", "chef@testby.se")
        == 0
    )
    assigned = case(service, "KS 2026/1")
    assert assigned.handler == "olle@testby.se" and assigned.events[-1].kind.value == "assigned"
    assert (
        cli(ws, "cases", "assign", "KS 2026/1", "--to", "okand@testby.se", "--by", "chef@testby.se")
        == 2
    )


def test_merge_withdraws_one_with_a_pointer_and_its_messages_follow(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli(ws, "cases", "merge", "KS 2026/2", "--into", "KS 2026/1", "--by", "anna@testby.se") == 0
    )
    merged, kept = case(service, "KS 2026/2"), case(service, "KS 2026/1")
    assert merged.status is CaseStatus.WITHDRAWN and merged.merged_into_id == kept.id
    assert "sammanfört med KS 2026/1" in (merged.withdrawn_reason or "")
    assert kept.status is CaseStatus.REGISTERED and kept.events[-1].kind.value == "merged"
    assert service.sessions is not None
    with service.sessions() as session:
        record = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "o1@example.net")
        ).one()
        # a later message of the case it joined: "Hör inte till ärendet" can take it out again
        assert record.case_id == kept.id and record.disposition is Disposition.FOLLOWUP
    capsys.readouterr()
    assert cli(ws, "cases", "list", "--json") == 0
    listed = {c["number"]: c for c in json.loads(capsys.readouterr().out)}
    assert listed["KS 2026/2"]["merged_into"] == "KS 2026/1"
    assert (
        cli(ws, "cases", "merge", "KS 2026/1", "--into", "KS 2026/1", "--by", "anna@testby.se") == 2
    )


# --------------------------------------------------------------------------- the queue


def test_the_review_queue_shows_each_person_what_they_may_correct(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert service.sessions is not None
    with service.sessions.begin() as session:
        session.scalars(select(Case).where(Case.reference == "KS 2026/2")).one().needs_review = True
        thanks = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "t1@example.net")
        ).one()
        thanks_id = thanks.id
    assert cli(ws, "cases", "flag", "--record", str(thanks_id), "--by", "anna@testby.se") == 0
    capsys.readouterr()
    assert cli(ws, "cases", "review", "--by", "anna@testby.se", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["number"] or r["id"]) for r in rows] == [
        ("case", "KS 2026/2"),
        ("message", thanks_id),
    ] or {(r["kind"]) for r in rows} == {"case", "message"}
    assert {r["number"] for r in rows if r["kind"] == "case"} == {"KS 2026/2"}
    assert {r["id"] for r in rows if r["kind"] == "message"} == {thanks_id}
    assert all(r["due"] for r in rows)  # the deadline that runs
    # Someone of another unit sees nothing of it.
    assert cli(ws, "cases", "review", "--by", "olle@testby.se") == 0
    assert "Inget att granska." in capsys.readouterr().out
    # Set aside: off the queue, kept as an example that it is neither.
    assert cli(ws, "cases", "dismiss", "--record", str(thanks_id), "--by", "anna@testby.se") == 0
    capsys.readouterr()
    assert cli(ws, "cases", "review", "--by", "anna@testby.se", "--json") == 0
    assert [r["kind"] for r in json.loads(capsys.readouterr().out)] == ["case"]
    assert corrections(service)[-1] == ("confirm", "other", "other", "anna@testby.se")
    with service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2


def test_a_staff_forward_teaches_the_citizens_text_and_a_withdrawal_teaches_nothing(
    ws: Workspace, service: Service
) -> None:
    note = "Hej, jag skickar vidare det här till er som rör er enhet. /Anna"
    citizen = (
        "Hej!\n\nPersonalen från hemtjänsten stannar bara fem minuter hos min mor och hinner "
        "inte hjälpa henne med duschen. Jag är mycket missnöjd.\n\nSven Olofsson\n070-174 06 21"
    )
    forward = (
        f"{note}\n\n---------- Vidarebefordrat meddelande ---------\n"
        "Från: Sven Olofsson <sven.olofsson@example.com>\n"
        "Date: mån 16 nov. 2026 kl 07:00\nSubject: Hemtjänsten\nTo: <anna@testby.se>\n\n"
        f"{citizen}\n"
    )
    ws.deliver(
        citizen_mail(
            forward,
            subject="VB: Hemtjänsten",
            sender="Anna Berg <anna@testby.se>",
            message_id="<fw1@testby.se>",
            date=NOW,
        ),
        when=NOW,
    )
    (outcome,) = service.run_once().outcomes
    assert outcome.disposition is Disposition.CASE, outcome.reason
    assert (
        cli(ws, "cases", "withdraw", "KS 2026/1", "--reason", "Dubblett", "--by", "anna@testby.se")
        == 0
    )
    assert corrections(service) == []  # withdrawn as a duplicate: still a complaint
    assert cli(ws, "cases", "confirm", outcome.case or "", "--by", "anna@testby.se") == 0
    assert service.sessions is not None
    with service.sessions() as session:
        example = session.scalars(select(Correction)).one()
    assert "fem minuter" in example.text and "skickar vidare" not in example.text


def test_a_withdrawn_cases_message_can_be_registered_again(
    ws: Workspace, service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        cli(ws, "cases", "reclassify", "KS 2026/2", "--kind", "annat", "--by", "anna@testby.se")
        == 0
    )
    assert (
        cli(
            ws,
            "cases",
            "register",
            "--message-id",
            "o1@example.net",
            "--kind",
            "synpunkt",
            "--by",
            "anna@testby.se",
        )
        == 0
    )
    assert "KS 2026/3: registrerat som synpunkt" in capsys.readouterr().out
    again, before = case(service, "KS 2026/3"), case(service, "KS 2026/2")
    assert before.status is CaseStatus.WITHDRAWN and again.status is CaseStatus.REGISTERED
    assert again.message_id == before.message_id == "o1@example.net"
    assert again.received_at == ARRIVED
    # The same message read again elsewhere is a duplicate of the case in force.
    ws.deliver(
        b"Received: from mx2 by mx\n"
        + citizen_mail(
            OPINION,
            subject="Förslag om biblioteket",
            sender="Per Holm <per.holm@example.org>",
            message_id="<o1@example.net>",
            date=ARRIVED,
        ),
        "anna",  # a copy of the very message, reaching Anna's mailbox too
        when=NOW,
    )
    (outcome,) = service.run_once().outcomes
    assert outcome.disposition is Disposition.DUPLICATE and outcome.case == "KS 2026/3"


def test_the_review_table_says_how_many_reasons_it_leaves_out() -> None:
    assert reason_cell([]) == ""
    assert reason_cell(["kort skäl"]) == "kort skäl"
    cell = reason_cell(["formuläret säger Klagomål", "osäker (55 %)", "nämner vård"])
    assert cell == "formuläret säger Klagomål (+2)"
    long = reason_cell(["x" * 100, "y"], width=30)
    assert len(long) == 30 and long.endswith("… (+1)")
