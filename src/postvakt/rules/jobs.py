"""The scheduled jobs of the service rules, and the claim that makes each run once a day.

The scheduler fires on weekdays at the configured times; every job checks the working-day
calendar itself (cron knows no holidays) and then claims its (job, day) row, a unique
constraint: when several Postvakt instances share the database, exactly one runs it.  The
claim is finished when the work is done; a run that failed lets it go, and one whose process
stopped leaves it unfinished for RULE_LEASE: either way the service's catch-up (every ten
minutes) makes the run again that day, and the rules do not skip a day.

| job           | when (default)       | what                                                   |
|---------------|----------------------|--------------------------------------------------------|
| coverage      | 08:00                | function mailboxes without a present owner -> unit head|
| daily-open    | 14:00                | evidence each mailbox was opened -> owners (unit head) |
| reminders     | 08:30 and 13:00      | deadlines near -> responsible; passed -> owners, head  |
|               |                      | (callbacks too: near -> the caller; passed -> + head)  |
| compilation   | with the reminders   | from 15 January: the owner weekly until it is sent;    |
|               |                      | the unit heads once, of 15 February                    |
| head-digest   | 09:00                | new complaints and opinions since the last -> the unit |
|               |                      | head, with links and the deadlines running             |
| retrain       | 02:30 (night)        | the classifier learns from the day's corrections; the  |
|               |                      | new model is used only if no worse (classifier.retrain)|
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.callbacks import callback_notices
from postvakt.clock import STOCKHOLM, Clock
from postvakt.config import Config
from postvakt.errors import DatabaseError
from postvakt.mailbox.base import Connector, SupportsOpenedEvidence
from postvakt.registry.db import database_errors
from postvakt.registry.messages import load_state
from postvakt.registry.models import JobClaim, Mailbox
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.daily_open import (
    Absent,
    OpenedResult,
    checked_mailboxes,
    coverage_gaps,
    judge,
    nobody_absent,
    previous_misses,
    record_check,
    told_of_unopened,
)
from postvakt.rules.deadlines import DueItem, due_items, to_notify
from postvakt.rules.forwards import feedback_reminders
from postvakt.rules.head_digest import head_digest
from postvakt.rules.notify import Notifier, Planned, SendReport, swedish_day
from postvakt.rules.policy import Policy

if TYPE_CHECKING:
    from postvakt.classifier.retrain import Retraining

__all__ = ["JOBS", "RULE_LEASE", "JobReport", "RuleJobs", "claim_key"]

log = logging.getLogger("postvakt.jobs")

JobName = Literal["coverage", "daily-open", "reminders", "compilation", "retrain", "head-digest"]
JOBS: tuple[JobName, ...] = (
    "coverage",
    "daily-open",
    "reminders",
    "compilation",
    "retrain",
    "head-digest",
)


RULE_LEASE = timedelta(hours=1)
"""A run claimed longer ago than this and not finished was left by a process that stopped:
it is made again (the longest job, the daily-open check of thousands of mailboxes, takes
minutes)."""


def claim_key(job: str, slot: str = "") -> str:
    """What a run of ``job`` (in ``slot``, for a job that runs more than once a day) claims."""
    return f"{job}@{slot}" if slot else job


@dataclass
class JobReport:
    job: str
    ran: bool
    why_not: str = ""
    planned: list[Planned] = field(default_factory=list)
    opened: list[OpenedResult] = field(default_factory=list)
    sent: SendReport = field(default_factory=SendReport)
    retraining: Retraining | None = None
    """What the retrain job found and decided."""


def _page(item: DueItem) -> str:
    """The case's page; for a message, its mailbox's row on Översikt."""
    return f"/arenden/{item.case_id}" if item.case_id else f"/#brevlada-{item.mailbox}"


def _line(item: DueItem, breach: bool) -> str:
    due = swedish_day(item.due)
    what = {"reply": "svar", "ack": "bekräftelse till den klagande", "answer": "svar"}[item.kind]
    head = item.title if item.kind == "reply" else f"{item.ref} {item.title}"
    when = f"{what} skulle ha lämnats senast {due}" if breach else f"{what} senast {due}"
    return f"{head} ({item.mailbox}) – {when}"


class RuleJobs:
    """Runs the rule jobs against the database, the connectors and SMTP."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        connectors: Mapping[str, Connector],
        *,
        clock: Clock,
        calendar: WorkingCalendar,
        policy: Policy,
        notifier: Notifier,
        absent: Absent = nobody_absent,
        instance: str | None = None,
    ):
        self.config = config
        self.sessions = sessions
        self.connectors = connectors
        self.clock = clock
        self.calendar = calendar
        self.policy = policy
        self.notifier = notifier
        self.absent = absent
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"

    # -- claims -----------------------------------------------------------------------

    def claim(self, job: str, day: date) -> bool:
        """True if this instance may run ``job`` for ``day``: nobody has, or the run that
        claimed it never finished and its lease is over (its process stopped, or the work
        failed and let go)."""
        now = self.clock()
        with self.sessions() as session:
            try:
                with database_errors(), session.begin():
                    session.add(
                        JobClaim(job=job, day=day, claimed_by=self.instance, claimed_at=now)
                    )
            except IntegrityError:
                pass
            else:
                return True
            with database_errors(), session.begin():
                taken = session.execute(
                    update(JobClaim)
                    .where(
                        JobClaim.job == job,
                        JobClaim.day == day,
                        JobClaim.finished_at.is_(None),
                        JobClaim.claimed_at < now - RULE_LEASE,
                    )
                    .values(claimed_by=self.instance, claimed_at=now)
                )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return False
        log.warning("job %s of %s: taken up again (its run did not finish)", job, day)
        return True

    @contextmanager
    def claimed(self, job: str, day: date) -> Iterator[None]:
        """Around the work of a claimed run: finished when the work is done; let go when
        it fails (or the process is asked to stop), so that :meth:`unfinished` finds it and
        the run is made again."""
        try:
            yield
        except BaseException:
            self._mark(job, day, claimed_at=self.clock() - RULE_LEASE - timedelta(seconds=1))
            raise
        self._mark(job, day, finished_at=self.clock())

    def unfinished(self, day: date) -> set[str]:
        """The runs of ``day`` claimed and never finished whose lease is over: to run again."""
        now = self.clock()
        with self.sessions() as session, database_errors():
            return set(
                session.scalars(
                    select(JobClaim.job).where(
                        JobClaim.day == day,
                        JobClaim.finished_at.is_(None),
                        JobClaim.claimed_at < now - RULE_LEASE,
                    )
                )
            )

    def _mark(self, job: str, day: date, **values: datetime) -> None:
        try:
            with self.sessions() as session, database_errors(), session.begin():
                session.execute(
                    update(JobClaim)
                    .where(
                        JobClaim.job == job,
                        JobClaim.day == day,
                        JobClaim.claimed_by == self.instance,
                        JobClaim.finished_at.is_(None),
                    )
                    .values(**values)
                )
        except DatabaseError as exc:  # the lease runs out; the run is made again then
            log.error("job %s of %s: its claim could not be updated: %s", job, day, exc)

    # -- running ------------------------------------------------------------------------

    def run(self, job: str, *, slot: str = "", force: bool = False) -> JobReport:
        """Run ``job`` now if today is a working day and no instance has run it (this ``slot``)."""
        now = self.clock()
        today = now.date()
        if job not in JOBS:
            raise ValueError(f"unknown job {job!r}")
        if not self.calendar.is_working_day(today):
            return JobReport(job, False, f"{swedish_day(today, weekday=True)} är ingen arbetsdag")
        if force:
            return self._work(job, now)
        key = claim_key(job, slot)
        if not self.claim(key, today):
            return JobReport(job, False, "redan körd i dag (av den här eller en annan instans)")
        with self.claimed(key, today):
            return self._work(job, now)

    def _work(self, job: str, now: datetime) -> JobReport:
        today = now.date()
        report = JobReport(job, True)
        if job == "retrain":
            # Imported here: the other jobs (and every command that builds them) never load
            # the training code.
            from postvakt.classifier.retrain import retrain

            report.retraining = retrain(self.config, self.sessions, now=now)
            return report
        if job == "coverage":
            report.planned = self._coverage(today)
        elif job == "daily-open":
            report.opened, report.planned = self._daily_open(now)
        elif job == "reminders":
            report.planned = self._reminders(today)
        elif job == "head-digest":
            report.planned = self._head_digest(now)
        else:
            report.planned = self._compilation(today)
        report.sent = self.notifier.send(report.planned, now)
        log.info(
            "job %s: %d to tell, %d digests sent", job, len(report.planned), len(report.sent.sent)
        )
        return report

    def _coverage(self, today: date) -> list[Planned]:
        planned = []
        for gap in coverage_gaps(self.config, today, self.absent):
            line = (
                f"{gap.mailbox}: ingen av de ansvariga ({', '.join(gap.owners)}) är på plats i dag; "
                "utse någon som öppnar brevlådan"
            )
            for recipient in [gap.unit_head] if gap.unit_head else []:
                planned.append(
                    Planned(recipient, "coverage_gap", gap.mailbox, today, line, page="/franvaro")
                )
        return planned

    def _daily_open(self, now: datetime) -> tuple[list[OpenedResult], list[Planned]]:
        today = now.date()
        day_start = datetime.combine(today, datetime.min.time(), now.tzinfo)
        results: list[OpenedResult] = []
        planned: list[Planned] = []
        for mailbox_config in checked_mailboxes(self.config):
            connector = self.connectors.get(mailbox_config.address)
            evidence = None
            if isinstance(connector, SupportsOpenedEvidence):
                folder = connector.folders("inbox")[0]
                with self.sessions() as session:
                    mailbox_id = session.scalars(
                        select(Mailbox.id).where(Mailbox.address == mailbox_config.address)
                    ).one()
                    state = load_state(session, mailbox_id, folder)
                try:
                    evidence = connector.opened_evidence(folder, state)
                except (
                    Exception
                ) as exc:  # a server that is down gives no evidence; the pass logs it
                    log.warning("daily-open evidence for %s: %s", mailbox_config.address, exc)
            opened, words = judge(evidence, day_start)
            misses = 0
            if opened is not None:
                with self.sessions() as session, database_errors(), session.begin():
                    mailbox = session.scalars(
                        select(Mailbox).where(Mailbox.address == mailbox_config.address)
                    ).one()
                    record_check(session, mailbox, today, opened, words, now)
                    misses = (
                        0
                        if opened
                        else 1 + previous_misses(session, mailbox.id, today, self.calendar)
                    )
            results.append(OpenedResult(mailbox_config.address, today, opened, words, misses))
            if opened is False:
                in_a_row = (
                    " (andra arbetsdagen i rad)"
                    if misses == 2
                    else f" ({misses} arbetsdagar i rad)"
                    if misses > 2
                    else ""
                )
                line = f"{mailbox_config.address}: {words}{in_a_row}"
                for recipient in told_of_unopened(self.config, mailbox_config, misses):
                    planned.append(
                        Planned(
                            recipient,
                            "not_opened",
                            mailbox_config.address,
                            today,
                            line,
                            page=f"/#brevlada-{mailbox_config.address}",
                        )
                    )
        return results, planned

    def _reminders(self, today: date) -> list[Planned]:
        days_before = self.config.rules.reminder_working_days_before
        with self.sessions() as session, database_errors():
            items = due_items(session)
            callbacks = callback_notices(
                session, self.config, today, self.calendar, days_before=days_before
            )
            forwards = feedback_reminders(session, today, self.calendar)  # hand-overs unanswered
        notices = to_notify(items, today, self.calendar, days_before=days_before)
        # Whoever is away is not told: the notifier tells whoever covers them.
        return (
            callbacks
            + forwards
            + [
                Planned(
                    n.recipient,
                    n.kind,
                    f"{n.item.kind}:{n.item.ref}",
                    n.item.due,
                    _line(n.item, n.kind == "breach"),
                    private=n.item.private,
                    page=_page(n.item),
                )
                for n in notices
            ]
        )

    def _compilation(self, today: date) -> list[Planned]:
        # Imported here: the compilation's writers (openpyxl) load only when it runs.
        from postvakt.compilation import compilation_reminders

        with self.sessions() as session, database_errors():
            return compilation_reminders(session, self.config, self.policy, today)

    def _head_digest(self, now: datetime) -> list[Planned]:
        """Each unit head: the cases registered in their units since the last digest (the
        previous day's claim; the first time, since the previous working day began)."""
        today = now.astimezone(STOCKHOLM).date()
        with self.sessions() as session, database_errors():
            last = session.scalars(
                select(JobClaim.claimed_at)
                .where(
                    JobClaim.job == "head-digest",
                    JobClaim.day < today,
                    JobClaim.finished_at.is_not(None),  # a digest that went
                )
                .order_by(JobClaim.day.desc())
                .limit(1)
            ).first()
            if last is None:
                day = today - timedelta(days=1)
                while not self.calendar.is_working_day(day):
                    day -= timedelta(days=1)
                last = datetime.combine(day, time(0), STOCKHOLM)
            return head_digest(session, self.config, since=last, now=now, today=today)
