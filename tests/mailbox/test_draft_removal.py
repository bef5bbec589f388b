"""Withdrawing a case takes Postvakt's own unsent drafts out of Drafts, and nothing else.

On a real Dovecot (UIDs, flags, a message the person has marked deleted but not expunged,
a server without UIDPLUS), on a Maildir (a draft a mail client has renamed), and in the
outbox on SQLite and PostgreSQL (REMOVE -> REMOVED, a server error, a draft withdrawn while
it is being placed).  The same rule over every connector is in ``test_contract.py``.
"""

from __future__ import annotations

import email
import email.policy
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from postvakt.clock import STOCKHOLM, Clock, fixed_clock
from postvakt.config import load_config
from postvakt.errors import ProtocolError, UnavailableError
from postvakt.intake.drafts import NOT_IN_DRAFTS, mark_placed
from postvakt.mailbox.base import DraftReply, own_draft_id
from postvakt.mailbox.maildir import MaildirConnector, deliver
from postvakt.registry.models import Case, CaseStatus, Draft, DraftStatus
from postvakt.service import Service
from tests.mailbox.test_imap import connector as imap_connector
from tests.support.dovecot import MASTER_ENV, DovecotServer, write_config
from tests.support.workspace import Workspace, citizen_mail, make_workspace

ARRIVED = datetime(2026, 11, 23, 8, 0, tzinfo=STOCKHOLM)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på {street}. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
REGISTRAR = "registrator@testby.se"


def complaint(street: str, n: int) -> bytes:
    return citizen_mail(
        COMPLAINT.format(street=street),
        subject=f"Klagomål på snöröjningen, {street}",
        message_id=f"<klagomal-{n}-{uuid.uuid4().hex[:8]}@example.net>",
        date=ARRIVED,
    )


def persons_draft(subject: str, message_id: str) -> bytes:
    """A draft the person wrote in their own mail program (no Postvakt marker)."""
    return citizen_mail(
        "Hej! Jag återkommer.\n",
        subject=subject,
        sender="Kontaktcenter <kontakt@testby.se>",
        to="karin.ek@example.net",
        message_id=f"<{message_id}>",
        date=ARRIVED,
    )


def drafts_of(service: Service) -> dict[str, list[Draft]]:
    """Case reference -> its drafts, detached."""
    assert service.sessions is not None
    with service.sessions() as session:
        out: dict[str, list[Draft]] = {}
        for draft, reference in session.execute(
            select(Draft, Case.reference).join(Case, Draft.case_id == Case.id).order_by(Draft.id)
        ):
            out.setdefault(reference, []).append(draft)
        session.expunge_all()
        return out


# --------------------------------------------------------------------------- Dovecot


def folder_view(server: DovecotServer, user: str) -> dict[str, dict[int, tuple[Any, ...]]]:
    """Every folder as the person's own login sees it: UID -> (Message-ID, subject, flags).

    Read with EXAMINE and BODY.PEEK, so looking changes nothing; ``\\Recent`` is left out
    (it belongs to a session, not to the message)."""
    client = server.imap(user)
    try:
        seen: dict[str, dict[int, tuple[Any, ...]]] = {}
        for _flags, _sep, name in client.list_folders():
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, [b"BODY.PEEK[HEADER]", b"FLAGS"]) if uids else {}
            seen[name] = {}
            for uid, item in data.items():
                head = email.message_from_bytes(item[b"BODY[HEADER]"], policy=email.policy.default)
                flags = tuple(sorted(set(item[b"FLAGS"]) - {b"\\Recent"}))
                seen[name][uid] = (str(head["Message-ID"]), str(head["Subject"]), flags)
        return seen
    finally:
        client.logout()


def service_on(tmp_path: Path, server: DovecotServer, user: str, clock: Clock) -> Service:
    """Postvakt watching ``user`` on ``server``, with a registrar who may withdraw cases."""
    folder = tmp_path / f"pv-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    path = write_config(folder, server, user)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            'domains = ["testby.se"]', f'domains = ["testby.se"]\nregistrar = "{REGISTRAR}"'
        ),
        encoding="utf-8",
    )
    return Service(
        load_config(path),
        clock=clock,
        environ={MASTER_ENV: server.master_password},
        connector_factory=lambda _mailbox, _config, _env: imap_connector(server, user, clock),
    ).open()


