"""A process's turn at a mailbox: the database lease held while it reads the mailbox and
places its drafts (see :mod:`postvakt.registry.leases`).

Reading a mailbox and appending its drafts happen only while holding the mailbox's lease,
so two processes never read one mailbox at once, nor both find a draft missing from Drafts
and both append it: the connectors' check for a draft already there (IMAP: SEARCH by
Message-ID) and the APPEND that follows are one process's alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from postvakt.errors import DatabaseError, PostvaktError
from postvakt.registry.db import database_errors
from postvakt.registry.leases import Held, Lease, acquire, release, renew
from postvakt.registry.models import MessageRecord
from postvakt.registry.passes import clean_error, note_failure, note_pass

if TYPE_CHECKING:
    from postvakt.intake import Intake

__all__ = ["LeaseLost", "Turn", "held_message", "mailbox_turn"]

log = logging.getLogger("postvakt.intake")


class LeaseLost(Exception):
    """This process's lease on a mailbox ran out and another process took the mailbox."""


def held_message(address: str, held: Held, now: datetime) -> str:
    """What the command line says about a mailbox left to another process this pass."""
    left = max(0, int((held.expires_at - now).total_seconds()))
    return (
        f"{address}: läses just nu av en annan Postvakt-process ({held.holder}); den hoppades "
        f"över i den här omgången. Om den processen har stannat tas brevlådan över om högst "
        f"{left} s."
    )


class Turn:
    """This process's lease on one mailbox, renewed as work goes on."""

    def __init__(self, intake: Intake, session: Session, lease: Lease, address: str):
        self._intake, self._session, self.lease, self.address = intake, session, lease, address
        self.passed = False
        """Set when the pass ended without an error: noted as the mailbox's last good pass
        (:mod:`postvakt.registry.passes`) as the lease is given back."""
        self.error: str | None = None
        """Set by :meth:`failed`: noted as the mailbox's last error as the lease is given
        back (unless the pass was good after all)."""
        self.started = time.perf_counter()
        self.first_message_id = 0
        """Every message row of this mailbox above this id was recorded in this turn."""

    def failed(self, error: BaseException | str) -> None:
        """Note that the pass ended on ``error`` (a :class:`~postvakt.errors.ConnectorError`,
        say): kept, without addresses, as the mailbox's last error when the lease is given
        back, and counted as one more failed pass in a row."""
        self.error = clean_error(str(error), self.address)

    def _finish(self, session: Session, mailbox_id: int, holder: str, now: datetime) -> None:
        """Note how the pass went (in the caller's transaction, which releases the lease)."""
        if not (self.passed or self.error):
            return  # the lease was lost: the process that took over notes the pass
        duration_ms = int((time.perf_counter() - self.started) * 1000)
        messages = session.scalar(
            select(func.count())
            .select_from(MessageRecord)
            .where(MessageRecord.id > self.first_message_id, MessageRecord.mailbox_id == mailbox_id)
        )
        extra = {"duration_ms": duration_ms, "messages": int(messages or 0)}
        if self.passed:
            note_pass(session, mailbox_id, holder, now, **extra)
        else:
            assert self.error is not None
            note_failure(session, mailbox_id, holder, now, self.error, **extra)

    def keep(self, *, check: bool = False) -> None:
        """Renew the lease when half its time has passed (or now, with ``check``).

        Raises :class:`LeaseLost` if another process has taken the mailbox meanwhile: the
        work must stop before it touches the mailbox again.
        """
        now = self._intake.now()
        if not (check or self.lease.due(now)):
            return
        with database_errors(), self._session.begin():
            kept = renew(self._session, self.lease, now=now)
        if not kept:
            log.warning(
                "the lease on mailbox %d ran out and another process took the mailbox; "
                "stopping here (raise service.lease_seconds if the passes are slow)",
                self.lease.mailbox_id,
            )
            raise LeaseLost(
                f"{self.address}: en annan Postvakt-process tog över brevlådan när den här "
                "processens tur hade gått ut; resten görs av den processen."
            )


@contextmanager
def mailbox_turn(
    intake: Intake, session: Session, mailbox_id: int, address: str
) -> Iterator[Turn | Held]:
    """Take the mailbox's lease for the block, or yield who holds it (then do nothing).

    The lease is released when the block ends, however it ends; a release that the
    database refuses is left to run out.  With it the pass is noted
    (:mod:`postvakt.registry.passes`): good when the block set ``turn.passed``, failed when
    it called ``turn.failed(…)`` or raised (anything but :class:`LeaseLost`).
    """
    seconds = intake.config.service.lease_seconds
    now = intake.now()
    with database_errors(), session.begin():
        got = acquire(session, mailbox_id, intake.holder, now=now, seconds=seconds)
        # The messages' ids only grow: what this mailbox records above today's highest is
        # this turn's (the lease keeps every other process away from it).
        first_message_id = session.scalar(select(func.max(MessageRecord.id))) or 0
    session.expunge_all()
    if isinstance(got, Held):
        log.info(
            "mailbox %d is held by %s until %s; skipped", mailbox_id, got.holder, got.expires_at
        )
        yield got
        return
    turn = Turn(intake, session, got, address)
    turn.first_message_id = first_message_id
    try:
        yield turn
    except LeaseLost:
        raise
    except Exception as exc:  # noted as the pass's failure, then on to the caller
        if not turn.error:
            turn.failed(
                exc
                if isinstance(exc, PostvaktError)
                else f"oväntat fel ({type(exc).__name__}); se loggen"
            )
        turn.passed = False
        raise
    finally:
        if session.in_transaction():
            session.rollback()
        try:
            with database_errors(), session.begin():
                turn._finish(session, mailbox_id, intake.holder, intake.now())
                release(session, got)
        except DatabaseError as exc:
            # The error's text may name the mailbox: its kind only above DEBUG.
            log.warning(
                "the lease on mailbox %d was not released (it runs out): %s",
                mailbox_id,
                type(exc).__name__,
            )
            log.debug("the lease on %s was not released", address, exc_info=True)
