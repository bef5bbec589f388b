"""Callbacks (återuppringningar): "Den som har sökts och inte varit på plats, ska ta kontakt
senast inom två arbetsdagar" (the Örebro routine).

Whoever takes a phone message for someone who was not there makes a callback request: who
is to call, the citizen's name and phone, what it is about.  Its deadline is the policy's
``callback`` time (``[deadlines] callback``; two working days in every preset) counted on the
working calendar from the day the message was taken.  The person is told at once (whoever
covers them when they are away), reminded before the deadline and, once it has passed, told
with their unit head (:func:`callback_notices`, run by the reminder job).  Done is recorded
once, with who, when and a note; a request tied to a case also notes the callback on the case
and in the diary (:meth:`postvakt.casework.Casework.record_callback`).

A phone message noted as a case (``cases add --channel phone``) whose summary asks to be
called back ("ring tillbaka", "ringa tillbaka", "återkoppla per telefon") makes a request for
the case's handler (:meth:`Callbacks.from_case`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.errors import InvalidInputError, NotFoundError, PermissionDeniedError, PostvaktError
from postvakt.registry.callbacks import CallbackRequest
from postvakt.registry.cases import find_case
from postvakt.registry.db import database_errors
from postvakt.registry.models import Case, Unit
from postvakt.roles import User, user_for
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.notify import Notifier, Planned, swedish_day
from postvakt.rules.policy import Policy

if TYPE_CHECKING:
    from postvakt.casework import Casework
    from postvakt.rules.notify import Cover

__all__ = [
    "CallbackView",
    "Callbacks",
    "Done",
    "FromCase",
    "Made",
    "callback_notices",
    "check_phone",
    "phone_number",
    "wants_callback",
]

log = logging.getLogger("postvakt.callbacks")

_ASKS = re.compile(
    r"\bring(?:a|er)?\s+(?:mig\s+|oss\s+|henne\s+|honom\s+|dem\s+)?tillbaka\b"
    r"|\båterkoppla(?:s|r)?\s+(?:\w+\s+)?per\s+telefon\b",
    re.IGNORECASE,
)
_PHONE = re.compile(r"\+?\(?\d[\d\s()/-]{4,}\d")
_PHONE_CHARS = re.compile(r"^\+?[\d\s()/-]+$")


def wants_callback(text: str) -> bool:
    """Whether a phone message's summary asks to be called back."""
    return bool(_ASKS.search(text or ""))


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def phone_number(text: str) -> str | None:
    """The first phone number in ``text`` (7 to 15 digits), as written; None when none."""
    for match in _PHONE.finditer(text or ""):
        found = " ".join(match.group().split())
        if 7 <= _digits(found) <= 15:
            return found
    return None


def check_phone(value: str, argument: str = "--phone") -> str:
    """``value`` tidied, when it is a phone number; else InvalidInputError saying what to write."""
    phone = " ".join((value or "").split())
    if not phone or not _PHONE_CHARS.match(phone) or not 6 <= _digits(phone) <= 15:
        raise InvalidInputError(
            f"{value!r} är inget telefonnummer; skriv t.ex. 070-123 45 67 eller +46 19 21 10 00",
            argument=argument,
        )
    return phone


@dataclass(frozen=True)
class CallbackView:
    """A callback request as people see it."""

    id: int
    for_address: str
    for_name: str
    unit: str | None
    name: str | None
    phone: str
    about: str
    case_id: int | None
    case_label: str | None
    requested_at: datetime
    requested_by: str
    due: date
    done_at: datetime | None
    done_by: str | None
    note: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def citizen(self) -> str:
        return self.name or "medborgaren (namn saknas)"

    def late(self, today: date) -> bool:
        return not self.done and self.due < today

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(STOCKHOLM).isoformat() if value else None

        return {
            "id": self.id,
            "for": self.for_address,
            "unit": self.unit,
            "name": self.name,
            "phone": self.phone,
            "about": self.about,
            "case": self.case_label,
            "requested_at": iso(self.requested_at),
            "requested_by": self.requested_by,
            "due": self.due.isoformat(),
            "done_at": iso(self.done_at),
            "done_by": self.done_by,
            "note": self.note,
        }


def _view(config: Config, row: CallbackRequest) -> CallbackView:
    person = config.person(row.for_address)
    return CallbackView(
        id=row.id,
        for_address=row.for_address,
        for_name=person.name if person else row.for_address,
        unit=row.unit.name if row.unit else None,
        name=row.name,
        phone=row.phone,
        about=row.about,
        case_id=row.case_id,
        case_label=row.case.label if row.case else None,
        requested_at=row.requested_at,
        requested_by=row.requested_by,
        due=row.due,
        done_at=row.done_at,
        done_by=row.done_by,
        note=row.note,
    )


