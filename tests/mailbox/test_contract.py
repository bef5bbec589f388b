"""The connector contract: the same assertions against every mail system Postvakt reads.

Maildir (a folder), IMAP (a real Dovecot), EWS and Microsoft Graph (stateful fakes of their
wire protocols, over real HTTP) must behave alike for the intake: new messages oldest
first with stable keys, nothing again after the saved state, nothing new after a lost
state, each draft saved once with its letter readable, a message read again by its key
(and None once it is gone), only Postvakt's own draft removed when asked, and nothing the
mailbox's owner sees changed.
"""

from __future__ import annotations

import email
import email.policy
import io
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest

from postvakt.clock import STOCKHOLM, Clock
from postvakt.mailbox.base import (
    Checkpoint,
    Connector,
    DraftAttachment,
    DraftReply,
    FetchedMessage,
    SupportsDraftRemoval,
)
from postvakt.mailbox.identity import location_key
from postvakt.mailbox.maildir import MaildirConnector, deliver
from tests.support import ews_fake, graph_fake
from tests.support.dovecot import DovecotServer
from tests.support.ews_fake import EwsFake
from tests.support.graph_fake import GraphFake, make_tls
from tests.support.workspace import citizen_mail

KINDS = ["maildir", "imap", "ews", "graph"]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
START = datetime(2026, 11, 23, 8, 0, tzinfo=STOCKHOLM)


@dataclass
class Harness:
    """One connector and a way to see its mailbox the way its owner (and a test) does."""

    kind: str
    connector: Connector
    deliver: Callable[[bytes, datetime], None]
    owner_view: Callable[[], Any]
    """Everything the person sees outside Drafts (read state included)."""
    drafts: Callable[[], list[tuple[str, str, list[tuple[str, bytes]]]]]
    """(subject, recipient address, [(file name, bytes)]) of each draft."""
    plant_draft: Callable[[bytes], None]
    """The person saves a draft of their own (these bytes) in Drafts."""
    draft_state: Callable[[], list[tuple[str, tuple[Any, ...]]]]
    """Everything in Drafts: (subject, everything else the store keeps of it: id, flags …)."""
    trash: Callable[[], list[str]]
    """Subjects in Deleted Items (where Exchange puts a deleted draft); [] elsewhere."""
    remove_message: Callable[[str], None]
    """The owner deletes the message with this key from the inbox."""


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def ews_server() -> Iterator[EwsFake]:
    with EwsFake() as fake:
        fake.add_user(ews_fake.SERVICE_USER, ews_fake.SERVICE_PASSWORD)
        yield fake


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphFake]:
    with GraphFake(make_tls(tmp_path_factory.mktemp("tls"))) as fake:
        fake.add_app(graph_fake.CLIENT_ID, secret=graph_fake.CLIENT_SECRET)
        yield fake


# --------------------------------------------------------------------------- harnesses


def _parsed(raw: bytes) -> tuple[str, str, list[tuple[str, bytes]]]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    to = msg["To"].addresses[0].addr_spec if msg["To"] else ""
    files = [(part.get_filename() or "", part.get_content()) for part in msg.iter_attachments()]
    return str(msg["Subject"]), to, files


def _maildir(tmp_path: Path, clock: Clock) -> Harness:
    root = tmp_path / "maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    connector = MaildirConnector("kontakt@testby.se", root)

    def owner_view() -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and ".Drafts" not in p.parts
        }

    def drafts() -> list[tuple[str, str, list[tuple[str, bytes]]]]:
        folder = root / ".Drafts" / "cur"
        return (
            [_parsed(p.read_bytes()) for p in sorted(folder.iterdir())] if folder.exists() else []
        )

    def draft_state() -> list[tuple[str, tuple[Any, ...]]]:
        folder = root / ".Drafts"
        return sorted(
            (_subject(p.read_bytes()), (str(p.relative_to(folder)), p.read_bytes()))
            for p in folder.glob("*/*")
            if p.parent.name in ("cur", "new")
        )

    def remove_message(key: str) -> None:
        (found,) = [p for p in root.glob("*/*") if p.name.split(":2,")[0] == key]
        found.unlink()

    return Harness(
        "maildir",
        connector,
        lambda raw, when: deliver(root, raw, when=when.timestamp()) and None,
        owner_view,
        drafts,
        lambda raw: deliver(root / ".Drafts", raw) and None,
        draft_state,
        list,
        remove_message,
    )


