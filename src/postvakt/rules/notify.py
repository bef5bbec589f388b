"""Telling people: reminders, breaches and alerts as one Swedish digest per person per run.

Rules kept here:

- Only in working time on working days (never at midnight, on a Saturday or at Christmas):
  outside it the items are queued, and the next run in working time sends them.
- Once, and never lost: each item is a row in ``notifications``, unique on (recipient, kind,
  ref, day), the recipient being the person the item is for.  The rows are claimed
  (``sending``, with ``claimed_at``) before the mail goes and marked ``sent`` after; if the
  mail server refuses, they go back to ``queued`` and the next run sends them.  Rows a
  process left ``sending`` (it stopped between claim and mark) are sent again once their
  claim is older than NOTICE_LEASE, with the same Message-ID when the digest is the same.
- Absence: an item for someone away goes to whoever covers them on the day it is sent (not
  the day it was queued), marked "(för …, som är borta)"; an item about private mail never
  does.  When the one covering has the same item themself, the digest says it once.
- By SMTP from the config, with the password from the environment variable it names.
- Each line links to the dashboard's page it is about (``Planned.page``) when ``[web]
  base_url`` says where the dashboard is; without it no link is written (never a broken one).
  The link is part of the stored line, so a queued line keeps it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.config import SmtpConfig
from postvakt.errors import AuthenticationError, ConfigError, UnavailableError
from postvakt.registry.db import database_errors
from postvakt.registry.models import Notification
from postvakt.rules.calendar import WorkingCalendar
from postvakt.wording import count as counted

__all__ = [
    "NOTICE_LEASE",
    "Mailer",
    "Notifier",
    "Planned",
    "SendReport",
    "page_link",
    "swedish_day",
]

log = logging.getLogger("postvakt.notify")

NOTICE_LEASE = timedelta(minutes=15)
"""A notice ``sending`` for longer than this was left by a process that stopped (a mail goes
within seconds, or fails within the SMTP time-out): it is sent again."""

Cover = Callable[[str, date, "Session | None"], str]
"""``(person, day, session)``: who takes the person's work that day (themself when present)."""

_WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december")  # fmt: skip

SECTIONS = {
    "breach": "Tidsgränsen har passerats",
    "reminder": "Snart dags att svara",
    "callback_new": "Ring upp: någon har sökt dig",
    "callback": "Snart dags att ringa upp",
    "new_case": "Nya klagomål och synpunkter i din enhet",
    "running": "Tidsgränser som löper i din enhet",
    "not_opened": "Brevlådor som inte har öppnats i dag",
    "coverage_gap": "Funktionsbrevlådor utan ansvarig på plats i dag",
    "compilation": "Årlig sammanställning av synpunkter och klagomål",
    "assigned": "Ärenden du ska pröva på nytt",
    "forwarded": "Ärenden som har lämnats över till dig",
    "followup": "Nya meddelanden i dina ärenden",
    "feedback": "Ärenden du tog emot som har lämnats vidare",
    "forward_feedback": "Återkoppling på ärenden du har lämnat över",
    "forward_reminder": "Ärenden du har lämnat över som saknar återkoppling",
    "covering": "Ärenden du har tagit över under en frånvaro",
    "returned": "Ärenden som har kommit tillbaka till dig efter din frånvaro",
    "close_mailbox": "Brevlådor att stänga",
    "care": "Klagomål och synpunkter som rör enskilds vård och omsorg",
    "care_marked": "Ärenden som nu rör enskilds vård och omsorg",
    "care_cleared": "Ärenden som inte längre rör enskilds vård och omsorg",
}
OTHER_SECTION = "Övrigt"
"""The heading for a kind without a section of its own: no line is ever dropped."""


def swedish_day(day: date, *, weekday: bool = False) -> str:
    text = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{_WEEKDAYS[day.weekday()]} {text}" if weekday else text