@dataclass(frozen=True)
class Made:
    """A request just made, and how the person it is for heard of it (in Swedish)."""

    view: CallbackView
    told: str = ""


@dataclass(frozen=True)
class Done:
    """A request marked done — or found done before, when ``already`` says by whom and when
    (in Swedish) and nothing was changed."""

    view: CallbackView
    already: str = ""


def _done_already(view: CallbackView) -> str:
    """``Återuppringning 3 är redan markerad som klar av anna@… 2026-11-18 10:00; inget ändrat.``"""
    when = f" {view.done_at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}" if view.done_at else ""
    return (
        f"Återuppringning {view.id} är redan markerad som klar av {view.done_by or 'okänd'}"
        f"{when}; inget ändrat."
    )


@dataclass(frozen=True)
class FromCase:
    """What a phone case gave: whether it asked to be called back, and the request made."""

    wanted: bool
    made: Made | None = None
    why_not: str = ""


def _line(view: CallbackView, *, breach: bool = False) -> str:
    """``Återuppringning 3: ring Karin Ek på 070-… senast 25 november 2026 – vad det gäller``."""
    case = f" (ärende {view.case_label})" if view.case_label else ""
    due = swedish_day(view.due)
    who = (
        f"{view.for_name} skulle ha ringt {view.citizen} på {view.phone} senast {due}"
        if breach
        else f"ring {view.citizen} på {view.phone} senast {due}"
    )
    return f"Återuppringning {view.id}: {who} – {view.about}{case}"


def _page(view: CallbackView) -> str:
    """The request's row on the Återuppringningar page."""
    return f"/aterringningar#aterringning-{view.id}"


