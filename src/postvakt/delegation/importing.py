"""Absences read where they already live: the out-of-office replies people set themselves.

``postvakt absence import`` reads each personal mailbox's automatic reply (a Sieve vacation,
Exchange's OofSettings, Graph's automaticRepliesSetting).  A reply in force, or scheduled,
that no absence in Postvakt accounts for becomes a *proposal*: the person, the period, a kind
guessed from the words, and the colleagues the text names (in the order it names them) as
substitutes.  With ``--create`` the proposals are added as absences (source ``imported``),
keeping the person's own text, so nobody types it twice.  Deciding only; adding is
``registry.absences``'.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from postvakt.config import Config
from postvakt.delegation.cover import AbsenceView
from postvakt.errors import PostvaktError
from postvakt.mailbox.base import Connector, OutOfOffice, SupportsOutOfOffice

__all__ = ["Proposal", "guess_kind", "propose"]

log = logging.getLogger("postvakt.delegation")

_KIND_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("slutat", re.compile(r"\b(har slutat|slutat min anställning|no longer work)", re.I)),
    ("föräldraledighet", re.compile(r"\b(föräldraledig|parental leave)", re.I)),
    ("tjänstledighet", re.compile(r"\b(tjänstledig|on leave)", re.I)),
    (
        "tjänsteresa",
        re.compile(r"\b(tjänsteresa|konferens|business trip|travel+ing for work)", re.I),
    ),
    ("sjukdom", re.compile(r"\b(sjuk|sick)", re.I)),
    ("semester", re.compile(r"\b(semester|ledig|holiday|vacation)", re.I)),
)
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Proposal:
    """An absence the mail system shows and Postvakt does not know of yet."""

    person: str
    start: date
    end: date | None
    kind: str
    substitutes: tuple[str, ...]
    reply: OutOfOffice
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "person": self.person,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "kind": self.kind,
            "substitutes": list(self.substitutes),
            "subject": self.reply.subject,
            "text": self.reply.text,
            "note": self.note,
        }


def guess_kind(text: str) -> str:
    """The kind of absence a reply's words suggest; 'semester' when they say nothing."""
    return next((kind for kind, words in _KIND_WORDS if words.search(text)), "semester")


def named_colleagues(config: Config, text: str, person: str) -> tuple[str, ...]:
    """The configured people a reply names, by address or full name, in the order named."""
    found: list[tuple[int, str]] = []
    lowered = text.lower()
    for match in _ADDRESS.finditer(lowered):
        if config.person(match.group()) is not None:
            found.append((match.start(), match.group()))
    for someone in config.people:
        at = lowered.find(someone.name.lower())
        if at >= 0:
            found.append((at, someone.address))
    ordered = [address for _at, address in sorted(found) if address != person]
    return tuple(dict.fromkeys(ordered))


def propose(
    config: Config,
    connectors: Mapping[str, Connector],
    known: Sequence[AbsenceView],
    today: date,
    *,
    ours: Sequence[str] = (),
) -> tuple[list[Proposal], list[str]]:
    """Proposals for the replies in force or ahead that no absence accounts for, and the
    mailboxes that could not be read (with why).  ``ours`` are the people whose reply
    Postvakt itself set."""
    proposals: list[Proposal] = []
    problems: list[str] = []
    for mailbox in config.mailboxes:
        if mailbox.kind != "personal" or mailbox.address in ours:
            continue
        connector = connectors.get(mailbox.address)
        if not isinstance(connector, SupportsOutOfOffice):
            continue
        try:
            reply = connector.out_of_office()
        except PostvaktError as exc:
            problems.append(f"{mailbox.address}: {exc}")
            continue
        if reply is None or (reply.end is not None and reply.end < today):
            continue
        start = reply.start if reply.start > date.min else today
        if any(a.person == mailbox.address and a.covers_day(max(start, today)) for a in known):
            continue
        text = f"{reply.subject}\n{reply.text}"
        substitutes = named_colleagues(config, text, mailbox.address)
        kind = guess_kind(text)
        note = "" if substitutes else "texten nämner ingen kollega: ersättaren blir enhetschefen"
        if kind == "slutat" and not substitutes:
            kind, note = (
                "semester",
                "texten säger att personen slutat men nämner ingen efterträdare",
            )
        proposals.append(
            Proposal(mailbox.address, start, reply.end, kind, substitutes, reply, note)
        )
    return proposals, problems
