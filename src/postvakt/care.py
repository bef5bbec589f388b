"""Care complaints: a complaint or opinion from a user or a relative about that person's own
care (hemtjänst, särskilt boende, LSS, medication, a fall, neglect) belongs in the care
system's deviation module (avvikelsemodul), not only in the diary — so says the routine.

A case is marked at intake when the classifier's verdict says so (:func:`flag`, in the
message's own transaction), or by a person (:meth:`CareRouting.set_by_hand`, the command line
and the case page, with the corrections' rights).  After commit :meth:`CareRouting.route_pending`
sends the case card and the original message to the deviation function
(``[organisation] care_deviation``) and queues a notice to the unit's head, with the reminder
of the duty to consider a lex Sarah or lex Maria report.  Clearing the mark tells the
deviation function that the case is no longer treated as a care case.

Nothing is lost and nothing is sent twice.  What waits is a state on the case
(``cases.care_route``), claimed by a conditional update before the mail goes (with
``cases.care_claimed_at``):

    marked ──> send ──claimed──> sending ──sent──> (none), care_routed_at = when
                                     └──refused──> send: the next pass tries again
    cleared, card sent ──> retract ──claimed──> retracting ──sent──> (none), care_routed_at = None
    cleared before the card went: nothing waits (nothing to take back)

The mark may change while its mail is on the way (``flag`` and ``clear`` leave a claimed
state to the router): when the mail has gone, or was refused, what waits next follows the
case's mark as it is then and whether the function holds a card (:func:`_due`) — a card
refused while the mark was cleared is not sent later, nor a retraction refused while the
case was marked again.  A claim older than :data:`CARE_LEASE` was left by a process that
stopped: the next pass takes it up the same way.  A card or a retraction sent again carries
the Message-ID it had the first time (case, state and when the case was marked), so a copy
that went before a reply was lost is recognisable as the same.

A mark set again while it is set changes nothing.  The head's notice goes through the
notifier's queue, keyed by the day the case was marked: told once, in working time, to
whoever covers them when they are away.  The registrar hears every change, the last one
last: a word about the opposite change still queued is taken back.  Events say what went to
whom by role and config key; logs carry case ids only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from postvakt.classifier.verdict import CARE_THRESHOLD
from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.errors import InvalidTransitionError, PermissionDeniedError, PostvaktError
from postvakt.registry.cases import add_event, find_case
from postvakt.registry.db import database_errors
from postvakt.registry.drafts import add_draft
from postvakt.registry.models import (
    Case,
    CaseKind,
    CaseStatus,
    Draft,
    DraftStatus,
    EventKind,
    Notification,
)
from postvakt.roles import CORRECTORS_SV, can_correct_case, user_for
from postvakt.rules.notify import Notifier, Planned
from postvakt.templates.casework import care_subject, swedish_date

if TYPE_CHECKING:
    from postvakt.casework import Casework

__all__ = [
    "CARE_LEASE",
    "DEVIATION",
    "LEX_REMINDER",
    "CareChange",
    "CareRouting",
    "clear",
    "flag",
    "flag_from_verdict",
]

log = logging.getLogger("postvakt.care")

ACTOR = "postvakt"
DEVIATION = "avvikelsefunktionen (organisation.care_deviation)"
"""The deviation function as events name it: by role and config key, never by address."""
LEX_REMINDER = (
    "Tänk på skyldigheten att överväga en rapport enligt lex Sarah (SoL 14 kap., LSS 24 a §) "
    "eller, för hälso- och sjukvård, lex Maria (patientsäkerhetslagen 3 kap. 5 §)."
)
"""The line that reminds the unit's head of the reporting duties."""
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_WAITING = ("send", "retract")
_CLAIMED = {"send": "sending", "retract": "retracting"}
_CLAIMED_FOR = {claimed: state for state, claimed in _CLAIMED.items()}
CARE_LEASE = timedelta(minutes=15)
"""A card or retraction claimed longer ago than this was left by a process that stopped (a
mail goes within seconds, or fails within the SMTP time-out): the next pass takes it up."""


