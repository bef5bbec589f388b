"""The cheap look a sweep takes before reading a folder (``probe``): IMAP and Maildir.

A look says False only when ``fetch_new`` would find nothing; these tests read the folders
for real (Dovecot, a Maildir on disk) and compare the look with what the read then finds.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from postvakt.clock import STOCKHOLM
from postvakt.mailbox.base import FetchedMessage, may_have_news
from postvakt.mailbox.imap import ImapConnector
from postvakt.mailbox.imap_lean import READ_BUFFER
from postvakt.mailbox.maildir import MaildirConnector, deliver
from tests.mailbox.test_imap import connector as imap_connector
from tests.support.dovecot import DovecotServer
from tests.support.workspace import citizen_mail


def read_all(
    connector: ImapConnector | MaildirConnector, state: Mapping[str, Any] | None
) -> tuple[list[str], dict[str, Any] | None]:
    """Everything new in INBOX, and the state a pass would keep afterwards."""
    keys: list[str] = []
    kept = dict(state) if state is not None else None
    for item in connector.fetch_new("INBOX", state, lambda _key: False):
        if isinstance(item, FetchedMessage):
            keys.append(item.key)
        if item.state is not None:
            kept = dict(item.state)
    return keys, kept


def mail(n: int) -> bytes:
    return citizen_mail(f"Hej! Fråga nummer {n}.", subject=f"Fråga {n}", message_id=f"<p{n}@x.se>")


def test_imap_looks_with_one_status_and_says_no_only_when_a_read_finds_nothing(
    dovecot: DovecotServer,
) -> None:
    user = dovecot.add_user()
    day = [datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)]
    imap = imap_connector(dovecot, user, clock=lambda: day[0])
    try:
        assert imap.probe("INBOX", None) is True  # never read
        dovecot.append(user, "INBOX", mail(1))
        keys, state = read_all(imap, None)
        assert len(keys) == 1

        commands = imap.commands
        assert imap.probe("INBOX", state) is False
        assert imap.commands - commands <= 2  # STATUS (after closing the folder a read opened)
        commands = imap.commands
        assert imap.probe("INBOX", state) is False
        assert imap.commands - commands == 1, "one STATUS, nothing else"

        dovecot.append(user, "INBOX", mail(2))
        assert imap.probe("INBOX", state) is True
        keys, state = read_all(imap, state)
        assert len(keys) == 1 and imap.probe("INBOX", state) is False

        day[0] += timedelta(days=1)  # the day's first pass keeps the opened-today baseline
        assert imap.probe("INBOX", state) is True
        keys, state = read_all(imap, state)
        assert keys == [] and imap.probe("INBOX", state) is False
    finally:
        imap.close()


def test_imap_mail_removed_before_it_was_read_is_news_once_and_then_no_more(
    dovecot: DovecotServer,
) -> None:
    user = dovecot.add_user()
    imap = imap_connector(dovecot, user)
    try:
        dovecot.append(user, "INBOX", mail(1))
        _keys, state = read_all(imap, None)
        # Two messages come and are moved away by their owner before Postvakt looks.
        uids = [dovecot.append(user, "INBOX", mail(n)) for n in (2, 3)]
        with dovecot.imap_as_master(user) as owner:
            owner.select_folder("INBOX")
            owner.delete_messages(uids)
            owner.expunge()
        assert imap.probe("INBOX", state) is True
        keys, state = read_all(imap, state)
        assert keys == []
        assert imap.probe("INBOX", state) is False, "the state moved past the removed UIDs"
    finally:
        imap.close()


def touch_back(folder: Path, seconds: float = 60) -> None:
    """Date new/ and cur/ back, as if the last change were a minute ago."""
    for sub in ("new", "cur"):
        then = time.time() - seconds
        os.utime(folder / sub, (then, then))


def test_maildir_looks_at_the_folder_times_and_names(tmp_path: Path) -> None:
    root = tmp_path / "box"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    box = MaildirConnector("kontakt@testby.se", root)
    assert box.probe("INBOX", None) is True  # never read in this process
    deliver(root, mail(1))
    touch_back(root)
    keys, _ = read_all(box, None)
    assert len(keys) == 1
    assert box.probe("INBOX", None) is False

    deliver(root, mail(2))  # a new file: new/ changes
    assert box.probe("INBOX", None) is True
    keys, _ = read_all(box, None)
    assert len(keys) == 2  # (fetch_new reads what is_known does not rule out)
    assert box.probe("INBOX", None) is False  # recent times: the names are compared

    # A mail client reads a message: new/ -> cur/ with a flag.  Same names: no news.
    first = sorted((root / "new").iterdir())[0]
    first.rename(root / "cur" / f"{first.name}:2,S")
    assert box.probe("INBOX", None) is False


def test_maildir_a_read_stopped_half_way_is_still_news(tmp_path: Path) -> None:
    root = tmp_path / "box"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    box = MaildirConnector("kontakt@testby.se", root)
    deliver(root, mail(1))
    deliver(root, mail(2))
    touch_back(root)
    reading = box.fetch_new("INBOX", None, lambda _key: False)
    next(reading)  # the pass stops after the first message (an error, a stop)
    reading.close()
    assert box.probe("INBOX", None) is True


def test_connectors_without_a_look_are_always_read() -> None:
    class Plain:
        address = "x@testby.se"

    assert may_have_news(Plain(), "INBOX", {"anything": 1}) is True  # type: ignore[arg-type]


def test_a_kept_connection_holds_a_small_read_buffer_and_still_reads_large_mail(
    dovecot: DovecotServer,
) -> None:
    user = dovecot.add_user()
    big = citizen_mail("Hej!\n\n" + "Långt brev om snöröjningen. " * 4000, subject="Långt")
    dovecot.append(user, "INBOX", big)
    imap = imap_connector(dovecot, user)
    try:
        (message,) = [
            m
            for m in imap.fetch_new("INBOX", None, lambda _k: False)
            if isinstance(m, FetchedMessage)
        ]
        reader = imap._connection()._imap.file
        # A BufferedReader's size counts its buffer: imaplib's default is 8 KiB.
        assert sys.getsizeof(reader) < READ_BUFFER + 1024
        assert len(message.raw) > 100_000
        assert message.raw.replace(b"\r\n", b"\n") == big.replace(b"\r\n", b"\n")
    finally:
        imap.close()
