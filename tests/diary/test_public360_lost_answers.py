"""A call Public 360 carried out whose answer never came back (a time-out, a connection cut
after the request went, a process stopped in the middle) cannot be told from one that never
arrived.  The next try used to make it again: a second case in the diary, a second document,
a file twice.  Now Postvakt notes which call was on its way and, at the next try, looks for
what it may have made (a case by its ExternalId, a document by the Postvakt-id line of its
notes, a file by its title on the document) before making it."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from postvakt.diary.base import Attachment, Delivered, DiaryDocument, DiaryUnavailable, DocumentKind
from postvakt.diary.delivery import Deliverer
from postvakt.diary.outbox import DiaryOutbox
from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.models import Case
from tests.diary.test_delivery_order import KEY as ORDER_KEY
from tests.diary.test_delivery_order import T0, Clock, _case, _config, _p360, _sessions
from tests.diary.test_public360 import EML, KEY, case_facts, diary, document, incoming
from tests.support.p360_fake import P360Fake


@pytest.fixture
def fake() -> P360Fake:
    return P360Fake(KEY)


def _two_files() -> Any:
    return document(
        DocumentKind.INCOMING,
        case_facts(),
        attachments=(
            Attachment("meddelande.eml", "message/rfc822", EML),
            Attachment("karta.pdf", "application/pdf", b"%PDF-1.4 karta"),
        ),
    )


def test_a_case_made_whose_answer_was_lost_is_found_and_not_made_again(
    fake: P360Fake,
) -> None:
    fake.fail_next("CreateCase", kind="lost")
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    with pytest.raises(DiaryUnavailable, match="svarade inte inom"):
        p360.deliver(incoming(case_facts()), progress)
    assert len(fake.cases) == 1  # made, though Postvakt never heard
    assert progress.get("asking") == "case" and "case_number" not in progress

    delivered = p360.deliver(incoming(case_facts()), progress)

    [case] = fake.cases.values()
    assert delivered.diary_number == case.number
    assert len(fake.calls_of("CreateCase")) == 1
    assert len(fake.calls_of("GetCases")) == 1
    assert case.documents == [delivered.external_id]
    assert "asking" not in progress


def test_a_document_made_whose_answer_was_lost_is_found_and_gets_its_file(
    fake: P360Fake,
) -> None:
    fake.fail_next("CreateDocument", kind="lost")
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    with pytest.raises(DiaryUnavailable):
        p360.deliver(incoming(case_facts()), progress)
    assert progress["asking"] == "document" and len(fake.documents) == 1

    delivered = p360.deliver(incoming(case_facts()), progress)

    assert len(fake.calls_of("CreateDocument")) == 1
    [filed] = fake.documents.values()
    assert delivered.external_id == filed.number
    assert [(f.title, f.data) for f in filed.files] == [("meddelande", EML)]
    assert progress["document_number"] == filed.number


def test_a_file_sent_whose_answer_was_lost_is_not_sent_twice(fake: P360Fake) -> None:
    fake.fail_next("CreateFile", kind="lost")  # the first file arrives, its answer does not
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    with pytest.raises(DiaryUnavailable, match="fil 1 av 2"):
        p360.deliver(_two_files(), progress)
    assert progress["files"] == [] and progress["asking"] == "file"

    delivered = p360.deliver(_two_files(), progress)

    files = fake.documents[delivered.external_id].files
    assert [f.title for f in files] == ["meddelande", "karta"]
    assert progress["files"] == ["meddelande.eml", "karta.pdf"]
    assert len(fake.calls_of("CreateFile")) == 2


def test_a_file_that_never_arrived_is_still_sent(fake: P360Fake) -> None:
    """The look-up must not take a file for sent when it is not there."""
    fake.fail_next("CreateFile", kind="timeout")  # not done: the request never arrived
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    with pytest.raises(DiaryUnavailable):
        p360.deliver(_two_files(), progress)

    delivered = p360.deliver(_two_files(), progress)

    files = fake.documents[delivered.external_id].files
    assert [f.title for f in files] == ["meddelande", "karta"]


def test_a_stopped_process_left_every_step_unnoted_and_none_is_done_twice(
    fake: P360Fake,
) -> None:
    """A process made the case, the document and the first file, then stopped before it
    noted anything: ``postvakt diary retry`` marks the document unsure."""
    fake.fail_next("CreateFile", kind="status", status=502, after=1)
    with pytest.raises(DiaryUnavailable):
        diary(fake).deliver(_two_files(), {})  # what it noted is lost with the process
    progress: dict[str, Any] = {"unsure": True}

    delivered = diary(fake).deliver(_two_files(), progress)

    assert len(fake.cases) == 1 and len(fake.documents) == 1
    assert [f.title for f in fake.documents[delivered.external_id].files] == [
        "meddelande",
        "karta",
    ]
    assert progress == {
        "case_number": delivered.diary_number,
        "document_number": delivered.external_id,
        "files": ["meddelande.eml", "karta.pdf"],
    }


def test_unsure_with_nothing_made_makes_everything_once(fake: P360Fake) -> None:
    delivered = diary(fake).deliver(incoming(case_facts()), {"unsure": True})

    assert len(fake.cases) == 1 and len(fake.documents) == 1
    assert [f.title for f in fake.documents[delivered.external_id].files] == ["meddelande"]


def test_another_cases_document_with_the_same_title_is_not_taken_for_this_one(
    fake: P360Fake,
) -> None:
    """Documents are found by the Postvakt-id line of their notes, not by title alone: an
    earlier acknowledgement of the same case (same title) is not the one whose answer was
    lost."""
    p360 = diary(fake)
    first = document(DocumentKind.ACKNOWLEDGEMENT, case_facts(), title="Bekräftelse")
    done = p360.deliver(first, {})
    facts = case_facts(diary_number=done.diary_number)
    second = document(DocumentKind.ACKNOWLEDGEMENT, facts, title="Bekräftelse", seq=2)

    delivered = p360.deliver(second, {"unsure": True})

    assert delivered.external_id != done.external_id
    assert len(fake.cases[done.diary_number].documents) == 2


def test_a_refused_look_up_makes_the_case_as_before_and_says_so_in_the_log(
    fake: P360Fake, caplog: pytest.LogCaptureFixture
) -> None:
    """A Public 360 without the ExternalId filter refuses the look-up: the delivery goes
    on (the old behaviour: perhaps a duplicate for the registrar), it does not stop."""
    fake.fail_next("GetCases", kind="unsuccessful", message="Unknown filter ExternalId")
    with caplog.at_level(logging.WARNING, logger="postvakt.diary"):
        delivered = diary(fake).deliver(incoming(case_facts()), {"asking": "case"})

    assert delivered.diary_number in fake.cases
    assert "refused the look-up GetCases" in caplog.text


def test_a_look_up_that_gets_no_answer_keeps_the_doubt_for_the_next_try(
    fake: P360Fake,
) -> None:
    fake.fail_next("CreateCase", kind="lost")
    progress: dict[str, Any] = {}
    p360 = diary(fake)
    with pytest.raises(DiaryUnavailable):
        p360.deliver(incoming(case_facts()), progress)
    fake.fail_next("GetCases", kind="timeout")
    with pytest.raises(DiaryUnavailable, match="GetCases"):
        p360.deliver(incoming(case_facts()), progress)
    assert progress["asking"] == "case"

    p360.deliver(incoming(case_facts()), progress)

    assert len(fake.cases) == 1


def test_a_document_a_stopped_process_left_sending_is_retried_without_a_duplicate(
    tmp_path: Path,
) -> None:
    """Through the outbox: the process delivered everything and stopped before it noted
    it; "försök igen" on the uncertain document makes nothing a second time and the case
    gets the number Public 360 gave."""
    sessions, clock, fake = _sessions(tmp_path), Clock(T0), P360Fake(ORDER_KEY)
    outbox = DiaryOutbox(_config("public360"), clock)
    case_id = _case(sessions, outbox)
    real = _p360(fake)

    class Stops:
        name = "public360"

        def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
            real.deliver(document, {})  # done in Public 360, noted nowhere
            raise SystemExit("killed")

    with pytest.raises(SystemExit):
        Deliverer(_config("public360"), sessions, clock=clock, environ={}, backend=Stops()).run()
    clock.at = T0 + timedelta(minutes=20)
    deliverer = Deliverer(_config("public360"), sessions, clock=clock, environ={}, backend=real)
    assert deliverer.retry() == 1

    report = deliverer.run()

    assert len(report.sent) == 1
    assert len(fake.cases) == 1 and len(fake.documents) == 1 and len(fake.files) == 1
    with sessions() as session:
        case = session.get(Case, case_id)
        entry = session.scalars(select(DiaryEntry)).one()
        assert case is not None and case.diary_number == "26/00001"
        assert entry.status is DeliveryStatus.SENT and "unsure" not in entry.progress
