"""build_draft_mime writes the draft's bytes directly; these tests hold it to the message the
email package's compat32 classes built before (kept here, only as the reference) and to the
rules of RFC 5322, 2045, 2047 and 2231 that the old builder did not always keep."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.header import Header, decode_header, make_header
from email.message import EmailMessage, Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, getaddresses
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from postvakt.mailbox.addresses import (
    AddressError,
    draft_recipient,
    header_address,
    header_message_id,
    one_line,
)
from postvakt.mailbox.base import (
    DRAFT_MARKER,
    DraftAttachment,
    DraftReply,
    build_draft_mime,
    own_draft_id,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
ADJACENT_WORDS = re.compile(r"\?=\s+=\?")


# -- the reference: the builder as it was, on the compat32 MIME classes ----------------------


def _old_mailbox_header(name: str | None, address: str) -> str:
    return formataddr((one_line(name), draft_recipient(address) or ""), charset="utf-8")


def old_build_draft_mime(draft: DraftReply) -> bytes:
    msg: Message = MIMEMultipart() if draft.attachments else MIMEText(draft.text, "plain", "utf-8")
    msg["From"] = _old_mailbox_header(draft.from_name, draft.from_address)
    if draft.to_address:
        msg["To"] = _old_mailbox_header(draft.to_name, draft.to_address)
    subject = one_line(draft.subject)
    msg["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    own_id = header_message_id(draft.message_id)
    if own_id is None:
        raise AddressError(f"the draft's Message-ID {draft.message_id!r} cannot be written")
    msg["Message-ID"] = f"<{own_id}>"
    if draft.date is not None:
        msg["Date"] = format_datetime(draft.date)
    in_reply_to = header_message_id(draft.in_reply_to) if draft.in_reply_to else None
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    refs = [r for r in map(header_message_id, draft.references) if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    msg[DRAFT_MARKER[0]] = DRAFT_MARKER[1]
    if draft.attachments:
        msg.attach(MIMEText(draft.text, "plain", "utf-8"))
        for attachment in draft.attachments:
            _maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEApplication(attachment.data, subtype)
            part.add_header(
                "Content-Disposition", "attachment", filename=("utf-8", "", attachment.filename)
            )
            msg.attach(part)
    return msg.as_bytes()


# -- reading a draft back ---------------------------------------------------------------


def parse(raw: bytes) -> EmailMessage:
    """The message as the modern parser reads it, after checking it reads with no defect."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    for part in msg.walk():
        assert part.defects == [], part.defects
        for name, value in part.items():
            assert getattr(value, "defects", ()) == (), (name, value.defects)
    return msg


def display_name(raw_value: str) -> tuple[str, str]:
    """(display name, address) of a mailbox header decoded as RFC 2047 says: the space
    between two adjacent encoded-words is dropped.  CPython's policy.default keeps it
    (python/cpython#128110), so the name is decoded with the compat32 helpers."""
    ((name, address),) = getaddresses([raw_value])
    return str(make_header(decode_header(name))), address


def view(raw: bytes) -> dict[str, Any]:
    """What a reader of the draft sees: every header decoded, the text, the attachments."""
    msg = parse(raw)
    compat = email.message_from_bytes(raw, policy=email.policy.compat32)
    seen: dict[str, Any] = {}
    for field in ("From", "To"):
        if field in msg:
            seen[field] = display_name(str(compat[field]))
            (address,) = msg[field].addresses
            seen[field + " address"] = address.addr_spec
    for field in ("Subject", "Date", "Message-ID", "In-Reply-To", "References"):
        if field in msg:
            seen[field] = " ".join(str(msg[field]).split())
    seen["marker"] = msg.get_all(DRAFT_MARKER[0])
    seen["MIME-Version"] = str(msg["MIME-Version"])
    seen["type"] = msg.get_content_type()
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    seen["text"] = (body.get_content_type(), body.get_content_charset(), body.get_content())
    seen["text bytes"] = body.get_payload(decode=True)
    seen["attachments"] = [
        (part.get_content_type(), part.get_filename(), part.get_payload(decode=True))
        for part in msg.iter_attachments()
    ]
    return seen


def check_lines(raw: bytes) -> None:
    """RFC 5322 line lengths: none over 998; over 78 only a word with nowhere to fold; every
    encoded-word at most 75 characters (RFC 2047); every line ends in LF (no CR, as ever)."""
    assert raw.endswith(b"\n")
    assert b"\r" not in raw
    for line in raw.split(b"\n"):
        assert len(line) <= 998
        if len(line) > 78:
            assert b" " not in line.lstrip(b" "), line
    head = raw.split(b"\n\n", 1)[0]
    for word in ENCODED_WORD.findall(head):
        assert len(word) <= 75, word


# -- many drafts ------------------------------------------------------------------------