@dataclass(frozen=True)
class Planned:
    """One line to tell one person once."""

    recipient: str
    kind: str
    ref: str
    day: date
    line: str
    private: bool = field(default=False, compare=False)
    """About mail marked private: told to the recipient even while they are away, never to
    whoever covers them."""
    page: str | None = field(default=None, compare=False)
    """The dashboard's page the line is about (``/arenden/12``, ``/aterringningar#…``); the
    notifier adds it to the line as a link when ``[web] base_url`` is set."""
    owner: str | None = field(default=None, compare=False)
    """The person the item is for, when it goes to whoever covers them (``recipient``)."""
    rows: tuple[int, ...] = field(default=(), compare=False)
    """Its rows in ``notifications`` (a line told once for two items has two)."""

    @property
    def key(self) -> tuple[str, str, str, date]:
        """What makes it one item: its row is unique on this."""
        return (self.owner or self.recipient, self.kind, self.ref, self.day)


def page_link(base_url: str | None, page: str | None) -> str | None:
    """``page`` as an address people can open from a mail, or None without ``base_url``."""
    if not base_url or not page:
        return None
    return f"{str(base_url).rstrip('/')}/{page.lstrip('/')}"


@dataclass
class SendReport:
    sent: dict[str, list[Planned]] = field(default_factory=dict)
    """recipient -> what they were told in this run"""
    queued: int = 0
    """Items kept for the next run in working time."""
    errors: list[str] = field(default_factory=list)


