"""Every mailbox opened every working day, by someone responsible who is present.

Two checks:

- **Coverage** (in the morning): each function mailbox needs at least one owner who is not
  absent today.  A mailbox with none is a coverage gap, told to the unit head at once.
- **Opened** (at 14:00 by default): evidence that each watched mailbox was opened today —
  mail read or flagged since the day began, a login by the person where the server tells,
  or no unread mail older than the start of the day.  A mailbox without evidence is told to
  its owners, and to the unit head as well when it is the second working day in a row.

Function mailboxes are checked always; personal ones under a policy that asks it (Örebro:
"Den personliga brevlådan ska öppnas dagligen (arbetsdagar)"; ``[rules] daily_open_personal``)
or where the mailbox says so (``check_daily_open``), and never where it says no.  A personal
mailbox's notice goes to the person.  Deciding (:func:`judge`, :func:`coverage_gaps`) is apart from
recording (:func:`record_check`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from postvakt.config import Config, MailboxConfig
from postvakt.mailbox.base import OpenedEvidence
from postvakt.registry.models import DailyCheck, Mailbox
from postvakt.rules.calendar import WorkingCalendar
from postvakt.wording import count

__all__ = [
    "Absent",
    "CoverageGap",
    "OpenedResult",
    "checked_mailboxes",
    "coverage_gaps",
    "judge",
    "nobody_absent",
    "previous_misses",
    "record_check",
    "told_of_unopened",
]

Absent = Callable[[str, date], bool]
"""Whether a person (by address) is absent on a day."""


@dataclass(frozen=True)
class OpenedResult:
    mailbox: str
    day: date
    opened: bool | None
    """None when the mail system gives no evidence at all (nothing is alerted)."""
    evidence: str
    misses_in_a_row: int = 0
    """Working days in a row without evidence, today included."""


@dataclass(frozen=True)
class CoverageGap:
    mailbox: str
    unit_head: str | None
    owners: tuple[str, ...]


def judge(evidence: OpenedEvidence | None, day_start: datetime) -> tuple[bool | None, str]:
    """Was the mailbox opened today, and the evidence in words for the owners."""
    if evidence is None:
        return None, "e-postsystemet ger inga uppgifter om läsning"
    found: list[str] = []
    if evidence.changed_today:
        changed = evidence.changed_today
        read = count(changed, "meddelande läst eller markerat", "meddelanden lästa eller markerade")
        found.append(f"{read} i dag")
    if evidence.last_login is not None and evidence.last_login >= day_start:
        found.append(
            f"inloggning i dag kl. {evidence.last_login.astimezone(day_start.tzinfo):%H:%M}"
        )
    if evidence.unread_from_before == 0:
        found.append("inga olästa meddelanden från tidigare dagar")
    if found:
        return True, "; ".join(found)
    return False, (
        "ingen läsning eller inloggning i dag och "
        f"{count(evidence.unread_from_before, 'oläst meddelande', 'olästa meddelanden')} "
        "från tidigare dagar"
    )


def previous_misses(session: Session, mailbox_id: int, day: date, calendar: WorkingCalendar) -> int:
    """Working days in a row before ``day`` whose check found no evidence."""
    rows = {
        c.day: c.opened
        for c in session.scalars(
            select(DailyCheck).where(DailyCheck.mailbox_id == mailbox_id, DailyCheck.day < day)
        )
    }
    misses = 0
    current = day
    while True:
        current = _previous_working_day(current, calendar)
        if rows.get(current) is False:
            misses += 1
        else:
            return misses


def _previous_working_day(day: date, calendar: WorkingCalendar) -> date:
    day -= timedelta(days=1)
    while not calendar.is_working_day(day):
        day -= timedelta(days=1)
    return day


def record_check(
    session: Session, mailbox: Mailbox, day: date, opened: bool, evidence: str, at: datetime
) -> None:
    row = session.scalars(
        select(DailyCheck).where(DailyCheck.mailbox_id == mailbox.id, DailyCheck.day == day)
    ).one_or_none()
    if row is None:
        session.add(
            DailyCheck(
                mailbox_id=mailbox.id, day=day, opened=opened, evidence=evidence, checked_at=at
            )
        )
    else:
        row.opened, row.evidence, row.checked_at = opened, evidence, at


def checked_mailboxes(config: Config) -> list[MailboxConfig]:
    """The mailboxes the daily-open check applies to (:meth:`Config.daily_open_checked`)."""
    return [m for m in config.mailboxes if config.daily_open_checked(m)]


def told_of_unopened(config: Config, mailbox: MailboxConfig, misses: int) -> list[str]:
    """Who hears that ``mailbox`` was not opened today, the ``misses``-th working day in a
    row: its owners — for a personal mailbox the person first, whose own mail it is — and
    from the second working day in a row the unit head as well."""
    people = list(mailbox.owners)
    if mailbox.kind == "personal":
        people.insert(0, mailbox.address)
    unit = config.unit(mailbox.unit)
    if misses >= 2 and unit is not None:
        people.append(unit.head)
    return list(dict.fromkeys(people))


def coverage_gaps(config: Config, day: date, absent: Absent) -> list[CoverageGap]:
    """Function mailboxes none of whose owners is present on ``day``."""
    gaps = []
    for mailbox in config.mailboxes:
        if mailbox.kind != "function":
            continue
        if any(not absent(owner, day) for owner in mailbox.owners):
            continue
        unit = config.unit(mailbox.unit)
        gaps.append(
            CoverageGap(mailbox.address, unit.head if unit else None, tuple(mailbox.owners))
        )
    return gaps


def nobody_absent(_address: str, _day: date) -> bool:
    """The presence source until absences are recorded: everyone is present."""
    return False
