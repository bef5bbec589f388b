"""The intake: one transaction per message, nothing lost, nothing registered twice."""

from __future__ import annotations

import email
import email.policy
import io
import sqlite3
from datetime import datetime
from pathlib import Path

import docx
import pytest
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import load_config
from postvakt.errors import ConnectorError, DatabaseLockedError, UnavailableError
from postvakt.intake import STEPS, Intake, Work
from postvakt.registry.models import (
    Case,
    CaseEvent,
    Disposition,
    Draft,
    DraftStatus,
    FailedMessage,
    MessageRecord,
    SyncState,
)
from postvakt.service import Service
from tests.support.memory_connector import MemoryConnector
from tests.support.workspace import Workspace, citizen_mail, make_workspace

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n070-123 45 67\n"
OPINION = "Hej! Jag har ett förslag: det vore bra om biblioteket hade öppet på söndagar.\n"
QUESTION = "Hej, när har ni öppet på kommunhuset i jul?\n"


class Crash(BaseException):
    """Simulates the process dying: not an Exception, so nothing catches it."""


def open_service(ws: Workspace, clock: Clock) -> Service:
    return Service(load_config(ws.config_path), clock=clock).open()


def counts(service: Service) -> dict[str, int]:
    assert service.sessions is not None
    with service.sessions() as session:
        return {
            "messages": session.scalar(select(func.count()).select_from(MessageRecord)),
            "cases": session.scalar(select(func.count()).select_from(Case)),
            "drafts": session.scalar(select(func.count()).select_from(Draft)),
            "failed": session.scalar(select(func.count()).select_from(FailedMessage)),
        }


