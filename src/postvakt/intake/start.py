"""Each mailbox's start, and the steps that keep old mail from being acted on by accident.

A mailbox's start is its ``start_from`` in the config, else the moment Postvakt first
watched it (kept in the database, :mod:`postvakt.registry.starts`).  Mail that arrived
before the start is recorded as seen (``before_start``) and nothing more: no case, no
letter, no reply deadline, so no breach.  ``postvakt backfill`` registers such mail on
purpose (:mod:`postvakt.intake.backfill`): deadlines count from arrival as always, a letter
never promises a date already passed, and a case whose deadline had passed is flagged once
for a person instead of being reminded of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from postvakt.config import Config
from postvakt.errors import ConnectorError
from postvakt.mailbox.base import Connector, SupportsCountBefore
from postvakt.registry.cases import add_event, mark_for_review
from postvakt.registry.db import database_errors
from postvakt.registry.messages import message_record
from postvakt.registry.models import CaseKind, CaseStatus, Disposition, EventKind, Mailbox
from postvakt.registry.starts import MailboxStart, first_watched, start_moment, watched_since
from postvakt.templates.casework import swedish_date

if TYPE_CHECKING:
    from postvakt.intake import Intake
    from postvakt.intake.steps import Work

__all__ = [
    "Backfill",
    "BeforeStart",
    "before_start",
    "count_before_start",
    "late_registration",
    "mailbox_start",
    "note_first_watch",
    "recorded_starts",
]

ACTOR = "postvakt"


@dataclass(frozen=True)
class Backfill:
    """A person asked for a mailbox's older mail to be registered (``postvakt backfill``)."""

    by: str
    since: datetime


def mailbox_start(intake: Intake, session: Session, mailbox: Mailbox, now: datetime) -> datetime:
    """The mailbox's start: its ``start_from``, else when it was first watched (``now`` the
    first time, stored in the caller's transaction)."""
    known = intake.starts.get(mailbox.id)
    if known is None:
        found = watched_since(session, mailbox.id)
        if found is None:  # the first message ever: written now, in its transaction
            known = first_watched(session, mailbox.id, now)
        else:  # written once and never changed: kept from here on
            known = intake.starts[mailbox.id] = found
    configured = intake.config.mailbox(mailbox.address)
    return start_moment(configured.start_from if configured else None, intake.tz) or known


def note_first_watch(intake: Intake, session: Session, mailbox_id: int) -> None:
    """Keep the moment a mailbox is first watched, at the start of its first pass — even when
    it holds no mail then, so that the first message that comes later is after the start.
    Called under the mailbox's lease, outside any transaction."""
    if mailbox_id in intake.starts:
        return
    with database_errors(), session.begin():
        intake.starts[mailbox_id] = first_watched(session, mailbox_id, intake.now())


def local_time(moment: datetime, intake: Intake) -> str:
    return f"{moment.astimezone(intake.tz):%Y-%m-%d %H:%M}"


def before_start(intake: Intake, work: Work) -> Disposition | None:
    """Mail that arrived before the mailbox's start is recorded as seen, not acted on.

    Unless a person asked for it (``postvakt backfill``): then it goes on like any mail.
    """
    assert work.received_at is not None
    start = mailbox_start(intake, work.session, work.mailbox, work.now)
    if work.backfill is not None or work.received_at >= start:
        return None
    work.reason = (
        f"kom {local_time(work.received_at, intake)}, före brevlådans start "
        f"{local_time(start, intake)}: registreras inte (postvakt backfill registrerar äldre post)"
    )
    return Disposition.BEFORE_START


def _passed(work: Work, today: date) -> date | None:
    """The deadline of the new case that had already passed when it was registered."""
    case = work.case
    assert case is not None
    dues = [case.answer_due]
    if case.kind is CaseKind.COMPLAINT and case.status is CaseStatus.REGISTERED:
        dues.append(case.ack_due)
    passed = [d for d in dues if d is not None and d < today]
    return min(passed) if passed else None