NAMES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "Registrator, Västerås kommun",
            'Kalle "Kalle" Åström',
            "Åsa Öberg-Ängström",
            "O'Brien, Seán (Överförmyndarnämnden)",
            "Back\\slash Ärlig",
            "🙂 Glad Medborgare 🎉",
            "Kontaktcenter Testby kommun",
            "Socialförvaltningen Individ- och familjeomsorgen Västra distriktet " * 3,
            "Ä" * 90,
            "x" * 120,
            "a" * 70 + " " + "ö" * 40,
        ]
    ),
    st.text(max_size=150),
    st.text(alphabet="aåäöAÅÄÖ ,.\"'()<>@:;\\-🙂é", max_size=150),
)
SUBJECTS = st.one_of(
    st.sampled_from(
        [
            "SV: Snöröjningen på Björkvägen",
            "SV: Ditt meddelande",
            "Klagomål: " + "mycket lång ämnesrad om gatubelysningen på Storgatan " * 7,
            "Re: " + "x" * 320,
            "SV: 🙂🎉 tack!",
            'Ang. "bygglov", ärende 2026/17; (fråga)',
        ]
    ),
    st.text(max_size=400),
    st.text(alphabet='abc åäöÅÄÖ,"🙂\t\n', max_size=400),
)
ADDRESSES = st.sampled_from(
    [
        "registrator@testby.se",
        "kalle@räksmörgås.se",
        "info@xn--rksmrgs-5wao1o.se",
        "Goran.Sjoberg+svar@telia.com",
        "a@" + "b" * 60 + ".example.se",
    ]
)
MESSAGE_IDS = st.sampled_from(
    [
        "postvakt.reply.0123456789abcdef01234567@testby.se",
        "5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com",
        "AM0PR07MB1234567890ABCDEF1234567890@AM0PR07MB1234.eurprd07.prod.outlook.com",
        "kalle@räksmörgås.se",
        "x" * 200 + "@example.se",
        "bad id with spaces",
        "<in@brackets>",
        "källe@example.se",
        "",
    ]
)
CONTENT_TYPES = st.sampled_from([DOCX, "application/pdf", "application/octet-stream"])
FILENAMES = st.one_of(
    st.sampled_from(
        [
            "Mottagningsbekräftelse KS 2026-17.docx",
            "svar.docx",
            "Beslut om bygglov för Storgatan 12 – ärende 2026/17 (slutligt).pdf",
            "å" * 200 + ".docx",
            "🙂 glad.docx",
        ]
    ),
    st.text(min_size=1, max_size=120),
)
DATES = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([STOCKHOLM, UTC, timezone(timedelta(hours=-5))]),
    ),
)


@st.composite
def drafts(draw: st.DrawFn) -> DraftReply:
    own_id = draw(MESSAGE_IDS.filter(lambda m: header_message_id(m) is not None))
    attachments = draw(
        st.lists(
            st.builds(DraftAttachment, FILENAMES, CONTENT_TYPES, st.binary(max_size=3000)),
            max_size=3,
        )
    )
    return DraftReply(
        message_id=own_id,
        from_address=draw(ADDRESSES),
        from_name=draw(NAMES),
        to_address=draw(st.one_of(st.just(""), ADDRESSES)),
        to_name=draw(NAMES),
        subject=draw(SUBJECTS),
        text=draw(st.text(max_size=2000)),
        in_reply_to=draw(st.one_of(st.none(), MESSAGE_IDS)),
        references=tuple(draw(st.lists(MESSAGE_IDS, max_size=6))),
        attachments=tuple(attachments),
        date=draw(DATES),
    )


def _no_lookalike(draft: DraftReply) -> bool:
    # The old builder wrote such text as it was, and a reader decoded it: see
    # test_text_that_looks_encoded_stays_as_written.
    return all("=?" not in (t or "") for t in (draft.subject, draft.from_name, draft.to_name))


REALISTIC = DraftReply(
    message_id="postvakt.reply.0123456789abcdef01234567@testby.se",
    from_address="registrator@testby.se",
    from_name="Kontaktcenter Testby kommun",
    to_address="goran.sjoberg@räksmörgås.se",
    to_name="Göran Sjöberg",
    subject="SV: Snöröjningen på Björkvägen",
    text="Hej Göran!\n\nVi har tagit emot ditt klagomål. Bekräftelsen är bifogad.\n",
    in_reply_to="5A0C3E9B41D24F6E8B7A2C1D0E9F8A7B@telia.com",
    references=("earlier.1@telia.com",),
    attachments=(DraftAttachment("Mottagningsbekräftelse KS 2026-17.docx", DOCX, b"PK\x03\x04"),),
    date=datetime(2026, 11, 23, 9, 30, tzinfo=STOCKHOLM),
)