def _comma(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _due(case: Case) -> str | None:
    """What the deviation function is still to be told, from the mark and whether it holds
    the card: the state a routing goes back to when its mail went, was refused, or was left
    by a stopped process."""
    if case.individual_care:
        return "send" if case.care_routed_at is None else None
    return "retract" if case.care_routed_at is not None else None


# ------------------------------------------------------------------ marking (in a transaction)


def flag(session: Session, case: Case, *, actor: str, now: datetime, detail: str) -> bool:
    """Mark ``case`` as concerning an individual's care and have it routed after commit.

    In the caller's transaction.  False, and nothing changes, when it already is marked.
    """
    if case.individual_care:
        return False
    case.individual_care = True
    case.care_flagged_at = now
    case.care_cleared_at = None
    if case.care_route == "retract":
        # Cleared and marked again before the function heard of the clearing: it still has
        # the card, so there is nothing to send either way.
        case.care_route = None
    elif case.care_route not in _CLAIMED.values():  # in flight: finished by the router
        case.care_route = "send"
    add_event(session, case, EventKind.CARE, actor=actor, at=now, detail=detail)
    return True


def clear(session: Session, case: Case, *, actor: str, now: datetime, detail: str) -> bool:
    """Take the mark away; the deviation function is told after commit if it got the card.

    In the caller's transaction.  False, and nothing changes, when it was not marked.
    """
    if not case.individual_care:
        return False
    case.individual_care = False
    case.care_cleared_at = now
    if case.care_route == "send":
        case.care_route = None  # never sent: nothing to take back, nobody to tell
        session.execute(
            delete(Notification).where(
                Notification.kind == "care",
                Notification.ref == case.reference,
                Notification.status == "queued",
            )
        )
    elif case.care_route is None and case.care_routed_at is not None:
        case.care_route = "retract"
    add_event(session, case, EventKind.CARE, actor=actor, at=now, detail=detail)
    return True


def flag_from_verdict(
    session: Session,
    case: Case,
    probability: float,
    now: datetime,
    threshold: float = CARE_THRESHOLD,
) -> bool:
    """The intake's mark: the classifier's care detector said so, with ``probability`` (at
    least ``threshold``, the organisation's)."""
    return flag(
        session,
        case,
        actor=ACTOR,
        now=now,
        detail=(
            "Postvakts klassificerare bedömer att ärendet "
            + ("rör" if probability >= 0.5 else "kan röra")
            + f" enskilds vård och omsorg (sannolikhet {_comma(probability)}; markeras från "
            f"{_comma(threshold)}, eftersom ett missat ärende väger tyngre än ett i onödan): "
            "det registreras i verksamhetssystemets avvikelsemodul och går till "
            "avvikelsefunktionen. Rör det inte någons egen vård och omsorg, ta bort markeringen."
        ),
    )


# ------------------------------------------------------------------------------ routing


@dataclass(frozen=True)
class CareChange:
    """What setting or clearing the mark by hand did, for the command line and the web."""

    case: str
    changed: bool
    text: str
    """Swedish sentences: what happened and what was sent."""


@dataclass(frozen=True)
class _Mail:
    case_id: int
    state: str
    to: str
    subject: str
    body: str
    attachments: list[tuple[str, str, bytes]]
    message_id: str
    """The same each time this card (or retraction) is sent: see :meth:`CareRouting._message_id`."""
    claimed_at: datetime
    """When this pass claimed it: its claim still stands while ``care_claimed_at`` says so."""


class CareRouting:
    """Sends care cases to the deviation function and tells the unit's head."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        *,
        clock: Clock,
        casework: Casework,
        notifier: Notifier | None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.casework = casework
        self.notifier = notifier

    # -- by hand ------------------------------------------------------------------------

    def set_by_hand(self, reference: str, *, by: str, care: bool) -> CareChange:
        """Set (``care``) or clear the mark as ``by``, who must have the right to correct the
        case (:func:`postvakt.roles.can_correct_case`); then route what waits at once."""
        user = user_for(self.config, by)
        if user is None:
            raise PermissionDeniedError(
                f"{by} finns inte i konfigurationen som person, ägare, chef, registrator eller "
                "administratör och får inte ändra ärenden. Ange din egen adress med --by."
            )
        now = self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            if not can_correct_case(user, case):
                raise PermissionDeniedError(
                    f"{user.address} får inte ändra markeringen för vård och omsorg i ärende "
                    f"{case.label}: det får bara {CORRECTORS_SV}."
                )
            if case.status is CaseStatus.WITHDRAWN:
                raise InvalidTransitionError(
                    f"Ärendet {case.label} är makulerat och kan inte ändras. Ett meddelande "
                    "som ändå ska bli ett ärende registreras på nytt med 'postvakt cases "
                    "register --message-id …'."
                )
            if care:
                changed = flag(
                    session,
                    case,
                    actor=user.address,
                    now=now,
                    detail=f"Markerat av {user.address}: rör enskilds vård och omsorg; "
                    "registreras i verksamhetssystemets avvikelsemodul.",
                )
            else:
                changed = clear(
                    session,
                    case,
                    actor=user.address,
                    now=now,
                    detail=f"{user.address} tog bort markeringen: ärendet rör inte enskilds vård "
                    "och omsorg och hanteras som andra klagomål och synpunkter (diariet).",
                )
            if changed:
                self._tell_registrar(session, case, care, now)
            if changed and care:
                self._neutral_acknowledgment(session, case, actor=user.address, now=now)
            reference, had_card = case.reference, case.care_routed_at is not None
        if not changed:
            state = "redan markerat" if care else "inte markerat"
            return CareChange(
                reference,
                False,
                f"{reference} är {state} som ett ärende som rör enskilds vård och omsorg; "
                "ingenting ändrades och ingenting skickades.",
            )
        self.route_pending()
        with self.sessions() as session, database_errors():
            case = find_case(session, reference)
            waiting, routed_at = case.care_route, case.care_routed_at
        later = "så snart e-post kan skickas; Postvakt försöker igen vid varje körning"
        if care:
            text = f"{reference} är markerat som ett ärende som rör enskilds vård och omsorg."
            if self.config.organisation.care_deviation is None:
                text += (
                    " Ingen adress till avvikelsefunktionen är angiven "
                    "(organisation.care_deviation): registrera ärendet i avvikelsemodulen. "
                    + (
                        "Enhetens chef får besked."
                        if waiting is None
                        else f"Enhetens chef får besked {later}."
                    )
                )
            elif waiting is None and routed_at is not None:
                text += (
                    " Ärendekortet har skickats till avvikelsefunktionen, och enhetens chef "
                    "får besked."
                )
            elif waiting is not None:
                text += f" Avvikelsefunktionen och enhetens chef får besked {later}."
        else:
            text = (
                f"{reference} är inte längre markerat som ett ärende som rör enskilds vård och "
                "omsorg."
            )
            if not had_card:
                text += (
                    " Avvikelsefunktionen hade inte fått ärendekortet; inget behövde tas tillbaka."
                )
            elif waiting is None and routed_at is not None:
                # The word was refused, and the case marked again meanwhile.
                text += (
                    " Ärendet markerades igen innan avvikelsefunktionen fick besked: den har kvar "
                    "ärendekortet och får inget besked."
                )
            elif waiting is None:
                text += " Avvikelsefunktionen har fått besked."
            else:
                text += f" Avvikelsefunktionen får besked {later}."
        return CareChange(reference, True, text)

    def _neutral_acknowledgment(
        self, session: Session, case: Case, *, actor: str, now: datetime
    ) -> None:
        """Marked after the intake drafted the ordinary acknowledgment, which names what the
        case concerns: while nobody has sent it yet, Postvakt's own draft is taken back (out
        of Drafts after commit) and the neutral one drafted in its place."""
        if case.status is not CaseStatus.REGISTERED:
            return  # acknowledged: what was sent is sent
        waiting = list(
            session.scalars(
                select(Draft)
                .where(
                    Draft.case_id == case.id,
                    Draft.message_id.like("postvakt.ack.%"),
                    Draft.status.in_((DraftStatus.PENDING, DraftStatus.SAVED)),
                )
                .order_by(Draft.id)
                # Locked and read fresh: one being placed meanwhile is seen as SAVED.
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        if not waiting:
            return
        for draft in waiting:
            draft.status = (
                DraftStatus.REMOVE if draft.status is DraftStatus.SAVED else DraftStatus.REMOVED
            )
        old = waiting[-1]
        letters = self.casework.letters
        received = case.received_at.astimezone(STOCKHOLM).date()
        promised = self.casework.policy.promised_date(
            case.kind.value, received, self.casework.calendar
        )
        due = promised or case.answer_due or case.reply_due
        values = letters.citizen(case)
        if old.to_name:  # the name the first letter was addressed to (from the signature)
            values["recipient_name"] = old.to_name
        letter = letters.render(
            "acknowledgment_care",
            case,
            now,
            **values,
            answer_due=swedish_date(due) if due else "",
        )
        add_draft(
            session,
            case,
            kind="ack",
            title=letter.title,
            mailbox_id=old.mailbox_id,
            mailbox_address=old.mailbox.address,
            to_address=old.to_address,
            to_name=old.to_name,
            subject=care_subject(case),
            in_reply_to=old.in_reply_to,
            references=list(old.references or []),
            body_text=letter.text,
            filename=letter.filename,
            data=letter.data,
            actor=actor,
            now=now,
        )
        add_event(
            session,
            case,
            EventKind.CARE,
            actor=actor,
            at=now,
            detail="Mottagningsbekräftelsen som väntade som utkast byts mot den neutrala för "
            "ärenden som rör enskilds vård och omsorg; Postvakts förra utkast tas bort ur "
            "Utkast-mappen.",
        )

    def _tell_registrar(self, session: Session, case: Case, care: bool, now: datetime) -> None:
        """The registrar, who already entered the case (or was told to), hears of the change."""
        registrar = self.config.organisation.registrar
        if not registrar or case.registrar_status != "sent" or self.notifier is None:
            return
        line = (
            f"{case.label}: rör enskilds vård och omsorg och registreras i "
            "verksamhetssystemets avvikelsemodul, inte i diariet."
            if care
            else f"{case.label}: rör inte enskilds vård och omsorg; för in ärendet i "
            "diariet som andra klagomål och synpunkter."
        )
        # Not "care": the head's notice goes at once (URGENT_KINDS), the registrar's waits
        # for working time like its counterpart.
        kind = "care_marked" if care else "care_cleared"
        opposite = "care_cleared" if care else "care_marked"
        # A word about the opposite change that has not gone yet is taken back: the
        # registrar hears the last word, not two that contradict each other.
        taken_back = session.execute(
            delete(Notification)
            .where(
                Notification.kind == opposite,
                or_(
                    Notification.ref == case.reference,
                    Notification.ref.startswith(f"{case.reference} ", autoescape=True),
                ),
                Notification.status == "queued",
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        # Keyed by the moment of the change, not only the day: marked, cleared and marked
        # again on one day is three words, the last one last.
        ref = f"{case.reference} {now.astimezone(UTC).isoformat()}"
        today = now.astimezone(STOCKHOLM).date()
        told = Planned(registrar, kind, ref, today, line, page=f"/arenden/{case.id}")
        if not self.notifier.queue(session, [told], now):
            return
        add_event(
            session,
            case,
            EventKind.CARE,
            actor=ACTOR,
            at=now,
            detail="Registratorn (organisation.registrar) får besked om ändringen"
            + (
                "; beskedet om den förra ändringen, som inte hade skickats, tas tillbaka."
                if taken_back
                else "."
            ),
        )

    # -- after commit ----------------------------------------------------------------------

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