class Mailer:
    """Sends one message by SMTP as the config says."""

    def __init__(self, smtp: SmtpConfig, environ: Mapping[str, str]):
        self.smtp = smtp
        self._password = environ.get(smtp.password_env, "") if smtp.password_env else ""

    @property
    def port(self) -> int:
        if self.smtp.port:
            return self.smtp.port
        return {"tls": 465, "starttls": 587}.get(self.smtp.security, 25)

    @property
    def domain(self) -> str:
        """The domain of the sender address: what Message-IDs end with."""
        return self.smtp.from_address.rpartition("@")[2]

    def send(
        self,
        to: str,
        subject: str,
        body: str,
        attachments: Sequence[tuple[str, str, bytes]] = (),
        *,
        message_id: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        """Send a message; ``attachments`` are (file name, content type, bytes).

        ``message_id`` (``<…@…>``) replaces the random one, so that a message sent again is
        recognisable as the same; ``reply_to`` sets Reply-To.
        """
        message = EmailMessage()
        message["From"] = f"Postvakt <{self.smtp.from_address}>"
        message["To"] = to
        if reply_to:
            message["Reply-To"] = reply_to
        message["Subject"] = _one_line(subject)
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id or make_msgid(domain=self.domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: nobody's auto-reply answers it
        message.set_content(body)
        for name, content_type, data in attachments:
            filename = _one_line(name)  # a citizen's or a sender's file name: any characters
            if content_type == "message/rfc822":
                # An original message goes in whole: RFC 2046 does not allow it base64-encoded.
                original = email.message_from_bytes(data, policy=email.policy.compat32)
                message.add_attachment(original, filename=filename)
                continue
            maintype, _, subtype = content_type.partition("/")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
        where = f"{self.smtp.host}:{self.port}"
        try:
            if self.smtp.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.smtp.host, self.port, timeout=30, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.smtp.host, self.port, timeout=30)
            with client:
                if self.smtp.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.smtp.username:
                    client.login(self.smtp.username, self._password)
                client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthenticationError(
                f"SMTP-servern {where} nekade inloggningen; kontrollera "
                "smtp.username och lösenordet i miljövariabeln smtp.password_env anger."
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise UnavailableError(
                f"aviseringen till {to} kunde inte skickas via {where} ({exc}). Postvakt försöker igen vid nästa körning."
            ) from exc


URGENT_KINDS = frozenset({"care"})
"""Notices that go at once, also outside working time: a care complaint's notice to the unit
head, who must consider a lex Sarah or lex Maria report without delay (the same day, not
after a weekend)."""


class Notifier:
    """Claims, sends and records digests."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        mailer: Mailer | None,
        calendar: WorkingCalendar,
        working_hours: tuple,
        cover: Cover | None = None,
        *,
        base_url: str | None = None,
    ):
        self.sessions = sessions
        self.base_url = base_url
        """Where the dashboard is (``[web] base_url``): the lines link to its pages."""
        self.mailer = mailer
        self.calendar = calendar
        self.working_hours = working_hours
        self.cover = cover
        """Who covers a person on a day (``Delegation.cover``): nobody away is told anything;
        whoever covers them is."""

    def covered(
        self, planned: Sequence[Planned], day: date, session: Session | None = None
    ) -> list[Planned]:
        """``planned`` with each item for someone away sent to whoever covers them instead."""
        if self.cover is None:
            return list(planned)
        cover = self.cover
        by = {r: cover(r, day, session) for r in {p.recipient for p in planned if not p.private}}
        out = []
        for item in planned:
            to = item.recipient if item.private else by[item.recipient]
            if to != item.recipient:
                item = replace(
                    item,
                    recipient=to,
                    owner=item.recipient,
                    line=f"{item.line} (för {item.recipient}, som är borta)",
                )
            out.append(item)
        return out

    def linked(self, planned: Sequence[Planned]) -> list[Planned]:
        """``planned`` with each line ending in the link to its page (once: the link becomes
        part of the line); a line without a page, or without ``base_url``, is left as it is."""
        out = []
        for item in planned:
            link = page_link(self.base_url, item.page)
            line = f"{item.line}\n    {link}" if link else item.line
            out.append(replace(item, line=line, page=None))
        return out

    def in_working_time(self, now: datetime) -> bool:
        start, end = self.working_hours
        return (
            self.calendar.is_working_day(now.date())
            and start <= now.time().replace(tzinfo=None) < end
        )

    def send(self, planned: Sequence[Planned], now: datetime) -> SendReport:
        """Send what is planned, with whatever waited in the queue, as one digest per person.

        Outside working time only the urgent kinds (:data:`URGENT_KINDS`) are sent: the other
        items are queued, and the next run in working time sends them.  A digest the mail
        server refuses goes back to the queue.  Items go to whoever covers their person on
        the day they are sent.
        """
        report = SendReport()
        planned = self.linked(planned)
        if self.in_working_time(now):
            waiting = self._waiting(now)
        else:
            report.queued = self._queue([p for p in planned if p.kind not in URGENT_KINDS], now)
            planned = [p for p in planned if p.kind in URGENT_KINDS]
            waiting = self._waiting(now, URGENT_KINDS)
        if not planned and not waiting:
            return report
        if self.mailer is None:
            raise ConfigError(
                "Postvakt ska skicka påminnelser men [smtp] saknas i konfigurationen. "
                "Ange smtp.host och smtp.from_address."
            )
        by_recipient: dict[str, list[Planned]] = {}
        for item in self.covered(_unique([*waiting, *planned]), now.date()):
            by_recipient.setdefault(item.recipient, []).append(item)
        for recipient, items in sorted(by_recipient.items()):
            claimed = self._claim(items, now)
            if not claimed:
                continue
            told = _told_once(claimed)
            try:
                self.mailer.send(
                    recipient,
                    _subject(told),
                    _body(told, now.date()),
                    message_id=self._message_id(told),
                )
            except (UnavailableError, AuthenticationError) as exc:
                self._set_status(claimed, "queued")
                report.errors.append(str(exc))
                log.warning(
                    "a digest of %d items not sent; queued for the next run: %s",
                    len(told),
                    type(exc).__name__,
                )
                continue
            self._set_status(claimed, "sent", now)
            report.sent[recipient] = told
        return report

    def _message_id(self, told: Sequence[Planned]) -> str:
        """The same for the same digest: one sent again after a process stopped between the
        mail and its mark (or after a reply lost on the way) is known as the same."""
        assert self.mailer is not None
        rows = sorted(row for item in told for row in item.rows)
        digest = hashlib.sha256(",".join(map(str, rows)).encode()).hexdigest()[:24]
        return f"<postvakt-notice-{digest}@{self.mailer.domain}>"

    def _rows(
        self, session: Session, recipients: Sequence[str]
    ) -> dict[tuple[str, str, str, date], Notification]:
        return {
            (n.recipient, n.kind, n.ref, n.day): n
            for n in session.scalars(
                select(Notification).where(Notification.recipient.in_(sorted(set(recipients))))
            )
        }

    def queue(self, session: Session, planned: Sequence[Planned], now: datetime) -> int:
        """Queue items inside the caller's transaction (they go with its commit, or not at all);
        the next :meth:`send` in working time, or :meth:`flush`, sends them (to whoever covers
        an absent person then)."""
        added = 0
        items = _unique(self.linked(planned))
        rows = self._rows(session, [p.recipient for p in items])
        for item in items:
            if item.key not in rows:
                session.add(self._row(item, "queued", now))
                added += 1
        return added

    def flush(self, now: datetime) -> SendReport:
        """Send what waits in the queue, if it is working time and a mail server is set."""
        if self.mailer is None:
            return SendReport()
        return self.send([], now)

    def _queue(self, planned: Sequence[Planned], now: datetime) -> int:
        """Store items not told before as queued; return how many were new."""
        added = 0
        with self.sessions() as session:
            for recipient in sorted({p.recipient for p in planned}):
                try:
                    with database_errors(), session.begin():
                        added += self.queue(
                            session, [p for p in planned if p.recipient == recipient], now
                        )
                except IntegrityError:
                    continue  # another instance queued them a moment ago
        return added

    def _waiting(self, now: datetime, kinds: frozenset[str] | None = None) -> list[Planned]:
        """What waits, oldest first (only ``kinds`` when given): queued, or left ``sending`` by
        a process that stopped."""
        query = select(Notification).where(self._free(now))
        if kinds is not None:
            query = query.where(Notification.kind.in_(sorted(kinds)))
        with self.sessions() as session, database_errors():
            return [
                Planned(n.recipient, n.kind, n.ref, n.day, n.text, private=n.private, rows=(n.id,))
                for n in session.scalars(query.order_by(Notification.id))
            ]

    @staticmethod
    def _free(now: datetime) -> Any:
        """A row nobody is sending: queued, or claimed too long ago to be at work still."""
        return or_(
            Notification.status == "queued",
            (Notification.status == "sending") & (Notification.claimed_at < now - NOTICE_LEASE),
        )

    @staticmethod
    def _row(item: Planned, status: str, now: datetime) -> Notification:
        recipient, kind, ref, day = item.key
        return Notification(
            recipient=recipient,
            kind=kind,
            ref=ref,
            day=day,
            text=item.line,
            status=status,
            created_at=now,
            claimed_at=now if status == "sending" else None,
            private=item.private,
        )

    def _claim(self, items: list[Planned], now: datetime) -> list[Planned]:
        """Take the items nobody has told yet (new, queued, or left by a stopped process);
        return those this run owns, each with its row.  An item another process took a
        moment ago is left to it; the others are still this run's."""
        mine = []
        with self.sessions() as session, database_errors(), session.begin():
            rows = self._rows(session, [item.key[0] for item in items])
            for item in items:
                row = rows.get(item.key)
                if row is None:
                    new = self._row(item, "sending", now)
                    try:
                        with session.begin_nested():
                            session.add(new)
                    except IntegrityError:
                        continue  # another process stored it a moment ago: it sends
                    mine.append(replace(item, rows=(new.id,)))
                    continue
                # Only while still free: two processes (or the IDLE watcher's pass and the
                # scheduler's) may both have read it so.
                taken = session.execute(
                    update(Notification)
                    .where(Notification.id == row.id, self._free(now))
                    .values(status="sending", claimed_at=now)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    mine.append(replace(item, rows=(row.id,)))
        return mine

    def _set_status(self, items: list[Planned], status: str, now: datetime | None = None) -> None:
        ids = sorted(row for item in items for row in item.rows)
        with self.sessions() as session, database_errors(), session.begin():
            session.execute(
                update(Notification)
                .where(Notification.id.in_(ids))
                .values(status=status, sent_at=now)
            )


def _unique(items: Sequence[Planned]) -> list[Planned]:
    """One item per :attr:`Planned.key`, the first (a stored one before one planned again)."""
    seen: dict[tuple[str, str, str, date], Planned] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())


def _told_once(items: Sequence[Planned]) -> list[Planned]:
    """The lines of one digest, each thing once: the one covering an absent person who has
    the same item themself (a breach told to the handler and to the head) reads it once,
    as their own, and both rows are marked with it."""
    lines: dict[tuple[str, str, date], Planned] = {}
    for item in items:
        key = (item.kind, item.ref, item.day)
        first = lines.get(key)
        if first is None:
            lines[key] = item
        else:
            keep = item if first.owner and not item.owner else first
            lines[key] = replace(keep, rows=first.rows + item.rows)
    return list(lines.values())


def _subject(items: Sequence[Planned]) -> str:
    kinds = {i.kind for i in items}
    if "breach" in kinds or "coverage_gap" in kinds or "not_opened" in kinds:
        return f"Postvakt: {counted(len(items), 'sak', 'saker')} behöver åtgärdas i dag"
    if kinds <= {"care", "care_marked", "care_cleared"}:
        cases = f"{len(items)} ärenden" if len(items) > 1 else "ett ärende"
        return f"Postvakt: {cases} som rör enskilds vård och omsorg"
    if kinds == {"compilation"}:
        return "Postvakt: dags för den årliga sammanställningen av synpunkter och klagomål"
    if kinds <= {"reminder"}:
        return f"Postvakt: påminnelse om {len(items)} svar"
    if kinds <= {"callback_new", "callback"}:
        count = len(items)
        return (
            f"Postvakt: ring upp {count} medborgare"
            if count > 1
            else "Postvakt: ring upp en medborgare"
        )
    if kinds <= {"new_case", "running"}:
        new = sum(1 for i in items if i.kind == "new_case")
        return (
            f"Postvakt: {new} nya ärenden i din enhet"
            if new > 1
            else "Postvakt: ett nytt ärende i din enhet"
            if new == 1
            else "Postvakt: tidsgränser i din enhet"
        )
    return (
        f"Postvakt: {len(items)} ärenden till dig"
        if len(items) > 1
        else "Postvakt: ett ärende till dig"
    )


def _body(items: Sequence[Planned], today: date) -> str:
    lines = [
        "Hej!",
        "",
        f"Det här behöver din uppmärksamhet {swedish_day(today, weekday=True)}:",
        "",
    ]
    groups = [(title, [i for i in items if i.kind == kind]) for kind, title in SECTIONS.items()]
    groups.append((OTHER_SECTION, [i for i in items if i.kind not in SECTIONS]))
    for title, section in groups:
        if not section:
            continue
        lines.append(f"{title}:")
        lines += [f"  • {i.line}" for i in section]
        lines.append("")
    lines += [
        "Du får det här brevet för att du är ansvarig enligt kommunens rutin för e-post och",
        "klagomålshantering. Varje sak tas upp en gång.",
        "",
        "Hälsningar",
        "Postvakt",
    ]
    return "\n".join(lines) + "\n"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _one_line(text: str) -> str:
    """``text`` fit for a header: its line breaks and other control characters (a file name
    a sender chose, "Svar\r\nx.docx") as one space; the email package refuses a header
    value with a line break, and the message would never go."""
    return _CONTROL.sub(" ", text).strip() or "-"
