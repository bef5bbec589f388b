"""Tests for :mod:`postvakt.mailbox.maildir`: a real Maildir on disk, real message bytes.

The connector reads in place: the tests snapshot every path, mtime and byte of the mailbox
before and after reading and require them to be identical.
"""

from __future__ import annotations

import email
import email.policy
import io
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from docx import Document

from postvakt.errors import MailboxNotFoundError
from postvakt.mailbox.base import (
    Checkpoint,
    DraftAttachment,
    DraftReply,
    FetchedMessage,
    reply_subject,
)
from postvakt.mailbox.maildir import INBOX, MaildirConnector, deliver
from postvakt.templates import LETTERS, LetterRenderer
from tests.support.workspace import citizen_mail

DEMO_DIR = Path(__file__).resolve().parents[2] / "src" / "postvakt" / "demo_messages"
EML_DIR = Path(__file__).resolve().parents[1] / "data" / "eml"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ADDRESS = "kontakt@testby.se"

# 2026-11-23 08:00 UTC and onwards, one hour apart.
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).timestamp()


def never_known(key: str) -> bool:
    return False


def make_maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def put_in_cur(maildir: Path, name: str, raw: bytes, when: float) -> Path:
    """A message a mail client has already seen: it lives in cur/ with flags."""
    path = maildir / "cur" / name
    path.write_bytes(raw)
    os.utime(path, (when, when))
    return path