def uid_of(location: str | None) -> int:
    assert location is not None
    return int(location.rsplit("/", 1)[1])


def test_withdrawing_removes_exactly_postvakts_draft_from_dovecot(
    tmp_path: Path, dovecot: DovecotServer, clock: Clock, now: datetime
) -> None:
    user = dovecot.add_user()
    dovecot.deliver(user, complaint("Björkvägen", 1))
    dovecot.deliver(user, complaint("Ekvägen", 2))
    with service_on(tmp_path, dovecot, user, clock) as service:
        placed = service.run_once()
        assert len(placed.drafts_saved) == 2, placed.errors
        drafts = drafts_of(service)
        (withdrawn,) = drafts["KS 2026/1"]
        (kept,) = drafts["KS 2026/2"]
        assert withdrawn.status is kept.status is DraftStatus.SAVED
        # What else the person keeps: a draft of their own carrying the very Message-ID of
        # Postvakt's (copied, or a collision) but not Postvakt's marker; an unrelated draft;
        # a draft they deleted and have not expunged; a deleted message in the Trash.
        own = dovecot.append(
            user, "Drafts", persons_draft("Mitt eget svar", withdrawn.message_id), [b"\\Draft"]
        )
        dovecot.append(
            user,
            "Drafts",
            persons_draft("Ett annat utkast", f"eget-{uuid.uuid4().hex}@testby.se"),
            [b"\\Draft", b"\\Seen"],
        )
        binned = dovecot.append(
            user,
            "Drafts",
            persons_draft("Slängt utkast", f"slangt-{uuid.uuid4().hex}@testby.se"),
            [b"\\Draft", b"\\Deleted"],
        )
        trashed = dovecot.append(
            user,
            "Trash",
            persons_draft("I papperskorgen", f"kastat-{uuid.uuid4().hex}@testby.se"),
            [b"\\Seen", b"\\Deleted"],
        )
        before = folder_view(dovecot, user)
        assert before["Drafts"][own][0] == before["Drafts"][uid_of(withdrawn.location)][0]

        assert service.corrections is not None
        service.corrections.withdraw("KS 2026/1", reason="Dubblett av KS 2026/2", by=REGISTRAR)
        report = service.run_once()

        assert report.drafts_removed == [("KS 2026/1", withdrawn.location)]
        assert not report.errors
        after = folder_view(dovecot, user)
        expected = {name: dict(messages) for name, messages in before.items()}
        del expected["Drafts"][uid_of(withdrawn.location)]
        assert after == expected  # same UIDs, Message-IDs, subjects and flags everywhere else
        marked = sorted(
            (folder, uid)
            for folder, messages in after.items()
            for uid, (_mid, _subject, flags) in messages.items()
            if b"\\Deleted" in flags
        )
        assert marked == sorted([("Drafts", binned), ("Trash", trashed)])  # only the person's

        drafts = drafts_of(service)
        (gone,) = drafts["KS 2026/1"]
        assert gone.status is DraftStatus.REMOVED
        assert (gone.saved_at, gone.location, gone.last_error) == (now, withdrawn.location, None)
        assert drafts["KS 2026/2"][0].status is DraftStatus.SAVED
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case).where(Case.reference == "KS 2026/1")).one()
            assert case.status is CaseStatus.WITHDRAWN

        again = service.run_once()
        assert again.drafts_removed == [] and not again.errors
        assert folder_view(dovecot, user) == after


