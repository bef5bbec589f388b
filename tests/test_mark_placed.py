"""Noting drafts placed (intake/drafts.py ``mark_placed``): on both databases, each draft in
the state it is in — pending becomes saved, withdrawn on its way becomes to-be-removed, any
other state is left alone — each with its own location, and only the saved ones reported."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from postvakt.clock import STOCKHOLM
from postvakt.intake.drafts import mark_placed
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import Draft, DraftStatus, Mailbox

WHEN = datetime(2026, 12, 7, 10, 0, tzinfo=STOCKHOLM)
LATER = WHEN + timedelta(minutes=3)

STATES = [
    DraftStatus.PENDING,
    DraftStatus.REMOVED,  # its case withdrawn while the draft was on its way
    DraftStatus.PENDING,
    DraftStatus.SAVED,  # already noted (say by an earlier hand-over): left as it is
    DraftStatus.FAILED,
    DraftStatus.REMOVE,
]


def test_each_draft_is_noted_by_its_state_with_its_own_location(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    with sessions.begin() as session:
        mailbox = Mailbox(address="kontakt@testby.se", kind="function", connector="imap")
        session.add(mailbox)
        session.flush()
        drafts = [
            Draft(
                mailbox_id=mailbox.id,
                message_id=f"<d{n}@postvakt>",
                to_address="karin.ek@example.net",
                subject="Svar",
                body_text="Hej",
                status=status,
                created_at=WHEN,
                saved_at=WHEN if status is DraftStatus.SAVED else None,
                location="Drafts/1" if status is DraftStatus.SAVED else None,
                attempts=1,
                last_error="nätet låg nere" if status is DraftStatus.PENDING else None,
            )
            for n, status in enumerate(STATES)
        ]
        session.add_all(drafts)
        session.flush()
        ids = [d.id for d in drafts]
    placed = {i: (f"KS 2026/{n}", f"Drafts/{10 + n}") for n, i in enumerate(ids)}
    placed[max(ids) + 100] = ("KS 2026/99", "Drafts/99")  # no such draft: nothing happens
    with sessions.begin() as session:
        saved = mark_placed(session, placed, LATER)
    assert saved == [("KS 2026/0", "Drafts/10"), ("KS 2026/2", "Drafts/12")]
    with sessions() as session:
        after = {d.id: d for d in session.scalars(select(Draft))}
        got = [
            (
                after[i].status,
                after[i].location,
                after[i].saved_at,
                after[i].attempts,
                after[i].last_error,
            )
            for i in ids
        ]
    assert got == [
        (DraftStatus.SAVED, "Drafts/10", LATER, 2, None),
        (DraftStatus.REMOVE, "Drafts/11", LATER, 2, None),
        (DraftStatus.SAVED, "Drafts/12", LATER, 2, None),
        (DraftStatus.SAVED, "Drafts/1", WHEN, 1, None),
        (DraftStatus.FAILED, None, None, 1, None),
        (DraftStatus.REMOVE, None, None, 1, None),
    ]


def test_nothing_placed_asks_nothing(db_url: str) -> None:
    sessions = session_factory(open_database(db_url))
    with sessions() as session:
        assert mark_placed(session, {}, LATER) == []
        assert not session.in_transaction()
