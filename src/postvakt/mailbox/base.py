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

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr
from typing import Any, Literal, Protocol, runtime_checkable

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
    which the IDLE connection is closed and ``idle_open`` starts afresh."""

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


def _mailbox_header(name: str | None, address: str) -> str:
    ascii_address = draft_recipient(address)
    return formataddr((one_line(name), ascii_address or ""), charset="utf-8")


def build_draft_mime(draft: DraftReply) -> bytes:
    """The draft as RFC 5322 bytes: a text body, the attachments, threaded as a reply.

    An empty ``to_address`` gives a draft without ``To:`` (a person writes the recipient);
    an internationalised domain is written as punycode; names and the subject are put on
    one line.  Raises :class:`AddressError` for a non-empty address that has no header form
    (the draft step stores such a draft without a recipient, so this is a programmer's
    error).  Message-IDs that cannot go in a header are left out of the threading headers.

    Built with the compat32 MIME classes: the same standard result as ``EmailMessage``
    at less than half the cost, which matters when thousands of drafts are written.
    """
    msg: Message = MIMEMultipart() if draft.attachments else MIMEText(draft.text, "plain", "utf-8")
    msg["From"] = _mailbox_header(draft.from_name, draft.from_address)
    if draft.to_address:
        msg["To"] = _mailbox_header(draft.to_name, draft.to_address)
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
            # RFC 2231 keeps å, ä, ö in the file name.
            part.add_header(
                "Content-Disposition", "attachment", filename=("utf-8", "", attachment.filename)
            )
            msg.attach(part)
    return msg.as_bytes()


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