def _imap(request: pytest.FixtureRequest, clock: Clock) -> Harness:
    from postvakt.config import ImapSettings
    from postvakt.mailbox.imap import ImapConnector
    from postvakt.retry import Backoff, RetryPolicy

    server: DovecotServer = request.getfixturevalue("dovecot")
    user = server.add_user()
    connector = ImapConnector(
        server.address(user),
        ImapSettings(
            host=server.host,
            port=server.imap_port,
            security="none",
            username=user,
            master_user=server.master_user,
            password_env="PV_TEST_IMAP_MASTER",
        ),
        server.master_password,
        clock=clock,
        backoff=Backoff(RetryPolicy(base=0.05, cap=0.2)),
    )

    def owner_view() -> dict[str, Any]:
        client = server.imap(user)
        try:
            seen: dict[str, Any] = {}
            for folder in ("INBOX", "Sent"):
                status = client.folder_status(folder, [b"MESSAGES", b"RECENT", b"UNSEEN"])
                client.select_folder(folder, readonly=True)
                uids = client.search(["ALL"])
                flags = client.fetch(uids, ["FLAGS"]) if uids else {}
                seen[folder] = (status, {u: sorted(f[b"FLAGS"]) for u, f in flags.items()})
            seen["folders"] = sorted(name for _f, _s, name in client.list_folders())
            return seen
        finally:
            client.logout()

    def drafts() -> list[tuple[str, str, list[tuple[str, bytes]]]]:
        client = server.imap(user)
        try:
            client.select_folder("Drafts", readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, [b"BODY.PEEK[]"]) if uids else {}
            return [_parsed(data[uid][b"BODY[]"]) for uid in sorted(data)]
        finally:
            client.logout()

    def draft_state() -> list[tuple[str, tuple[Any, ...]]]:
        client = server.imap(user)
        try:
            client.select_folder("Drafts", readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, [b"BODY.PEEK[]", b"FLAGS"]) if uids else {}
        finally:
            client.logout()
        # \Recent belongs to a session, not to the message (gone from IMAP4rev2).
        return sorted(
            (
                _subject(item[b"BODY[]"]),
                (uid, item[b"BODY[]"], sorted(set(item[b"FLAGS"]) - {b"\\Recent"})),
            )
            for uid, item in data.items()
        )

    def remove_message(key: str) -> None:
        uid = int(key.split(":")[1])
        client = server.imap(user)
        try:
            client.select_folder("INBOX")
            client.add_flags([uid], [b"\\Deleted"])
            client.expunge()
        finally:
            client.logout()

    return Harness(
        "imap",
        connector,
        lambda raw, when: server.append(user, "INBOX", raw) and None,
        owner_view,
        drafts,
        lambda raw: server.append(user, "Drafts", raw, flags=[b"\\Draft"]) and None,
        draft_state,
        list,
        remove_message,
    )


