"""Corrections that must keep what a case already has: the deadline a new review promised,
the days a wait added, the acknowledgement waiting in Drafts (rewritten for the new kind),
a merge that can be undone, a message merged into an answered case, the head's choice of
handler over an absence, and a message registered again (SQLite; real Service)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.corrections.messages import AFTER_THE_ANSWER, OTHER_SENDER
from postvakt.errors import InvalidTransitionError
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    Draft,
    DraftStatus,
    EventKind,
    MessageRecord,
)
from postvakt.rules.deadlines import due_items
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail
from tests.test_corrections import ARRIVED, COMPLAINT, NOW, service, ws  # noqa: F401 - fixtures

LATER = datetime(2027, 1, 12, 10, 0, tzinfo=STOCKHOLM)  # a Tuesday, weeks after the answer
RESUMED = datetime(2026, 11, 24, 10, 0, tzinfo=STOCKHOLM)  # the Tuesday after NOW


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # these are about what a correction keeps, not the database
    return f"sqlite:///{tmp_path / 'postvakt.db'}"


def _at(ws: Workspace, moment: datetime) -> Iterator[Service]:  # noqa: F811
    with Service(load_config(ws.config_path), clock=fixed_clock(moment)).open() as opened:
        yield opened


@pytest.fixture
def later(ws: Workspace) -> Iterator[Service]:  # noqa: F811
    yield from _at(ws, LATER)


def _case(service: Service, reference: str) -> Case:  # noqa: F811
    with service.sessions() as session:
        found = session.scalars(select(Case).where(Case.reference == reference)).one()
        _ = found.events
        session.expunge_all()
        return found


def _record(service: Service, message_id: str) -> MessageRecord:  # noqa: F811
    with service.sessions() as session:
        found = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == message_id)
        ).one()
        session.expunge_all()
        return found


def _details(case: Case) -> list[str]:
    return [e.detail for e in case.events]


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        xml = docx.read("word/document.xml").decode("utf-8")
    return re.sub(r"<[^>]+>", "", xml)


# ------------------------------------------------------------------ the deadlines it keeps


@pytest.mark.parametrize(
    ("reference", "kind"), [("KS 2026/1", "synpunkt"), ("KS 2026/2", "klagomal")]
)
def test_a_reopened_case_keeps_the_deadline_its_new_review_promised(
    service: Service,  # noqa: F811
    later: Service,
    reference: str,
    kind: str,
) -> None:
    """Answered, then tried anew weeks later: the 'Ny prövning' letter promised a date.
    A change of kind keeps it (and gives the new review no acknowledgement clock): counted
    from the first arrival it lay weeks in the past, overdue at once."""
    service.casework.answer(reference, actor="anna@testby.se", text="Tack, vi har svarat.")
    later.casework.reopen(reference, actor="anna@testby.se", reason="Inte nöjd")
    reopened = _case(later, reference)
    assert reopened.status is CaseStatus.REOPENED
    promised, ack_due = reopened.answer_due, reopened.ack_due
    assert promised is not None and promised > LATER.date()

    done = later.corrections.reclassify(reference, kind=kind, by="registrator@testby.se")

    after = _case(later, reference)
    assert after.answer_due == promised and after.ack_due == ack_due
    assert f"svarstiden för den nya prövningen står kvar, svar senast {promised}" in done.text
    assert "svarstiden för den nya prövningen står kvar" in after.events[-1].detail


def test_a_waiting_case_keeps_its_paused_deadline(service: Service) -> None:  # noqa: F811
    """Asked for more, the case waits for its citizen: its answer clock stands still and
    resumes with the days that were left.  A change of kind does not move it."""
    service.casework.wait("KS 2026/1", actor="anna@testby.se", note="Vilken del av vägen?")
    paused = _case(service, "KS 2026/1")
    assert paused.status is CaseStatus.WAITING and paused.answer_due is not None

    done = service.corrections.reclassify("KS 2026/1", kind="synpunkt", by="anna@testby.se")

    after = _case(service, "KS 2026/1")
    assert after.answer_due == paused.answer_due
    assert done.text == (
        "KS 2026/1: nu synpunkt; svarstiden är pausad medan ärendet väntar på medborgaren "
        "och ändras inte."
    )


def test_a_resumed_case_keeps_the_days_its_wait_added(ws: Workspace, service: Service) -> None:  # noqa: F811
    """The complaint (answer by Monday 23 November) waited from Wednesday 18 to Tuesday
    24 November and resumed with the three working days that were left: answer by Friday
    27.  Made an opinion (also five working days from Monday 16), it keeps the days the
    wait added: counted from the arrival it would be due yesterday, overdue at once."""
    service.casework.wait("KS 2026/1", actor="anna@testby.se", note="Vilken del av vägen?")
    ws.deliver(
        citizen_mail(
            "Hej! Det gäller delen mellan skolan och torget.\n\nKarin Ek\n",
            subject="SV: Klagomål på snöröjningen",
            message_id="<c1-svar@example.net>",
            headers={"In-Reply-To": "<c1@example.net>", "References": "<c1@example.net>"},
            date=RESUMED,
        ),
        when=RESUMED,
    )
    for resumed in _at(ws, RESUMED):
        resumed.run_once()
        before = _case(resumed, "KS 2026/1")
        assert before.status is CaseStatus.REGISTERED
        assert before.answer_due is not None and str(before.answer_due) == "2026-11-27"

        resumed.corrections.reclassify("KS 2026/1", kind="synpunkt", by="anna@testby.se")

        assert str(_case(resumed, "KS 2026/1").answer_due) == "2026-11-27"


# ------------------------------------------------------------ the acknowledgement in Drafts


@pytest.mark.parametrize(
    ("reference", "kind", "old_words", "new_words", "article"),
    [
        ("KS 2026/1", "synpunkt", "ditt klagomål", "dina synpunkter", "en synpunkt"),
        ("KS 2026/2", "klagomal", "dina synpunkter", "ditt klagomål", "ett klagomål"),
    ],
)
def test_the_acknowledgement_waiting_in_drafts_follows_the_new_kind(
    service: Service,  # noqa: F811
    reference: str,
    kind: str,
    old_words: str,
    new_words: str,
    article: str,
) -> None:
    """Nobody has sent the acknowledgement the intake drafted for the machine's kind: it is
    taken out of Drafts and the one for the person's kind takes its place, to the same
    citizen in the same thread; the case's events say so."""
    case_id = _case(service, reference).id
    with service.sessions() as session:
        (old,) = session.scalars(select(Draft).where(Draft.case_id == case_id)).all()
        assert old.status is DraftStatus.SAVED and old_words in _docx_text(old.attachment)
        old_id, address, thread = old.id, old.to_address, old.in_reply_to

    done = service.corrections.reclassify(reference, kind=kind, by="anna@testby.se")

    with service.sessions() as session:
        drafts = {d.id: d for d in session.scalars(select(Draft).where(Draft.case_id == case_id))}
        assert drafts.pop(old_id).status is DraftStatus.REMOVE  # out of Drafts at the next pass
        (new,) = drafts.values()
        text = _docx_text(new.attachment)
        assert new.status is DraftStatus.PENDING and new.message_id.startswith("postvakt.ack.")
        assert new.to_address == address and new.in_reply_to == thread
    assert new_words in text and old_words not in text
    said = f"Postvakt tar bort den ur Utkast-mappen och lägger dit en ny för {article}."
    assert said in done.text
    last = _case(service, reference).events[-1]
    assert last.kind is EventKind.RECLASSIFIED and said in last.detail


