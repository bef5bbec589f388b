"""The connector protocol every mail system implements, and the values that cross it.

A connector reads a mailbox *in place*: it never deletes, moves or marks user mail as read.
It yields what is new since a saved sync state; the intake commits each message and only
then stores the state the connector attached to it (or to a :class:`Checkpoint`), so a
crash re-reads at most the message in hand, and the database's unique keys make that
harmless.

Capabilities beyond reading and drafting (opened-today evidence, out-of-office, access
grants) are separate narrow protocols, so a connector declares what it can do by what it
implements.
"""

from __future__ import annotations

import re
import secrets
from binascii import b2a_base64
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import quote

from postvakt.mailbox.addresses import AddressError, draft_recipient, header_message_id, one_line

__all__ = [
    "DRAFT_MARKER",
    "Checkpoint",
    "Connector",
    "DraftAttachment",
    "DraftReply",
    "FetchedMessage",
    "FolderRole",
    "IsKnown",
    "OpenedEvidence",
    "OutOfOffice",
    "SupportsAccessGrants",
    "SupportsCompanion",
    "SupportsCountBefore",
    "SupportsDraftRemoval",
    "SupportsIdle",
    "SupportsIdleSocket",
    "SupportsOpenedEvidence",
    "SupportsOutOfOffice",
    "SupportsProbe",
    "build_draft_mime",
    "may_have_news",
    "own_draft_id",
    "reply_subject",
]

FolderRole = Literal["inbox", "sent"]
DRAFT_MARKER = ("X-Postvakt-Draft", "yes")
"""The header field (name, value) on every draft Postvakt writes: only such drafts are its own."""
IsKnown = Callable[[str], bool]
"""Tells a connector whether a message key in the folder at hand was already processed."""


@dataclass(frozen=True)
class FetchedMessage:
    """One message read from a folder, with the sync state to keep once it is committed."""

    folder: str
    key: str
    """Where the message is, unique within (mailbox, folder): ``UIDVALIDITY:UID`` on IMAP, the
    store's item id on EWS and Graph (Graph's immutable id), the unique file name in a Maildir.
    Never the Message-ID: senders reuse those, and two messages are never one record.  The
    same message seen at another place is recognised by the intake (Message-ID and content)."""
    raw: bytes
    received_at: datetime | None
    """When the message reached the mailbox (Maildir mtime, IMAP INTERNALDATE): the arrival stamp."""
    state: Mapping[str, Any] | None = None
    """The folder's sync state after this message; None when it does not change."""


@dataclass(frozen=True)
class Checkpoint:
    """A new sync state for ``folder`` with no message attached (e.g. after skipped messages)."""

    folder: str
    state: Mapping[str, Any]


@dataclass(frozen=True)
class DraftAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class DraftReply:
    """A reply draft.  ``message_id`` is deterministic, so saving twice saves once."""

    message_id: str
    from_address: str
    from_name: str | None
    to_address: str
    to_name: str | None
    subject: str
    text: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[DraftAttachment, ...] = field(default=())
    date: datetime | None = None


@runtime_checkable
class Connector(Protocol):
    """What the intake needs from a mail system."""

    address: str

    def folders(self, role: FolderRole) -> list[str]:
        """The folders watched for ``role``: citizen mail ('inbox') or sent replies ('sent')."""
        ...

    def fetch_new(
        self, folder: str, state: Mapping[str, Any] | None, is_known: IsKnown
    ) -> Iterator[FetchedMessage | Checkpoint]:
        """Messages in ``folder`` that are new since ``state``, oldest first.

        Must not change anything the mailbox's owner sees.  May yield messages that are
        known (the intake skips them) but should use ``is_known`` to avoid reading them.
        """
        ...

    def fetch_one(self, folder: str, key: str) -> FetchedMessage | None:
        """The message at ``key`` in ``folder`` (a :attr:`FetchedMessage.key`) read again, or
        None when it is no longer there.

        Changes nothing the mailbox's owner sees (no ``\\Seen``).  None also for a key that
        no longer points where it did (IMAP: UIDVALIDITY changed) and for a key stored hashed
        (``sha256:…``, see :func:`postvakt.mailbox.identity.location_key`): a hash cannot be
        turned back into the store's id.  ``state`` of the result is None.
        """
        ...

    def save_draft(self, draft: DraftReply) -> str:
        """Place ``draft`` in the mailbox's Drafts folder unless a draft with its
        Message-ID is already there; return where it is (a path or folder/uid)."""
        ...

    def save_drafts(self, drafts: Sequence[DraftReply]) -> list[str]:
        """:meth:`save_draft` for several drafts at once (one round trip where the server can)."""
        ...

    def close(self) -> None:
        """Release connections.  The connector may be used again afterwards (it reconnects)."""
        ...


