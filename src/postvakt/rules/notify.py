"""Telling people: reminders, breaches and alerts as one Swedish digest per person per run.

Rules kept here:

- Only in working time on working days (never at midnight, on a Saturday or at Christmas):
  outside it nothing is sent, and the next run in working time sends it.
- Never twice: each item is a row in ``notifications``, unique on (recipient, kind, ref,
  day).  The rows are claimed (inserted as ``sending``) before the mail goes and marked
  ``sent`` after; if the mail server refuses, the claim is removed so the next run tries
  again.  A crash between claim and send loses that digest rather than sending it twice;
  such rows stay ``sending`` and are logged.
- By SMTP from the config, with the password from the environment variable it names.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.config import SmtpConfig
from postvakt.errors import AuthenticationError, ConfigError, UnavailableError
from postvakt.registry.db import database_errors
from postvakt.registry.models import Notification
from postvakt.rules.calendar import WorkingCalendar

__all__ = ["Mailer", "Notifier", "Planned", "SendReport", "swedish_day"]

log = logging.getLogger("postvakt.notify")

_WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december")  # fmt: skip

SECTIONS = {
    "breach": "Tidsgränsen har passerats",
    "reminder": "Snart dags att svara",
    "not_opened": "Brevlådor som inte har öppnats i dag",
    "coverage_gap": "Funktionsbrevlådor utan ansvarig på plats i dag",
    "compilation": "Årlig sammanställning av synpunkter och klagomål",
}


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


@dataclass
class SendReport:
    sent: dict[str, list[Planned]] = field(default_factory=dict)
    """recipient -> what they were told in this run"""
    skipped_outside_working_time: int = 0
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

    def send(
        self, to: str, subject: str, body: str, attachments: Sequence[tuple[str, str, bytes]] = ()
    ) -> None:
        """Send a message; ``attachments`` are (file name, content type, bytes)."""
        message = EmailMessage()
        message["From"] = f"Postvakt <{self.smtp.from_address}>"
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=self.smtp.from_address.rpartition("@")[2])
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: nobody's auto-reply answers it
        message.set_content(body)
        for filename, content_type, data in attachments:
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
                f"SMTP-servern {where} nekade inloggningen som {self.smtp.username}; kontrollera "
                "smtp.username och lösenordet i miljövariabeln smtp.password_env anger."
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise UnavailableError(
                f"aviseringen till {to} kunde inte skickas via {where} ({exc}). Postvakt försöker igen vid nästa körning."
            ) from exc


class Notifier:
    """Claims, sends and records digests."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        mailer: Mailer | None,
        calendar: WorkingCalendar,
        working_hours: tuple,
    ):
        self.sessions = sessions
        self.mailer = mailer
        self.calendar = calendar
        self.working_hours = working_hours

    def in_working_time(self, now: datetime) -> bool:
        start, end = self.working_hours
        return (
            self.calendar.is_working_day(now.date())
            and start <= now.time().replace(tzinfo=None) < end
        )

    def send(self, planned: Sequence[Planned], now: datetime) -> SendReport:
        report = SendReport()
        if not planned:
            return report
        if not self.in_working_time(now):
            report.skipped_outside_working_time = len(planned)
            return report
        if self.mailer is None:
            raise ConfigError(
                "Postvakt ska skicka påminnelser men [smtp] saknas i konfigurationen. "
                "Ange smtp.host och smtp.from_address."
            )
        by_recipient: dict[str, list[Planned]] = {}
        for item in planned:
            by_recipient.setdefault(item.recipient, []).append(item)
        for recipient, items in sorted(by_recipient.items()):
            claimed = self._claim(recipient, items, now)
            if not claimed:
                continue
            try:
                self.mailer.send(recipient, _subject(claimed), _body(claimed, now.date()))
            except (UnavailableError, AuthenticationError) as exc:
                self._release(claimed)
                report.errors.append(str(exc))
                log.warning("digest to %s not sent: %s", recipient, exc)
                continue
            self._mark_sent(claimed, now)
            report.sent[recipient] = claimed
        return report

    def _claim(self, recipient: str, items: list[Planned], now: datetime) -> list[Planned]:
        """Insert the rows not sent before; return those this run now owns."""
        keys = {(i.kind, i.ref, i.day) for i in items}
        with self.sessions() as session:
            try:
                with database_errors(), session.begin():
                    existing = {
                        (n.kind, n.ref, n.day)
                        for n in session.scalars(
                            select(Notification).where(Notification.recipient == recipient)
                        )
                        if (n.kind, n.ref, n.day) in keys
                    }
                    new = [
                        i for i in dict.fromkeys(items) if (i.kind, i.ref, i.day) not in existing
                    ]
                    for item in new:
                        session.add(
                            Notification(
                                recipient=recipient,
                                kind=item.kind,
                                ref=item.ref,
                                day=item.day,
                                text=item.line,
                                status="sending",
                                created_at=now,
                            )
                        )
            except IntegrityError:
                return []  # another instance claimed them a moment ago: it sends
        return new

    def _release(self, items: list[Planned]) -> None:
        with self.sessions() as session, database_errors(), session.begin():
            for item in items:
                session.execute(
                    delete(Notification).where(
                        Notification.recipient == item.recipient,
                        Notification.kind == item.kind,
                        Notification.ref == item.ref,
                        Notification.day == item.day,
                        Notification.status == "sending",
                    )
                )

    def _mark_sent(self, items: list[Planned], now: datetime) -> None:
        with self.sessions() as session, database_errors(), session.begin():
            for item in items:
                session.execute(
                    update(Notification)
                    .where(
                        Notification.recipient == item.recipient,
                        Notification.kind == item.kind,
                        Notification.ref == item.ref,
                        Notification.day == item.day,
                    )
                    .values(status="sent", sent_at=now)
                )


def _subject(items: Sequence[Planned]) -> str:
    kinds = {i.kind for i in items}
    if "breach" in kinds or "coverage_gap" in kinds or "not_opened" in kinds:
        return f"Postvakt: {len(items)} saker behöver åtgärdas i dag"
    if kinds == {"compilation"}:
        return "Postvakt: dags för den årliga sammanställningen av synpunkter och klagomål"
    return f"Postvakt: påminnelse om {len(items)} svar"


def _body(items: Sequence[Planned], today: date) -> str:
    lines = [
        "Hej!",
        "",
        f"Det här behöver din uppmärksamhet {swedish_day(today, weekday=True)}:",
        "",
    ]
    for kind, title in SECTIONS.items():
        section = [i for i in items if i.kind == kind]
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