def fetch_all(
    connector: MaildirConnector, is_known: Callable[[str], bool] = never_known
) -> list[FetchedMessage]:
    items = list(connector.fetch_new(INBOX, None, is_known))
    assert all(isinstance(item, FetchedMessage | Checkpoint) for item in items)
    return [item for item in items if isinstance(item, FetchedMessage)]


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every path under ``root``: its kind, mtime (ns) and, for files, its bytes."""
    result: dict[str, tuple[str, int, bytes]] = {}
    for path in sorted(root.rglob("*")):
        stat = path.stat()
        if path.is_dir():
            result[str(path.relative_to(root))] = ("dir", stat.st_mtime_ns, b"")
        else:
            result[str(path.relative_to(root))] = ("file", stat.st_mtime_ns, path.read_bytes())
    return result


def mail(n: int, **kwargs: str) -> bytes:
    return citizen_mail(
        f"Meddelande nummer {n}: snön på Björkvägen är inte plogad.",
        subject=f"Klagomål {n}",
        message_id=f"<msg-{n}@example.net>",
        **kwargs,
    )


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return make_maildir(tmp_path / "kontakt")


@pytest.fixture
def connector(maildir: Path) -> MaildirConnector:
    return MaildirConnector(ADDRESS, maildir)


# --------------------------------------------------------------------------- reading


def test_reads_new_and_cur_oldest_first_by_mtime(maildir: Path, connector: MaildirConnector):
    # Names sort the opposite way to arrival, and new/ and cur/ interleave.
    deliver(maildir, mail(3), when=T0 + 3 * 3600, name="1000.A.host")
    put_in_cur(maildir, "2000.B.host:2,S", mail(1), T0 + 1 * 3600)
    deliver(maildir, mail(2), when=T0 + 2 * 3600, name="3000.C.host")
    put_in_cur(maildir, "4000.D.host:2,RS", mail(0), T0)

    fetched = fetch_all(connector)

    assert [m.key for m in fetched] == ["4000.D.host", "2000.B.host", "3000.C.host", "1000.A.host"]
    assert [m.raw for m in fetched] == [mail(0), mail(1), mail(2), mail(3)]
    assert {m.folder for m in fetched} == {INBOX}


def test_demo_messages_read_byte_for_byte(maildir: Path, connector: MaildirConnector):
    files = sorted(DEMO_DIR.glob("*.eml"))
    assert len(files) >= 10
    for i, path in enumerate(files):
        deliver(maildir, path.read_bytes(), when=T0 + i * 60, name=f"{i:04d}.demo.host")

    fetched = fetch_all(connector)

    assert [m.raw for m in fetched] == [p.read_bytes() for p in files]
    assert [m.key for m in fetched] == [f"{i:04d}.demo.host" for i in range(len(files))]


def test_key_is_unique_name_before_flags(maildir: Path, connector: MaildirConnector):
    put_in_cur(maildir, "1763884800.M1P2.host,S=1234,W=1260:2,FRS", mail(1), T0)
    put_in_cur(maildir, "1763884801.M2P2.host:2,", mail(2), T0 + 1)

    fetched = fetch_all(connector)

    assert [m.key for m in fetched] == [
        "1763884800.M1P2.host,S=1234,W=1260",
        "1763884801.M2P2.host",
    ]


def test_flag_change_keeps_key_and_known_message_is_not_reread(
    maildir: Path, connector: MaildirConnector
):
    delivered = deliver(maildir, mail(1), when=T0, name="1763884800.x.host")
    first = fetch_all(connector)
    assert [m.key for m in first] == ["1763884800.x.host"]
    known = {m.key for m in first}

    # The owner opens the message: new/x -> cur/x:2,S, then replies: cur/x:2,S -> cur/x:2,RS.
    seen = maildir / "cur" / "1763884800.x.host:2,S"
    delivered.rename(seen)
    asked: list[str] = []

    def is_known(key: str) -> bool:
        asked.append(key)
        return key in known

    assert fetch_all(connector, is_known) == []
    seen.rename(maildir / "cur" / "1763884800.x.host:2,RS")
    assert fetch_all(connector, is_known) == []
    assert asked == ["1763884800.x.host", "1763884800.x.host"]

    # Without the knowledge it would be read again under the very same key.
    again = fetch_all(connector)
    assert [(m.key, m.raw) for m in again] == [("1763884800.x.host", mail(1))]


def test_known_messages_are_skipped_and_new_ones_read(maildir: Path, connector: MaildirConnector):
    deliver(maildir, mail(1), when=T0, name="a.host")
    deliver(maildir, mail(2), when=T0 + 60, name="b.host")
    put_in_cur(maildir, "c.host:2,S", mail(3), T0 + 120)

    fetched = fetch_all(connector, {"a.host", "c.host"}.__contains__)

    assert [(m.key, m.raw) for m in fetched] == [("b.host", mail(2))]


def test_fetch_changes_nothing_in_the_mailbox(maildir: Path, connector: MaildirConnector):
    for i, path in enumerate(sorted(EML_DIR.glob("*.eml"))[:12]):
        deliver(maildir, path.read_bytes(), when=T0 + i, name=f"{i}.corpus.host")
    put_in_cur(maildir, "seen.host:2,S", mail(1), T0 - 60)
    put_in_cur(maildir, "flagged.host:2,FS", mail(2), T0 - 30)
    (maildir / "tmp" / "half-delivered.host").write_bytes(b"Subject: halv\r\n")
    (maildir / "dovecot-uidlist").write_text("3 V1763884800 N4\n")
    before = snapshot(maildir)

    fetched = fetch_all(connector)
    fetched_again = fetch_all(connector)

    assert len(fetched) == 14
    assert [m.key for m in fetched_again] == [m.key for m in fetched]
    assert snapshot(maildir) == before


def test_received_at_is_file_mtime_timezone_aware(maildir: Path, connector: MaildirConnector):
    when = datetime(2026, 11, 23, 6, 41, 12, tzinfo=UTC).timestamp()
    deliver(maildir, mail(1), when=when, name="a.host")
    put_in_cur(maildir, "b.host:2,S", mail(2), when + 0.5)

    fetched = fetch_all(connector)

    assert [m.received_at for m in fetched] == [
        datetime(2026, 11, 23, 6, 41, 12, tzinfo=UTC),
        datetime(2026, 11, 23, 6, 41, 12, 500000, tzinfo=UTC),
    ]
    for message in fetched:
        assert message.received_at is not None
        assert message.received_at.tzinfo is not None
        assert message.received_at.utcoffset() is not None
    # The Date header (09:15 Swedish time) is not the arrival stamp.
    assert fetched[0].received_at != datetime(2026, 11, 23, 8, 15, tzinfo=UTC)


def _move_oldest_new_to_cur(maildir: Path) -> Callable[[str], bool]:
    """An ``is_known`` that plays the mail client: each call moves the oldest file left in
    new/ to cur/ with the Seen flag, after the connector has listed the folder."""

    def is_known(key: str) -> bool:
        waiting = sorted((maildir / "new").iterdir(), key=lambda p: p.stat().st_mtime)
        if waiting:
            oldest = waiting[0]
            oldest.rename(maildir / "cur" / f"{oldest.name}:2,S")
        return False

    return is_known


def test_message_moved_new_to_cur_while_fetching_is_still_read(
    maildir: Path, connector: MaildirConnector
):
    raws = {f"{n}.race.host": mail(n) for n in range(4)}
    for n, (name, raw) in enumerate(raws.items()):
        deliver(maildir, raw, when=T0 + n, name=name)

    fetched = fetch_all(connector, _move_oldest_new_to_cur(maildir))

    assert sorted((maildir / "new").iterdir()) == []  # the client really did move them all
    by_key = {m.key: m.raw for m in fetched}
    assert by_key == raws
    assert list(dict.fromkeys(m.key for m in fetched)) == list(raws)  # still oldest first


def test_message_moved_after_listing_both_folders_is_found_again(
    maildir: Path, connector: MaildirConnector
):
    put_in_cur(maildir, "old.host:2,S", mail(1), T0)
    deliver(maildir, mail(2), when=T0 + 60, name="fresh.host")

    def is_known(key: str) -> bool:
        # Asked about the cur/ message: both folders are listed and fresh.host was already
        # seen in new/.  Now the client opens it.
        if key == "old.host":
            fresh = maildir / "new" / "fresh.host"
            if fresh.exists():
                fresh.rename(maildir / "cur" / "fresh.host:2,S")
        return False

    fetched = fetch_all(connector, is_known)

    assert (maildir / "cur" / "fresh.host:2,S").exists()
    assert [(m.key, m.raw) for m in fetched] == [("old.host", mail(1)), ("fresh.host", mail(2))]


def test_message_whose_flags_change_in_cur_while_fetching_is_still_read(
    maildir: Path, connector: MaildirConnector
):
    names = ["a.host", "b.host", "c.host"]
    for n, name in enumerate(names):
        put_in_cur(maildir, f"{name}:2,S", mail(n), T0 + n)
    asked: list[str] = []

    def is_known(key: str) -> bool:
        # The owner replies to every message the connector has listed but not yet looked
        # at: cur/x:2,S -> cur/x:2,RS.
        asked.append(key)
        for path in sorted((maildir / "cur").iterdir()):
            unique = path.name.split(":2,")[0]
            if unique not in asked and path.name.endswith(":2,S"):
                path.rename(path.with_name(f"{unique}:2,RS"))
        return False

    fetched = fetch_all(connector, is_known)

    renamed = [p.name for p in (maildir / "cur").iterdir() if p.name.endswith(":2,RS")]
    assert len(renamed) == len(names) - 1  # the client really did change the flags
    assert {m.key: m.raw for m in fetched} == {name: mail(n) for n, name in enumerate(names)}


def test_hidden_files_and_tmp_are_ignored(maildir: Path, connector: MaildirConnector):
    deliver(maildir, mail(1), when=T0, name="real.host")
    (maildir / "tmp" / "being-delivered.host").write_bytes(mail(2))
    (maildir / "new" / ".hidden.host").write_bytes(mail(3))
    (maildir / "cur" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (maildir / "cur" / ".half:2,S").write_bytes(mail(4))
    (maildir / "cur" / "subdir").mkdir()

    fetched = fetch_all(connector)

    assert [(m.key, m.raw) for m in fetched] == [("real.host", mail(1))]


def test_subfolders_are_not_read_as_inbox(maildir: Path, connector: MaildirConnector):
    deliver(maildir, mail(1), when=T0, name="inbox.host")
    deliver(maildir / ".Sent", mail(2), when=T0, name="sent.host")

    assert [m.key for m in fetch_all(connector)] == ["inbox.host"]
    sent = list(connector.fetch_new(".Sent", None, never_known))
    assert [(m.key, m.folder) for m in sent if isinstance(m, FetchedMessage)] == [
        ("sent.host", ".Sent")
    ]


def test_path_that_is_not_a_maildir_raises_naming_the_path(tmp_path: Path):
    missing = tmp_path / "finns-inte"
    with pytest.raises(MailboxNotFoundError) as info:
        list(MaildirConnector(ADDRESS, missing).fetch_new(INBOX, None, never_known))
    assert str(missing) in str(info.value)
    assert info.value.mailbox == ADDRESS

    only_cur = tmp_path / "halv"
    (only_cur / "cur").mkdir(parents=True)
    with pytest.raises(MailboxNotFoundError) as info:
        list(MaildirConnector(ADDRESS, only_cur).fetch_new(INBOX, None, never_known))
    assert str(only_cur) in str(info.value)
    assert "new" in str(info.value)
    assert not (only_cur / "new").exists()  # the check creates nothing


def test_missing_subfolder_raises(maildir: Path, connector: MaildirConnector):
    with pytest.raises(MailboxNotFoundError) as info:
        list(connector.fetch_new(".Sent", None, never_known))
    assert str(maildir / ".Sent") in str(info.value)


# --------------------------------------------------------------------------- folders


def test_inbox_folder(connector: MaildirConnector):
    assert connector.folders("inbox") == [INBOX]


@pytest.mark.parametrize("name", [".Sent", ".Skickat"])
def test_sent_folder_found(maildir: Path, name: str):
    make_maildir(maildir / name)
    make_maildir(maildir / ".Drafts")
    assert MaildirConnector(ADDRESS, maildir).folders("sent") == [name]


def test_no_sent_folder_gives_empty_list(maildir: Path, connector: MaildirConnector):
    make_maildir(maildir / ".Drafts")
    make_maildir(maildir / ".Trash")
    assert connector.folders("sent") == []


def test_configured_sent_folder_wins(maildir: Path):
    make_maildir(maildir / ".Sent")
    connector = MaildirConnector(ADDRESS, maildir, sent_folder=".Utkorg.Skickat")
    assert connector.folders("sent") == [".Utkorg.Skickat"]


# --------------------------------------------------------------------------- drafts


def acknowledgment_docx() -> bytes:
    context = {name: f"värde {name}" for name in LETTERS["acknowledgment"].variables}
    context["number"] = "KS 2026/17"
    context["recipient_name"] = "Göran Sjöberg"
    return LetterRenderer().render("acknowledgment", context)


def draft(**overrides: object) -> DraftReply:
    values: dict[str, object] = {
        "message_id": "postvakt.ks-2026-17.ack@testby.se",
        "from_address": ADDRESS,
        "from_name": "Kontaktcenter Testby kommun",
        "to_address": "goran.sjoberg@telia.com",
        "to_name": "Göran Sjöberg",
        "subject": reply_subject("Re: Snöröjningen på Björkvägen"),
        "text": "Hej Göran!\n\nVi har tagit emot ditt klagomål. Bekräftelsen är bifogad.\n",
        "in_reply_to": "5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com",
        "references": ("earlier.1@telia.com",),
        "attachments": (
            DraftAttachment(
                "Mottagningsbekräftelse KS 2026-17.docx", DOCX_TYPE, acknowledgment_docx()
            ),
        ),
        "date": datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
    }
    values.update(overrides)
    return DraftReply(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_save_draft_writes_a_flagged_reply_into_drafts(maildir: Path, connector: MaildirConnector):
    reply = draft()

    where = Path(connector.save_draft(reply))

    assert where.parent == maildir / ".Drafts" / "cur"
    assert where.name.endswith(":2,DS")
    assert where.exists()
    assert list((maildir / ".Drafts" / "new").iterdir()) == []
    assert list((maildir / ".Drafts" / "tmp").iterdir()) == []  # nothing left half-written

    message = parse(where.read_bytes())
    assert parseaddr(str(message["From"]))[1] == ADDRESS
    assert parseaddr(str(message["To"])) == ("Göran Sjöberg", "goran.sjoberg@telia.com")
    assert str(message["Subject"]) == "SV: Snöröjningen på Björkvägen"
    assert str(message["Message-ID"]) == "<postvakt.ks-2026-17.ack@testby.se>"
    assert str(message["In-Reply-To"]) == "<5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com>"
    assert str(message["References"]).split() == [
        "<earlier.1@telia.com>",
        "<5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com>",
    ]

    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == reply.text.strip()

    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    (attachment,) = attachments
    assert attachment.get_content_type() == DOCX_TYPE
    assert attachment.get_filename() == "Mottagningsbekräftelse KS 2026-17.docx"
    data = attachment.get_payload(decode=True)
    assert data == reply.attachments[0].data
    document = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Göran Sjöberg" in text
    assert "KS 2026/17" in text


def test_save_draft_leaves_the_inbox_untouched(maildir: Path, connector: MaildirConnector):
    deliver(maildir, mail(1), when=T0, name="a.host")
    put_in_cur(maildir, "b.host:2,S", mail(2), T0 + 1)
    before = {k: v for k, v in snapshot(maildir).items() if not k.startswith(".Drafts")}

    connector.save_draft(draft())

    after = {k: v for k, v in snapshot(maildir).items() if not k.startswith(".Drafts")}
    assert after == before
    # The draft is not citizen mail: the inbox still holds just the two messages.
    assert [m.key for m in fetch_all(connector)] == ["a.host", "b.host"]


def test_saving_the_same_draft_twice_keeps_one_file(maildir: Path, connector: MaildirConnector):
    first = connector.save_draft(draft())
    first_bytes = Path(first).read_bytes()

    second = connector.save_draft(draft(text="En annan text, samma Message-ID."))

    assert second == first
    files = list((maildir / ".Drafts").rglob("*"))
    assert [p for p in files if p.is_file()] == [Path(first)]
    assert Path(first).read_bytes() == first_bytes

    # Another Message-ID is another draft.
    third = connector.save_draft(draft(message_id="postvakt.ks-2026-18.ack@testby.se"))
    assert third != first
    assert len(list((maildir / ".Drafts" / "cur").iterdir())) == 2


def test_draft_found_after_the_owner_changes_its_flags(maildir: Path, connector: MaildirConnector):
    first = Path(connector.save_draft(draft()))
    edited = first.with_name(first.name.replace(":2,DS", ":2,DFS"))
    first.rename(edited)

    again = connector.save_draft(draft())

    assert again == str(edited)
    assert len(list((maildir / ".Drafts" / "cur").iterdir())) == 1


def test_custom_drafts_folder(maildir: Path):
    connector = MaildirConnector(ADDRESS, maildir, drafts_folder=".Utkast")
    where = Path(connector.save_draft(draft()))
    assert where.parent == maildir / ".Utkast" / "cur"
    assert not (maildir / ".Drafts").exists()


# --------------------------------------------------------------------------- subjects


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Snöröjningen på Björkvägen", "SV: Snöröjningen på Björkvägen"),
        ("Re: x", "SV: x"),
        ("SV: x", "SV: x"),
        ("Re: SV: Ang. x", "SV: x"),
        ("RE: Sv: SVAR: re: x", "SV: x"),
        ("Ang: faktura", "SV: faktura"),
        ("  Re:   Inget svar från er!  ", "SV: Inget svar från er!"),
        ("", "SV: Ditt meddelande"),
        ("   ", "SV: Ditt meddelande"),
        ("Re: ", "SV: Ditt meddelande"),
        ("SV: SV:", "SV: Ditt meddelande"),
    ],
)
def test_reply_subject(subject: str, expected: str):
    assert reply_subject(subject) == expected


def test_reply_subject_keeps_words_that_only_start_like_a_prefix():
    assert reply_subject("Svartån svämmar över") == "SV: Svartån svämmar över"
    assert reply_subject("Angående snöröjningen") == "SV: Angående snöröjningen"
