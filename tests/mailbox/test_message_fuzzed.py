"""Parsing regressions found by the fuzzer (tests/support/fuzz.py), each minimised to its shape."""

from __future__ import annotations

import base64

from postvakt.mailbox.message import parse_message
from postvakt.mailbox.nesting import NESTING_BUDGET

LINE = (
    b"Jag vill klaga p\xc3\xa5 sn\xc3\xb6r\xc3\xb6jningen p\xc3\xa5 Bj\xc3\xb6rkv\xc3\xa4gen.\r\n"
)
HEAD = (
    b"From: Karin Ek <karin.ek@example.net>\r\nTo: kontakt@testby.se\r\n"
    b"Subject: Klagom\xc3\xa5l\r\nMessage-ID: <djup@example.net>\r\nMIME-Version: 1.0\r\n"
)


def nested(depth: int, body: bytes, *, closed: bool = True) -> bytes:
    """``body`` as a text part ``depth`` multiparts deep."""
    part = b'Content-Type: text/plain; charset="utf-8"\r\n\r\n' + body
    for level in range(depth):
        boundary = b"niva-%d" % level
        close = b"\r\n--" + boundary + b"--\r\n" if closed else b""
        part = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + part + close
        )
    return HEAD + part


def test_20_mb_of_text_50_multiparts_deep_is_read_within_the_budget() -> None:
    """The standard library's parser tests each line against every open boundary: 20 MB of
    text 50 deep cost 60 million tests (half a minute) for one message.  Now its structure is
    read only as far as the budget goes, and the message says so."""
    lines = 20 * 1024 * 1024 // len(LINE)
    raw = nested(50, LINE * lines, closed=False)
    msg = parse_message(raw)
    (cut,) = [d for d in msg.defects if "nested too deep" in d]
    assert f"of {len(raw)} bytes" in cut
    assert msg.body_text.startswith("Jag vill klaga på snöröjningen på Björkvägen.")
    read = msg.body_text.count("Björkvägen")
    assert 0 < read * 50 <= NESTING_BUDGET  # as many lines as the budget allows, no more
    assert msg.sender is not None and msg.sender.address == "karin.ek@example.net"


def test_a_big_attachment_in_an_ordinary_nesting_is_read_whole() -> None:
    """Ten multiparts deep (a forwarded Outlook message) with a 20 MB attachment stays under
    the budget: its structure is read to the end and the attachment is listed."""
    blob = base64.encodebytes(bytes(range(256)) * (15 * 1024 * 1024 // 256))
    with_attachment = (
        b'Content-Type: multipart/mixed; boundary="bilaga"\r\n\r\n'
        b'--bilaga\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\nHej!\r\n'
        b"--bilaga\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="ritning.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + blob + b"--bilaga--\r\n"
    )
    text = b'Content-Type: text/plain; charset="utf-8"\r\n\r\nx'
    raw = nested(9, b"x").replace(text, with_attachment)
    msg = parse_message(raw)
    assert not [d for d in msg.defects if "nested too deep" in d]
    assert [(a.filename, a.size) for a in msg.attachments] == [("ritning.pdf", 15 * 1024 * 1024)]


def simple(*headers: bytes) -> bytes:
    return (
        b"\r\n".join(headers) + b"\r\n\r\nJag vill klaga p\xc3\xa5 sn\xc3\xb6r\xc3\xb6jningen.\r\n"
    )


def test_an_encoded_word_that_decodes_to_nul_leaves_no_nul() -> None:
    """PostgreSQL's text columns refuse NUL: the case could not be registered (failed store)."""
    msg = parse_message(
        simple(
            b"From: =?utf-8?q?Kalle=00Anka?= <k@example.net>",
            b"Subject: Klagom=?utf-8?q?=C3=A5l?= =?utf-8?b?S2FsbGUAQW5rYQ==?=",
            b"Message-ID: <n@example.net>",
        )
    )
    assert "\x00" not in msg.subject and msg.subject == "KlagomålKalleAnka"
    assert msg.sender is not None and "\x00" not in msg.sender.name
    assert all("\x00" not in value for _name, value in msg.headers)
    assert "header Subject: NUL characters removed" in msg.defects


def test_a_message_id_too_long_for_any_column_is_not_taken() -> None:
    """A 100,000-character Message-ID (the database keeps 998) failed the case's insert."""
    msg = parse_message(simple(b"From: k@example.net", b"Message-ID: <" + b"m" * 100_000 + b"@x>"))
    assert msg.message_id.endswith("@postvakt.invalid") and len(msg.message_id) < 100
    assert any("over 250 characters" in d for d in msg.defects)
    same = parse_message(simple(b"From: k@example.net", b"Message-ID: <" + b"m" * 100_000 + b"@x>"))
    assert same.message_id == msg.message_id  # derived from the content: stable


def test_a_references_header_of_a_hundred_thousand_ids_is_read_in_part() -> None:
    """Looking up 125,000 thread IDs is one query with 125,000 parameters: PostgreSQL's driver
    refuses it and the whole pass stopped, for every mailbox after it."""
    ids = b" ".join(b"<%d@example.net>" % i for i in range(125_000))
    msg = parse_message(
        simple(b"From: k@example.net", b"Message-ID: <r@example.net>", b"References: " + ids)
    )
    assert len(msg.references) == 100
    assert msg.references[0] == "0@example.net" and msg.references[-1] == "124999@example.net"
    assert "header References: 125000 Message-IDs; 100 read" in msg.defects


def test_an_address_longer_than_any_address_is_left_out() -> None:
    msg = parse_message(
        simple(
            b"From: <" + b"a" * 2_000_000 + b"@example.net>",
            b"Reply-To: Karin <karin@example.net>",
            b"Message-ID: <l@example.net>",
        )
    )
    assert msg.sender is None
    assert msg.reply_address is not None and msg.reply_address.address == "karin@example.net"
    assert any("an address of 2000012 characters left out" in d for d in msg.defects)
