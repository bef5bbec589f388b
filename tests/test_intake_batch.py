"""Group commit (:mod:`postvakt.intake.batch`): a batch of messages per transaction, a
savepoint per message; a crash loses the batch and nothing else; a conflict runs it again one
message at a time; the letters it drafts are the same as rendered fresh."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from postvakt.classifier import Verdict
from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.intake import STEPS, Intake, Work, load_classifier
from postvakt.mailbox.message import IncomingMessage
from postvakt.registry.models import (
    Case,
    DiarySequence,
    Disposition,
    Draft,
    EventKind,
    FailedMessage,
    Mailbox,
    MessageRecord,
    SyncState,
)
from postvakt.service import Service
from tests.support.memory_connector import MemoryConnector
from tests.support.workspace import citizen_mail, make_workspace
from tests.test_care import CARE_COMPLAINT, CareDetected
from tests.test_intake import COMPLAINT, OPINION, QUESTION, Crash, _steps_with, counts


@pytest.mark.parametrize(
    "position", [1, 2, 10, len(STEPS)], ids=lambda n: f"after-{STEPS[n - 1][0]}"
)
def test_a_crash_mid_batch_loses_the_batch_and_the_next_pass_reads_it_again(
    position: int, db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Group commit: the process dies at the 4th of 6 messages of a batch.  Its transaction
    is lost whole (the sync state stays before the batch), and the next pass reads all six
    again: each ends as one record, every case once, numbered without gaps."""
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = MemoryConnector("kontakt@testby.se")
    for n in range(6):
        connector.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<b{n}@example.net>"))
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None

        def crash(intake: Intake, work: Work) -> None:
            if work.msg.message_id == "b3@example.net":
                raise Crash

        crashing = Intake(
            service.config,
            service.sessions,
            clock=clock,
            steps=_steps_with(position, crash),
            batch_size=10,
        )
        with pytest.raises(Crash):
            crashing.run_mailbox(connector)
        with service.sessions() as session:
            assert session.scalars(select(SyncState).where(SyncState.folder == "INBOX")).all() == []
            assert session.scalar(select(func.count()).select_from(MessageRecord)) == 0
            assert session.scalar(select(func.count()).select_from(Case)) == 0

        healthy = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        report = healthy.run_mailbox(connector)
        assert [o.key for o in report.outcomes] == [f"1:{n}" for n in range(1, 7)]
        assert [o.disposition for o in report.outcomes] == [Disposition.CASE] * 6
        with service.sessions() as session:
            inbox = select(SyncState).where(SyncState.folder == "INBOX")
            assert session.scalars(inbox).one().state == {"last_uid": 6}
            keys = session.scalars(select(MessageRecord.message_key)).all()
            assert sorted(keys) == [f"1:{n}" for n in range(1, 7)]
            references = sorted(session.scalars(select(Case.reference)))
            assert references == sorted(f"KS 2026/{n}" for n in range(1, 7))
        assert len(connector.drafts) == 6


THIRD_FAILED = [Disposition.CASE] * 2 + [Disposition.FAILED] + [Disposition.CASE] * 2
"""Five messages of which the third fails alone."""