class Callbacks:
    """Callback requests: made, listed, done, and told."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        *,
        clock: Clock,
        calendar: WorkingCalendar,
        policy: Policy,
        casework: Casework | None = None,
        notifier: Notifier | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.clock = clock
        self.calendar = calendar
        self.policy = policy
        self.casework = casework
        self.notifier = notifier
        self.cover: Cover | None = None
        """Who covers a person today (``Delegation.cover``): they may do the callback."""

    # -- who ---------------------------------------------------------------------------------

    def _known(self, value: str, argument: str) -> str:
        address = (value or "").strip().lower()
        config = self.config
        known = {p.address for p in config.people} | {u.head for u in config.units}
        known |= set(config.web.admins)
        if config.organisation.registrar:
            known.add(config.organisation.registrar)
        if address not in known:
            raise InvalidInputError(
                f"{value} finns inte i konfigurationen; ange en person i [[people]] eller en "
                "enhetschef (units.head) — med rätt stavning",
                argument=argument,
            )
        return address

    def _unit_of(self, address: str) -> str | None:
        person = self.config.person(address)
        if person is not None and person.unit:
            return person.unit
        return next((u.name for u in self.config.units if u.head == address), None)

    def covering(
        self,
        user: str,
        view: CallbackView,
        session: Session | None = None,
        known: dict[str, str] | None = None,
    ) -> bool:
        """Whether ``user`` covers the person the request is for today (they are away);
        ``known`` remembers who covers whom over one page."""
        if self.cover is None or user == view.for_address:
            return False
        known = {} if known is None else known
        if view.for_address not in known:
            known[view.for_address] = self.cover(view.for_address, self.today(), session)
        return known[view.for_address] == user

    def may_do(
        self,
        user: User,
        view: CallbackView,
        session: Session | None = None,
        known: dict[str, str] | None = None,
    ) -> bool:
        """The person it is for, whoever covers them today, the head of their unit, admins."""
        return (
            user.is_admin
            or user.address == view.for_address
            or (view.unit is not None and view.unit in user.heads)
            or self.covering(user.address, view, session, known)
        )

    def may_see(
        self,
        user: User,
        view: CallbackView,
        session: Session | None = None,
        known: dict[str, str] | None = None,
    ) -> bool:
        """Those who may do it, and whoever took the message."""
        return user.address == view.requested_by or self.may_do(user, view, session, known)

    # -- reading -----------------------------------------------------------------------------

    def today(self) -> date:
        return self.clock().astimezone(STOCKHOLM).date()

    def list(
        self,
        *,
        for_address: str | None = None,
        include_done: bool = False,
        session: Session | None = None,
    ) -> list[CallbackView]:
        """Open requests (with ``include_done`` also the done ones), the nearest deadline first."""
        query = select(CallbackRequest).options(
            selectinload(CallbackRequest.unit), selectinload(CallbackRequest.case)
        )
        if for_address:
            query = query.where(CallbackRequest.for_address == for_address.strip().lower())
        if not include_done:
            query = query.where(CallbackRequest.done_at.is_(None))
        query = query.order_by(
            CallbackRequest.done_at.is_not(None), CallbackRequest.due, CallbackRequest.id
        )
        if session is not None:
            return [_view(self.config, r) for r in session.scalars(query)]
        with self.sessions() as own, database_errors():
            return [_view(self.config, r) for r in own.scalars(query)]

    def recently_done(self, session: Session, limit: int = 200) -> list[CallbackView]:
        """The last ``limit`` requests done, the latest first."""
        rows = session.scalars(
            select(CallbackRequest)
            .options(selectinload(CallbackRequest.unit), selectinload(CallbackRequest.case))
            .where(CallbackRequest.done_at.is_not(None))
            .order_by(CallbackRequest.done_at.desc(), CallbackRequest.id.desc())
            .limit(limit)
        )
        return [_view(self.config, r) for r in rows]

    def visible(self, user: User, session: Session | None = None) -> list[CallbackView]:
        """The open requests ``user`` may see, nearest deadline first."""
        known: dict[str, str] = {}
        return [v for v in self.list(session=session) if self.may_see(user, v, session, known)]

    def get(self, callback_id: int, session: Session | None = None) -> CallbackView:
        def find(s: Session) -> CallbackView:
            row = s.get(CallbackRequest, callback_id)
            if row is None:
                raise NotFoundError(
                    f"Det finns ingen återuppringning nr {callback_id}. Se 'postvakt callbacks "
                    "list --all' för alla."
                )
            return _view(self.config, row)

        if session is not None:
            return find(session)
        with self.sessions() as own, database_errors():
            return find(own)

    # -- acting ------------------------------------------------------------------------------

    def _insert(
        self,
        session: Session,
        *,
        for_address: str,
        name: str | None,
        phone: str,
        about: str,
        by: str,
        taken: date,
        case: Case | None = None,
    ) -> CallbackRequest:
        unit_name = self._unit_of(for_address)
        unit = (
            session.scalars(select(Unit).where(Unit.name == unit_name)).one_or_none()
            if unit_name
            else None
        )
        row = CallbackRequest(
            for_address=for_address,
            unit=unit,
            case=case,
            name=(" ".join(name.split()) or None) if name else None,
            phone=phone,
            about=" ".join(about.split()),
            requested_at=self.clock(),
            requested_by=by,
            due=self.policy.callback.due(taken, self.calendar),
        )
        session.add(row)
        session.flush()
        log.info("callback %d made (due %s)", row.id, row.due)
        return row

    def add(
        self,
        *,
        for_address: str,
        phone: str,
        about: str,
        by: str,
        name: str | None = None,
    ) -> Made:
        """A callback request for ``for_address``, taken by ``by`` today; they are told."""
        target = self._known(for_address, "--for")
        taker = self._known(by, "--by")
        phone = check_phone(phone)
        if not (about or "").strip():
            raise InvalidInputError("Skriv vad samtalet gäller.", argument="--about")
        with self.sessions() as session, database_errors(), session.begin():
            row = self._insert(
                session,
                for_address=target,
                name=name,
                phone=phone,
                about=about,
                by=taker,
                taken=self.today(),
            )
            view = _view(self.config, row)
        return Made(view, self._tell_new(view))

    def from_case(self, reference: str, *, by: str, summary: str | None = None) -> FromCase:
        """A request for the handler of phone case ``reference`` when the message noted asks
        to be called back (the deadline counted from when the call came).

        ``summary`` is the message as it was written down (the case keeps a shortened
        heading of it); without it the case's summary is read."""
        with self.sessions() as session, database_errors(), session.begin():
            case = find_case(session, reference)
            text = " ".join((summary or case.summary).split())
            if case.channel != "phone" or not wants_callback(text):
                return FromCase(False)
            phone = phone_number(case.contact or "")
            if phone is None:
                return FromCase(
                    True,
                    why_not="inget telefonnummer angavs (--contact), så ingen återuppringning "
                    "kunde läggas in; lägg in den med 'postvakt callbacks add'",
                )
            handler = (case.handler or by).lower()
            row = self._insert(
                session,
                for_address=handler,
                name=case.sender_name,
                phone=phone,
                about=text,
                by=by.lower(),
                taken=case.received_at.astimezone(STOCKHOLM).date(),
                case=case,
            )
            view = _view(self.config, row)
        return FromCase(True, Made(view, self._tell_new(view)))

    def done(self, callback_id: int, *, by: str, note: str) -> Done:
        """Record that the citizen was called back, once; on the case too when there is one.
        A request already done (a second run, a double click, a colleague after) is left as it
        is: :attr:`Done.already` says who marked it done and when."""
        actor = self._known(by, "--by")
        note = (note or "").strip()
        if not note:
            raise InvalidInputError("Skriv vad som kom ut av samtalet.", argument="--note")
        user = user_for(self.config, actor)
        now = self.clock()
        with self.sessions() as session, database_errors(), session.begin():
            view = self.get(callback_id, session)
            if user is None or not self.may_do(user, view, session):
                raise PermissionDeniedError(
                    f"{actor} får inte markera återuppringning {callback_id} som klar; det gör "
                    f"{view.for_name} ({view.for_address}), den som ersätter hen i dag, "
                    "enhetschefen eller en administratör."
                )
            if view.done:
                return Done(view, _done_already(view))
            claimed = session.execute(
                update(CallbackRequest)
                .where(CallbackRequest.id == callback_id, CallbackRequest.done_at.is_(None))
                .values(done_at=now, done_by=actor, note=note)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                session.expire_all()  # done by someone else in the meantime
                first = self.get(callback_id, session)
                return Done(first, _done_already(first))
            if view.case_id is not None and self.casework is not None:
                case = session.get(Case, view.case_id)
                assert case is not None
                self.casework.record_callback(
                    session,
                    case,
                    actor=actor,
                    note=f"Ringde upp {view.citizen}: {note}",
                    now=now,
                )
            session.expire_all()
            done = self.get(callback_id, session)
        log.info("callback %d done", callback_id)
        return Done(done)

    def _tell_new(self, view: CallbackView) -> str:
        """Tell the person (or whoever covers them) of a new request, unless they made it;
        what happened, in Swedish, for the one who made it."""
        if view.requested_by == view.for_address:
            return ""
        if self.notifier is None or self.notifier.mailer is None:
            return "Ingen e-post skickades ([smtp] saknas); påminnelsen kommer inte heller."
        planned = Planned(
            view.for_address,
            "callback_new",
            f"callback:{view.id}",
            view.due,
            _line(view),
            page=_page(view),
        )
        try:
            report = self.notifier.send([planned], self.clock())
        except PostvaktError as exc:  # the reminder job tells them before the deadline
            log.warning("callback %d: could not tell now: %s", view.id, type(exc).__name__)
            return "E-posten kunde inte skickas nu; påminnelsen före tidsgränsen går som vanligt."
        if report.queued:
            return "Meddelandet skickas med e-post när arbetstiden börjar."
        if report.errors:
            return "E-posten kunde inte skickas nu; Postvakt försöker igen vid nästa körning."
        told = [r for r, items in report.sent.items() if planned.ref in {i.ref for i in items}]
        if told and told != [view.for_address]:
            return f"{view.for_name} är borta; {', '.join(told)} har fått meddelandet med e-post."
        if told:
            return f"{view.for_name} har fått meddelandet med e-post."
        return ""  # told before (the same request cannot be new twice)


def callback_notices(
    session: Session,
    config: Config,
    today: date,
    calendar: WorkingCalendar,
    *,
    days_before: int = 1,
) -> list[Planned]:
    """The reminder job's lines for open callbacks: a reminder to the person ``days_before``
    working days before the deadline or nearer; once it has passed, a breach to them and to
    their unit head."""
    rows = session.scalars(
        select(CallbackRequest)
        .options(selectinload(CallbackRequest.unit), selectinload(CallbackRequest.case))
        .where(CallbackRequest.done_at.is_(None))
        .order_by(CallbackRequest.due, CallbackRequest.id)
    )
    planned: list[Planned] = []
    for row in rows:
        view = _view(config, row)
        ref = f"callback:{view.id}"
        if view.due < today:
            line = _line(view, breach=True)
            head = row.unit.head if row.unit else None
            for recipient in dict.fromkeys(a for a in (view.for_address, head) if a):
                planned.append(Planned(recipient, "breach", ref, view.due, line, page=_page(view)))
        elif calendar.working_days_between(today, view.due) <= days_before:
            planned.append(
                Planned(view.for_address, "callback", ref, view.due, _line(view), page=_page(view))
            )
    return planned
