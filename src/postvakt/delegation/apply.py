"""Applying absences to mailboxes and to the work, with the clock passed in.

:meth:`Delegation.apply` runs before every pass.  It *reconciles*: it looks at what the
absences say today and makes the mail system and the work agree, so a pass that fails part
way is finished by the next one, and nothing depends on having run on a particular day.

- **The auto-reply** of an absence in force is set on the person's own mailbox for the period
  (Sieve vacation on IMAP, which also files mail marked private into a folder the delegate
  cannot open; OofSettings on EWS; automaticRepliesSetting on Graph).  Afterwards it is
  cleared, restoring what the person had before (Sieve: their own script again).
- **Delegate access**: whoever covers today gets read rights on the inbox and the right to
  add drafts (IMAP ACL).  With ``[delegation] move_private``, mail marked private is first
  moved out of the inbox to ``Privat``, kept off the delegate's ACL, and moved back at the
  return (:mod:`postvakt.delegation.private`).  On Exchange, where the API cannot grant it, the exact shell lines
  go to the mail administrator, and the permissions are read back on later passes until they
  are seen.  Afterwards the rights are removed (a standing delegate keeps them: set up once).
- **Someone who has left**: the auto-reply names the successor; the unit head gets access for
  one month; then it is removed and the head is reminded to order the mailbox closed.
- **The work** (:meth:`Delegation.reconcile_cases`): every open case is with whoever covers
  its regular handler today; when they are back it returns.  Each move is an event on the
  case and a line to the one who now has it.  Cases marked private never move.

What was done is kept in the absence's ``applied`` (JSON), saved after each step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.delegation.cover import Roster
from postvakt.delegation.emergency import pending
from postvakt.delegation.emergency_notices import send_due
from postvakt.delegation.handover import hand_over
from postvakt.delegation.private import PRIVATE_FOLDER, PrivateMail
from postvakt.delegation.texts import auto_reply
from postvakt.errors import PostvaktError
from postvakt.mailbox.base import Connector, OutOfOffice, SupportsAccessGrants, SupportsOutOfOffice
from postvakt.mailbox.exchange import AutomaticReplies
from postvakt.registry.absences import head_of, roster, view
from postvakt.registry.db import database_errors
from postvakt.registry.models import Absence, Case, CaseStatus
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.notify import Notifier, Planned

__all__ = ["DRAFTS_RIGHTS", "INBOX_RIGHTS", "LEAVING_DAYS", "ApplyReport", "Delegation"]

log = logging.getLogger("postvakt.delegation")

OPEN = (CaseStatus.REGISTERED, CaseStatus.ACKNOWLEDGED, CaseStatus.REOPENED, CaseStatus.WAITING)
INBOX_RIGHTS = "lrs"  # see, read, keep \Seen: read the mail (answering is by drafts)
DRAFTS_RIGHTS = "lrswi"  # and write, add: answer with the drafts Postvakt writes
LEAVING_DAYS = 31
"""How long the unit head has the mailbox of someone who has left: one month."""


@dataclass
class ApplyReport:
    """What one run of :meth:`Delegation.apply` did."""

    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)
    cases_handed: int = 0
    cases_returned: int = 0
    instructions: list[str] = field(default_factory=list)
    """Shell lines for the mail administrator (Exchange)."""
    errors: list[str] = field(default_factory=list)


def _reply_state(reply: OutOfOffice | None) -> dict[str, Any] | None:
    if reply is None:
        return None
    return {
        "start": reply.start.isoformat() if reply.start > date.min else None,
        "end": reply.end.isoformat() if reply.end else None,
        "subject": reply.subject,
        "text": reply.text,
    }


def _reply_from_state(value: Mapping[str, Any] | None) -> OutOfOffice | None:
    if not value:
        return None
    return OutOfOffice(
        start=date.fromisoformat(value["start"]) if value.get("start") else date.min,
        end=date.fromisoformat(value["end"]) if value.get("end") else None,
        subject=value.get("subject") or "",
        text=value.get("text") or "",
    )


class Delegation:
    """Absences applied to the mail system and the work; who covers whom."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        connectors: Mapping[str, Connector],
        *,
        clock: Clock,
        calendar: WorkingCalendar,
        notifier: Notifier | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.connectors = connectors
        self.clock = clock
        self.calendar = calendar
        self.notifier = notifier
        self.private = PrivateMail(config, sessions)

    # -- who covers ---------------------------------------------------------------------

    def roster(self, session: Session | None = None) -> Roster:
        if session is not None:
            return roster(session, self.config)
        with self.sessions() as own, database_errors():
            return roster(own, self.config)

    def cover(self, person: str, day: date, session: Session | None = None) -> str:
        """Who reads ``person``'s mail and takes their work on ``day`` (themself when present).

        Pass the ``session`` of a transaction that is open (the intake's): SQLite allows one
        writer, and a second connection would wait for the first."""
        return self.roster(session).who_covers(person, day).by or person

    def uncovered(self, person: str, day: date) -> bool:
        """Away with no substitute or standing delegate present (the coverage rule): only the
        unit head, or nobody, is left."""
        return self.roster().who_covers(person, day).via in ("head", "nobody")

    def today(self) -> date:
        return self.clock().astimezone(STOCKHOLM).date()

    # -- applying ---------------------------------------------------------------------------

    def apply(self) -> ApplyReport:
        """Make the mail system and the work agree with today's absences."""
        now = self.clock()
        today = now.astimezone(STOCKHOLM).date()
        report = ApplyReport()
        with self.sessions() as session, database_errors():
            ids = [
                a.id
                for a in session.scalars(select(Absence).order_by(Absence.id))
                if not a.applied.get("done")
            ]
        for absence_id in ids:
            try:
                self._apply_one(absence_id, today, now, report)
            except PostvaktError as exc:
                log.error("absence %s: %s", absence_id, exc)
                report.errors.append(f"frånvaro {absence_id}: {exc}")
        self._emergency_notices(now, report)
        try:
            self.reconcile_cases(now, report)
        except PostvaktError as exc:
            report.errors.append(f"ärenden under frånvaro: {exc}")
        return report

    def _emergency_notices(self, now: datetime, report: ApplyReport) -> None:
        """Send what an emergency delegation still owes its approvers and delegate (a mail
        server that refused before has another go)."""
        mailer = self.notifier.mailer if self.notifier is not None else None
        if mailer is None:
            return
        with self.sessions() as session, database_errors():
            ids = session.scalars(
                select(Absence.id).where(Absence.emergency.is_(True), Absence.ended_at.is_(None))
            ).all()
        for absence_id in ids:
            report.errors += send_due(self.config, self.sessions, mailer, absence_id, now)

    def _load(self, absence_id: int) -> tuple[Absence, dict[str, Any], Roster]:
        with self.sessions() as session, database_errors():
            absence = session.get_one(Absence, absence_id)
            session.expunge(absence)
            return absence, dict(absence.applied), roster(session, self.config)

    def _save(self, absence_id: int, state: dict[str, Any]) -> None:
        with self.sessions() as session, database_errors(), session.begin():
            session.get_one(Absence, absence_id).applied = dict(state)

    def _apply_one(self, absence_id: int, today: date, now: datetime, report: ApplyReport) -> None:
        absence, state, who = self._load(absence_id)
        seen = view(absence)
        over = (seen.end is not None and today > seen.end) or (
            absence.ended_at is not None and not seen.covers_day(today)
        )
        in_force = seen.covers_day(today) and not pending(absence)  # emergency: both approve
        connector = self._personal_connector(absence.person)
        if in_force:
            if not state.get("active"):
                report.started.append(absence.id)
                state["active"] = True
                state["started_at"] = now.isoformat()
            if state.pop("stale", False):
                state["reply_set"] = False  # changed: the text and the period are set anew
            self._reply_on(absence, seen.end, who, today, state, connector)
            self._save(absence_id, state)
            leaving_over = absence.kind == "slutat" and today > absence.start + timedelta(
                days=LEAVING_DAYS - 1
            )
            if connector is not None and not absence.self_handling and not leaving_over:
                # Before the delegate gets any rights: private mail is out of sight first.
                refused = self.private.away(absence.id, connector, state, now)
                if refused:
                    report.errors.append(refused)
                self._save(absence_id, state)
            self._access(absence, who, today, now, state, connector, report)
            self._save(absence_id, state)
        elif state.get("active") or state.get("reply_set") or state.get("access"):
            # Over, ended early, or moved to start later: everything set is taken back.
            self._reply_off(state, connector, today)
            self._save(absence_id, state)
            self._grant_to(absence, None, now, state, connector, report)
            self._save(absence_id, state)
            self.private.back(absence.id, absence.start, connector, state)  # rights gone first
            state["active"], state["done"] = False, over
            self._save(absence_id, state)
            report.ended.append(absence.id)
        elif over:
            state["done"] = True
            self._save(absence_id, state)

    def _personal_connector(self, person: str) -> Connector | None:
        mailbox = self.config.mailbox(person)
        if mailbox is None or mailbox.kind != "personal":
            return None
        return self.connectors.get(person)

    # -- the auto-reply ---------------------------------------------------------------------

    def reply_for(self, absence: Absence, who: Roster | None = None) -> OutOfOffice:
        """The reply the citizen gets: the person's own text, or one made from the absence."""
        day = max(absence.start, self.today())
        who = who or self.roster()
        covered_by = (
            absence.substitutes[0]
            if absence.kind == "slutat" and absence.substitutes
            else who.who_covers(absence.person, day).by
        )
        made = auto_reply(
            self.config,
            self.calendar,
            person=absence.person,
            kind=absence.kind,
            end=view(absence).end,
            covered_by=covered_by,
        )
        return OutOfOffice(
            start=absence.start,
            end=None if absence.kind == "slutat" else view(absence).end,
            subject=absence.reply_subject or made.subject,
            text=absence.reply_text or made.text,
            private_folder=None if absence.self_handling else PRIVATE_FOLDER,
            private_marker=self.config.organisation.private_marker,
        )

    def _reply_on(
        self,
        absence: Absence,
        end: date | None,
        who: Roster,
        today: date,
        state: dict[str, Any],
        connector: Connector | None,
    ) -> None:
        if state.get("reply_set") or not isinstance(connector, SupportsOutOfOffice):
            return
        if absence.self_handling and not absence.reply_text:
            return  # reads their own mail: no reply unless they wrote one
        if "previous_reply" not in state:
            state["previous_reply"] = _reply_state(connector.out_of_office())
            exchange = getattr(connector, "automatic_replies", None)
            if callable(exchange):  # Exchange: both texts, the audience, even when off
                state["previous_automatic"] = exchange().as_state()
        connector.set_out_of_office(self.reply_for(absence, who))
        state["reply_set"] = True

    def _reply_off(self, state: dict[str, Any], connector: Connector | None, today: date) -> None:
        if not state.get("reply_set") or not isinstance(connector, SupportsOutOfOffice):
            state["reply_set"] = False
            return
        restore = getattr(connector, "set_automatic_replies", None)
        if state.get("previous_automatic") and callable(restore):
            # Exactly what the person had; a schedule that has run out is written as off.
            restore(AutomaticReplies.from_state(state["previous_automatic"]))
            state["reply_set"] = False
            return
        previous = _reply_from_state(state.get("previous_reply"))
        if previous is not None and previous.end is not None and previous.end < today:
            previous = None  # what was there before has run out meanwhile
        if previous is not None and not getattr(connector, "clearing_restores_own_reply", False):
            connector.set_out_of_office(previous)
        else:
            connector.clear_out_of_office()  # Sieve: the person's own script is active again
        state["reply_set"] = False

    # -- delegate access --------------------------------------------------------------------

    def _access(
        self,
        absence: Absence,
        who: Roster,
        today: date,
        now: datetime,
        state: dict[str, Any],
        connector: Connector | None,
        report: ApplyReport,
    ) -> None:
        if absence.self_handling or connector is None:
            return
        if absence.kind == "slutat":
            until = absence.start + timedelta(days=LEAVING_DAYS - 1)
            state["head_access_until"] = until.isoformat()
            if today > until:
                self._grant_to(absence, None, now, state, connector, report)
                self.private.back(absence.id, absence.start, connector, state)
                self._remind_to_close(absence, until, now, state)
                return
            grantee = head_of(self.config)(absence.person)
            standing = False
        else:
            coverage = who.who_covers(absence.person, today)
            grantee = coverage.by if coverage.by != absence.person else None
            standing = coverage.via == "standing"
        self._grant_to(absence, grantee, now, state, connector, report, standing=standing)
        self._verify(state, connector, now)

    def _login(self, address: str) -> str:
        person = self.config.person(address)
        return person.login_name if person else address.partition("@")[0]

    def _folders(self, connector: Connector) -> dict[str, str]:
        folders = dict.fromkeys(connector.folders("inbox"), INBOX_RIGHTS)
        drafts = getattr(connector, "drafts_folder", None)
        if callable(drafts):
            folders[drafts()] = DRAFTS_RIGHTS
        return folders

    def _grant_to(
        self,
        absence: Absence,
        grantee: str | None,
        now: datetime,
        state: dict[str, Any],
        connector: Connector | None,
        report: ApplyReport,
        *,
        standing: bool = False,
    ) -> None:
        """Move the access to ``grantee`` (None: nobody), removing the previous one's."""
        current = state.get("access") or None
        if (current or {}).get("who") == grantee or connector is None:
            return
        if current and not current.get("standing"):
            self._revoke(absence, current, connector, state, report)
        state["access"] = None
        if grantee is None:
            return
        folders = self._folders(connector)
        access: dict[str, Any] = {"who": grantee, "standing": standing, "since": now.isoformat()}
        if isinstance(connector, SupportsAccessGrants):
            login = self._login(grantee)
            for folder, rights in folders.items():
                connector.grant_access(folder, login, rights)
            self.private.keep_out(connector, login, state)
            access.update(login=login, folders=sorted(folders), verified=True)
        elif callable(getattr(connector, "grant_instruction", None)):
            lines = [
                connector.grant_instruction(folder, grantee, rights)  # type: ignore[attr-defined]
                for folder, rights in folders.items()
            ]
            access.update(folders=folders, instruction=lines, verified=False)
            report.instructions += lines
            self._tell_admin(absence, grantee, lines, now, granting=True)
        state["access"] = access

    def _revoke(
        self,
        absence: Absence,
        access: dict[str, Any],
        connector: Connector,
        state: dict[str, Any],
        report: ApplyReport,
    ) -> None:
        if isinstance(connector, SupportsAccessGrants) and access.get("login"):
            for folder in access.get("folders") or []:
                connector.remove_access(folder, access["login"])
            return
        removal = getattr(connector, "removal_instruction", None)
        if callable(removal) and access.get("who"):
            lines = [removal(folder, access["who"]) for folder in access.get("folders") or []]
            report.instructions += lines
            self._tell_admin(absence, access["who"], lines, self.clock(), granting=False)
            state.setdefault("removals", []).append({"who": access["who"], "instruction": lines})

    def _verify(self, state: dict[str, Any], connector: Connector, now: datetime) -> None:
        """Read the permissions back after the administrator has granted them (Exchange)."""
        access = state.get("access") or {}
        check: Callable[[str, str, str], bool] | None = getattr(connector, "has_access", None)
        if access.get("verified") or not callable(check):
            return
        try:
            granted = all(check(f, access["who"], r) for f, r in access["folders"].items())
        except PostvaktError as exc:
            log.warning("could not read the permissions of %s: %s", connector.address, exc)
            return
        if granted:
            access["verified"] = True
            access["verified_at"] = now.isoformat()
            state["access"] = access

    def _tell_admin(
        self, absence: Absence, who: str, lines: list[str], now: datetime, *, granting: bool
    ) -> None:
        admin = self.config.organisation.mail_admin
        if not admin or self.notifier is None or not lines:
            return
        verb = "ge" if granting else "ta bort"
        text = (
            f"{absence.person}: {verb} {who} behörighet (frånvaro {absence.id}) – kör: "
            + " ; ".join(lines)
        )
        kind = "access_grant" if granting else "access_removal"
        self.notifier.send([Planned(admin, kind, f"{absence.id}:{who}", now.date(), text)], now)

    def _remind_to_close(
        self, absence: Absence, until: date, now: datetime, state: dict[str, Any]
    ) -> None:
        if state.get("close_reminded"):
            return
        head = head_of(self.config)(absence.person)
        if head and self.notifier is not None:
            line = (
                f"{absence.person} slutade {absence.start.isoformat()}; månaden med delegering "
                "till dig är slut och behörigheten är borttagen. Beställ att brevlådan stängs."
            )
            told = Planned(head, "close_mailbox", absence.person, until, line, page="/franvaro")
            self.notifier.send([told], now)
        state["close_reminded"] = True
        state["active"], state["done"] = False, True

    # -- the work follows the substitute ----------------------------------------------------

    def reconcile_cases(self, now: datetime, report: ApplyReport | None = None) -> int:
        """Put every open case with whoever covers its regular handler today.

        A case of someone away goes to the one covering them (and remembers whose it is); a
        case whose regular handler is back returns to them.  A case of someone who has left
        moves to the successor for good.  Private cases never move.
        """
        today = now.astimezone(STOCKHOLM).date()
        moved = 0
        with self.sessions() as session, database_errors(), session.begin():
            who = roster(session, self.config)
            away = {a.person for a in who.absences if a.covers_day(today)}
            cases = session.scalars(
                select(Case).where(
                    Case.status.in_(OPEN),
                    Case.private.is_(False),
                    or_(Case.regular_handler.is_not(None), Case.handler.in_(away or {""})),
                )
            ).all()
            told: list[Planned] = []
            for case in cases:
                moved += self._follow(session, case, who, today, now, told, report)
            if told and self.notifier is not None:
                self.notifier.queue(session, told, now)
        return moved

    def _follow(
        self,
        session: Session,
        case: Case,
        who: Roster,
        today: date,
        now: datetime,
        told: list[Planned],
        report: ApplyReport | None,
    ) -> int:
        base = case.regular_handler or case.handler
        if base is None:
            return 0
        absence = who.away(base, today)
        desired = who.who_covers(base, today).by or base
        if desired == case.handler:
            return 0
        leaving = absence is not None and absence.kind == "slutat"
        hand_over(session, case, desired, regular=base, now=now, leaving=leaving)
        line = (
            f"{case.label} {case.heading}: tillbaka hos dig efter frånvaron"
            if desired == base
            else f"{case.label} {case.heading}: du handlägger ärendet"
            + ("" if leaving else f" medan {base} är borta")
        )
        told.append(
            Planned(
                desired,
                "returned" if desired == base else "covering",
                case.reference,
                today,
                line,
                page=f"/arenden/{case.id}",
            )
        )
        if report is not None:
            if desired == base:
                report.cases_returned += 1
            else:
                report.cases_handed += 1
        return 1