def test_a_failing_message_in_a_batch_rolls_back_alone(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """Group commit: one message of a batch whose step raises is kept in the failed store;
    the others of the batch commit, and the sync state moves past all of them."""
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = MemoryConnector("kontakt@testby.se")
    for n in range(5):
        subject = "Klagomål BOOM" if n == 2 else f"Klagomål {n}"
        connector.add(citizen_mail(COMPLAINT, subject=subject, message_id=f"<f{n}@example.net>"))

    def explode(intake: Intake, work: Work) -> None:
        if "BOOM" in work.msg.subject:
            work.session.flush()  # what it wrote before it raised is rolled back too
            raise ValueError("a bug in a step")

    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(
            service.config,
            service.sessions,
            clock=clock,
            steps=_steps_with(12, explode),  # after register: the case is rolled back too
            batch_size=50,
        )
        report = intake.run_mailbox(connector)
        assert [o.disposition for o in report.outcomes] == THIRD_FAILED
        with service.sessions() as session:
            failed = session.scalars(select(FailedMessage)).one()
            assert failed.message_key == "1:3" and "ValueError" in failed.traceback
            records = dict(
                session.execute(select(MessageRecord.message_key, MessageRecord.disposition)).all()
            )
            assert records == {
                "1:1": Disposition.CASE,
                "1:2": Disposition.CASE,
                "1:3": Disposition.FAILED,
                "1:4": Disposition.CASE,
                "1:5": Disposition.CASE,
            }
            assert sorted(session.scalars(select(Case.message_id))) == [
                f"f{n}@example.net" for n in (0, 1, 3, 4)
            ]
            # The number the failed message took was given back: no gap, none twice.
            numbers = session.execute(select(Case.message_id, Case.reference)).all()
            assert sorted(numbers) == [
                (f"f{n}@example.net", f"KS 2026/{i}") for i, n in enumerate((0, 1, 3, 4), 1)
            ]
            assert session.scalars(select(DiarySequence.last_seq)).one() == 4
            inbox = select(SyncState).where(SyncState.folder == "INBOX")
            assert session.scalars(inbox).one().state == {"last_uid": 5}
        assert len(connector.drafts) == 4
        assert intake.run_mailbox(connector).outcomes == []  # nothing read twice


def test_a_batch_knows_copies_of_its_own_messages_and_of_earlier_ones(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    """The batch looks up its Message-IDs at once; a copy later in the same batch, and one of
    a message of an earlier pass, are still duplicates of what those became."""
    ws = make_workspace(tmp_path / "ws")
    first = citizen_mail(COMPLAINT, message_id="<copy-a@example.net>")
    second = citizen_mail(OPINION, message_id="<copy-b@example.net>")
    question = citizen_mail(QUESTION, message_id="<copy-q@example.net>")
    connector = MemoryConnector("kontakt@testby.se")
    for raw in (first, question, second, first, question):
        connector.add(raw)
    caplog.set_level("INFO", logger="postvakt.intake")
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        report = intake.run_mailbox(connector)
        assert [(o.disposition, o.case) for o in report.outcomes] == [
            (Disposition.CASE, "KS 2026/1"),
            (Disposition.NOT_CASE, None),
            (Disposition.CASE, "KS 2026/2"),
            (Disposition.DUPLICATE, "KS 2026/1"),
            (Disposition.DUPLICATE, None),
        ]
        assert "one message at a time" not in caplog.text  # found in the batch, no conflict
        connector.add(second)  # read again at another place (a copy, a move)
        connector.add(citizen_mail(QUESTION, message_id="<copy-c@example.net>"))
        report = intake.run_mailbox(connector)
        assert [(o.disposition, o.case) for o in report.outcomes] == [
            (Disposition.DUPLICATE, "KS 2026/2"),
            (Disposition.NOT_CASE, None),
        ]
        assert counts(service)["cases"] == 2
    assert len(connector.drafts) == 2


def test_a_diary_document_the_database_refuses_fails_its_message_alone(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """The new cases' diary documents are added by the first flush's hook and written by a
    second: a refusal there (a trigger's error; on PostgreSQL not a conflict) fails that
    message alone, as a refused case row does, instead of stopping every pass."""
    from sqlalchemy import text

    ws = make_workspace(tmp_path / "ws", db_url)
    connector = MemoryConnector("kontakt@testby.se")
    for n in range(5):
        subject = "Klagomål BOOM" if n == 2 else f"Klagomål {n}"
        connector.add(citizen_mail(COMPLAINT, subject=subject, message_id=f"<d{n}@example.net>"))
    refused = "(SELECT subject FROM cases WHERE id = NEW.case_id) LIKE '%BOOM%'"
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None and service.engine is not None
        with service.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF "
                        f"{refused} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; "
                        "END $$ LANGUAGE plpgsql"
                    )
                )
                connection.execute(
                    text(
                        "CREATE TRIGGER refuse BEFORE INSERT ON diary_documents "
                        "FOR EACH ROW EXECUTE FUNCTION refuse()"
                    )
                )
            else:
                connection.execute(
                    text(
                        f"CREATE TRIGGER refuse BEFORE INSERT ON diary_documents WHEN {refused} "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                    )
                )
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=50)
        report = intake.run_mailbox(connector)
        assert [o.disposition for o in report.outcomes] == THIRD_FAILED
        with service.sessions() as session:
            assert session.scalars(select(FailedMessage.message_key)).all() == ["1:3"]
            numbers = sorted(session.scalars(select(Case.reference)))
            assert numbers == [f"KS 2026/{i}" for i in range(1, 5)]  # no gap, none twice
        assert intake.run_mailbox(connector).outcomes == []  # the pass went on past it