@settings(
    max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(drafts())
@example(REALISTIC)
@example(replace(REALISTIC, attachments=()))
def test_the_draft_reads_as_the_old_builder_wrote_it(draft: DraftReply) -> None:
    assume(_no_lookalike(draft))
    new = build_draft_mime(draft)
    check_lines(new)
    assert view(new) == view(old_build_draft_mime(draft))


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(drafts())
def test_every_header_says_what_the_draft_says(draft: DraftReply) -> None:
    raw = build_draft_mime(draft)
    check_lines(raw)
    msg = parse(raw)
    seen = view(raw)
    assert seen["Subject"] == one_line(draft.subject)
    assert seen["From"] == (one_line(draft.from_name), draft_recipient(draft.from_address))
    if draft.to_address:
        assert seen["To"] == (one_line(draft.to_name), draft_recipient(draft.to_address))
        assert seen["To address"] == draft_recipient(draft.to_address)
    else:
        assert "To" not in msg
    compat = email.message_from_bytes(raw, policy=email.policy.compat32)
    for field, name in (("From", draft.from_name), ("To", draft.to_name)):
        if field in msg and not ADJACENT_WORDS.search(str(compat[field])):
            # The modern parser agrees wherever no two encoded-words stand side by side.
            assert msg[field].addresses[0].display_name == one_line(name)
    written_id = header_message_id(draft.message_id)  # an IDN domain in punycode
    assert written_id is not None
    assert own_draft_id(raw, {written_id}) == written_id
    assert seen["text bytes"] == draft.text.encode("utf-8")
    assert seen["attachments"] == [
        # A reader strips the file name's ends (email.message.Message.get_filename).
        ("application/" + a.content_type.partition("/")[2], a.filename.strip(), a.data)
        for a in draft.attachments
    ]


# -- what the old builder did not keep -------------------------------------------------


@pytest.mark.parametrize("text", ["=?utf-8?q?hej?=", "Svar =?iso-8859-1?b?5Q==?= här"])
def test_text_that_looks_encoded_stays_as_written(text: str) -> None:
    draft = replace(REALISTIC, subject=text, to_name=text)

    seen = view(build_draft_mime(draft))

    assert seen["Subject"] == text
    assert seen["To"][0] == text


def test_a_long_file_name_is_split_into_rfc2231_sections() -> None:
    name = "Beslut i ärende KS 2026/17 " + "ååå äää ööö " * 40 + ".docx"
    draft = replace(REALISTIC, attachments=(DraftAttachment(name, DOCX, b"data"),))

    raw = build_draft_mime(draft)

    check_lines(raw)
    assert b"filename*1*=" in raw
    assert view(raw)["attachments"] == [(DOCX, name, b"data")]


def test_long_names_are_split_into_encoded_words_of_at_most_75() -> None:
    name = "Förvaltningen för Östra Göinges räddningstjänst och vattenvård, Ängelholm"
    draft = replace(REALISTIC, from_name=name, to_name=name)

    raw = build_draft_mime(draft)

    check_lines(raw)
    assert view(raw)["From"] == (name, "registrator@testby.se")
    # The plain words stay readable between the encoded ones.
    assert b" och " in raw.split(b"\n\n", 1)[0]


def test_plain_headers_are_written_as_they_are() -> None:
    draft = replace(REALISTIC, from_name="Testby kommun, Registrator", subject="SV: Hej")

    raw = build_draft_mime(draft)
    head = raw.split(b"\n\n", 1)[0].split(b"\n")

    assert b'From: "Testby kommun, Registrator" <registrator@testby.se>' in head
    assert b"Subject: SV: Hej" in head
    assert b"To: =?utf-8?b?R8O2cmFuIFNqw7ZiZXJn?= <goran.sjoberg@xn--rksmrgs-5wao1o.se>" in head
    assert b"X-Postvakt-Draft: yes" in head
    assert b"Date: Mon, 23 Nov 2026 09:30:00 +0100" in head


def test_an_unwritable_own_message_id_is_an_address_error() -> None:
    draft = replace(REALISTIC, message_id="inte ett id")

    with pytest.raises(AddressError):
        build_draft_mime(draft)
    assert header_address("inte ett id") is None


@pytest.mark.parametrize(
    "content_type", ["application/pdf\nX-Injected: 1", "application/pdfå", "pdf", "application/"]
)
def test_a_content_type_that_is_not_one_is_refused(content_type: str) -> None:
    draft = replace(REALISTIC, attachments=(DraftAttachment("a.pdf", content_type, b"x"),))

    with pytest.raises(ValueError, match="content type"):
        build_draft_mime(draft)


def test_the_boundary_differs_between_drafts_and_never_meets_a_part() -> None:
    first, second = build_draft_mime(REALISTIC), build_draft_mime(REALISTIC)
    boundaries = [parse(raw).get_boundary() or "" for raw in (first, second)]

    assert boundaries[0] != boundaries[1]
    for raw, boundary in zip((first, second), boundaries, strict=True):
        assert raw.count(b"--" + boundary.encode()) == 3  # text, attachment, the end
