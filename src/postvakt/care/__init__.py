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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session, sessionmaker

from postvakt.care.common import (
    _CLAIMED,
    ACTOR,
    CARE_LEASE,
    DEVIATION,
    LEX_REMINDER,
    _comma,
)
from postvakt.care.routing import CareDelivery
from postvakt.classifier.verdict import CARE_THRESHOLD
from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.errors import InvalidTransitionError, PermissionDeniedError
from postvakt.registry.cases import add_event, find_case
from postvakt.registry.db import database_errors
from postvakt.registry.drafts import add_draft, unsent_acknowledgements
from postvakt.registry.models import (
    Case,
    CaseStatus,
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


class CareRouting(CareDelivery):
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
        waiting = unsent_acknowledgements(session, case)
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