def test_a_sent_acknowledgement_is_not_written_again(service: Service) -> None:  # noqa: F811
    """Once acknowledged, what was sent is sent: nothing is drafted anew."""
    with service.sessions() as session, session.begin():
        found = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        found.status = CaseStatus.ACKNOWLEDGED
        case_id = found.id
    done = service.corrections.reclassify("KS 2026/1", kind="synpunkt", by="anna@testby.se")
    with service.sessions() as session:
        statuses = list(session.scalars(select(Draft.status).where(Draft.case_id == case_id)))
    assert statuses == [DraftStatus.SAVED] and "Utkast" not in done.text


# ------------------------------------------------------------------------------- merging


def test_a_mistaken_merge_is_undone_and_both_cases_say_so(service: Service) -> None:  # noqa: F811
    """KS 2026/2 (Per's opinion) merged by mistake into KS 2026/1 (Karin's complaint): Per's
    message is the target's later message, taken out again with 'Hör inte till ärendet'
    (detach) and registered anew from the review queue; every case names the others."""
    service.corrections.merge("KS 2026/2", into="KS 2026/1", by="anna@testby.se")
    record = _record(service, "o1@example.net")
    target = _case(service, "KS 2026/1")
    assert record.case_id == target.id and record.disposition is Disposition.FOLLOWUP
    assert target.events[-1].kind is EventKind.MERGED
    assert (
        f"KS 2026/2 sammanfördes med det här ärendet av anna@testby.se; dess meddelande nr "
        f"{record.id} hör nu hit" in target.events[-1].detail
    )
    with pytest.raises(InvalidTransitionError, match="hör redan till ärende KS 2026/1"):
        service.corrections.register("o1@example.net", kind="synpunkt", by="anna@testby.se")

    service.corrections.detach(record.id, by="anna@testby.se")
    assert any(
        i.kind == "message" and i.id == record.id
        for i in service.corrections.queue("anna@testby.se")
    )
    done = service.corrections.register("o1@example.net", kind="synpunkt", by="anna@testby.se")

    assert done.case == "KS 2026/3"
    again = _record(service, "o1@example.net")
    assert again.disposition is Disposition.CASE and again.case_id == _case(service, "KS 2026/3").id
    merged, kept, new = (_case(service, r) for r in ("KS 2026/2", "KS 2026/1", "KS 2026/3"))
    assert merged.status is CaseStatus.WITHDRAWN
    assert any(
        d.startswith("Makulerat av anna@testby.se: sammanfört med KS 2026/1.")
        for d in _details(merged)
    )
    assert merged.events[-1].detail == (
        "anna@testby.se registrerade ärendets meddelande på nytt som synpunkt: KS 2026/3."
    )
    assert f"Meddelande nr {record.id} (Förslag om biblioteket) hör inte till ärendet" in (
        kept.events[-1].detail
    )
    assert (
        "Meddelandet var tidigare ärende KS 2026/2, som är makulerat (sammanfört med KS "
        "2026/1); anna@testby.se registrerade det på nytt." in _details(new)
    )


