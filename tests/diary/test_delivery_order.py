"""The diary outbox's runs (diary/delivery.py), holes a review found: a case made twice in
Public 360 (its next document sent while its first was still on its way or waiting to be
tried again), documents never tried left "sending" for good, a file name that stopped the
outbox, a retry that sent again what a slow run was still delivering, and a daily digest that
took at most 50 documents a day."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM
from postvakt.config.connectors import SmtpConfig
from postvakt.config.registry import Public360Config
from postvakt.diary.base import Attachment, Delivered, DiaryDocument, DocumentKind
from postvakt.diary.delivery import BATCH, Deliverer
from postvakt.diary.outbox import DiaryOutbox, sent_documents
from postvakt.diary.public360 import Public360Diary
from postvakt.diary.registrar import RegistrarDiary
from postvakt.errors import DatabaseLockedError
from postvakt.registry.cases import NewCase, register_case
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.models import Case, CaseKind
from postvakt.registry.numbering import Numbering
from postvakt.rules.notify import Mailer
from tests.support.p360_fake import P360Fake
from tests.support.smtp import SmtpServer

KEY = "k-123"
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=STOCKHOLM)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _config(system: str, notice: str = "each") -> Any:
    return SimpleNamespace(
        registry=SimpleNamespace(
            system=system,
            numbering="diary",
            retry_max_minutes=360,
            collective_number=None,
            public360=Public360Config(base_url="https://p360.testby.se/Biz/v2/api/call"),
            folder="diarium",
            reply_to=None,
        ),
        organisation=SimpleNamespace(registrar="registrator@testby.se", registrar_notice=notice),
        web=SimpleNamespace(base_url=None),
    )


def _sessions(
    tmp_path: Path, busy_timeout: float | None = None, url: str | None = None
) -> sessionmaker[Session]:
    url = url or f"sqlite:///{tmp_path / 'postvakt.db'}"
    engine = (
        open_database(url)
        if busy_timeout is None
        else open_database(url, busy_timeout=busy_timeout)
    )
    return session_factory(engine)


def _case(sessions: sessionmaker[Session], outbox: DiaryOutbox) -> int:
    with sessions() as session, session.begin():
        case = register_case(
            session,
            NewCase(
                kind=CaseKind.COMPLAINT,
                summary="Snöröjning",
                heading="Snöröjning på Björkvägen",
                received_at=T0 - timedelta(hours=2),
                registered_at=T0 - timedelta(hours=1),
                anonymous=False,
                sender_name="Karin Ek",
                sender_address="karin.ek@example.net",
                original=b"From: karin.ek@example.net\r\nSubject: Sn\xc3\xb6\r\n\r\nhej\r\n",
            ),
            numbering=Numbering(mode="diary"),
            actor="postvakt",
            detail="Registrerat automatiskt",
        )
        outbox.incoming(session, case, T0)
        return case.id


def _acknowledgement(
    sessions: sessionmaker[Session], outbox: DiaryOutbox, case_id: int, at: datetime
) -> None:
    with sessions() as session, session.begin():
        outbox.queue(
            session,
            session.get(Case, case_id),  # type: ignore[arg-type]
            DocumentKind.ACKNOWLEDGEMENT,
            key=f"case-{case_id}/acknowledgement/1",
            at=at,
            text="Bekräftelse",
            attachments=[Attachment("Bekräftelse.docx", "application/octet-stream", b"PK")],
        )


def _p360(fake: P360Fake) -> Public360Diary:
    return Public360Diary(
        _config("public360").registry.public360,
        {"POSTVAKT_P360_AUTHKEY": KEY},
        collective_number=None,
        transport=fake.transport,
    )


def _statuses(sessions: sessionmaker[Session]) -> dict[str, DeliveryStatus]:
    with sessions() as session:
        return {
            e.key: e.status for e in session.scalars(select(DiaryEntry).order_by(DiaryEntry.id))
        }


def test_a_cases_next_document_waits_for_its_first_that_failed_after_the_case_was_made(
    tmp_path: Path, db_url: str
) -> None:
    """CreateCase went through, CreateDocument failed: the incoming document waits to be
    tried again with the case's number in its progress.  The acknowledgement, due in the
    same run, made the case a second time (the case had no number yet), and the incoming
    document then went into that one, leaving the first empty in the diary."""
    sessions, clock, fake = _sessions(tmp_path, url=db_url), Clock(T0), P360Fake(KEY)
    outbox = DiaryOutbox(_config("public360"), clock)
    case_id = _case(sessions, outbox)
    _acknowledgement(sessions, outbox, case_id, T0 + timedelta(minutes=1))
    fake.fail_next("CreateDocument", 1, status=500)
    deliverer = Deliverer(
        _config("public360"), sessions, clock=clock, environ={}, backend=_p360(fake)
    )
    first = deliverer.run()
    assert len(first.retrying) == 1 and not first.sent  # the acknowledgement waited
    clock.at = T0 + timedelta(minutes=5)
    second = deliverer.run()
    assert len(second.sent) == 2
    assert len(fake.calls_of("CreateCase")) == 1 and list(fake.cases) == ["26/00001"]
    numbers = [(c.parameter or {}).get("CaseNumber") for c in fake.calls_of("CreateDocument")]
    assert len(numbers) == 3 and numbers[1:] == ["26/00001", "26/00001"]  # after the failed one
    incoming, acknowledgement = (d for d in fake.cases["26/00001"].documents)
    assert (incoming, acknowledgement) == ("26/00001-1", "26/00001-2")  # in their order
    with sessions() as session:
        assert session.get(Case, case_id).diary_number == "26/00001"  # type: ignore[union-attr]


def test_a_second_process_leaves_a_cases_next_document_while_the_first_is_on_its_way(
    tmp_path: Path, db_url: str
) -> None:
    """Two deliverers (the service and the registrar's page, or two machines): one is
    delivering the incoming document when the acknowledgement is queued and the other
    runs.  It made the case again: the case has no number until the first is noted."""
    sessions, clock, fake = _sessions(tmp_path, url=db_url), Clock(T0), P360Fake(KEY)
    outbox = DiaryOutbox(_config("public360"), clock)
    case_id = _case(sessions, outbox)
    other = Deliverer(_config("public360"), sessions, clock=clock, environ={}, backend=_p360(fake))
    real = _p360(fake)
    seen: list[list[str]] = []

    class Meanwhile:
        name = "public360"

        def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
            out = real.deliver(document, progress)
            if not seen:
                _acknowledgement(sessions, outbox, case_id, T0 + timedelta(minutes=1))
                seen.append(other.run().sent)
            return out

    first = Deliverer(_config("public360"), sessions, clock=clock, environ={}, backend=Meanwhile())
    assert len(first.run().sent) == 2  # its own, then the acknowledgement (now due)
    assert seen == [[]] and len(fake.calls_of("CreateCase")) == 1
    assert set(_statuses(sessions).values()) == {DeliveryStatus.SENT}


class _LockingBackend:
    """Delivers; while the first document goes, another writer (an intake batch) takes
    SQLite's write lock for longer than the busy timeout."""

    name = "folder"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.delivered: list[str] = []
        self.blocker: sqlite3.Connection | None = None

    def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
        self.delivered.append(document.key)
        if self.blocker is None:
            self.blocker = sqlite3.connect(self.path, isolation_level=None)
            self.blocker.execute("BEGIN IMMEDIATE")
        return Delivered(external_id=document.key)


def test_documents_not_yet_tried_when_a_run_stops_are_not_left_sending(tmp_path: Path) -> None:
    """The note of the first document failed (the database locked): the run stops.  The
    others, claimed with it, stayed "sending" (read as "may have reached the diary") for
    good, though they never left.  Now each is claimed as its turn comes: they stay
    pending and the next run sends them; only the one under way is uncertain."""
    sessions, clock = _sessions(tmp_path, busy_timeout=0.3), Clock(T0)
    outbox = DiaryOutbox(_config("folder"), clock)
    for _ in range(3):
        _case(sessions, outbox)
    backend = _LockingBackend(tmp_path / "postvakt.db")
    deliverer = Deliverer(_config("folder"), sessions, clock=clock, environ={}, backend=backend)
    try:
        deliverer.run()
    except DatabaseLockedError:
        pass  # the service logs it and goes on
    else:
        raise AssertionError("the locked database was not told")
    assert backend.blocker is not None
    backend.blocker.execute("ROLLBACK")
    backend.blocker.close()
    clock.at = T0 + timedelta(minutes=5)
    deliverer.run()
    statuses = _statuses(sessions)
    assert backend.delivered == ["case-1/incoming", "case-2/incoming", "case-3/incoming"]
    assert statuses == {
        "case-1/incoming": DeliveryStatus.SENDING,  # it went; its note did not: uncertain
        "case-2/incoming": DeliveryStatus.SENT,
        "case-3/incoming": DeliveryStatus.SENT,
    }


def test_a_retry_while_a_slow_run_delivers_sends_nothing_twice(tmp_path: Path, db_url: str) -> None:
    """Public 360 answers slowly: ten minutes a document.  Twenty minutes in, the registrar
    presses "försök igen".  The documents of the run's batch all counted as claimed when
    the batch was, so the third looked left behind by a stopped process: the retry sent it
    and the slow run sent it again.  Now each is claimed when its turn comes."""
    sessions, clock, fake = _sessions(tmp_path, url=db_url), Clock(T0), P360Fake(KEY)
    outbox = DiaryOutbox(_config("public360"), clock)
    for _ in range(3):
        _case(sessions, outbox)
    page = Deliverer(_config("public360"), sessions, clock=clock, environ={}, backend=_p360(fake))
    real = _p360(fake)
    retried: list[int] = []

    class Slow:
        name = "public360"

        def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
            out = real.deliver(document, progress)
            clock.at += timedelta(minutes=10)
            if clock.at == T0 + timedelta(minutes=20):
                retried.append(page.retry())
                page.run()
            return out

    Deliverer(_config("public360"), sessions, clock=clock, environ={}, backend=Slow()).run()
    assert retried == [1]  # the third, pending: due now
    assert len(fake.calls_of("CreateCase")) == 3 and len(fake.cases) == 3
    assert set(_statuses(sessions).values()) == {DeliveryStatus.SENT}


def test_a_file_name_with_a_line_break_does_not_stop_the_registrars_mail(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """An answer's .docx whose name (RFC 2231) holds CR/LF: building the registrar's mail
    raised ValueError, which nothing caught, run after run: that document and every one
    behind it stayed "sending".  The name goes as one line."""
    sessions, clock = _sessions(tmp_path), Clock(T0)
    config = _config("registrar")
    outbox = DiaryOutbox(config, clock)
    case_id = _case(sessions, outbox)
    raw = (
        b"From: anna@testby.se\r\nTo: karin.ek@example.net\r\nSubject: SV: Sn\xc3\xb6\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
        b"--zz\r\nContent-Type: text/plain\r\n\r\nSe bilagan.\r\n--zz\r\n"
        b"Content-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''Svar%0D%0Ax.docx\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nUEsDBA==\r\n--zz--\r\n"
    )
    with sessions() as session, session.begin():
        outbox.letter_sent(
            session,
            session.get(Case, case_id),  # type: ignore[arg-type]
            kind=DocumentKind.ANSWER,
            at=T0,
            identity="<sent-1@testby.se>",
            by="anna@testby.se",
            attachments=sent_documents(raw, "SV: Snö"),
        )
    _case(sessions, outbox)
    smtp = SmtpConfig(
        host=smtp_server.host,
        port=smtp_server.port,
        security="none",
        from_address="postvakt@testby.se",
    )
    backend = RegistrarDiary(Mailer(smtp, {}), "registrator@testby.se")
    report = Deliverer(config, sessions, clock=clock, environ={}, backend=backend).run()
    assert len(report.sent) == 3 and not report.retrying and not report.failed
    assert set(_statuses(sessions).values()) == {DeliveryStatus.SENT}
    names = [
        part.get_filename()
        for received in smtp_server.to("registrator@testby.se")
        for part in received.message.iter_attachments()
    ]
    assert "Svar x.docx" in names


class _Digest:
    name = "registrar"

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def deliver_digest(self, documents: list[DiaryDocument], day: Any) -> Delivered:
        self.sizes.append(len(documents))
        return Delivered(external_id="<digest@testby.se>")


def test_the_daily_digest_takes_every_document_of_the_day(tmp_path: Path) -> None:
    """registrar_notice = "daily": only the day's run sends, and it took at most BATCH (50)
    documents; a busier day left the rest for the next, and the backlog grew for ever."""
    sessions, clock = _sessions(tmp_path), Clock(T0)
    config = _config("registrar", notice="daily")
    outbox = DiaryOutbox(config, clock)
    for _ in range(BATCH + 10):
        _case(sessions, outbox)
    backend = _Digest()
    deliverer = Deliverer(config, sessions, clock=clock, environ={}, backend=backend)
    deliverer.run()  # a regular run: nothing (the digest is the day's)
    assert backend.sizes == []
    deliverer.run(daily=True)
    with sessions() as session:
        left = session.scalar(select(func.count()).where(DiaryEntry.status != DeliveryStatus.SENT))
    assert backend.sizes == [BATCH, 10] and left == 0


def test_a_cases_next_document_goes_in_the_case_its_refused_first_made(
    tmp_path: Path, db_url: str
) -> None:
    """CreateCase went through, then Public 360 refused the document (Successful: false): it
    is marked failed, for a person.  The case's next document no longer waits for it, and
    made the case a second time; it goes in the case the first one made, and the case gets
    that number."""
    sessions, clock, fake = _sessions(tmp_path, url=db_url), Clock(T0), P360Fake(KEY)
    outbox = DiaryOutbox(_config("public360"), clock)
    case_id = _case(sessions, outbox)
    _acknowledgement(sessions, outbox, case_id, T0 + timedelta(minutes=1))
    fake.fail_next("CreateDocument", 1, kind="unsuccessful", message="Unknown Category: 110")
    deliverer = Deliverer(
        _config("public360"), sessions, clock=clock, environ={}, backend=_p360(fake)
    )
    report = deliverer.run()
    assert len(report.failed) == 1 and len(report.sent) == 1
    assert len(fake.calls_of("CreateCase")) == 1 and list(fake.cases) == ["26/00001"]
    assert fake.cases["26/00001"].documents == ["26/00001-1"]  # the acknowledgement
    statuses = _statuses(sessions)
    assert sorted(statuses.values()) == sorted([DeliveryStatus.FAILED, DeliveryStatus.SENT])
    with sessions() as session:
        assert session.get(Case, case_id).diary_number == "26/00001"  # type: ignore[union-attr]


def test_a_number_the_registrar_enters_while_the_case_is_made_is_kept(
    tmp_path: Path, postgres_url: str
) -> None:
    """The registrar enters the diary number by hand while Public 360 is making the case
    (committed after the deliverer read the case): the hand-entered number stays; the
    deliverer read the case without a lock and wrote Public 360's over it."""
    import threading

    sessions, clock, fake = _sessions(tmp_path, url=postgres_url), Clock(T0), P360Fake(KEY)
    outbox = DiaryOutbox(_config("public360"), clock)
    case_id = _case(sessions, outbox)
    deliverer = Deliverer(
        _config("public360"), sessions, clock=clock, environ={}, backend=_p360(fake)
    )
    hand = sessions()
    hand.begin()
    hand.execute(
        update(Case).where(Case.id == case_id).values(diary_number="KS 2026/99"),
    )  # entered, not yet saved
    done: list[Any] = []
    runner = threading.Thread(target=lambda: done.append(deliverer.run()))
    runner.start()
    runner.join(1.5)  # the deliverer has made the case in Public 360 and waits on the row
    hand.commit()
    hand.close()
    runner.join(30)
    assert done and len(done[0].sent) == 1
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.diary_number == "KS 2026/99"
