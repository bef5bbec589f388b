"""A message is known by where it is; Message-ID and content only recognise the same one again.

Delivered through a real Dovecot and a real Maildir, every message ends as exactly one record:
two messages that share a Message-ID are two, two without one that arrive in the same second
with the same size are two, and a copy of one already seen is a duplicate of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import load_config
from postvakt.mailbox.identity import KEY_LIMIT, content_hash, location_key
from postvakt.mailbox.imap import ImapConnector
from postvakt.registry.models import Case, Disposition, MessageRecord
from postvakt.retry import Backoff, RetryPolicy
from postvakt.service import Service
from tests.support.dovecot import MASTER_ENV, DovecotServer, ImapUser, write_config
from tests.support.workspace import Workspace, citizen_mail

COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
OTHER_COMPLAINT = (
    "Hej,\n\nJag är missnöjd med hur bygglovsenheten hanterade min ansökan: ingen svarade på "
    "tre veckor.\n\nPer Holm\n"
)
EML = Path(__file__).parents[1] / "data" / "eml"


def without_message_id(body: str) -> bytes:
    raw = citizen_mail(body, message_id="<x@x>")
    return b"".join(
        line for line in raw.splitlines(keepends=True) if not line.startswith(b"Message-ID")
    )


# --------------------------------------------------------------------------- the two keys


def test_content_hash_leaves_out_what_servers_add_and_sees_what_the_sender_wrote() -> None:
    raw = citizen_mail(COMPLAINT, message_id="<h@example.net>")
    delivered = (
        b"Return-Path: <karin.ek@example.net>\r\nDelivered-To: kontakt@testby.se\r\n"
        b"Received: from mx.example.net by mail.testby.se; Mon, 23 Nov 2026 09:15:02 +0100\r\n"
        + raw.replace(b"\n", b"\r\n")
    )
    assert content_hash(delivered) == content_hash(raw)
    assert content_hash(raw.replace(b"tre dagar", b"fyra dagar")) != content_hash(raw)
    assert content_hash(raw.replace(b"To: kontakt@", b"To: anna@")) != content_hash(raw)
    assert content_hash(b"") == content_hash(b"")  # never raises, even on nothing


def test_content_hash_of_a_header_folded_over_many_lines_is_linear() -> None:
    # 200,000 continuation lines: joined once (0.1 s here); joined line by line it took minutes.
    folded = b"References: <a@b>\r\n" + b" <y@example.net>\r\n" * 200_000
    raw = b"From: a@example.net\r\n" + folded + b"\r\nText\r\n"
    started = time.process_time()
    assert content_hash(raw) != content_hash(raw.replace(b"Text", b"Test"))
    assert time.process_time() - started < 20


def test_location_keys_are_kept_whole_or_hashed_when_long() -> None:
    assert location_key(1714, 52) == "1714:52"
    exchange_id = "AAMkAGI2" + "x" * 400
    long_key = location_key(exchange_id)
    assert long_key.startswith("sha256:") and len(long_key) <= KEY_LIMIT
    assert location_key(exchange_id) == long_key != location_key(exchange_id.lower())


# --------------------------------------------------------------------------- Dovecot


@pytest.fixture
def imap_service(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser, clock: Clock
) -> Iterator[Service]:
    user = imap_user.name
    config = load_config(write_config(tmp_path, dovecot, user, "function"))

    def factory(mailbox, cfg, env):
        return ImapConnector(
            dovecot.address(user),
            cfg.mailbox(dovecot.address(user)).settings,
            dovecot.master_password,
            clock=clock,
            backoff=Backoff(RetryPolicy(base=0.05, cap=0.2)),
        )

    service = Service(
        config,
        clock=clock,
        environ={MASTER_ENV: dovecot.master_password},
        connector_factory=factory,
    ).open()
    yield service
    service.close()


def records(service: Service) -> list[MessageRecord]:
    assert service.sessions is not None
    with service.sessions() as session:
        return list(session.scalars(select(MessageRecord).order_by(MessageRecord.id)))


def case_count(service: Service) -> int:
    assert service.sessions is not None
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_every_message_delivered_through_dovecot_ends_as_exactly_one_record(
    dovecot: DovecotServer, imap_user: ImapUser, imap_service: Service
) -> None:
    user = imap_user.name
    delivered = 0
    # Two complaints from two people whose programs reused one Message-ID.
    for body, sender in (
        (COMPLAINT, "Karin Ek <karin.ek@example.net>"),
        (OTHER_COMPLAINT, "Per Holm <per.holm@example.org>"),
    ):
        dovecot.deliver(
            user, citizen_mail(body, sender=sender, message_id="<reused@mailer.example>")
        )
        delivered += 1
    # Two messages without Message-ID, the same size, arriving in the same second.
    twins = [without_message_id(f"Fråga {n}: när töms soptunnorna på Ekvägen?\n") for n in (1, 2)]
    assert len(twins[0]) == len(twins[1]) and twins[0] != twins[1]
    same_second = datetime(2026, 11, 23, 9, 15, tzinfo=STOCKHOLM)
    client = dovecot.imap(user)
    try:
        for raw in twins:
            client.append("INBOX", raw, msg_time=same_second)
            delivered += 1
    finally:
        client.logout()
    # The odd mail of the test corpus: broken charsets, MIME, headers.
    for path in sorted(EML.glob("*.eml")):
        dovecot.deliver(user, path.read_bytes())
        delivered += 1

    report = imap_service.run_once()
    assert report.errors == []
    rows = records(imap_service)
    assert len(rows) == len(report.outcomes) == delivered
    assert len({(r.folder, r.message_key) for r in rows}) == delivered
    assert all(r.disposition is not None for r in rows)
    reused = [r for r in rows if r.message_id == "reused@mailer.example"]
    assert [r.disposition for r in reused] == [Disposition.CASE, Disposition.CASE]
    assert reused[0].case_id != reused[1].case_id
    assert reused[0].content_hash != reused[1].content_hash
    nameless = [
        r
        for r in rows
        if r.subject == "Klagomål på snöröjningen" and r.message_id.endswith("@postvakt.invalid")
    ]
    assert len(nameless) == 2 and nameless[0].message_id != nameless[1].message_id
    # A second pass finds nothing new and changes nothing.
    assert imap_service.run_once().outcomes == []
    assert len(records(imap_service)) == delivered


def test_a_copy_into_a_second_watched_folder_is_a_duplicate_not_a_new_case(
    tmp_path: Path, dovecot: DovecotServer, imap_user: ImapUser, clock: Clock
) -> None:
    user = imap_user.name
    raw = citizen_mail(COMPLAINT, message_id="<copied@example.net>")
    dovecot.deliver(user, raw)
    client = dovecot.imap(user)
    try:
        client.create_folder("Klagomal")
    finally:
        client.logout()
    config_path = write_config(tmp_path, dovecot, user, "function")
    with config_path.open("a", encoding="utf-8") as config_file:  # [mailboxes.imap] is last
        config_file.write('folders = ["INBOX", "Klagomal"]\n')
    config = load_config(config_path)
    environ = {MASTER_ENV: dovecot.master_password}
    with Service(config, clock=clock, environ=environ).open() as service:
        first = service.run_once()
        assert [o.disposition for o in first.outcomes] == [Disposition.CASE]
        dovecot.append(user, "Klagomal", raw)  # the owner files a copy
        second = service.run_once()
        assert [(o.folder, o.disposition) for o in second.outcomes] == [
            ("Klagomal", Disposition.DUPLICATE)
        ]
        assert second.outcomes[0].case == first.outcomes[0].case
        assert "redan lästs" in second.outcomes[0].reason
        assert case_count(service) == 1


# --------------------------------------------------------------------------- Maildir


def test_reused_message_ids_in_maildir_are_two_cases_and_a_true_copy_is_one(
    workspace: Workspace, clock: Clock
) -> None:
    first = citizen_mail(COMPLAINT, message_id="<same@mailer.example>")
    second = citizen_mail(
        OTHER_COMPLAINT,
        sender="Per Holm <per.holm@example.org>",
        message_id="<same@mailer.example>",
    )
    workspace.deliver(first, "kontakt", name="1-first")
    workspace.deliver(second, "kontakt", name="2-second")
    # The first one also reached Anna, through another server that added its trace fields.
    workspace.deliver(b"Received: from mx2.example.net by mx.testby.se\n" + first, "anna")
    with Service(load_config(workspace.config_path), clock=clock).open() as service:
        report = service.run_once()
        by_mailbox = sorted(
            (o.mailbox, o.key, o.disposition.value, o.case) for o in report.outcomes
        )
        cases = {o.case for o in report.outcomes if o.disposition is Disposition.CASE}
        assert len(cases) == 2, by_mailbox
        duplicates = [o for o in report.outcomes if o.disposition is Disposition.DUPLICATE]
        assert len(duplicates) == 1 and duplicates[0].mailbox == "anna@testby.se"
        assert duplicates[0].case in cases
        assert case_count(service) == 2