@runtime_checkable
class SupportsProbe(Protocol):
    def probe(self, folder: str, state: Mapping[str, Any] | None) -> bool:
        """Whether :meth:`Connector.fetch_new` on ``folder`` from ``state`` may yield anything
        (a message or a new sync state); False only when it certainly would not.

        One cheap look (IMAP: one STATUS; Maildir: the folder listing's modification times),
        read-only like ``fetch_new``.  Lets a pass over many mailboxes skip the ones where
        nothing happened without reading them or touching the database.  Raises
        :class:`~postvakt.errors.ConnectorError` like ``fetch_new``.
        """
        ...


def may_have_news(connector: Connector, folder: str, state: Mapping[str, Any] | None) -> bool:
    """:meth:`SupportsProbe.probe` where the connector has it; True (read the folder) where it
    has not: the safe default for EWS, Graph and any connector without a cheap probe."""
    if isinstance(connector, SupportsProbe):
        return connector.probe(folder, state)
    return True


@runtime_checkable
class SupportsCompanion(Protocol):
    def companion(self) -> Connector:
        """Another connector to the same mailbox with a connection of its own, usable from
        another thread while this one is in use; closed by the caller.  Lets a pass place
        its drafts while it reads on (the drafts' round trips overlap the reading)."""
        ...


@runtime_checkable
class SupportsDraftRemoval(Protocol):
    def remove_drafts(self, message_ids: Sequence[str]) -> list[str]:
        """Remove Postvakt's own drafts with these Message-IDs from the Drafts folder; return
        the Message-IDs of the drafts removed.

        Only in the Drafts folder, and only a message whose Message-ID is exactly one of
        ``message_ids`` *and* that carries :data:`DRAFT_MARKER`: a person's draft with the same
        Message-ID, or any other message, is never touched.  A Message-ID not found there
        (the person deleted or sent the draft) is left out of the answer, not an error.
        Raises :class:`~postvakt.errors.ConnectorError` when the server fails or cannot
        remove safely; a draft removed before the failure is simply absent on the next call.
        """
        ...


@dataclass(frozen=True)
class OpenedEvidence:
    """What a mail system tells about whether a mailbox was opened on a day."""

    changed_today: int
    """Messages whose flags (read, answered, flagged) changed since the day began."""
    last_login: datetime | None
    """The owner's own last login, where the server publishes it."""
    unread_from_before: int
    """Unread messages that had arrived before the day began."""


@runtime_checkable
class SupportsOpenedEvidence(Protocol):
    def opened_evidence(self, folder: str, state: Mapping[str, Any] | None) -> OpenedEvidence:
        """Evidence for today, using the day's baseline kept in the folder's sync state."""
        ...


@runtime_checkable
class SupportsIdle(Protocol):
    def wait_for_new(self, folder: str, timeout: float) -> bool:
        """Block up to ``timeout`` seconds until the server reports new mail; True if it did.

        Uses a connection of its own, so passes are not held up."""
        ...


@runtime_checkable
class SupportsIdleSocket(Protocol):
    """IDLE that one event loop can watch for many mailboxes, with no thread per mailbox.

    ``idle_open`` and ``idle_renew`` block for their round trips (the loop runs them on a
    small pool); ``idle_read`` never waits (the loop calls it when the descriptor is
    readable).  Each raises :class:`~postvakt.errors.ConnectorError` on failure, after
    which the IDLE connection is closed and ``idle_open`` starts afresh.  ``idle_close``
    may come from another thread while ``idle_open`` or ``idle_renew`` waits for the
    server: it should make them return at once (stopping must not wait out a timeout)."""

    def idle_open(self, folder: str) -> int:
        """Open the IDLE connection on ``folder``; the file descriptor to select on."""
        ...

    def idle_read(self) -> bool | None:
        """True: new mail; False: other news; None: readable but nothing read (ask
        ``idle_renew``, which fails on a connection the server has closed)."""
        ...

    def idle_renew(self) -> bool:
        """End the IDLE and start it again; True when new mail was reported meanwhile."""
        ...

    def idle_close(self) -> None: ...


