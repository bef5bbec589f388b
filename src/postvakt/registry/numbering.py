"""Diary numbers: one sequence per prefix and year that never repeats or skips.

The number is taken inside the transaction that registers the case.  The sequence row is
locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds
the whole database), incremented and kept locked until commit.  A rolled-back registration
therefore gives its number back, and a concurrent registration waits for the lock and then
reads the committed value.  Anonymous cases share the year's collective number and get an
entry number of their own under it, allocated under the same lock.

Whose number a case carries is :class:`Numbering`'s (``[registry] numbering``):

- ``postvakt``: Postvakt's number *is* the diary number (``KS 2026/17``), in the series of
  the year the case is **registered** — old mail registered today opens no series the diary
  closed long ago; its arrival date stays the real one.
- ``diary``: the case gets a Postvakt reference (``PV-2026-000123``, its own series) and
  no diary number until the diary system's is known (:func:`postvakt.registry.cases.set_diary_number`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from postvakt.registry.models import CollectiveNumber, DiarySequence

__all__ = [
    "REFERENCE_SEQUENCE",
    "DiaryNumber",
    "LockedSequences",
    "Numbering",
    "allocate_collective_entry",
    "allocate_number",
    "format_number",
]

REFERENCE_SEQUENCE = "~ref"
"""The sequence key of Postvakt references (numbering = diary): no diary prefix looks like it."""


@dataclass(frozen=True)
class Numbering:
    """How new cases are numbered (from ``[organisation]`` and ``[registry]``)."""

    mode: str = "postvakt"
    prefix: str = "KS"
    diary_format: str = "{prefix} {year}/{seq}"
    reference_format: str = "PV-{year}-{seq:06d}"
    collective_number: str | None = None

    @classmethod
    def of(cls, config: Any) -> Numbering:
        return cls(
            mode=config.registry.numbering,
            prefix=config.organisation.diary_prefix,
            diary_format=config.organisation.diary_number_format,
            reference_format=config.registry.reference_format,
            collective_number=config.registry.collective_number,
        )

    @property
    def diary_mode(self) -> bool:
        return self.mode == "diary"


@dataclass(frozen=True)
class DiaryNumber:
    number: str
    year: int
    seq: int
    entry: int | None = None

    @property
    def reference(self) -> str:
        """The text that identifies the case: the number, or 'number-entry' for an anonymous one."""
        return self.number if self.entry is None else f"{self.number}-{self.entry}"


def format_number(fmt: str, prefix: str, year: int, seq: int) -> str:
    return fmt.format(prefix=prefix, year=year, seq=seq)


def _locked_sequence(session: Session, prefix: str, year: int) -> DiarySequence:
    query = (
        select(DiarySequence)
        .where(DiarySequence.prefix == prefix, DiarySequence.year == year)
        .with_for_update()
    )
    row = session.scalars(query).one_or_none()
    if row is not None:
        return row
    # First number of the year: create the row.  Two processes may race here; the unique
    # constraint lets one win, and the loser re-reads the winner's row under the lock.
    try:
        with session.begin_nested():
            session.add(DiarySequence(prefix=prefix, year=year, last_seq=0))
    except IntegrityError:
        pass
    return session.scalars(query.execution_options(populate_existing=True)).one()


LockedSequences = dict[tuple[str, int], DiarySequence]
"""Sequence rows the caller's transaction holds locked, by (key, year): see
:func:`allocate_number`."""


def allocate_number(
    session: Session,
    *,
    fmt: str,
    prefix: str,
    year: int,
    sequence_key: str | None = None,
    locked: LockedSequences | None = None,
) -> DiaryNumber:
    """Take the next diary number of ``year``.  Call inside the registering transaction.
    ``sequence_key`` names the series when it is not the prefix's (Postvakt references).

    ``locked``: the sequence rows this transaction already holds, so that a batch of
    registrations in one transaction locks and reads its row once.  The caller owns it and
    must empty it whenever a savepoint that may have taken a lock rolls back (on PostgreSQL
    that releases the lock, and the row's value is reread).  The increment is flushed with
    the case it numbers.
    """
    key = (sequence_key or prefix, year)
    sequence = locked.get(key) if locked is not None else None
    if sequence is None:
        sequence = _locked_sequence(session, key[0], year)
        if locked is not None:
            locked[key] = sequence
    sequence.last_seq += 1
    seq = sequence.last_seq
    return DiaryNumber(format_number(fmt, prefix, year, seq), year, seq)


def allocate_collective_entry(session: Session, *, fmt: str, prefix: str, year: int) -> DiaryNumber:
    """The next entry under the year's collective number, creating that number if needed."""
    sequence = _locked_sequence(session, prefix, year)  # serialises entries too
    collective = session.scalars(
        select(CollectiveNumber)
        .where(CollectiveNumber.prefix == prefix, CollectiveNumber.year == year)
        .with_for_update()
    ).one_or_none()
    if collective is None:
        sequence.last_seq += 1
        collective = CollectiveNumber(
            prefix=prefix,
            year=year,
            seq=sequence.last_seq,
            number=format_number(fmt, prefix, year, sequence.last_seq),
            last_entry=0,
        )
        session.add(collective)
    collective.last_entry += 1
    session.flush()
    return DiaryNumber(collective.number, year, collective.seq, collective.last_entry)
