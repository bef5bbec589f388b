"""The yearly compilation of complaints and opinions: made, sent to its owner, reminded of.

The routine (Linköping's, and the others' alike): each manager compiles the year's complaints
and opinions — what they concerned, the answer, the actions taken — and the compilation is
sent to the department that analyses it by 15 February.  Here:

- :func:`build` makes the files: a landscape Word document (:mod:`.word`) and a workbook
  with one sheet per level (:mod:`.sheets`); the data is :mod:`postvakt.registry.report`'s.
- :func:`send_compilation` mails them to ``[organisation] compilation_to`` and records the
  sending (``compilations_sent``) once the mail server took it.
- :func:`compilation_reminders` is what the compilation job tells: from ``[rules]
  compilation_reminder`` (15 January) the owner — ``compilation_to``, else the registrar —
  weekly until the year's compilation is sent, and each unit head once before the deadline.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM
from postvakt.compilation.sheets import to_csv, to_xlsx
from postvakt.compilation.word import compilation_docx, share_text
from postvakt.config import Config
from postvakt.errors import ConfigError, NotFoundError
from postvakt.registry.compilations import CompilationSent
from postvakt.registry.db import database_errors
from postvakt.registry.report import AnnualReport, annual_report
from postvakt.rules.notify import Mailer, Planned, swedish_day
from postvakt.rules.policy import Policy
from postvakt.templates import LetterRenderer
from postvakt.wording import count

__all__ = [
    "DOCX",
    "XLSX",
    "Sent",
    "build",
    "compilation_docx",
    "compilation_reminders",
    "owner",
    "send_compilation",
    "sendings",
    "to_csv",
    "to_xlsx",
]

log = logging.getLogger("postvakt.compilation")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def owner(config: Config) -> str | None:
    """Who the compilation goes to and who is reminded of it: ``compilation_to``, else the
    registrar."""
    org = config.organisation
    return org.compilation_to or org.registrar


def file_stem(year: int, scope: str) -> str:
    """'Sammanställning synpunkter och klagomål 2026 – Kontaktcenter' (no path characters)."""
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", scope).strip(" .-") or "organisationen"
    return f"Sammanställning synpunkter och klagomål {year} – {safe}"


def build(
    renderer: LetterRenderer,
    config: Config,
    report: AnnualReport,
    now: datetime,
    *,
    by: str | None = None,
) -> list[tuple[str, str, bytes]]:
    """The compilation's files — (name, content type, bytes) — for ``report``'s units."""
    single = len(report.units) == 1
    scope = report.units[0].name if single else config.organisation.name
    stem = file_stem(report.year, scope)
    return [
        (f"{stem}.docx", DOCX, compilation_docx(renderer, config, report, now, by=by)),
        (f"{stem}.xlsx", XLSX, to_xlsx(report, config.organisation.name)),
    ]


@dataclass(frozen=True)
class Sent:
    """What :func:`send_compilation` did."""

    year: int
    unit: str | None
    to: str
    cases: int
    files: tuple[str, ...]


def _body(config: Config, report: AnnualReport, scope: str, by: str, files: list[str]) -> str:
    whole = report.organisation(scope)
    lines = [
        "Hej!",
        "",
        f"Här är sammanställningen av {report.year} års synpunkter och klagomål för {scope} "
        f"(enligt rutinen senast {swedish_day(report.deadline)}): vad de gällde, chefens svar och "
        "vidtagna åtgärder, med totaler per enhet, per förvaltning och för hela organisationen.",
        "",
        f"{count(whole.total, 'ärende', 'ärenden')}: "
        f"{whole.complaints} klagomål, "
        f"{count(whole.opinions, 'synpunkt', 'synpunkter')} och "
        f"{whole.care} som rör enskilds vård och omsorg (de redovisas i avvikelsemodulen). "
        f"Besvarade i tid: {share_text(whole)}.",
        "",
        "Bifogat: " + " och ".join(files) + ".",
        "",
        f"Skickad av {by} med Postvakt.",
    ]
    return "\n".join(lines) + "\n"


def send_compilation(
    config: Config,
    sessions: sessionmaker[Session],
    mailer: Mailer | None,
    renderer: LetterRenderer,
    policy: Policy,
    *,
    year: int,
    by: str,
    now: datetime,
    unit: str | None = None,
) -> Sent:
    """Mail ``year``'s compilation (of ``unit``, or of the whole organisation) to
    ``[organisation] compilation_to`` and record that it was sent.

    Raises :class:`ConfigError` when there is nowhere or no way to send it, and the mailer's
    :class:`~postvakt.errors.UnavailableError` when the mail server did not take it (nothing
    is recorded then).
    """
    to = config.organisation.compilation_to
    if to is None:
        raise ConfigError(
            "Sammanställningen har ingen mottagare: ange vart den ska skickas med "
            'compilation_to under [organisation], t.ex. compilation_to = "kvalitet@exempel.se".'
        )
    if mailer is None:
        raise ConfigError(
            "Sammanställningen kan inte skickas: [smtp] saknas i konfigurationen. Ange smtp.host "
            "och smtp.from_address."
        )
    deadline = policy.compilation_due(year)
    today = now.astimezone(STOCKHOLM).date()
    with sessions() as session, database_errors():
        report = annual_report(session, year, deadline, unit, as_of=today)
    if unit is not None and not report.units:
        raise NotFoundError(f"Det finns ingen enhet som heter {unit!r}.")
    files = build(renderer, config, report, now, by=by)
    scope = unit or config.organisation.name
    names = [name for name, _, _ in files]
    subject = f"Sammanställning av synpunkter och klagomål {year} – {scope}"
    mailer.send(to, subject, _body(config, report, scope, by, names), files)
    cases = len(report.rows)
    with sessions() as session, database_errors(), session.begin():
        session.add(
            CompilationSent(
                year=year, unit=unit, sent_to=to, sent_by=by, sent_at=now, cases=cases, files=names
            )
        )
    log.info("compilation %d (%s) sent: %d cases", year, "unit" if unit else "whole", cases)
    return Sent(year, unit, to, cases, tuple(names))


def sendings(session: Session, year: int) -> list[CompilationSent]:
    """Every sending of ``year``'s compilation, the first first."""
    return list(
        session.scalars(
            select(CompilationSent)
            .where(CompilationSent.year == year)
            .order_by(CompilationSent.sent_at, CompilationSent.id)
        )
    )