def test_a_message_merged_into_an_answered_case_is_seen_to(
    ws: Workspace,  # noqa: F811
    service: Service,  # noqa: F811
) -> None:
    """Karin's complaint is answered; she writes again in a new mail (a case of its own),
    which a person merges into the answered one.  As 'cases attach' would: the answered
    case goes to the review queue, and her message waits for a reply of its own."""
    service.casework.answer("KS 2026/1", actor="anna@testby.se", text="Vi plogar i dag.")
    ws.deliver(
        citizen_mail(
            COMPLAINT + "\nOch nu är det likadant igen.\n",
            subject="Snöröjningen igen",
            message_id="<c2@example.net>",
            date=RESUMED,
        ),
        when=RESUMED,
    )
    for resumed in _at(ws, RESUMED):
        (outcome,) = resumed.run_once().outcomes
        assert outcome.case == "KS 2026/3"
        done = resumed.corrections.merge("KS 2026/3", into="KS 2026/1", by="anna@testby.se")
        record = _record(resumed, "c2@example.net")
        target = _case(resumed, "KS 2026/1")
        with resumed.sessions() as session:
            watched = {i.ref for i in due_items(session)}
    assert done.text == "KS 2026/3: makulerat och sammanfört med KS 2026/1."
    assert target.status is CaseStatus.ANSWERED
    assert target.needs_review and AFTER_THE_ANSWER in (target.review_reasons or [])
    assert AFTER_THE_ANSWER in target.events[-1].detail
    assert record.disposition is Disposition.FOLLOWUP and record.case_id == target.id
    assert f"meddelande {record.id}" in watched


def test_another_senders_case_merged_in_is_marked_for_review(service: Service) -> None:  # noqa: F811
    """Per's opinion merged into Karin's complaint: her answer does not reach him, so the
    case says a person must see whether he needs one of his own."""
    service.corrections.merge("KS 2026/2", into="KS 2026/1", by="anna@testby.se")
    target = _case(service, "KS 2026/1")
    assert target.needs_review and OTHER_SENDER in (target.review_reasons or [])
    assert OTHER_SENDER in target.events[-1].detail


# ------------------------------------------------------------------------------ assigning


def test_the_head_makes_the_covering_handler_the_handler_for_good(
    service: Service,  # noqa: F811
) -> None:
    """Anna is away; Olle covers her complaint (it goes back to Anna at her return).
    The head decides Olle keeps it: the case no longer goes back, and its events say so."""
    with service.sessions() as session, session.begin():
        found = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
        found.handler, found.regular_handler = "olle@testby.se", "anna@testby.se"

    done = service.corrections.assign("KS 2026/1", to="olle@testby.se", by="chef@testby.se")

    after = _case(service, "KS 2026/1")
    assert after.handler == "olle@testby.se" and after.regular_handler is None
    assert (
        done.text == "KS 2026/1: handläggare olle@testby.se, också när anna@testby.se är tillbaka."
    )
    assert after.events[-1].kind is EventKind.ASSIGNED
    assert after.events[-1].detail == (
        "chef@testby.se bestämde att olle@testby.se är handläggare för gott: ärendet går "
        "inte tillbaka till anna@testby.se (ordinarie handläggare) när hen är tillbaka."
    )


def test_the_handler_is_still_refused_as_already_the_handler(service: Service) -> None:  # noqa: F811
    from postvakt.errors import InvalidInputError

    handler = _case(service, "KS 2026/1").handler
    assert handler
    with pytest.raises(InvalidInputError, match="är redan handläggare"):
        service.corrections.assign("KS 2026/1", to=handler, by="chef@testby.se")


# --------------------------------------------------------------------- registering again


def test_registering_a_withdrawn_cases_message_again_is_logged_on_both(
    service: Service,  # noqa: F811
) -> None:
    """Made 'annat' (withdrawn), then registered again by the head: the second decision
    undoes the first, and each case names the other."""
    service.corrections.reclassify("KS 2026/2", kind="annat", by="anna@testby.se")
    done = service.corrections.register("o1@example.net", kind="synpunkt", by="chef@testby.se")
    assert done.case == "KS 2026/3"
    withdrawn, new = _case(service, "KS 2026/2"), _case(service, "KS 2026/3")
    assert withdrawn.events[-1].detail == (
        "chef@testby.se registrerade ärendets meddelande på nytt som synpunkt: KS 2026/3."
    )
    assert (
        "Meddelandet var tidigare ärende KS 2026/2, som är makulerat (inte klagomål eller "
        "synpunkt); chef@testby.se registrerade det på nytt." in _details(new)
    )