def test_a_reply_joins_its_case_in_the_same_batch_and_in_a_later_one(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """The batch looks up the thread ids of all its messages at once; a reply to a message
    earlier in the same batch, one to a case of an earlier pass, and one to the case's own
    draft still join their cases, and a reply to a message nobody knows is judged alone."""
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = MemoryConnector("kontakt@testby.se")
    connector.add(citizen_mail(COMPLAINT, message_id="<t-old@example.net>"))
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=50)
        assert [o.case for o in intake.run_mailbox(connector).outcomes] == ["KS 2026/1"]
        with service.sessions() as session:
            old_draft = session.scalars(select(Draft.message_id)).one()
        reply = "Jag vill tillägga att det fortfarande inte är plogat."
        connector.add(citizen_mail(OPINION, message_id="<t-new@example.net>"))
        replies = (  # to the message just before; to the earlier pass's case; to its draft
            ("t-r1", "SV: Klagomål", {"In-Reply-To": "<t-new@example.net>"}),
            ("t-r2", "SV: Klagomål", {"References": "<unknown@example.net> <t-old@example.net>"}),
            ("t-r3", "SV: Ditt ärende", {"In-Reply-To": f"<{old_draft}>"}),
        )
        for name, subject, headers in replies:
            connector.add(
                citizen_mail(
                    reply, subject=subject, message_id=f"<{name}@example.net>", headers=headers
                )
            )
        connector.add(
            citizen_mail(
                COMPLAINT,
                message_id="<t-lone@example.net>",
                headers={"In-Reply-To": "<nobody@example.net>"},
            )
        )
        report = intake.run_mailbox(connector)
        assert [(o.disposition, o.case) for o in report.outcomes] == [
            (Disposition.CASE, "KS 2026/2"),
            (Disposition.FOLLOWUP, "KS 2026/2"),
            (Disposition.FOLLOWUP, "KS 2026/1"),
            (Disposition.FOLLOWUP, "KS 2026/1"),
            (Disposition.CASE, "KS 2026/3"),
        ]