@runtime_checkable
class SupportsCountBefore(Protocol):
    def count_before(self, folder: str, moment: datetime) -> int:
        """How many messages in ``folder`` arrived before ``moment`` (by the arrival stamp the
        intake uses: Maildir mtime, IMAP INTERNALDATE, Exchange's received time).  Reads only;
        ``check-config`` and ``run`` tell what lies before a mailbox's ``start_from``."""
        ...


@runtime_checkable
class SupportsAccessGrants(Protocol):
    def grant_access(self, folder: str, who: str, rights: str) -> None:
        """Give ``who`` the ``rights`` on ``folder`` (RFC 4314 letters on IMAP)."""
        ...

    def remove_access(self, folder: str, who: str) -> None: ...

    def access(self, folder: str) -> dict[str, str]:
        """Who has which rights on ``folder``."""
        ...


@dataclass(frozen=True)
class OutOfOffice:
    """An automatic reply for a period (``end`` None: until cleared)."""

    start: date
    end: date | None
    subject: str
    text: str
    private_folder: str | None = field(default=None, compare=False)
    """While the reply is in force, file mail marked private here, out of the delegate's sight
    (Sieve; Exchange keeps private items from delegates by itself)."""
    private_marker: str | None = field(default=None, compare=False)
    """The organisation's marker of private mail in a subject, besides ``Sensitivity: Private``."""


@runtime_checkable
class SupportsOutOfOffice(Protocol):
    def set_out_of_office(self, reply: OutOfOffice) -> None: ...

    def clear_out_of_office(self) -> None: ...

    def out_of_office(self) -> OutOfOffice | None:
        """The automatic reply Postvakt or the person has set, if any."""
        ...


_REPLY_PREFIX = ("sv:", "re:", "svar:", "ang:", "ang.")


def reply_subject(subject: str) -> str:
    """'SV: <subject>' without piling prefixes: 'Re: x' -> 'SV: x'."""
    text = subject.strip()
    changed = True
    while changed:
        changed = False
        for prefix in _REPLY_PREFIX:
            if text.lower().startswith(prefix):
                text = text[len(prefix) :].strip()
                changed = True
    return f"SV: {text}" if text else "SV: Ditt meddelande"


# -- the draft as bytes ----------------------------------------------------------------
# Written directly rather than through email.generator: the structure never varies, and the
# generator's header folding cost more than everything else in writing a draft.  Lines end in
# LF, as the generator wrote them (Maildir files keep LF; IMAP servers take it in APPEND).

_LINE = 78  # RFC 5322's recommended line length, folding included
_EW_BYTES = 45  # UTF-8 bytes per encoded-word: =?utf-8?b?<60 base64 chars>?= is 72 chars
_EW_FIRST_SUBJECT = 42  # 'Subject: ' plus a 68-char encoded-word fits one line
_LONG_WORD = 70  # a word longer than this is encoded, so it can be split over lines
_B64_LINE = 76  # RFC 2045's base64 line length
_PARAM_CHUNK = 54  # percent-encoded characters per RFC 2231 section
# An atom (RFC 5322 atext) can stand in a display name as it is; anything else is quoted
# (ASCII) or encoded (RFC 2047).  email.utils.formataddr's rules for quoting.
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_ESCAPES = re.compile(r'[\\"]')
# A MIME subtype (RFC 6838 restricted-name): nothing that could end the header or add a field.
_SUBTYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
# One character of a percent-encoded UTF-8 string: a byte, then its continuation bytes.
_QUOTED_CHAR = re.compile(r"(?:%[0-9A-F]{2}|[^%])(?:%[89AB][0-9A-F])*")