def is_sent(config: Config, sent: list[CompilationSent]) -> bool:
    """The whole organisation's compilation was sent, or every unit's own."""
    units = {s.unit for s in sent}
    return None in units or (bool(config.units) and {u.name for u in config.units} <= units)


def compilation_reminders(
    session: Session, config: Config, policy: Policy, today: date
) -> list[Planned]:
    """What the compilation job tells on ``today`` about last year's compilation.

    From ``[rules] compilation_reminder``: the owner once a week (one line per 7-day period
    counted from that day, so a holiday moves it, never doubles it) until the compilation is
    sent, also after the deadline; each unit head once, until the deadline, unless their
    unit's (or the whole) compilation was sent.
    """
    year = today.year - 1
    month, day = (int(x) for x in config.rules.compilation_reminder.split("-"))
    start = date(today.year, month, day)
    if today < start:
        return []
    deadline = policy.compilation_due(year)
    sent = sendings(session, year)
    planned: list[Planned] = []
    to = owner(config)
    if to is not None and not is_sent(config, sent):
        week = start + timedelta(days=7 * ((today - start).days // 7))
        where = config.organisation.compilation_to
        how = (
            f"Skicka den med 'postvakt report annual --year {year} --send --by DIN-ADRESS' "
            "eller från sidan Sammanställning."
            if where
            else "Ange först vart den ska skickas: compilation_to under [organisation]."
        )
        when = (
            f"ska skickas{' till ' + where if where else ''} senast {swedish_day(deadline)}"
            if today <= deadline
            else f"skulle ha skickats{' till ' + where if where else ''} senast "
            f"{swedish_day(deadline)}"
        )
        planned.append(
            Planned(
                to,
                "compilation",
                f"sammanställning {year}",
                week,
                f"Sammanställningen av {year} års synpunkter och klagomål {when} och är inte "
                f"skickad än. {how}",
                page="/sammanstallning",
            )
        )
    done = {s.unit for s in sent}
    if today <= deadline and None not in done:
        planned += [
            Planned(
                unit.head,
                "compilation",
                unit.name,
                deadline,
                f"{unit.name}: sammanställningen av {year} års synpunkter och klagomål ska vara "
                f"klar senast {swedish_day(deadline)} (vad de gällde, chefens svar, vidtagna "
                "åtgärder).",
                page="/sammanstallning",
            )
            for unit in config.units
            if unit.name not in done
        ]
    return planned