def _ews(request: pytest.FixtureRequest, clock: Clock) -> Harness:
    fake: EwsFake = request.getfixturevalue("ews_server")
    address = ews_fake.new_mailbox(fake)
    connector = ews_fake.connector(fake, address, clock=clock)

    def owner_view() -> Any:
        return fake.view(address), fake.writes()

    def drafts() -> list[tuple[str, str, list[tuple[str, bytes]]]]:
        return [
            (i.subject, i.to[0][1], [(a.name, a.content) for a in i.attachments])
            for i in fake.items(address, "drafts")
        ]

    return Harness(
        "ews",
        connector,
        lambda raw, when: fake.deliver(address, raw, received=when) and None,
        owner_view,
        drafts,
        lambda raw: fake.deliver(address, raw, folder="drafts") and None,
        lambda: sorted(
            (i.subject, (i.id, i.message_id, i.is_read, i.change_key, len(i.attachments)))
            for i in fake.items(address, "drafts")
        ),
        lambda: [i.subject for i in fake.items(address, "deleteditems")],
        lambda key: fake.delete(address, key),
    )


def _graph(request: pytest.FixtureRequest, clock: Clock) -> Harness:
    fake: GraphFake = request.getfixturevalue("graph_server")
    address = graph_fake.new_mailbox(fake)
    connector = graph_fake.connector(fake, address, clock=clock)

    def owner_view() -> Any:
        return fake.view(address), fake.writes()

    def drafts() -> list[tuple[str, str, list[tuple[str, bytes]]]]:
        return [
            (m.subject, m.to[0][1], [(a.name, a.content) for a in m.attachments])
            for m in fake.messages(address, "drafts")
        ]

    return Harness(
        "graph",
        connector,
        lambda raw, when: fake.deliver(address, raw, received=when) and None,
        owner_view,
        drafts,
        lambda raw: fake.deliver(address, raw, folder="drafts") and None,
        lambda: sorted(
            (m.subject, (m.id, m.message_id, m.is_read, m.change, len(m.attachments)))
            for m in fake.messages(address, "drafts")
        ),
        lambda: [m.subject for m in fake.messages(address, "deleteditems")],
        lambda key: fake.delete(address, key),
    )


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path, clock: Clock) -> Iterator[Harness]:
    kind = request.param
    made = {
        "maildir": lambda: _maildir(tmp_path, clock),
        "imap": lambda: _imap(request, clock),
        "ews": lambda: _ews(request, clock),
        "graph": lambda: _graph(request, clock),
    }[kind]()
    try:
        yield made
    finally:
        made.connector.close()


# --------------------------------------------------------------------------- the intake's side


def drain(
    connector: Connector, folder: str, state: Mapping[str, Any] | None, known: set[str]
) -> tuple[list[FetchedMessage], Mapping[str, Any] | None]:
    """What the intake does: take every message, keep the last state it was given."""
    messages: list[FetchedMessage] = []
    for item in connector.fetch_new(folder, state, known.__contains__):
        if isinstance(item, FetchedMessage):
            messages.append(item)
        if item.state is not None:
            state = item.state
    return messages, state


def _mail(n: int) -> bytes:
    return citizen_mail(
        f"Hej!\n\nJag vill klaga på snöröjningen, gata {n}.\n",
        subject=f"Klagomål {n}",
        message_id=f"<contract-{n}-{uuid.uuid4().hex[:6]}@example.net>",
        date=START + timedelta(minutes=n),
    )


def _subject(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])


def _persons_draft(subject: str, message_id: str) -> bytes:
    """A draft the person wrote in their mail program (no Postvakt marker)."""
    return citizen_mail(
        "Hej! Jag återkommer.\n",
        subject=subject,
        sender="Kontaktcenter <kontakt@testby.se>",
        to="karin.ek@example.net",
        message_id=f"<{message_id}>",
        date=START,
    )


def _outside_trash(kind: str, view: Any) -> Any:
    """The owner's view without Deleted Items, where Exchange puts a deleted draft."""
    if kind not in ("ews", "graph"):
        return view
    folders, writes = view
    return {k: v for k, v in folders.items() if k != "deleteditems"}, writes