def test_a_server_without_uidplus_removes_nothing_and_the_drafts_wait(
    tmp_path: Path, dovecot: DovecotServer, clock: Clock
) -> None:
    probe_user = dovecot.add_user()
    probe = dovecot.imap(probe_user)
    try:
        capabilities = [c.decode() for c in probe.capabilities() if c != b"UIDPLUS"]
    finally:
        probe.logout()
    server = DovecotServer.start(extra_config=f"imap_capability = {' '.join(capabilities)}\n")
    try:
        user = server.add_user()
        check = server.imap(user)
        try:
            assert b"UIDPLUS" not in check.capabilities()
        finally:
            check.logout()
        server.deliver(user, complaint("Björkvägen", 1))
        with service_on(tmp_path, server, user, clock) as service:
            assert len(service.run_once().drafts_saved) == 1
            binned = server.append(
                user,
                "Drafts",
                persons_draft("Slängt utkast", f"slangt-{uuid.uuid4().hex}@testby.se"),
                [b"\\Draft", b"\\Deleted"],
            )
            before = folder_view(server, user)
            assert service.corrections is not None
            service.corrections.withdraw("KS 2026/1", reason="Testmeddelande", by=REGISTRAR)
            report = service.run_once()
            # An EXPUNGE would also take the draft the person marked deleted: nothing is done.
            assert folder_view(server, user) == before
            assert b"\\Deleted" in before["Drafts"][binned][2]
            assert report.drafts_removed == []
            (error,) = report.errors
            assert "UIDPLUS" in error and "kunde inte tas bort ur Utkast-mappen" in error
            (draft,) = drafts_of(service)["KS 2026/1"]
            assert draft.status is DraftStatus.REMOVE  # still to do, once the server can
            assert draft.last_error is not None and "UIDPLUS" in draft.last_error
            connector = imap_connector(server, user, clock)
            try:
                with pytest.raises(ProtocolError, match="saknar UIDPLUS"):
                    connector.remove_drafts([draft.message_id])
            finally:
                connector.close()
            assert folder_view(server, user) == before
    finally:
        server.stop()


def test_imap_reads_a_message_again_only_while_its_uidvalidity_holds(
    dovecot: DovecotServer, clock: Clock
) -> None:
    user = dovecot.add_user()
    raw = complaint("Björkvägen", 1)
    uid = dovecot.append(user, "INBOX", raw)
    connector = imap_connector(dovecot, user, clock)
    try:
        (message,) = [
            m for m in connector.fetch_new("INBOX", None, lambda _k: False) if hasattr(m, "raw")
        ]
        before = folder_view(dovecot, user)
        again = connector.fetch_one("INBOX", message.key)
        assert again is not None and again.raw == message.raw and again.key == message.key
        assert folder_view(dovecot, user) == before  # no \Seen
        assert b"\\Seen" not in before["INBOX"][uid][2]
        assert connector.fetch_one("Finns-inte", message.key) is None
        validity = int(message.key.split(":")[0])
        dovecot.set_uidvalidity(user, "INBOX", validity + 7)
        # The UID may name another message now: the old key finds nothing.
        assert connector.fetch_one("INBOX", message.key) is None
        moved = connector.fetch_one("INBOX", f"{validity + 7}:{uid}")
        assert moved is not None and moved.raw == message.raw
    finally:
        connector.close()


# --------------------------------------------------------------------------- Maildir


def test_maildir_removes_its_own_draft_even_renamed_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "maildir"
    connector = MaildirConnector("kontakt@testby.se", root)
    mine = DraftReply(
        message_id=f"svar-1-{uuid.uuid4().hex[:8]}@postvakt.testby.se",
        from_address="kontakt@testby.se",
        from_name="Kontaktcenter",
        to_address="karin.ek@example.net",
        to_name="Karin Ek",
        subject="SV: Klagomål",
        text="Hej Karin!\n",
    )
    other = DraftReply(**{**mine.__dict__, "message_id": f"svar-2-{uuid.uuid4().hex[:8]}@p.se"})
    placed = Path(connector.save_draft(mine))
    connector.save_draft(other)
    # A mail client has flagged Postvakt's draft (renamed it, and moved it to new/).
    moved = placed.parent.parent / "new" / placed.name.replace(":2,DS", ":2,DFS")
    placed.rename(moved)
    drafts = root / ".Drafts"
    deliver(drafts, persons_draft("Mitt eget svar", mine.message_id), name="person-1")
    # Someone else's program writing Postvakt's marker, on another Message-ID; and a
    # Message-ID that only contains Postvakt's.
    deliver(
        drafts,
        persons_draft("Med markering", f"x{mine.message_id}").replace(
            b"Subject:", b"X-Postvakt-Draft: yes\nSubject:"
        ),
        name="person-2",
    )
    files_before = {
        str(p.relative_to(drafts)): p.read_bytes() for p in drafts.rglob("*") if p.is_file()
    }
    inbox_file = deliver(root, complaint("Björkvägen", 1))
    assert connector.remove_drafts([mine.message_id, "borta@postvakt.testby.se"]) == [
        mine.message_id
    ]
    files_after = {
        str(p.relative_to(drafts)): p.read_bytes() for p in drafts.rglob("*") if p.is_file()
    }
    assert files_after == {k: v for k, v in files_before.items() if k != f"new/{moved.name}"}
    assert inbox_file.exists()
    assert connector.remove_drafts([mine.message_id]) == []