def _fold(name: str, value: str) -> str:
    """``name: value`` as header lines of at most 78 characters, folded before a space
    (the only fold that unfolds to the same value); a single word longer than a line stays
    whole."""
    line = f"{name}: {value}"
    if len(line) <= _LINE:
        return line + "\n"
    lines = []
    current = name + ":"
    for word in value.split(" "):
        if len(current) + 1 + len(word) > _LINE and current.strip():
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return "\n".join(lines) + "\n"


def _encoded_words(text: str, first: int = _EW_BYTES) -> list[str]:
    """``text`` as RFC 2047 encoded-words (UTF-8, base64) of at most 75 characters each,
    split between characters, never inside one; the first holds at most ``first`` bytes."""
    data = text.encode("utf-8")
    words = []
    start, size, limit = 0, len(data), first
    while start < size:
        end = start + limit
        if end < size:
            while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back to its start
                end -= 1
        payload = b2a_base64(data[start:end], newline=False).decode("ascii")
        words.append(f"=?utf-8?b?{payload}?=")
        start, limit = end, _EW_BYTES
    return words


def _plain(text: str) -> bool:
    """Whether ``text`` (one line) can be written as it is: ASCII, nothing a reader would
    take for an encoded-word, and every word short enough to fold."""
    return (
        text.isascii()
        and "=?" not in text
        and all(len(word) <= _LONG_WORD for word in text.split(" "))
    )


def _phrase(name: str) -> str:
    """A display name as a header phrase: as it is, quoted, or in encoded-words.

    Plain ASCII words stay readable between the encoded runs; a run of words that need
    encoding goes into as few encoded-words as possible, so that two encoded-words are
    next to each other only in a run longer than one can hold (parsers disagree about the
    space between two: RFC 2047 drops it, CPython's ``policy.default`` keeps it).
    """
    if _plain(name):
        if _SPECIALS.search(name):
            return '"' + _ESCAPES.sub(r"\\\g<0>", name) + '"'
        return name
    out: list[str] = []
    run: list[str] = []
    for word in name.split(" "):
        if len(word) <= _LONG_WORD and "=?" not in word and _ATOM.fullmatch(word):
            if run:
                out += _encoded_words(" ".join(run))
                run = []
            out.append(word)
        else:
            run.append(word)
    if run:
        out += _encoded_words(" ".join(run))
    return " ".join(out)


def _mailbox_header(name: str | None, address: str) -> str:
    ascii_address = draft_recipient(address) or ""
    display = one_line(name)
    return f"{_phrase(display)} <{ascii_address}>" if display else ascii_address


def _subject_header(subject: str) -> str:
    text = one_line(subject)
    if _plain(text):
        return _fold("Subject", text)
    return "Subject: " + "\n ".join(_encoded_words(text, _EW_FIRST_SUBJECT)) + "\n"


def _base64_lines(data: bytes) -> bytes:
    """``data`` in base64, 76 characters a line, each line ending in LF."""
    encoded = b2a_base64(data, newline=False)
    lines = [encoded[i : i + _B64_LINE] for i in range(0, len(encoded), _B64_LINE)]
    lines.append(b"")  # the last line's LF (none at all for no data)
    return b"\n".join(lines)


def _disposition(filename: str) -> str:
    """The Content-Disposition of an attachment named ``filename``: RFC 2231 keeps å, ä, ö
    in the name, and a long name is split into numbered sections (between characters,
    since a reader decodes each section by itself)."""
    value = quote(filename, safe="")
    if len(value) <= _PARAM_CHUNK:
        return f"Content-Disposition: attachment;\n filename*=utf-8''{value}\n"
    sections: list[str] = []
    current = ""
    for char in _QUOTED_CHAR.findall(value):
        if len(current) + len(char) > _PARAM_CHUNK:
            sections.append(current)
            current = ""
        current += char
    sections.append(current)
    params = [f"filename*0*=utf-8''{sections[0]}"]
    params += [f"filename*{n}*={section}" for n, section in enumerate(sections[1:], 1)]
    return "Content-Disposition: attachment;\n " + ";\n ".join(params) + "\n"