def _message_id(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"])


def _draft(n: int, letter: bytes) -> DraftReply:
    return DraftReply(
        message_id=f"draft-{n}-{uuid.uuid4().hex[:6]}@postvakt.testby.se",
        from_address="kontakt@testby.se",
        from_name="Kontaktcenter",
        to_address="karin.ek@example.net",
        to_name="Karin Ek",
        subject=f"SV: Klagomål {n}",
        text=f"Hej Karin!\n\nVi har tagit emot ditt klagomål ({n}).\n",
        in_reply_to=None,
        attachments=(DraftAttachment(f"Mottagningsbekräftelse {n}.docx", DOCX, letter),),
        date=START,
    )


def _letter(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- the contract


def test_new_messages_come_oldest_first_with_stable_keys(harness: Harness) -> None:
    sent = [_mail(n) for n in range(3)]
    for n, raw in enumerate(sent):
        harness.deliver(raw, START + timedelta(minutes=n))
    (folder,) = harness.connector.folders("inbox")
    messages, _state = drain(harness.connector, folder, None, set())
    assert [_message_id(m.raw) for m in messages] == [_message_id(raw) for raw in sent]
    keys = [m.key for m in messages]
    assert len(set(keys)) == 3
    assert all(m.folder == folder for m in messages)
    received = [m.received_at for m in messages]
    assert all(r is not None and r.tzinfo is not None for r in received)
    assert received == sorted(received)  # type: ignore[type-var]
    again, _ = drain(harness.connector, folder, None, set())
    assert [m.key for m in again] == keys, "a message's key must not change between reads"


def test_a_second_fetch_with_the_saved_state_yields_nothing(harness: Harness) -> None:
    for n in range(2):
        harness.deliver(_mail(n), START + timedelta(minutes=n))
    (folder,) = harness.connector.folders("inbox")
    first, state = drain(harness.connector, folder, None, set())
    known = {m.key for m in first}
    second, state = drain(harness.connector, folder, state, known)
    assert second == []
    newer = _mail(7)
    harness.deliver(newer, START + timedelta(minutes=30))
    third, _state = drain(harness.connector, folder, state, known)
    assert [_message_id(m.raw) for m in third] == [_message_id(newer)]


def test_a_lost_state_resyncs_without_new_keys(harness: Harness) -> None:
    for n in range(3):
        harness.deliver(_mail(n), START + timedelta(minutes=n))
    (folder,) = harness.connector.folders("inbox")
    first, _state = drain(harness.connector, folder, None, set())
    known = {m.key for m in first}
    # The saved state is gone (a restored database, a new server): nothing is read again.
    again, state = drain(harness.connector, folder, None, known)
    assert again == []
    assert state is None or isinstance(state, Mapping)


def test_drafts_are_saved_once_with_a_readable_letter(harness: Harness) -> None:
    letters = [_letter(f"Diarienummer: KS 2026/{n}") for n in (1, 2)]
    drafts = [_draft(n, letter) for n, letter in zip((1, 2), letters, strict=True)]
    places = harness.connector.save_drafts(drafts)
    assert len(places) == 2 and all(places)
    # A retry after a crash saves nothing twice, and says where the draft already is.
    assert harness.connector.save_draft(drafts[0]) == places[0]
    assert harness.connector.save_drafts(drafts) == places
    saved = sorted(harness.drafts())
    assert [(s[0], s[1]) for s in saved] == [
        ("SV: Klagomål 1", "karin.ek@example.net"),
        ("SV: Klagomål 2", "karin.ek@example.net"),
    ]
    for n, (_subject, _to, files) in zip((1, 2), saved, strict=True):
        ((name, data),) = files
        assert name == f"Mottagningsbekräftelse {n}.docx"
        paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
        assert f"Diarienummer: KS 2026/{n}" in paragraphs


def test_nothing_the_owner_sees_changes(harness: Harness) -> None:
    for n in range(3):
        harness.deliver(_mail(n), START + timedelta(minutes=n))
    before = harness.owner_view()
    (folder,) = harness.connector.folders("inbox")
    messages, state = drain(harness.connector, folder, None, set())
    drain(harness.connector, folder, state, {m.key for m in messages})
    for sent_folder in harness.connector.folders("sent"):
        drain(harness.connector, sent_folder, None, set())
    harness.connector.save_draft(_draft(1, _letter("Brev")))
    assert harness.owner_view() == before


def test_checkpoints_carry_the_folder_they_belong_to(harness: Harness) -> None:
    harness.deliver(_mail(1), START)
    (folder,) = harness.connector.folders("inbox")
    for item in harness.connector.fetch_new(folder, None, lambda _key: True):
        assert isinstance(item, Checkpoint | FetchedMessage)
        assert item.folder == folder


def test_a_message_is_read_again_by_its_key_and_nothing_changes(harness: Harness) -> None:
    for n in range(3):
        harness.deliver(_mail(n), START + timedelta(minutes=n))
    (folder,) = harness.connector.folders("inbox")
    messages, _state = drain(harness.connector, folder, None, set())
    before = harness.owner_view()
    for message in reversed(messages):
        again = harness.connector.fetch_one(folder, message.key)
        assert again is not None
        assert (again.folder, again.key, again.raw) == (folder, message.key, message.raw)
        assert again.received_at == message.received_at
        assert again.state is None
    assert harness.owner_view() == before, "reading again must not mark anything read"


def test_a_message_that_is_gone_reads_as_none(harness: Harness) -> None:
    for n in range(2):
        harness.deliver(_mail(n), START + timedelta(minutes=n))
    (folder,) = harness.connector.folders("inbox")
    (first, second), _state = drain(harness.connector, folder, None, set())
    harness.remove_message(first.key)
    assert harness.connector.fetch_one(folder, first.key) is None
    still = harness.connector.fetch_one(folder, second.key)
    assert still is not None and still.raw == second.raw
    # A store id over 300 characters was kept as its hash: nothing to find it by.
    assert harness.connector.fetch_one(folder, location_key("A" * 400)) is None
    assert harness.connector.fetch_one(folder, "finns-inte") is None


def test_only_postvakts_own_draft_is_removed(harness: Harness) -> None:
    connector = harness.connector
    assert isinstance(connector, SupportsDraftRemoval)
    letter = _letter("Diarienummer: KS 2026/1")
    withdrawn, other = _draft(1, letter), _draft(2, letter)
    connector.save_drafts([withdrawn, other])
    # The person's own drafts: one carrying the very Message-ID of Postvakt's (copied, or a
    # collision) but not Postvakt's marker, and an unrelated one.
    harness.plant_draft(_persons_draft("Mitt eget svar", withdrawn.message_id))
    harness.plant_draft(_persons_draft("Ett annat utkast", f"eget-{uuid.uuid4().hex}@testby.se"))
    harness.deliver(_mail(1), START)
    owner_before = harness.owner_view()
    before = harness.draft_state()
    assert sorted(subject for subject, _ in before) == [
        "Ett annat utkast",
        "Mitt eget svar",
        "SV: Klagomål 1",
        "SV: Klagomål 2",
    ]
    gone = f"redan-borta-{uuid.uuid4().hex}@postvakt.testby.se"  # deleted or sent by the person
    assert connector.remove_drafts([withdrawn.message_id, gone]) == [withdrawn.message_id]
    assert harness.draft_state() == [d for d in before if d[0] != "SV: Klagomål 1"]
    assert connector.remove_drafts([withdrawn.message_id]) == []  # once is all
    assert harness.draft_state() == [d for d in before if d[0] != "SV: Klagomål 1"]
    assert _outside_trash(harness.kind, harness.owner_view()) == _outside_trash(
        harness.kind, owner_before
    )
    # Exchange keeps a deleted draft in Deleted Items, as Outlook does; the others delete it.
    expected_trash = ["SV: Klagomål 1"] if harness.kind in ("ews", "graph") else []
    assert harness.trash() == expected_trash