def test_each_kind_of_mail_gets_its_disposition(workspace: Workspace, clock: Clock) -> None:
    when = datetime(2026, 11, 20, 8, 0, tzinfo=STOCKHOLM)  # a Friday
    ws = workspace
    ws.deliver(citizen_mail(COMPLAINT, date=when), when=when, name="a-complaint")
    ws.deliver(
        citizen_mail(OPINION, subject="Förslag om biblioteket", date=when),
        when=when,
        name="b-opinion",
    )
    ws.deliver(
        citizen_mail(QUESTION, subject="Öppettider i jul", date=when), when=when, name="c-question"
    )
    ws.deliver(
        citizen_mail(
            "Jag är tjänstledig.",
            subject="Automatiskt svar: Snö",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        when=when,
        name="d-autoreply",
    )
    ws.deliver(
        citizen_mail("Lunch?", sender="Per <per@testby.se>", subject="Lunch"),
        when=when,
        name="e-internal",
    )
    ws.deliver(
        citizen_mail(
            "Ärendetyp: Klagomål\nNamn:\nE-post:\nTelefon:\nMeddelande: Jag vill klaga på hemtjänsten, de kom aldrig.\n",
            sender="noreply@e-tjanst.testby.se",
            subject="Nytt ärende från e-tjänsten",
        ),
        when=when,
        name="f-anonymous",
    )
    with open_service(ws, clock) as service:
        report = service.run_once()
        by_key = {o.key: o for o in report.outcomes}
        assert by_key["a-complaint"].disposition is Disposition.CASE
        assert by_key["b-opinion"].disposition is Disposition.CASE
        assert by_key["c-question"].disposition is Disposition.NOT_CASE
        assert by_key["d-autoreply"].disposition is Disposition.SCREENED
        assert by_key["e-internal"].disposition is Disposition.INTERNAL
        assert by_key["f-anonymous"].disposition is Disposition.CASE
        assert by_key["a-complaint"].case == "KS 2026/1"
        assert by_key["b-opinion"].case == "KS 2026/2"
        assert by_key["f-anonymous"].case == "KS 2026/3-1"

        assert service.sessions is not None
        with service.sessions() as session:
            cases = {c.reference: c for c in session.scalars(select(Case))}
            complaint = cases["KS 2026/1"]
            assert complaint.kind.value == "complaint"
            assert complaint.sender_address == "karin.ek@example.net"
            assert complaint.heading == "Synpunkter och klagomål – Klagomål på snöröjningen"
            # Received Friday 20 Nov: 5 working days (Örebro) -> Friday 27 Nov.
            assert complaint.reply_due.isoformat() == "2026-11-27"
            assert complaint.answer_due.isoformat() == "2026-11-27"
            assert complaint.received_at == when  # the arrival stamp: the Maildir delivery time
            assert complaint.contact == "070-123 45 67"
            assert complaint.original == (ws.maildir() / "new" / "a-complaint").read_bytes()
            assert [e.kind.value for e in complaint.events] == ["registered", "drafted"]
            anonymous = cases["KS 2026/3-1"]
            assert anonymous.anonymous and anonymous.sender_address is None
            assert anonymous.reply_due is None and anonymous.answer_due is None
            assert anonymous.heading.startswith(
                "Synpunkter och klagomål – Jag vill klaga på hemtjänsten"
            )
            not_case = session.scalars(
                select(MessageRecord).where(MessageRecord.message_key == "c-question")
            ).one()
            assert (
                not_case.reply_due.isoformat() == "2026-11-27"
            )  # every citizen message gets a deadline
            screened = session.scalars(
                select(MessageRecord).where(MessageRecord.message_key == "d-autoreply")
            ).one()
            assert screened.reply_due is None
            assert screened.reasons and "Auto-Submitted" in screened.reasons[0]
    # Drafts: the two cases with an address got one each; the anonymous one none.
    drafts = ws.drafts()
    assert len(drafts) == 2
    first = email.message_from_bytes(drafts[0].read_bytes(), policy=email.policy.default)
    recipients = sorted(
        email.message_from_bytes(d.read_bytes(), policy=email.policy.default)["To"] for d in drafts
    )
    assert recipients == ["Karin Ek <karin.ek@example.net>"] * 2
    assert first["From"].endswith("<kontakt@testby.se>")
    assert first["Subject"].startswith("SV: ")


def test_the_acknowledgment_letter_names_the_case_and_the_answer_date(
    workspace: Workspace, clock: Clock
) -> None:
    when = datetime(2026, 12, 22, 14, 0, tzinfo=STOCKHOLM)  # Tuesday before Christmas
    workspace.deliver(citizen_mail(COMPLAINT, date=when), when=when)
    with open_service(workspace, clock) as service:
        service.run_once()
    (draft,) = workspace.drafts()
    msg = email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == "Mottagningsbekräftelse KS 2026-1.docx"
    document = docx.Document(io.BytesIO(attachment.get_content()))
    text = "\n".join(p.text for p in document.paragraphs)
    header = "\n".join(c.text for c in document.tables[0].rows[0].cells)
    assert "Diarienummer: KS 2026/1" in header and "Testby kommun" in header
    assert "Vi har tagit emot ditt klagomål" in text
    # Örebro: the acknowledgement says when the answer comes (it is itself the answer within
    # five working days): 22 Dec + 10 working days, skipping julafton, juldagen, annandagen,
    # nyårsafton, nyårsdagen and trettondedag jul -> 12 Jan (tests/rules/test_ack_counts.py).
    assert "senast den 12 januari 2027" in text
    assert "Karin Ek" in text and "Anna Berg" in text
    assert "KS 2026/1" in msg.get_body(("plain",)).get_content()


def test_a_second_pass_registers_nothing_twice(workspace: Workspace, clock: Clock) -> None:
    for i in range(3):
        workspace.deliver(citizen_mail(COMPLAINT + str(i)))
    before = workspace.files()
    with open_service(workspace, clock) as service:
        first = service.run_once()
        second = service.run_once()
        assert len(first.outcomes) == 3 and second.outcomes == []
        assert counts(service) == {"messages": 3, "cases": 3, "drafts": 3, "failed": 0}
    with open_service(workspace, clock) as service:  # a restart changes nothing either
        assert service.run_once().outcomes == []
        assert counts(service)["cases"] == 3
    assert workspace.files() == before, "the person's mailbox must look exactly as before"
    assert len(workspace.drafts()) == 3


def test_the_same_mail_in_two_mailboxes_is_one_case(workspace: Workspace, clock: Clock) -> None:
    raw = citizen_mail(COMPLAINT, to="kontakt@testby.se", headers={"Cc": "anna@testby.se"})
    workspace.deliver(raw, "kontakt")
    workspace.deliver(raw, "anna")
    with open_service(workspace, clock) as service:
        report = service.run_once()
        dispositions = sorted(o.disposition.value for o in report.outcomes)
        assert dispositions == ["case", "duplicate"]
        assert {o.case for o in report.outcomes} == {"KS 2026/1"}
        assert counts(service)["cases"] == 1
        assert len(workspace.drafts("kontakt")) + len(workspace.drafts("anna")) == 1


def test_broken_mime_is_registered_with_its_defects(workspace: Workspace, clock: Clock) -> None:
    raw = (
        b"From: Erik <erik@example.net>\r\nTo: kontakt@testby.se\r\nSubject: =?iso-8859-1?q?Potth=E5l?=\r\n"
        b"Message-ID: <broken@example.net>\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"Jag vill klaga p\xe5 potth\xe5let, det \xe4r oacceptabelt.\r\n"
    )  # no closing boundary, no Date
    workspace.deliver(raw)
    with open_service(workspace, clock) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.CASE
        assert service.sessions is not None
        with service.sessions() as session:
            record = session.scalars(select(MessageRecord)).one()
            assert any("CloseBoundaryNotFound" in d for d in record.defects)
            assert session.scalars(select(Case)).one().heading.endswith("Potthål")


# --------------------------------------------------------------------------- crashes and failures


def _steps_with(position: int, step) -> tuple:
    return (*STEPS[:position], ("injected", step), *STEPS[position:])


@pytest.mark.parametrize("position", range(1, len(STEPS) + 1), ids=[f"after-{n}" for n, _ in STEPS])
def test_a_crash_between_steps_loses_nothing_and_doubles_nothing(
    position: int, tmp_path: Path, clock: Clock
) -> None:
    ws = make_workspace(tmp_path / "ws")
    connector = MemoryConnector("kontakt@testby.se")
    connector.add(citizen_mail(COMPLAINT, message_id="<first@example.net>"))
    connector.add(citizen_mail(COMPLAINT, message_id="<second@example.net>"))
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None

        def crash(intake: Intake, work: Work) -> None:
            if work.msg.message_id == "second@example.net":
                raise Crash

        crashing = Intake(
            service.config,
            service.sessions,
            clock=clock,
            steps=_steps_with(position, crash),
            batch_size=1,  # one transaction per message (a batch: tests/test_intake_batch.py)
        )
        with pytest.raises(Crash):
            crashing.run_mailbox(connector)
        with service.sessions() as session:
            # The first message was committed with its state; the second left no trace.
            state = session.scalars(select(SyncState)).one().state
            assert state == {"last_uid": 1}
            keys = session.scalars(select(MessageRecord.message_key)).all()
            assert keys == ["1:1"]
            assert session.scalar(select(func.count()).select_from(Case)) == 1

        healthy = Intake(service.config, service.sessions, clock=clock)
        report = healthy.run_mailbox(connector)
        assert [o.key for o in report.outcomes] == ["1:2"]
        assert (
            report.outcomes[0].case == "KS 2026/2"
        )  # the crashed registration gave its number back
        with service.sessions() as session:
            # (the folder's: the pass's end is noted under a folder of its own, registry/passes)
            inbox = select(SyncState).where(SyncState.folder == "INBOX")
            assert session.scalars(inbox).one().state == {"last_uid": 2}
            assert sorted(session.scalars(select(Case.reference))) == ["KS 2026/1", "KS 2026/2"]
        assert len(connector.drafts) == 2


def test_a_crash_after_commit_but_before_the_draft_is_saved(
    workspace: Workspace, clock: Clock
) -> None:
    connector = MemoryConnector("kontakt@testby.se")
    connector.add(citizen_mail(COMPLAINT))

    def die(_draft: object) -> None:
        raise Crash

    connector.fail_drafts = die
    with open_service(workspace, clock) as service:
        assert service.intake is not None and service.sessions is not None
        with pytest.raises(Crash):
            service.intake.run_mailbox(connector)
        with service.sessions() as session:
            assert session.scalars(select(Draft)).one().status is DraftStatus.PENDING
        connector.fail_drafts = None
        report = service.intake.run_mailbox(connector)
        assert report.outcomes == []  # the message is not read again
        assert [ref for ref, _ in report.drafts_saved] == ["KS 2026/1"]
        assert len(connector.drafts) == 1
        with service.sessions() as session:
            draft = session.scalars(select(Draft)).one()
            # The crash rolled back its own attempt: only the successful one is counted.
            assert draft.status is DraftStatus.SAVED and draft.attempts == 1


def test_a_mail_server_that_refuses_the_draft_is_retried_next_pass(
    workspace: Workspace, clock: Clock
) -> None:
    connector = MemoryConnector("kontakt@testby.se")
    connector.add(citizen_mail(COMPLAINT))

    def refuse(_draft: object) -> None:
        raise UnavailableError("connection reset", mailbox="kontakt@testby.se")

    connector.fail_drafts = refuse
    with open_service(workspace, clock) as service:
        assert service.intake is not None and service.sessions is not None
        report = service.intake.run_mailbox(connector)
        assert report.outcomes[0].disposition is Disposition.CASE
        assert report.errors and "kunde inte sparas" in report.errors[0]
        with service.sessions() as session:
            draft = session.scalars(select(Draft)).one()
            assert draft.status is DraftStatus.PENDING and "connection reset" in draft.last_error
        connector.fail_drafts = None
        report = service.intake.run_mailbox(connector)
        assert len(report.drafts_saved) == 1 and report.errors == []


def test_a_failing_message_goes_to_the_failed_store_and_retry_replays_it(
    workspace: Workspace, clock: Clock
) -> None:
    bad = citizen_mail(COMPLAINT, subject="Klagomål BOOM", message_id="<boom@example.net>")
    workspace.deliver(citizen_mail(COMPLAINT, message_id="<before@example.net>"), name="1-before")
    workspace.deliver(bad, name="2-bad")
    workspace.deliver(citizen_mail(OPINION, message_id="<after@example.net>"), name="3-after")
    config = load_config(workspace.config_path)

    def explode(intake: Intake, work: Work) -> None:
        if "BOOM" in work.msg.subject:
            raise ValueError("a bug in a step")

    with Service(config, clock=clock).open() as service:
        assert service.sessions is not None
        service.intake = Intake(
            config, service.sessions, clock=clock, steps=_steps_with(3, explode)
        )
        report = service.run_once()
        by_key = {o.key: o.disposition for o in report.outcomes}
        assert by_key == {
            "1-before": Disposition.CASE,
            "2-bad": Disposition.FAILED,
            "3-after": Disposition.CASE,
        }
        with service.sessions() as session:
            failed = session.scalars(select(FailedMessage)).one()
            assert failed.raw == bad  # the exact bytes are kept
            assert "ValueError: a bug in a step" in failed.traceback
            assert failed.resolved_at is None
            record = session.scalars(
                select(MessageRecord).where(MessageRecord.message_key == "2-bad")
            ).one()
            assert record.disposition is Disposition.FAILED
        assert service.run_once().outcomes == []  # not picked up again by itself

        # The bug is fixed: retry replays the stored bytes.
        service.intake = Intake(config, service.sessions, clock=clock)
        retried = service.intake.retry_failed()
        assert [(o.key, o.disposition) for o in retried.outcomes] == [("2-bad", Disposition.CASE)]
        assert retried.outcomes[0].case == "KS 2026/3"
        with service.sessions() as session:
            assert session.scalars(select(FailedMessage)).one().resolved_at is not None
            records = session.scalars(
                select(MessageRecord).where(MessageRecord.message_key == "2-bad")
            ).all()
            assert [r.disposition for r in records] == [Disposition.CASE]
        assert service.intake.retry_failed().outcomes == []  # nothing left to retry


def test_a_failure_that_repeats_counts_its_attempts(workspace: Workspace, clock: Clock) -> None:
    workspace.deliver(citizen_mail(COMPLAINT, subject="BOOM"))
    config = load_config(workspace.config_path)

    def explode(intake: Intake, work: Work) -> None:
        raise RuntimeError("still broken")

    with Service(config, clock=clock).open() as service:
        assert service.sessions is not None
        service.intake = Intake(
            config, service.sessions, clock=clock, steps=_steps_with(1, explode)
        )
        service.run_once()
        again = service.intake.retry_failed()
        assert again.outcomes[0].disposition is Disposition.FAILED
        with service.sessions() as session:
            assert session.scalars(select(FailedMessage)).one().attempts == 2


def test_a_concurrent_registration_of_the_same_mail_becomes_a_duplicate(
    tmp_path: Path, postgres_url: str, clock: Clock
) -> None:
    """Another process registers the same Message-ID between our check and our insert.

    Only PostgreSQL lets two writers interleave like this; SQLite's BEGIN IMMEDIATE makes
    the second writer wait for the whole first transaction instead.
    """
    workspace = make_workspace(tmp_path / "ws", postgres_url)
    raw = citizen_mail(COMPLAINT, message_id="<race@example.net>")
    other = MemoryConnector("anna@testby.se")
    other.add(raw)
    ours = MemoryConnector("kontakt@testby.se")
    ours.add(raw)
    config = load_config(workspace.config_path)
    with Service(config, clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        sessions = service.sessions
        raced = []

        def other_process_wins(intake: Intake, work: Work) -> None:
            if not raced:
                raced.append(True)
                Intake(config, sessions, clock=clock).run_mailbox(other)

        racing = Intake(config, sessions, clock=clock, steps=_steps_with(2, other_process_wins))
        (outcome,) = racing.run_mailbox(ours).outcomes
        assert outcome.disposition is Disposition.DUPLICATE and outcome.case == "KS 2026/1"
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 1
            assert session.scalar(select(func.count()).select_from(FailedMessage)) == 0


def test_a_locked_database_stops_the_pass_with_advice_and_loses_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    ws = make_workspace(tmp_path / "ws")
    text = ws.config_path.read_text().replace(
        "[database]\n", "[database]\nbusy_timeout_seconds = 0.2\n"
    )
    ws.config_path.write_text(text)
    ws.deliver(citizen_mail(COMPLAINT))
    with open_service(ws, clock) as service:
        blocker = sqlite3.connect(ws.root / "postvakt.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(DatabaseLockedError, match="låst"):
            service.run_once()
        blocker.execute("ROLLBACK")
        blocker.close()
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition is Disposition.CASE
        assert counts(service) == {"messages": 1, "cases": 1, "drafts": 1, "failed": 0}


def test_a_mailbox_whose_server_fails_does_not_stop_the_others(
    workspace: Workspace, clock: Clock
) -> None:
    workspace.deliver(citizen_mail(COMPLAINT), "anna")
    with open_service(workspace, clock) as service:

        class Down(MemoryConnector):
            def fetch_new(self, *args: object, **kwargs: object):
                raise UnavailableError("server went away", mailbox=self.address)

        service.connectors["kontakt@testby.se"] = Down("kontakt@testby.se")
        report = service.run_once()
        assert [o.mailbox for o in report.outcomes] == ["anna@testby.se"]
        assert report.errors == ["kontakt@testby.se: server went away"]
        assert isinstance(ConnectorError("x"), Exception)


def test_events_are_written_with_who_and_when(
    workspace: Workspace, clock: Clock, now: datetime
) -> None:
    workspace.deliver(citizen_mail(COMPLAINT))
    with open_service(workspace, clock) as service:
        service.run_once()
        assert service.sessions is not None
        with service.sessions() as session:
            events = session.scalars(select(CaseEvent).order_by(CaseEvent.id)).all()
            assert [(e.kind.value, e.actor, e.at) for e in events] == [
                ("registered", "postvakt", now),
                ("drafted", "postvakt", now),
            ]
            assert events[1].document == "Mottagningsbekräftelse KS 2026-1.docx"


def test_a_web_form_gateway_marked_auto_generated_is_still_a_citizen(
    workspace: Workspace, clock: Clock
) -> None:
    """E-services often send ``Auto-Submitted: auto-generated``; the config names them."""
    form = (
        "Ärendetyp: Klagomål\nNamn: Karin Ek\nE-post: karin.ek@example.net\nTelefon: 0701234567\n"
        "Meddelande: Jag vill klaga på att ingen har plogat vår gata.\n"
    )
    workspace.deliver(
        citizen_mail(
            form,
            sender="noreply@e-tjanst.testby.se",
            subject="Nytt ärende",
            headers={"Auto-Submitted": "auto-generated"},
        ),
        name="form",
    )
    workspace.deliver(
        citizen_mail(
            "Ditt ärende har tagits emot.",
            sender="noreply@annan-tjanst.example",
            subject="Kvitto",
            headers={"Auto-Submitted": "auto-generated"},
        ),
        name="receipt",
    )
    with open_service(workspace, clock) as service:
        by_key = {o.key: o for o in service.run_once().outcomes}
        assert by_key["form"].disposition is Disposition.CASE
        assert by_key["receipt"].disposition is Disposition.SCREENED
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert (case.sender_address, case.sender_name, case.contact) == (
                "karin.ek@example.net",
                "Karin Ek",
                "0701234567",
            )
            assert (
                case.heading
                == "Synpunkter och klagomål – Jag vill klaga på att ingen har plogat vår gata."
            )
    (draft,) = workspace.drafts()
    assert email.message_from_bytes(draft.read_bytes(), policy=email.policy.default)["To"] == (
        "Karin Ek <karin.ek@example.net>"
    )


# --------------------------------------------------------------------------- replies in Sent


def _sent(ws: Workspace, raw: bytes, who: str = "kontakt", name: str | None = None) -> None:
    from postvakt.mailbox.maildir import deliver

    deliver(ws.maildir(who) / ".Sent", raw, name=name)


def test_replies_in_sent_mark_messages_answered_and_move_the_case(
    workspace: Workspace, clock: Clock
) -> None:
    received = datetime(2026, 11, 20, 8, 0, tzinfo=STOCKHOLM)
    workspace.deliver(
        citizen_mail(COMPLAINT, message_id="<c1@example.net>", date=received), when=received
    )
    workspace.deliver(
        citizen_mail(
            QUESTION,
            subject="Öppettider i jul",
            message_id="<q1@example.net>",
            sender="Olle <olle@example.net>",
            date=received,
        ),
        when=received,
    )
    with open_service(workspace, clock) as service:
        service.run_once()
        # Anna sends the acknowledgment draft, answers the question by subject only (no
        # threading headers), and her out-of-office answers the complaint automatically.
        (draft,) = workspace.drafts()
        ack = email.message_from_bytes(draft.read_bytes())
        ack.replace_header("Date", "Mon, 23 Nov 2026 09:30:00 +0100")
        _sent(workspace, ack.as_bytes(), name="ack")
        _sent(
            workspace,
            citizen_mail(
                "Vi har öppet 9-15.",
                subject="SV: Öppettider i jul",
                sender="Anna <anna@testby.se>",
                to="olle@example.net",
                date=datetime(2026, 11, 23, 9, 40, tzinfo=STOCKHOLM),
            ),
            name="answer",
        )
        _sent(
            workspace,
            citizen_mail(
                "Jag är ledig.",
                subject="Automatiskt svar: Klagomål",
                sender="anna@testby.se",
                to="karin.ek@example.net",
                headers={"Auto-Submitted": "auto-replied", "In-Reply-To": "<c1@example.net>"},
            ),
            name="ooo",
        )
        report = service.run_once()
        assert sorted((o.key, o.disposition.value) for o in report.outcomes) == [
            ("ack", "sent"),
            ("answer", "sent"),
            ("ooo", "sent"),
        ]
        assert service.sessions is not None
        with service.sessions() as session:
            records = {r.message_id: r for r in session.scalars(select(MessageRecord))}
            complaint, question = records["c1@example.net"], records["q1@example.net"]
            assert (
                complaint.answered_by == "kontakt@testby.se"
            )  # the draft is sent from the mailbox
            assert complaint.answered_at == datetime(2026, 11, 23, 9, 30, tzinfo=STOCKHOLM)
            assert question.answered_by == "anna@testby.se"
            case = session.scalars(select(Case)).one()
            assert case.status.value == "acknowledged"
            assert [e.kind.value for e in case.events] == ["registered", "drafted", "acknowledged"]

        # A real answer to the case later moves it to 'answered'.
        _sent(
            workspace,
            citizen_mail(
                "Vi plogar i morgon.",
                subject="SV: Klagomål på snöröjningen",
                sender="anna@testby.se",
                to="karin.ek@example.net",
                headers={"In-Reply-To": "<c1@example.net>"},
            ),
            name="real",
        )
        service.run_once()
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            assert case.status.value == "answered"
            assert [e.kind.value for e in case.events][-1] == "answered"
            record = session.scalars(
                select(MessageRecord).where(MessageRecord.message_id == "c1@example.net")
            ).one()
            # The reply clock stopped at the first answer, the acknowledgment.
            assert record.answered_at == datetime(2026, 11, 23, 9, 30, tzinfo=STOCKHOLM)