def build_draft_mime(draft: DraftReply) -> bytes:
    """The draft as RFC 5322 bytes: a text body, the attachments, threaded as a reply.

    An empty ``to_address`` gives a draft without ``To:`` (a person writes the recipient);
    an internationalised domain is written as punycode; names and the subject are put on
    one line, in RFC 2047 encoded-words when they are not plain ASCII, and header lines are
    folded to 78 characters wherever there is a space to fold at.  Raises
    :class:`AddressError` for a non-empty address that has no header form (the draft step
    stores such a draft without a recipient, so this is a programmer's error).  Message-IDs
    that cannot go in a header are left out of the threading headers.

    The text is a ``text/plain`` UTF-8 part; with attachments the message is
    ``multipart/mixed`` (the text first), each attachment ``application/<subtype of its
    content type>`` with its file name in RFC 2231 form.  Every part is base64, lines end
    in LF.  Raises :class:`ValueError` for a content type without a valid subtype (a
    programmer's error).
    """
    own_id = header_message_id(draft.message_id)
    if own_id is None:
        raise AddressError(f"the draft's Message-ID {draft.message_id!r} cannot be written")
    head = [_fold("From", _mailbox_header(draft.from_name, draft.from_address))]
    if draft.to_address:
        head.append(_fold("To", _mailbox_header(draft.to_name, draft.to_address)))
    head.append(_subject_header(draft.subject))
    if draft.date is not None:
        head.append(f"Date: {format_datetime(draft.date)}\n")
    head.append(_fold("Message-ID", f"<{own_id}>"))
    in_reply_to = header_message_id(draft.in_reply_to) if draft.in_reply_to else None
    if in_reply_to:
        head.append(_fold("In-Reply-To", f"<{in_reply_to}>"))
    refs = [r for r in map(header_message_id, draft.references) if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if refs:
        head.append(_fold("References", " ".join(f"<{r}>" for r in refs)))
    head.append(f"{DRAFT_MARKER[0]}: {DRAFT_MARKER[1]}\n")
    head.append("MIME-Version: 1.0\n")
    text_type = 'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: base64\n'
    text = _base64_lines(draft.text.encode("utf-8"))
    if not draft.attachments:
        head += [text_type, "\n"]
        return "".join(head).encode("ascii") + text
    # No line of a base64 part can start with '-', so no part can hold a delimiter line; the
    # random part keeps the boundary apart from those of a message this one is quoted in.
    boundary = "=_" + secrets.token_hex(12)
    head += [f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n']
    head += [f"--{boundary}\n", text_type, "\n"]
    parts = ["".join(head).encode("ascii"), text]
    for attachment in draft.attachments:
        _maintype, _, subtype = attachment.content_type.partition("/")
        if not _SUBTYPE.fullmatch(subtype):
            raise ValueError(
                f"the attachment's content type {attachment.content_type!r} is not one"
            )
        part_head = (
            f"\n--{boundary}\n"
            + _fold("Content-Type", f"application/{subtype}")
            + "Content-Transfer-Encoding: base64\n"
            + _disposition(attachment.filename)
            + "\n"
        )
        parts += [part_head.encode("ascii"), _base64_lines(attachment.data)]
    parts.append(f"\n--{boundary}--\n".encode("ascii"))
    return b"".join(parts)


def own_draft_id(head: bytes, wanted: Collection[str]) -> str | None:
    """The Message-ID (without brackets) of a message whose header ``head`` shows it as
    Postvakt's own draft with one of the ``wanted`` Message-IDs; None for any other message.

    Own means: exactly one Message-ID field, equal to ``<id>`` for an id in ``wanted``
    (exactly, case included: a person's Message-ID that merely contains it is not it), and the
    marker field :data:`DRAFT_MARKER` saying ``yes``.  ``head`` may be the whole message or
    only some header fields (``BODY.PEEK[HEADER.FIELDS (...)]``).
    """
    parsed = BytesHeaderParser().parsebytes(head)
    ids = parsed.get_all("Message-ID") or []
    markers = parsed.get_all(DRAFT_MARKER[0]) or []
    if len(ids) != 1 or not markers:
        return None
    if any(str(m).strip().lower() != DRAFT_MARKER[1] for m in markers):
        return None
    value = "".join(str(ids[0]).split())
    if not (value.startswith("<") and value.endswith(">")):
        return None
    found = value[1:-1]
    return found if found in wanted else None
