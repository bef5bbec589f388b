"""What the intake writes on a new case: a batch's kept rows (registry/batch_rows.py), written
in one INSERT per table once the cases have ids, told to the keeper, and never out of order
with an event made as an object; and the care mark's event, worded by the probability."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from postvakt.clock import STOCKHOLM
from postvakt.registry.batch_rows import batch_rows, keeping
from postvakt.registry.cases import NewCase, add_event, register_case
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import (
    Case,
    CaseEvent,
    CaseKind,
    Disposition,
    Draft,
    DraftStatus,
    EventKind,
    Mailbox,
    MessageRecord,
    Unit,
)
from postvakt.registry.numbering import Numbering

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=STOCKHOLM)


def _register(session: Any, n: int) -> Case:
    return register_case(
        session,
        NewCase(
            kind=CaseKind.COMPLAINT,
            summary=f"Snöröjning {n}",
            heading=f"Synpunkter och klagomål – Snöröjning {n}",
            received_at=WHEN,
            registered_at=WHEN,
            anonymous=False,
            message_id=f"<kept-{n}@test>",
        ),
        numbering=Numbering(prefix="KS", diary_format="{prefix} {year}/{seq}"),
        actor="postvakt",
        detail="Registrerat automatiskt",
        flush=False,
    )


def test_kept_events_are_written_together_in_order_and_told(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    told: list[dict[type, list[tuple[Any, dict[str, Any]]]]] = []
    with sessions.begin() as session:
        with keeping(session, lambda _s, written: told.append(written)) as kept:
            first, second = _register(session, 1), _register(session, 2)
            assert batch_rows(session) is kept and kept  # the registrations are kept
            assert not [o for o in session.new if isinstance(o, CaseEvent)]
            later = WHEN + timedelta(minutes=1)
            add_event(session, first, EventKind.CARE, actor="postvakt", at=later)
            # A kind a flush hook acts on is an object: the case's kept events go first.
            add_event(session, second, EventKind.FORWARDED, actor="anna", at=later)
            assert len(told) == 1 and not kept
            assert {v["kind"] for _c, v in told[0][CaseEvent]} == {
                EventKind.REGISTERED,
                EventKind.CARE,
            }
            session.flush()
        assert batch_rows(session) is None  # kept only inside the block
    with sessions() as session:
        by_case = {
            case.reference: [e.kind for e in sorted(case.events, key=lambda e: e.id)]
            for case in session.scalars(select(Case))
        }
    assert by_case == {
        "KS 2026/1": [EventKind.REGISTERED, EventKind.CARE],
        "KS 2026/2": [EventKind.REGISTERED, EventKind.FORWARDED],
    }


def test_a_pending_case_shows_its_values_and_objects_and_inserts_what_is_set_after(
    db_url: str,
) -> None:
    """A case registered without a flush is built straight into its state: it shows what it
    was given and its mailbox and unit before it has an id, and what the steps set on it
    afterwards goes into its INSERT with the rest."""
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        unit = Unit(name="Gata och park", head="chef@exempel.se")
        mailbox = Mailbox(address="gata@exempel.se", kind="function", connector="imap", unit=unit)
        session.add_all([unit, mailbox])
        session.flush()
        ids = mailbox.id, unit.id
        case = register_case(
            session,
            NewCase(
                kind=CaseKind.OPINION,
                summary="Parkbänkar",
                heading="Synpunkter och klagomål – Parkbänkar",
                received_at=WHEN,
                registered_at=WHEN,
                anonymous=False,
                mailbox_id=mailbox.id,
                unit_id=unit.id,
                message_id="<pending@test>",
                classifier_label="opinion",
                classifier_reasons=("ett förslag",),
                original=b"From: a@b.se\r\n\r\nHej",
            ),
            numbering=Numbering(prefix="KS", diary_format="{prefix} {year}/{seq}"),
            actor="postvakt",
            detail="Registrerat automatiskt",
            flush=False,
        )
        assert case.id is None and case in session.new
        assert case.mailbox is mailbox and case.unit is unit
        assert (case.reference, case.kind, case.registrar_status) == (
            "KS 2026/1",
            CaseKind.OPINION,
            "none",
        )
        case.registrar_status = "pending"  # as notify_registrar does
        case.review_reasons = [*case.review_reasons, "granska"]
    with sessions() as session:
        stored = session.scalars(select(Case)).one()
        assert (stored.mailbox_id, stored.unit_id) == ids
        assert stored.mailbox.address == "gata@exempel.se"
        assert (stored.registrar_status, stored.review_reasons) == ("pending", ["granska"])
        assert (stored.classifier_reasons, stored.classifier_flags) == (["ett förslag"], [])
        assert stored.original == b"From: a@b.se\r\n\r\nHej"
        assert (stored.individual_care, stored.private, stored.channel) == (False, False, "email")
        assert [e.kind for e in stored.events] == [EventKind.REGISTERED]


def test_an_event_of_a_flushed_case_without_kept_rows_is_an_object(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        case = _register(session, 1)
        session.flush()  # registered before the batch began keeping
        existing = session.scalars(select(CaseEvent)).all()
        with keeping(session) as kept:
            add_event(session, case, EventKind.CARE, actor="postvakt", at=WHEN)
            assert not kept and [o for o in session.new if isinstance(o, CaseEvent)]
        assert len(existing) == 1


def test_the_care_mark_says_may_below_even_odds_and_does_above(db_url: str) -> None:
    """Flagged from a quarter (a miss weighs more than a needless routing): the event says
    the case *may* concern someone's own care below 50 %, that it does above."""
    from postvakt.care import flag_from_verdict

    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        unsure, sure = _register(session, 1), _register(session, 2)
        session.flush()
        assert flag_from_verdict(session, unsure, 0.3, WHEN)
        assert flag_from_verdict(session, sure, 0.8, WHEN)
        session.flush()
        details = {
            e.case.reference: e.detail
            for e in session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.CARE))
        }
    assert details["KS 2026/1"].startswith(
        "Postvakts klassificerare bedömer att ärendet kan röra enskilds vård och omsorg "
        "(sannolikhet 0,30; markeras från 0,25"
    )
    assert details["KS 2026/2"].startswith(
        "Postvakts klassificerare bedömer att ärendet rör enskilds vård och omsorg "
        "(sannolikhet 0,80;"
    )
    assert details["KS 2026/1"].endswith("ta bort markeringen.")