@pytest.mark.parametrize(
    ("head", "found"),
    [
        (b"Message-ID: <a@b>\r\nX-Postvakt-Draft: yes\r\n\r\n", "a@b"),
        (b"message-id:\r\n <a@b>\r\nx-postvakt-draft: YES\r\n\r\n", "a@b"),  # folded, any case
        (b"Message-ID: <a@b>\r\n\r\n", None),  # no marker: the person's
        (b"Message-ID: <a@b>\r\nX-Postvakt-Draft: no\r\n\r\n", None),
        (b"Message-ID: <xa@b>\r\nX-Postvakt-Draft: yes\r\n\r\n", None),  # only contains it
        (b"Message-ID: <A@b>\r\nX-Postvakt-Draft: yes\r\n\r\n", None),  # case counts
        (b"Message-ID: a@b\r\nX-Postvakt-Draft: yes\r\n\r\n", None),
        (b"Message-ID: <a@b>\r\nMessage-ID: <c@d>\r\nX-Postvakt-Draft: yes\r\n\r\n", None),
        (b"X-Postvakt-Draft: yes\r\n\r\n", None),
    ],
)
def test_a_draft_is_postvakts_only_by_its_exact_message_id_and_marker(
    head: bytes, found: str | None
) -> None:
    assert own_draft_id(head, {"a@b"}) == found


# --------------------------------------------------------------------------- the outbox


