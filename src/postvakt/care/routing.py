"""Sending care cases to the deviation function: each waiting card or retraction claimed,
sent with a Message-ID that is the same when it is sent again, and marked; one a stopped
process left is taken up after CARE_LEASE; the unit's head told the same day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.errors import PostvaktError
from postvakt.registry.cases import add_event
from postvakt.registry.db import database_errors
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    EventKind,
)
from postvakt.rules.notify import Notifier, Planned

if TYPE_CHECKING:
    pass

from postvakt.care.common import (
    _CLAIMED,
    _CLAIMED_FOR,
    _WAITING,
    ACTOR,
    CARE_LEASE,
    DEVIATION,
    DOCX,
    LEX_REMINDER,
    _due,
    _Mail,
    log,
)


class CareDelivery:
    """The routing half of :class:`postvakt.care.CareRouting` (its attributes are set there)."""

    config: Config
    sessions: sessionmaker[Session]
    clock: Clock
    notifier: Notifier | None

    def route_pending(self) -> list[str]:
        """Send what waits: case cards to the deviation function, word that a case is no
        longer a care case; the unit heads' notices are queued and the queue is flushed.

        Returns the references whose card or word went.  Without ``[smtp]`` nothing can go
        and everything waits (``check-config`` says so).  A refused mail waits for the next
        pass (if the mark still calls for it); the error is logged by type with the case's
        id.  A card or retraction a stopped process left claimed is taken up first.
        """
        if self.casework.mailer is None:
            return []
        now = self.clock()
        self._take_up(now)
        with self.sessions() as session, database_errors():
            ids = list(
                session.scalars(
                    select(Case.id).where(Case.care_route.in_(_WAITING)).order_by(Case.id)
                )
            )
        done = [ref for case_id in ids if (ref := self._route(case_id, now)) is not None]
        if self.notifier is not None and self.notifier.mailer is not None:
            report = self.notifier.flush(now)
            if report.errors:  # the notifier says which; its queue keeps them
                log.warning("%d notices wait for the next run", len(report.errors))
        return done

    def _route(self, case_id: int, now: datetime) -> str | None:
        mail = self._claim(case_id, now)
        if mail is None:
            return None
        mailer = self.casework.mailer
        assert mailer is not None
        try:
            mailer.send(
                mail.to, mail.subject, mail.body, mail.attachments, message_id=mail.message_id
            )
        except PostvaktError as exc:
            log.warning(
                "care routing of case %d waits for the next pass (%s)",
                case_id,
                type(exc).__name__,
            )
            ok = False
        else:
            ok = True
        with self.sessions() as session, database_errors(), session.begin():
            # Still this pass's claim (and, on PostgreSQL, the row locked until commit: a
            # change of the mark meanwhile is either seen here or sees the state set here).
            still = session.execute(
                update(Case)
                .where(
                    Case.id == case_id,
                    Case.care_route == _CLAIMED[mail.state],
                    Case.care_claimed_at == mail.claimed_at,
                )
                .values(care_claimed_at=None)
                .execution_options(synchronize_session=False)
            )
            if still.rowcount != 1:
                # Taken up by another pass after the lease: that pass finishes it.
                log.warning("care routing of case %d was taken up by another pass", case_id)
                return None
            case = session.get_one(Case, case_id, populate_existing=True)
            if not ok:
                # What waits follows the mark as it is now: a card refused while the mark was
                # cleared is not sent later, nor a retraction refused while it was set again.
                case.care_route = _due(case)
                return None
            if mail.state == "send":
                case.care_routed_at = now
                case.care_route = _due(case)
                what = "Ärendekortet" + (
                    " och originalmeddelandet" if len(mail.attachments) > 1 else ""
                )
                detail = f"{what} skickades till {DEVIATION}."
            else:
                case.care_routed_at = None
                case.care_route = _due(case)
                detail = (
                    f"{DEVIATION[0].upper()}{DEVIATION[1:]} fick besked att ärendet inte "
                    "längre rör enskilds vård och omsorg."
                )
            add_event(session, case, EventKind.CARE, actor=ACTOR, at=now, detail=detail)
            log.info("care routing of case %d: %s sent", case_id, mail.state)
            return case.reference

    def _claim(self, case_id: int, now: datetime) -> _Mail | None:
        """Claim the case's waiting routing (never two processes); queue the head's notice.

        Returns the mail to send, or None when there is nothing to send (another process
        claimed it, or there is no address for the deviation function)."""
        target = self.config.organisation.care_deviation
        with self.sessions() as session, database_errors(), session.begin():
            case = session.get_one(Case, case_id)
            state = case.care_route
            if state not in _WAITING:
                return None
            claimed = session.execute(
                update(Case)
                .where(Case.id == case_id, Case.care_route == state)
                .values(care_route=_CLAIMED[state], care_claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                return None  # another process took it a moment ago
            if state == "send":
                self._tell_head(session, case, now)
            if target is None:
                case.care_route, case.care_claimed_at = None, None
                if state == "send":
                    detail = (
                        "Ingen adress till avvikelsefunktionen är angiven (organisation."
                        "care_deviation): ärendekortet skickades inte; registrera ärendet i "
                        "avvikelsemodulen."
                    )
                else:
                    case.care_routed_at = None
                    detail = (
                        "Avvikelsefunktionen kunde inte få besked att ärendet inte längre rör "
                        "enskilds vård och omsorg: organisation.care_deviation är inte angiven."
                    )
                add_event(session, case, EventKind.CARE, actor=ACTOR, at=now, detail=detail)
                return None
            if state == "send":
                return self._card_mail(case, target, now)
            return self._retraction_mail(case, target, now)

    def _take_up(self, now: datetime) -> None:
        """Take up the cards and retractions a stopped process left claimed for longer than
        :data:`CARE_LEASE`: back to what the mark calls for now (:func:`_due`), by a
        conditional update, so that this pass sends them (with the same Message-ID).

        A claim without a time (made before ``care_claimed_at`` existed) gets one now: it is
        taken up a lease from now."""
        stale = now - CARE_LEASE
        claimed = tuple(_CLAIMED.values())
        with self.sessions() as session, database_errors():
            ids = list(
                session.scalars(
                    select(Case.id)
                    .where(
                        Case.care_route.in_(claimed),
                        or_(Case.care_claimed_at.is_(None), Case.care_claimed_at < stale),
                    )
                    .order_by(Case.id)
                )
            )
        for case_id in ids:
            with self.sessions() as session, database_errors(), session.begin():
                # Locked and read fresh: the mark as it is now decides what waits.
                case = session.scalars(
                    select(Case)
                    .where(Case.id == case_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                ).one()
                left = case.care_route
                if left not in _CLAIMED_FOR:
                    continue  # finished a moment ago
                if case.care_claimed_at is None:
                    case.care_claimed_at = now
                    continue
                if case.care_claimed_at >= stale:
                    continue  # claimed again a moment ago
                due = _due(case)
                taken = session.execute(
                    update(Case)
                    .where(
                        Case.id == case_id,
                        Case.care_route == left,
                        Case.care_claimed_at < stale,
                    )
                    .values(care_route=due, care_claimed_at=None)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount != 1:
                    continue
                log.warning(
                    "care routing of case %d was left %s by a stopped process; taken up",
                    case_id,
                    left,
                )
                what = (
                    f"ärendekortet skickades till {DEVIATION}"
                    if left == "sending"
                    else "beskedet att ärendet inte längre rör enskilds vård och omsorg "
                    f"skickades till {DEVIATION}"
                )
                if due == _CLAIMED_FOR[left]:
                    then = (
                        "Det skickas igen, med samma Message-ID, så att en kopia som redan har "
                        "kommit fram känns igen."
                    )
                elif due is None:
                    then = "Markeringen har ändrats sedan dess, så det skickas inte igen."
                else:
                    then = "Markeringen har ändrats sedan dess; avvikelsefunktionen får besked."
                started = case.care_claimed_at.astimezone(STOCKHOLM)
                add_event(
                    session,
                    case,
                    EventKind.CARE,
                    actor=ACTOR,
                    at=now,
                    detail=f"Postvakt avbröts medan {what}; sändningen påbörjades "
                    f"{started:%Y-%m-%d %H:%M}. {then}",
                )

    def _message_id(self, case: Case, state: str) -> str:
        """The card's (``send``) or retraction's Message-ID: the same each time it is sent,
        from the case, the state and when the case was marked."""
        mailer = self.casework.mailer
        assert mailer is not None
        flagged = case.care_flagged_at
        stamp = f"{flagged.astimezone(UTC):%Y%m%dT%H%M%S%fZ}" if flagged else "0"
        return f"<postvakt-care.{case.id}.{state}.{stamp}@{mailer.domain}>"

    def _tell_head(self, session: Session, case: Case, now: datetime) -> None:
        unit = case.unit
        if unit is None or not unit.head:
            add_event(
                session,
                case,
                EventKind.CARE,
                actor=ACTOR,
                at=now,
                detail="Ärendet har ingen enhet med en chef (units.head): ingen enhetschef fick "
                "besked.",
            )
            return
        if self.notifier is None:
            return
        marked = case.care_flagged_at or now
        # The label only, not the heading: the heading holds the citizen's subject, which
        # may name a person's health (OSL 26 kap.), and the notice may go to a substitute.
        line = (
            f"{case.label}: rör enskilds vård och omsorg. Ärendekortet och "
            "originalmeddelandet går till avvikelsefunktionen; registrera ärendet i "
            f"verksamhetssystemets avvikelsemodul. {LEX_REMINDER}"
        )
        day = marked.astimezone(STOCKHOLM).date()
        added = self.notifier.queue(
            session,
            [Planned(unit.head, "care", case.reference, day, line, page=f"/arenden/{case.id}")],
            now,
        )
        if added:
            # Care notices go at once, also outside working time (rules.notify.URGENT_KINDS).
            when = "i dag" if self.notifier.in_working_time(now) else "genast, utanför arbetstid"
            add_event(
                session,
                case,
                EventKind.CARE,
                actor=ACTOR,
                at=now,
                detail=f"Enhetschefen för {unit.name} (units.head) får besked {when}, med "
                "påminnelsen om lex Sarah och lex Maria.",
            )

    def _card_mail(self, case: Case, target: str, now: datetime) -> _Mail:
        card = self.casework.case_card(case, now)
        attachments = [(card.filename, DOCX, card.data)]
        if case.original:
            attachments.append(
                (
                    f"Originalmeddelande {case.label.replace('/', '-')}.eml",
                    "message/rfc822",
                    bytes(case.original),
                )
            )
        kind = "Klagomål" if case.kind is CaseKind.COMPLAINT else "Synpunkt"
        unit = case.unit.name if case.unit else "–"
        body = (
            f"{kind} som rör enskilds vård och omsorg: {case.label}.\n\n"
            "Enligt rutinen registreras det i verksamhetssystemets avvikelsemodul. "
            "Ärendekortet och originalmeddelandet är bifogade.\n"
            f"Ansvarig enhet: {unit}. Enhetens chef har fått besked.\n\n"
            "Uppgifterna kan omfattas av sekretess (offentlighets- och sekretesslagen "
            "26 kap.).\n\nPostvakt\n"
        )
        return _Mail(
            case.id,
            "send",
            target,
            f"{kind} som rör enskilds vård och omsorg – {case.label}",
            body,
            attachments,
            self._message_id(case, "send"),
            now,
        )

    def _retraction_mail(self, case: Case, target: str, now: datetime) -> _Mail:
        sent = case.care_routed_at
        when = f" den {sent.astimezone(STOCKHOLM):%Y-%m-%d}" if sent else ""
        if case.status is CaseStatus.WITHDRAWN:
            withdrawn = case.withdrawn_at or now
            body = (
                f"Ärendet {case.label}, som ni fick{when} som ett ärende som rör enskilds "
                f"vård och omsorg, makulerades den {withdrawn.astimezone(STOCKHOLM):%Y-%m-%d}: "
                f"{case.withdrawn_reason or 'ingen orsak angiven'}.\n\nHar ni redan "
                "registrerat det i avvikelsemodulen, ta ställning till om registreringen ska "
                "stå kvar.\n\nPostvakt\n"
            )
            return _Mail(
                case.id,
                "retract",
                target,
                f"Makulerat ärende – {case.label}",
                body,
                [],
                self._message_id(case, "retract"),
                now,
            )
        cleared = case.care_cleared_at or now  # cleared before the column existed: today
        body = (
            f"Ärendet {case.label}, som ni fick{when} som ett ärende som rör enskilds vård "
            "och omsorg, behandlas inte längre så: markeringen togs bort den "
            f"{cleared.astimezone(STOCKHOLM):%Y-%m-%d}. Det hanteras som andra klagomål och "
            "synpunkter och förs in i diariet.\n\nHar ni redan registrerat det i "
            "avvikelsemodulen, ta ställning till om registreringen ska stå kvar.\n\nPostvakt\n"
        )
        return _Mail(
            case.id,
            "retract",
            target,
            f"Rör inte längre enskilds vård och omsorg – {case.label}",
            body,
            [],
            self._message_id(case, "retract"),
            now,
        )