def _kept_rows(session: Any, kept: Any) -> int:
    """One case with a record, an event and a draft kept, values of every kind among them
    (an enum, JSON, bytes, a time with its zone, None) and columns left to their defaults;
    the id of their mailbox."""
    box = Mailbox(address="kontakt@testby.se", kind="function", connector="imap")
    session.add(box)
    session.flush()
    case = _register(session, 1)
    kept.add(
        MessageRecord,
        case,
        mailbox_id=box.id,
        folder="INBOX",
        message_key="1:7",
        message_id="<kept-1@test>",
        subject="Snöröjning på Storgatan – igen",
        received_at=WHEN,
        processed_at=WHEN + timedelta(seconds=3),
        disposition=Disposition.CASE,
        label="complaint",
        confidence=0.875,
        reasons=["säger att något blev fel", 'citat "så här"'],
    )
    kept.add_to(
        Draft,
        case,
        mailbox_id=box.id,
        message_id="<draft-1@testby.se>",
        to_address="anna@example.net",
        subject="Sv: Snöröjning",
        references=["<a@x>", "<b@y>"],
        body_text="Hej!\n\tTack för ditt mejl.\\n",
        attachment_name="kvittens.docx",
        attachment=bytes(range(256)) * 4,
        status=DraftStatus.PENDING,
        created_at=WHEN,
    )
    return box.id


def test_kept_rows_read_back_as_given_with_their_defaults(db_url: str) -> None:
    """On PostgreSQL the kept rows go by COPY (registry/copy_rows.py), on SQLite by INSERT:
    read back, each column is what was given, and a column not given has its default."""
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session, keeping(session) as kept:
        box = _kept_rows(session, kept)
        kept.write(session)
    with sessions() as session:
        (record,) = session.scalars(select(MessageRecord)).all()
        (draft,) = session.scalars(select(Draft)).all()
        (event,) = session.scalars(select(CaseEvent)).all()
        case_id = session.scalars(select(Case.id)).one()
        assert (record.case_id, draft.case_id, event.case_id) == (case_id,) * 3
        assert (record.mailbox_id, record.folder, record.message_key) == (box, "INBOX", "1:7")
        assert record.subject == "Snöröjning på Storgatan – igen"
        assert record.received_at == WHEN and record.processed_at == WHEN + timedelta(seconds=3)
        assert record.disposition is Disposition.CASE and record.confidence == 0.875
        assert record.reasons == ["säger att något blev fel", 'citat "så här"']
        assert record.defects == [] and record.private is False  # defaults
        assert record.sender_address is None and record.reply_due is None
        assert draft.references == ["<a@x>", "<b@y>"]
        assert draft.body_text == "Hej!\n\tTack för ditt mejl.\\n"
        assert draft.attachment == bytes(range(256)) * 4
        assert draft.status is DraftStatus.PENDING and draft.attempts == 0
        assert draft.to_name is None and draft.saved_at is None
        assert event.kind is EventKind.REGISTERED and event.detail == "Registrerat automatiskt"
        assert event.at == WHEN and event.document is None


def test_a_kept_row_the_database_refuses_raises_as_an_insert_does(db_url: str) -> None:
    """A draft whose Message-ID is taken: SQLAlchemy's IntegrityError (the batch is then run
    again a message at a time), and nothing of the batch is written."""
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session, keeping(session) as kept:
        _kept_rows(session, kept)
        kept.write(session)
    with pytest.raises(IntegrityError), sessions.begin() as session, keeping(session) as kept:
        box = session.scalars(select(Mailbox.id)).one()
        case = _register(session, 2)
        kept.add_to(
            Draft,
            case,
            mailbox_id=box,
            message_id="<draft-1@testby.se>",
            to_address="b@example.net",
            subject="Sv: x",
            body_text="",
            status=DraftStatus.PENDING,
            created_at=WHEN,
        )
        kept.write(session)
    with sessions() as session:
        assert session.scalars(select(Case.reference)).all() == ["KS 2026/1"]
        assert len(session.scalars(select(Draft)).all()) == 1