@pytest.fixture
def ws(db_url: str, tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", db_url)


def maildir_service(ws: Workspace, connector: type[MaildirConnector] = MaildirConnector) -> Service:
    def factory(mailbox: Any, config: Any, _env: Any) -> MaildirConnector:
        return connector(mailbox.address, config.path(mailbox.settings.path))

    return Service(ws.config, clock=fixed_clock(NOW), connector_factory=factory).open()


def test_the_outbox_removes_withdrawn_drafts_and_records_it(ws: Workspace) -> None:
    ws.deliver(complaint("Björkvägen", 1), when=ARRIVED)
    ws.deliver(complaint("Ekvägen", 2), when=ARRIVED)
    ws.deliver(complaint("Aspvägen", 3), when=ARRIVED)
    with maildir_service(ws) as service:
        service.run_once()
        assert len(ws.drafts()) == 3
        drafts = drafts_of(service)
        assert service.corrections is not None
        # The person has already deleted the draft of the third case.
        Path(drafts["KS 2026/3"][0].location or "").unlink()
        for reference in ("KS 2026/1", "KS 2026/3"):
            service.corrections.withdraw(reference, reason="Testmeddelande", by=REGISTRAR)
        report = service.run_once()
        assert report.drafts_removed == [("KS 2026/1", drafts["KS 2026/1"][0].location)]
        assert [p.name for p in ws.drafts()] == [Path(drafts["KS 2026/2"][0].location or "").name]
        after = drafts_of(service)
        (removed,), (kept,), (absent,) = after["KS 2026/1"], after["KS 2026/2"], after["KS 2026/3"]
        assert (removed.status, removed.saved_at, removed.last_error) == (
            DraftStatus.REMOVED,
            NOW,
            None,
        )
        assert removed.location == drafts["KS 2026/1"][0].location  # where it was
        assert (absent.status, absent.last_error) == (DraftStatus.REMOVED, NOT_IN_DRAFTS)
        assert kept.status is DraftStatus.SAVED


class FlakyMaildir(MaildirConnector):
    """A Maildir whose Drafts cannot be written once (a full disk, a lost share)."""

    failures = 1

    def remove_drafts(self, message_ids: Any) -> list[str]:
        if FlakyMaildir.failures:
            FlakyMaildir.failures -= 1
            raise UnavailableError(
                "kan inte skriva i Utkast (disken är full)", mailbox=self.address
            )
        return super().remove_drafts(message_ids)


def test_a_failing_server_leaves_the_drafts_to_remove_for_the_next_pass(ws: Workspace) -> None:
    ws.deliver(complaint("Björkvägen", 1), when=ARRIVED)
    FlakyMaildir.failures = 1
    with maildir_service(ws, FlakyMaildir) as service:
        service.run_once()
        (placed,) = ws.drafts()
        assert service.corrections is not None
        service.corrections.withdraw("KS 2026/1", reason="Testmeddelande", by=REGISTRAR)
        report = service.run_once()
        assert report.drafts_removed == []
        assert report.errors == [
            "kontakt@testby.se: Postvakts utkast till makulerade ärenden kunde inte tas bort ur "
            "Utkast-mappen: kan inte skriva i Utkast (disken är full)"
        ]
        (draft,) = drafts_of(service)["KS 2026/1"]
        assert (draft.status, draft.last_error) == (
            DraftStatus.REMOVE,
            "kontakt@testby.se: kan inte skriva i Utkast (disken är full)",
        )
        assert ws.drafts() == [placed]
        report = service.run_once()
        assert report.drafts_removed == [("KS 2026/1", str(placed))] and not report.errors
        assert ws.drafts() == []
        (draft,) = drafts_of(service)["KS 2026/1"]
        assert draft.status is DraftStatus.REMOVED and draft.last_error is None


class WithdrawnMeanwhile(MaildirConnector):
    """Someone withdraws the case while its draft is on its way to Drafts."""

    withdraw: Callable[[], object] | None = None

    def save_drafts(self, drafts: Any) -> list[str]:
        if WithdrawnMeanwhile.withdraw is not None:
            WithdrawnMeanwhile.withdraw()
            WithdrawnMeanwhile.withdraw = None
        return super().save_drafts(drafts)


def test_a_draft_withdrawn_while_it_is_placed_is_removed_in_the_same_pass(ws: Workspace) -> None:
    ws.deliver(complaint("Björkvägen", 1), when=ARRIVED)
    with maildir_service(ws, WithdrawnMeanwhile) as service:
        assert service.corrections is not None
        corrections = service.corrections
        WithdrawnMeanwhile.withdraw = lambda: corrections.withdraw(
            "KS 2026/1", reason="Testmeddelande", by=REGISTRAR
        )
        report = service.run_once()
        assert WithdrawnMeanwhile.withdraw is None  # it happened, during the placing
        assert report.drafts_saved == []
        assert [ref for ref, _where in report.drafts_removed] == ["KS 2026/1"]
        assert ws.drafts() == [] and not any((ws.maildir() / ".Drafts" / "new").iterdir())
        (draft,) = drafts_of(service)["KS 2026/1"]
        assert draft.status is DraftStatus.REMOVED


def test_a_withdrawal_waits_for_a_draft_being_placed_and_takes_it_out(ws: Workspace) -> None:
    """The withdrawal reads the case's drafts while another transaction is placing one
    (PENDING -> SAVED, not yet committed).  It must see the draft as placed, and have it
    taken out of Drafts: read as it was (pending), it would be marked never placed and stay
    in Drafts for good, where a person could send it."""

    ws.deliver(complaint("Björkvägen", 1), when=ARRIVED)
    with maildir_service(ws) as service:
        service.run_once()
        assert service.sessions is not None and service.corrections is not None
        corrections = service.corrections
        with service.sessions.begin() as session:  # registered, its draft not yet placed
            (draft,) = drafts_of(service)["KS 2026/1"]
            session.get(Draft, draft.id).status = DraftStatus.PENDING
        placing = service.sessions()
        placing.begin()
        assert mark_placed(placing, {draft.id: ("KS 2026/1", "Drafts/1")}, NOW)
        done = threading.Event()
        errors: list[BaseException] = []

        def withdraw() -> None:
            try:
                corrections.withdraw("KS 2026/1", reason="Testmeddelande", by=REGISTRAR)
            except BaseException as exc:  # seen by the test, not lost in the thread
                errors.append(exc)
            finally:
                done.set()

        worker = threading.Thread(target=withdraw)
        worker.start()
        try:
            assert not done.wait(0.5)  # it waits for the placing to commit
        finally:
            placing.commit()
            placing.close()
        worker.join(30)
        assert not errors and done.is_set()
        (after,) = drafts_of(service)["KS 2026/1"]
        assert after.status is DraftStatus.REMOVE  # to be taken out of Drafts