def late_registration(intake: Intake, work: Work) -> Disposition | None:
    """A case registered after its deadline (older mail registered on purpose, a message a
    person registers late) is flagged once: marked for review with the reason and one event.

    Reminders leave it alone (a breach nobody could prevent would only flood the
    responsible; :func:`postvakt.rules.deadlines.due_items` knows it by its dates), and its
    acknowledgment promises an answer as soon as possible, never a date already passed.
    Older mail that the mailbox had already answered (a reply seen in Sent) becomes an
    answered case, with no letter.
    """
    case = work.case
    assert case is not None
    backfill = work.backfill
    if backfill is not None:
        record = message_record(
            work.session, work.mailbox.id, work.fetched.folder, work.fetched.key
        )
        if record is not None and record.answered_at is not None:
            case.status = CaseStatus.ANSWERED
            add_event(
                work.session,
                case,
                EventKind.ANSWERED,
                actor=record.answered_by or "okänd",
                at=record.answered_at,
                detail=f"Besvarat från {work.mailbox.address} "
                f"{local_time(record.answered_at, intake)}, innan ärendet registrerades "
                f"(postvakt backfill av {backfill.by})",
            )
            work.letter = False
            return None
    passed = _passed(work, work.now.astimezone(intake.tz).date())
    if passed is None:
        if backfill is not None:
            add_event(
                work.session,
                case,
                EventKind.NOTE,
                actor=backfill.by,
                at=work.now,
                detail=f"Registrerat i efterhand med postvakt backfill av {backfill.by}; "
                f"meddelandet kom {local_time(case.received_at, intake)}.",
            )
        return None
    how = f"med postvakt backfill av {backfill.by}" if backfill else "i efterhand"
    reason = (
        f"registrerat {how} efter att tidsgränsen gick ut {swedish_date(passed)}: ingen "
        "påminnelse skickas; se till att avsändaren får svar så snart som möjligt"
    )
    mark_for_review(case, reason)
    add_event(
        work.session,
        case,
        EventKind.NOTE,
        actor=backfill.by if backfill else ACTOR,
        at=work.now,
        detail=f"Meddelandet kom {local_time(case.received_at, intake)} och registrerades "
        f"{how}; tidsgränsen gick ut {swedish_date(passed)}. Markerat för granskning.",
    )
    return None


# --------------------------------------------------------------------------- what lies before


@dataclass(frozen=True)
class BeforeStart:
    """How many messages a mailbox holds that arrived before its start."""

    address: str
    start: datetime | None
    """None: no ``start_from`` and never watched; its start will be its first pass."""
    configured: bool
    """The start is the config's ``start_from`` (else when it was first watched)."""
    count: int | None
    """None when it could not be counted (see ``error``)."""
    error: str | None = None


def recorded_starts(config: Config, environ: Mapping[str, str]) -> dict[str, datetime]:
    """When each mailbox was first watched, read without changing anything (``check-config``
    must not create nor upgrade a database): empty when there is none yet."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return {}
    password = environ.get(config.database.password_env) if config.database.password_env else None
    if password and url.password is None:
        url = url.set(password=password)
    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Mailbox.address, MailboxStart.first_watched_at).join(
                    MailboxStart, MailboxStart.mailbox_id == Mailbox.id
                )
            )
            return {address: moment for address, moment in rows}
    except SQLAlchemyError:
        return {}  # not set up yet, or older than this Postvakt: nothing watched by it
    finally:
        engine.dispose()


def count_before_start(
    config: Config,
    connectors: Mapping[str, Connector],
    watched: Mapping[str, datetime],
    now: datetime,
) -> list[BeforeStart]:
    """For every configured mailbox, how many of its messages arrived before its start.

    A mailbox never watched and without ``start_from`` starts at its first pass: everything
    it holds ``now`` is counted.  Reads the mail stores; changes nothing.
    """
    tz: tzinfo = ZoneInfo(config.organisation.timezone)
    found: list[BeforeStart] = []
    for mailbox in config.mailboxes:
        configured = start_moment(mailbox.start_from, tz)
        start = configured or watched.get(mailbox.address)
        connector = connectors.get(mailbox.address)
        row = BeforeStart(mailbox.address, start, configured is not None, None)
        if not isinstance(connector, SupportsCountBefore):
            found.append(row)
            continue
        try:
            total = sum(
                connector.count_before(folder, start or now)
                for folder in connector.folders("inbox")
            )
        except ConnectorError as exc:
            found.append(BeforeStart(row.address, start, row.configured, None, str(exc)))
            continue
        found.append(BeforeStart(row.address, start, row.configured, total))
    return found