def test_a_batch_that_meets_another_process_runs_again_one_by_one(
    tmp_path: Path, postgres_url: str, clock: Clock
) -> None:
    """Another process registers the first message of our batch between our check and our
    insert: the batch's transaction is lost on the unique key, and the batch is run again
    one message at a time — the raced one a duplicate, the others cases, nothing failed."""
    workspace = make_workspace(tmp_path / "ws", postgres_url)
    raced = citizen_mail(COMPLAINT, message_id="<race@example.net>")
    other = MemoryConnector("anna@testby.se")
    other.add(raced)
    ours = MemoryConnector("kontakt@testby.se")
    ours.add(raced)
    for n in range(3):
        ours.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<r{n}@example.net>"))
    config = load_config(workspace.config_path)
    with Service(config, clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        sessions = service.sessions
        done: list[bool] = []

        def other_process_wins(intake: Intake, work: Work) -> None:
            if not done:
                done.append(True)
                Intake(config, sessions, clock=clock).run_mailbox(other)

        racing = Intake(
            config, sessions, clock=clock, steps=_steps_with(3, other_process_wins), batch_size=10
        )
        report = racing.run_mailbox(ours)
        assert [o.disposition for o in report.outcomes] == [
            Disposition.DUPLICATE,
            Disposition.CASE,
            Disposition.CASE,
            Disposition.CASE,
        ]
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 4
            assert session.scalar(select(func.count()).select_from(FailedMessage)) == 0
            inbox = (
                select(SyncState.state)
                .join(Mailbox, Mailbox.id == SyncState.mailbox_id)
                .where(SyncState.folder == "INBOX", Mailbox.address == "kontakt@testby.se")
            )
            assert session.scalars(inbox).one() == {"last_uid": 4}


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_a_letter_from_the_prepared_template_is_the_letter_rendered_fresh(
    tmp_path: Path, clock: Clock
) -> None:
    """The intake renders each template once per process and fills it for every letter: the
    acknowledgment drafted for the last message of a batch is, part for part and byte for
    byte, the letter a renderer made fresh for the same case gives."""
    from postvakt.templates import LetterRenderer
    from postvakt.templates.casework import CaseLetters

    ws = make_workspace(tmp_path / "ws")
    connector = MemoryConnector("kontakt@testby.se")
    for n in range(4):
        connector.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<l{n}@example.net>"))
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None and service.intake is not None
        intake = service.intake
        assert intake.batch_size > 1
        report = intake.run_mailbox(connector)
        assert [o.disposition for o in report.outcomes] == [Disposition.CASE] * 4
        with service.sessions() as session:
            case = session.scalars(select(Case).where(Case.reference == "KS 2026/4")).one()
            draft = session.scalars(select(Draft).where(Draft.case_id == case.id)).one()
            received = case.received_at.astimezone(intake.tz).date()
            promised = intake.policy.promised_date(case.kind.value, received, intake.calendar)
            values = {  # as the intake's acknowledgment_draft gives them
                **intake.letters.citizen(case),
                "recipient_name": "Karin Ek",
                "answer_due": promised or case.answer_due or case.reply_due,
                "summary": case.summary,
            }
            cached = intake.letters.render("acknowledgment", case, clock(), **values)
            fresh = CaseLetters(service.config, LetterRenderer(service.config.templates_folder))
            again = fresh.render("acknowledgment", case, clock(), **values)
    assert cached.text == again.text and cached.filename == again.filename
    assert _parts(cached.data) == _parts(again.data)
    assert _parts(draft.attachment) == _parts(again.data)  # what the batch drafted
    assert "KS 2026/4" in _parts(again.data)["word/document.xml"].decode()


def test_a_run_killed_mid_batch_loses_nothing_and_doubles_nothing(
    db_url: str, tmp_path: Path
) -> None:
    """kill -9 of a real ``postvakt run --once`` while it works a batch: what it committed are
    whole batches (the records a multiple of the batch size), and the next run reads the
    lost batch again — every message exactly one record, every case one draft, none failed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from tests.test_two_processes import messages_for

    workspace = make_workspace(tmp_path / "ws", db_url)
    with workspace.config_path.open("a", encoding="utf-8") as config:
        config.write("\n[service]\nbatch_size = 10\n")
    delivered = messages_for(0, 120, [])
    for n, raw in enumerate(delivered):
        workspace.deliver(raw, name=f"k{n:03d}")
    env = {k: v for k, v in os.environ.items() if k != "POSTVAKT_CONFIG"}
    command = [sys.executable, "-m", "postvakt", "--config", str(workspace.config_path)]
    proc = subprocess.Popen(
        [*command, "run", "--once"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = create_engine(db_url)
    try:
        deadline = time.monotonic() + 120
        recorded = 0
        while recorded < 10:  # the first batch committed, the next ones not yet
            assert proc.poll() is None, "the pass ended before it could be killed"
            assert time.monotonic() < deadline, "no batch committed within 120 s"
            time.sleep(0.02)
            try:
                with engine.connect() as conn:
                    recorded = conn.scalar(select(func.count()).select_from(MessageRecord))
            except DBAPIError:  # the tables are not there yet
                continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with engine.connect() as conn:
            before = conn.scalar(select(func.count()).select_from(MessageRecord))
            cases_before = conn.scalar(select(func.count()).select_from(Case))
        assert before % 10 == 0 and 10 <= before < len(delivered), before
        assert cases_before <= before

        result = subprocess.run(
            [*command, "run", "--once"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        with engine.connect() as conn:
            keys = conn.scalars(select(MessageRecord.message_key)).all()
            failed = conn.scalar(select(func.count()).select_from(FailedMessage))
            cases = conn.scalar(select(func.count()).select_from(Case))
            case_records = conn.scalar(
                select(func.count())
                .select_from(MessageRecord)
                .where(MessageRecord.disposition == Disposition.CASE)
            )
            drafts = conn.scalar(select(func.count()).select_from(Draft))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        engine.dispose()
    assert sorted(keys) == [f"k{n:03d}" for n in range(len(delivered))]  # once each
    assert failed == 0
    assert cases == case_records == drafts > 0
    assert len(workspace.drafts("kontakt")) == cases


class CareOfTheElderly(CareDetected):
    """The care detector for the care complaint's words only: some cases are care, some not."""

    def classify(self, msg: IncomingMessage) -> Verdict:
        verdict = super().classify(msg)
        if "hemtjänst" in msg.body_text:
            return verdict
        return replace(verdict, individual_care=False, care_probability=0.0)


def _statements_of_a_pass(
    service: Service, intake: Intake, connector: MemoryConnector
) -> list[str]:
    """The SQL statements (one per round trip) a pass sends to the database."""
    assert service.sessions is not None
    engine = service.sessions.kw["bind"]
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        report = intake.run_mailbox(connector)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert not report.errors
    return sent


def test_a_batch_sends_its_statements_per_batch_not_per_message(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """A batch of 60 messages — complaints, opinions, care complaints, questions — sends no
    more statements than one of 6: its cases go in one INSERT however alike their columns
    (a care case sets more of them), nothing is flushed early (a case updated after its
    INSERT), and no lookup is made per message."""
    ws = make_workspace(tmp_path / "ws", db_url)
    bodies = (COMPLAINT, OPINION, CARE_COMPLAINT, QUESTION, COMPLAINT, OPINION)
    sent = {}
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=100)
        intake.reload_classifier(lambda: CareOfTheElderly(load_classifier(service.config)))
        connector = MemoryConnector("kontakt@testby.se")
        for size in (6, 60):
            for n in range(size):
                body = f"{bodies[n % len(bodies)]}\n{size}-{n}"
                connector.add(citizen_mail(body, message_id=f"<s{size}-{n}@example.net>"))
            sent[size] = _statements_of_a_pass(service, intake, connector)
        with service.sessions() as session:
            cases = session.scalars(select(Case)).all()
            assert len(cases) == 55  # 5 of every 6 are cases
            # Every record and draft written (on PostgreSQL as COPY: registry/copy_rows.py).
            assert len(session.scalars(select(MessageRecord)).all()) == 66
            assert len(session.scalars(select(Draft)).all()) == 55
            assert {case.individual_care for case in cases} == {True, False}
            # ids in the order the cases were registered (on PostgreSQL drawn at once)
            by_id = [case.seq for case in sorted(cases, key=lambda case: case.id)]
            assert by_id == sorted(by_id)
            for case in cases:  # each case's events in the order they happened
                kinds = [e.kind for e in sorted(case.events, key=lambda e: e.id)]
                assert kinds[0] is EventKind.REGISTERED and kinds[-1] is EventKind.DRAFTED, kinds
                assert (EventKind.CARE in kinds) == case.individual_care, kinds
    assert not [s for s in sent[60] if s.startswith("UPDATE cases ")]  # inserted whole

    def lookups(statements: list[str]) -> list[str]:
        return [s[:100] for s in statements if not s.startswith("INSERT ")]

    assert len(lookups(sent[60])) <= len(lookups(sent[6])), "\n".join(lookups(sent[60]))
    inserts = [s for s in sent[60] if s.startswith("INSERT INTO cases ")]
    # Each table's rows in one INSERT of one row, sent for all rows: their ids were given
    # before (PostgreSQL: drawn from the sequence; SQLite: counted on from the highest), so
    # there is no RETURNING to parse and sort back.
    assert len(inserts) == 1, [s[:100] for s in inserts]
    assert "RETURNING" not in inserts[0] and inserts[0].startswith("INSERT INTO cases (id,")
    assert inserts[0].count("VALUES (") == 1 and "), (" not in inserts[0], inserts[0][-200:]
    # The records and the new cases' events and drafts in one statement each too, without ORM
    # objects once the cases have ids.
    for table in ("messages", "case_events", "drafts"):
        rows = [s for s in sent[60] if s.startswith(f"INSERT INTO {table} ")]
        assert len(rows) == 1 and "RETURNING" not in rows[0], [s[:100] for s in rows]
    assert len(sent[60]) <= len(sent[6]), "\n".join(s[:100] for s in sent[60])
    if db_url.startswith("postgresql"):
        # The whole pass — its lease, the batch, its drafts placed — in at most 31: the
        # mailbox with its owners and unit in one query, the batch's Message-IDs in one, the
        # ids of a flush's new rows in one (two flushes: the rows, then their diary documents).
        assert len(sent[60]) <= 31, "\n".join(s[:100] for s in sent[60])
