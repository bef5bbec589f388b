"""The letters a pass keeps from its batches' commits until its drafts are placed
(:mod:`postvakt.intake.fresh_letters`): only committed ones, each handed out once, at most
``MAX_BYTES``; a pass places its drafts with the letters it wrote, read from the database only
when it does not have them."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.intake import Intake
from postvakt.intake import fresh_letters as fresh_module
from postvakt.intake.drafts import deliver_drafts
from postvakt.intake.fresh_letters import FreshLetters, fresh_letters, remembering
from postvakt.registry.db import open_database, session_factory
from postvakt.registry.models import Draft, DraftStatus
from postvakt.service import Service
from tests.support.workspace import citizen_mail, make_workspace
from tests.test_draft_placer import CompanionConnector
from tests.test_intake import COMPLAINT


@pytest.fixture
def session(tmp_path: Path) -> Any:
    sessions = session_factory(open_database(f"sqlite:///{tmp_path / 'p.db'}"))
    with sessions() as s:
        yield s


def _keep(session: Session, *letters: tuple[str, bytes]) -> FreshLetters:
    kept = fresh_letters(session)
    assert kept is not None
    kept.keep(letters)
    return kept


def test_a_letter_is_handed_out_only_after_its_commit_and_only_once(session: Session) -> None:
    with remembering(session):
        with session.begin():
            kept = _keep(session, ("<a>", b"A"), ("<b>", None))  # type: ignore[arg-type]
            assert kept.take("<a>") is None  # its transaction is still open
        assert kept.take("<a>") == b"A"
        assert kept.take("<a>") is None and kept.take("<b>") is None and len(kept) == 0
    assert fresh_letters(session) is None  # kept only while the block runs


def test_a_rollback_drops_the_letters_of_its_transaction(session: Session) -> None:
    with remembering(session):
        with session.begin():
            kept = _keep(session, ("<a>", b"A"))
        with session.begin():
            _keep(session, ("<b>", b"B"))
            session.rollback()
        assert kept.take("<b>") is None and kept.take("<a>") == b"A"


def test_a_savepoint_commits_nothing_and_its_rollback_drops_what_is_pending(
    session: Session,
) -> None:
    with remembering(session), session.begin():
        kept = _keep(session, ("<a>", b"A"))
        with session.begin_nested():
            _keep(session, ("<b>", b"B"))
        assert kept.take("<a>") is None and kept.take("<b>") is None  # released, not committed
        nested = session.begin_nested()
        _keep(session, ("<c>", b"C"))
        nested.rollback()  # which of the pending was the savepoint's is not known: all go
    assert len(kept) == 0 and kept.take("<a>") is None


def test_at_most_max_bytes_are_kept(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fresh_module, "MAX_BYTES", 10)
    with remembering(session):
        with session.begin():
            kept = _keep(session, ("<a>", b"x" * 6), ("<b>", b"y" * 6), ("<c>", b"z" * 4))
        assert kept.take("<b>") is None  # over the limit: read from the database instead
        assert kept.take("<a>") == b"x" * 6
        with session.begin():
            _keep(session, ("<d>", b"w" * 6))  # what was handed out is room again
        assert kept.take("<c>") == b"z" * 4 and kept.take("<d>") == b"w" * 6


def _letter_in(mime: bytes) -> bytes:
    message = email.message_from_bytes(mime, policy=policy.default)
    (part,) = [p for p in message.walk() if p.get_filename()]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def _attachment_reads(engine: Any) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "drafts.attachment" in statement and "drafts.attachment_name" not in statement:
            seen.append(statement)

    return seen


def test_a_pass_places_its_drafts_with_the_letters_it_wrote_and_reads_none_back(
    db_url: str, tmp_path: Path, clock: Clock
) -> None:
    """25 complaints in batches of 10: the placer takes the first batches' drafts, the pass
    the rest; every letter placed is the one stored, and none was read from the database.
    Drafts left pending by an earlier pass have their letters read from it."""
    ws = make_workspace(tmp_path / "ws", db_url)
    connector = CompanionConnector("kontakt@testby.se")
    for n in range(25):
        connector.add(citizen_mail(f"{COMPLAINT}\n{n}", message_id=f"<p{n}@example.net>"))
    with Service(load_config(ws.config_path), clock=clock).open(need_connectors=False) as service:
        assert service.sessions is not None and service.engine is not None
        reads = _attachment_reads(service.engine)
        intake = Intake(service.config, service.sessions, clock=clock, batch_size=10)
        try:
            report = intake.run_mailbox(connector)
            assert len(report.drafts_saved) == 25 and connector.by_companions
            assert reads == []
            with service.sessions() as session:
                drafts = list(session.scalars(select(Draft).order_by(Draft.id)))
            assert {d.status for d in drafts} == {DraftStatus.SAVED}
            for draft in drafts:
                assert draft.attachment and _letter_in(connector.drafts[draft.message_id]) == (
                    draft.attachment
                )
            # The drafts put back to pending (as a server that refused them leaves them): a
            # later placing has not kept their letters and reads them, in one query.
            with service.sessions.begin() as session:
                for draft in session.scalars(select(Draft)):
                    draft.status = DraftStatus.PENDING
            connector.drafts.clear()
            again = deliver_drafts(intake, connector)
        finally:
            intake.close()
    assert len(again.drafts_saved) == 25 and len(reads) == 1
    assert all(_letter_in(connector.drafts[d.message_id]) == d.attachment for d in drafts)


def test_a_letter_kept_twice_counts_once(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fresh_module, "MAX_BYTES", 12)
    with remembering(session):
        with session.begin():
            kept = _keep(session, ("<a>", b"x" * 6), ("<a>", b"x" * 6), ("<c>", b"z" * 4))
        assert kept.take("<c>") == b"z" * 4  # room for it: <a>'s six bytes counted once
        assert kept.take("<a>") == b"x" * 6 and kept.take("<a>") is None
