"""The service: builds everything from the config, runs passes, schedules them, stops cleanly.

``Service.run_once()`` reads every configured mailbox once.  ``Service.run_forever()`` runs a
pass every ``service.poll_interval_seconds`` with APScheduler until :meth:`Service.stop` is
called (the command line calls it on SIGTERM and SIGINT); a pass in progress is finished
before the process exits, so no message is cut off half-way.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import time
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from postvakt.callbacks import Callbacks
from postvakt.care import CareRouting
from postvakt.casework import Casework
from postvakt.casework_forward import install as install_forward_feedback
from postvakt.clock import Clock, system_clock
from postvakt.config import Config, MailboxConfig, check_environment
from postvakt.corrections import Corrections
from postvakt.delegation.apply import Delegation
from postvakt.diary.delivery import Deliverer
from postvakt.diary.outbox import install as install_diary_outbox
from postvakt.errors import ConfigError, ConnectorError, DatabaseError, PostvaktError
from postvakt.idle_hub import IdleHub
from postvakt.intake import Intake, PassReport
from postvakt.mailbox import open_connector
from postvakt.mailbox.base import Connector, SupportsIdle, SupportsIdleSocket
from postvakt.process import limit_malloc_arenas, raise_open_files_limit
from postvakt.registry.db import database_errors, open_database, session_factory
from postvakt.registry.models import Disposition
from postvakt.registry.setup import sync_organisation
from postvakt.retry import RetryPolicy
from postvakt.rules.jobs import RuleJobs, claim_key
from postvakt.rules.notify import Mailer, Notifier
from postvakt.sweep import Sweep

__all__ = ["Service"]

log = logging.getLogger("postvakt.service")

_UNKNOWN = object()
CATCH_UP_SECONDS = 600
"""How often today's rule runs that never finished are looked for and made again."""

ConnectorFactory = Callable[[MailboxConfig, Config, Mapping[str, str]], Connector]


class Service:
    """Everything Postvakt runs, built from one config."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        connector_factory: ConnectorFactory = open_connector,
        reconnect: RetryPolicy | None = None,
    ):
        self.config = config
        self.reconnect = reconnect or RetryPolicy()
        """How the IDLE watchers back off while their server is away."""
        self.environ = os.environ if environ is None else environ
        self.clock = clock or system_clock()
        self._connector_factory = connector_factory
        self._stop = threading.Event()
        self.idle_hub: IdleHub | None = None
        """The IDLE watch while :meth:`run_forever` runs."""
        self._locks: dict[str, threading.Lock] = {}
        self.engine: Engine | None = None
        self.sessions: sessionmaker[Session] | None = None
        self.intake: Intake | None = None
        self.notifier: Notifier | None = None
        self.jobs: RuleJobs | None = None
        self.casework: Casework | None = None
        self.callbacks: Callbacks | None = None
        self.care: CareRouting | None = None
        self.diary: Deliverer | None = None
        self.corrections: Corrections | None = None
        self.delegation: Delegation | None = None
        self.connectors: dict[str, Connector] = {}
        self._sweep: Sweep | None = None
        self._model_in_use: object = _UNKNOWN
        """The ``classifier_models`` row whose model the intake uses (None: the corpus's)."""

    # -- lifecycle -------------------------------------------------------------------

    def open_readonly(self) -> Service:
        """Open only the database: enough to list cases and failures, whatever else is wrong."""
        self._open_database()
        return self

    def open(self, *, need_connectors: bool = True) -> Service:
        """Open the database (migrating it), sync the organisation, build connectors."""
        problems = check_environment(self.config, self.environ) if need_connectors else []
        if problems:
            raise ConfigError(problems)
        self._open_database()
        assert self.sessions is not None
        with database_errors(), self.sessions.begin() as session:
            sync_organisation(session, self.config)
        self.intake = Intake(self.config, self.sessions, clock=self.clock)
        if need_connectors:
            raise_open_files_limit()  # a socket per mailbox: 1,000 pass the usual 1,024
            limit_malloc_arenas()  # before the pools' threads each take an arena of their own
            self.intake.calendar.warm(self.clock().date())  # at start, not in the first pass
            for mailbox in self.config.mailboxes:
                connector = self._connector_factory(mailbox, self.config, self.environ)
                if hasattr(connector, "clock"):  # day boundaries follow the service's clock
                    connector.clock = self.clock
                self.connectors[mailbox.address] = connector
        mailer = Mailer(self.config.smtp, self.environ) if self.config.smtp else None
        self.notifier = Notifier(
            self.sessions,
            mailer,
            self.intake.calendar,
            self.config.rules.working_hours,
            base_url=self.config.web.base_url,  # the lines link to the dashboard's pages
        )
        self.casework = Casework(
            self.config,
            self.sessions,
            clock=self.clock,
            letters=self.intake.letters,
            calendar=self.intake.calendar,
            policy=self.intake.policy,
            notifier=self.notifier,
            mailer=mailer,
        )
        self.intake.not_satisfied = self.casework.not_satisfied
        install_diary_outbox(self.sessions, self.config, self.clock)
        install_forward_feedback(self.sessions, self.notifier)  # forwarders hear back
        self.diary = Deliverer(
            self.config,
            self.sessions,
            clock=self.clock,
            environ=self.environ,
            mailer=mailer,
            card=self.casework.case_card,
        )
        self.care = CareRouting(
            self.config,
            self.sessions,
            clock=self.clock,
            casework=self.casework,
            notifier=self.notifier,
        )
        self.corrections = Corrections(
            self.config,
            self.sessions,
            clock=self.clock,
            intake=self.intake,
            connectors=self.connectors,
            notifier=self.notifier,
        )
        self.delegation = Delegation(
            self.config,
            self.sessions,
            self.connectors,
            clock=self.clock,
            calendar=self.intake.calendar,
            notifier=self.notifier,
        )
        self.intake.cover = self.delegation.cover
        self.notifier.cover = self.delegation.cover
        self.callbacks = Callbacks(
            self.config,
            self.sessions,
            clock=self.clock,
            calendar=self.intake.calendar,
            policy=self.intake.policy,
            casework=self.casework,
            notifier=self.notifier,
        )
        self.callbacks.cover = self.delegation.cover
        self.jobs = RuleJobs(
            self.config,
            self.sessions,
            self.connectors,
            clock=self.clock,
            calendar=self.intake.calendar,
            policy=self.intake.policy,
            notifier=self.notifier,
            absent=self.delegation.uncovered,
        )
        self.follow_model()  # which model the intake classifies with, read before any message
        return self

    def _open_database(self) -> None:
        password = (
            self.environ.get(self.config.database.password_env)
            if self.config.database.password_env
            else None
        )
        self.engine = open_database(
            self.config.database_url,
            busy_timeout=self.config.database.busy_timeout_seconds,
            password=password,
            # the sweep's full passes at once (see postvakt.sweep), IDLE's and this thread
            pool_size=self.config.service.pool_size + 4,
        )
        self.sessions = session_factory(self.engine)

    def close(self) -> None:
        for connector in self.connectors.values():
            try:
                connector.close()
            except ConnectorError as exc:  # closing must not hide why we stop
                log.warning("closing %s: %s", connector.address, exc)
        self.connectors.clear()
        self._sweep = None
        if self.intake is not None:
            self.intake.close()  # its helper process, if it started one
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- passes ------------------------------------------------------------------------

    def run_mailbox(self, address: str) -> PassReport:
        """One pass over one mailbox; a server error is reported, not raised."""
        assert self.intake is not None, "call open() first"
        report = PassReport()
        with self._lock_of(address):
            try:
                report.merge(self.intake.run_mailbox(self.connectors[address]))
            except ConnectorError as exc:
                log.error("mailbox %s: %s", address, exc)
                report.errors.append(str(exc))
        return report

    def _lock_of(self, address: str) -> threading.Lock:
        """The lock that keeps one pass at a time on a mailbox's connector."""
        return self._locks.setdefault(address, threading.Lock())

    def run_once(self) -> PassReport:
        """One pass over every mailbox.  A mailbox whose server fails does not stop the others.

        The mailboxes are swept (:class:`~postvakt.sweep.Sweep`): one query for all their
        states, a cheap look at each (one STATUS per IMAP folder), a full pass only where
        something is new, at most ``service.pool_size`` mailboxes at once per server.
        """
        report = PassReport()
        self.follow_model()
        if self.delegation is not None and self.connectors:
            applied = self.delegation.apply()  # absences start and end before mail is read
            report.errors += applied.errors
        if self.connectors and not self._stop.is_set():
            report.merge(self._sweeper().run())
        if self.diary is not None:  # every document of a case to the diary (or the registrar)
            report.registrar_notices += self.deliver_diary()
        if self.care is not None:  # care cases to the deviation function, heads told
            report.care_routed += self.care.route_pending()
        if self.notifier is not None:  # e.g. a reviewer told of a reopened case
            report.errors += self.notifier.flush(self.clock()).errors
        return report

    def sweep_mailbox(self, address: str) -> PassReport:
        """One mailbox as :meth:`run_once` treats it: a cheap look, a full pass only when
        something may be new (:meth:`postvakt.sweep.Sweep.run_one`)."""
        return self._sweeper().run_one(address)

    def _sweeper(self) -> Sweep:
        if self._sweep is None:
            assert self.intake is not None and self.sessions is not None, "call open() first"
            self._sweep = Sweep(
                self.config,
                self.sessions,
                self.intake,
                self.connectors,
                run_mailbox=self.run_mailbox,
                lock_of=self._lock_of,
                stop=self._stop,
            )
        return self._sweep

    def idle_mailboxes(self) -> list[str]:
        """Mailboxes watched with IDLE: those whose connector can, and whose config asks
        for it (function mailboxes by default)."""
        chosen = []
        for address, connector in self.connectors.items():
            mailbox = self.config.mailbox(address)
            wanted = getattr(mailbox.settings, "idle", None) if mailbox else None
            if wanted is None:
                wanted = mailbox is not None and mailbox.kind == "function"
            if wanted and isinstance(connector, SupportsIdle | SupportsIdleSocket):
                chosen.append(address)
        return chosen

    def intake_folders(self, address: str) -> list[str]:
        return self.connectors[address].folders("inbox")

    def _watch(self, addresses: list[str]) -> IdleHub:
        """The IDLE watch of ``addresses``: one loop for all of them (not started), which
        reads a mailbox at once when news comes, paces its logins by
        ``service.logins_per_second`` and backs off with ``self.reconnect`` after a failure
        (see :mod:`postvakt.idle_hub`)."""
        hub = IdleHub(
            self._watched_pass,
            stop=self._stop,
            policy=self.reconnect,
            logins_per_second=self.config.service.logins_per_second,
        )
        for address in addresses:
            hub.add(
                address,
                self.connectors[address],
                folder=lambda address=address: self.intake_folders(address)[0],
            )
        return hub

    def _watched_pass(self, address: str) -> None:
        """A pass started by the watcher; an error in it is logged and the watch goes on."""
        try:
            self._guarded_pass(lambda: self._watched_run(address))
        except Exception as exc:  # the scheduler's passes are guarded by APScheduler
            log.error("pass over %s stopped: %s", address, type(exc).__name__)
            log.debug("pass over %s stopped", address, exc_info=True)

    def _watched_run(self, address: str) -> PassReport:
        """The watcher's pass, and the care cases it registered routed at once: the head must
        consider a lex Sarah or lex Maria report without delay, not at the next poll."""
        report = self.run_mailbox(address)
        if self.care is not None and report.count(Disposition.CASE):
            report.care_routed += self.care.route_pending()  # the heads' notices flushed too
        return report

    def _guarded_pass(self, run: Callable[[], PassReport]) -> None:
        try:
            report = run()
        except DatabaseError as exc:
            log.error("pass stopped: %s", exc)
            return
        if report.outcomes:
            log.info(
                "pass: %d messages, %d cases, %d failed, %d drafts",
                len(report.outcomes),
                report.count(Disposition.CASE),
                report.count(Disposition.FAILED),
                len(report.drafts_saved),
            )

    def run_forever(self) -> None:
        """Run passes on the configured interval until :meth:`stop` is called."""
        scheduler = BackgroundScheduler(timezone=self.config.organisation.timezone)
        scheduler.add_job(
            lambda: self._guarded_pass(self.run_once),
            "interval",
            seconds=self.config.service.poll_interval_seconds,
            id="read-mailboxes",
            max_instances=1,
            coalesce=True,
            next_run_time=self.clock(),
            # a pass that comes late (a long pass before it, a suspended machine, a service
            # clock behind the real one) still runs, once; APScheduler would drop it after 1 s
            misfire_grace_time=None,
        )
        for job, slot, at in self.schedule():
            scheduler.add_job(
                self._run_job,
                CronTrigger(
                    day_of_week="mon-fri",
                    hour=at.hour,
                    minute=at.minute,
                    timezone=self.config.organisation.timezone,
                ),
                args=(job, slot),
                id=f"{job}@{slot}",
                misfire_grace_time=3600,
                coalesce=True,
                max_instances=1,
            )
        scheduler.add_job(
            self.catch_up,
            "interval",
            seconds=CATCH_UP_SECONDS,
            id="catch-up",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        scheduler.start()
        watched = self.idle_mailboxes()
        self.idle_hub = self._watch(watched)
        self.idle_hub.start()
        log.info("Postvakt watches %d mailboxes (%d with IDLE)", len(self.connectors), len(watched))
        try:
            self._stop.wait()
        finally:
            scheduler.shutdown(wait=True)  # lets a running pass finish its message
            self.idle_hub.close()  # so do the watch's passes
            log.info("Postvakt stopped")

    def deliver_diary(self, *, daily: bool = False) -> list[str]:
        """Deliver the diary outbox; the labels of cases whose incoming document went.
        Never raises for a diary that is down: its documents wait for the next try."""
        if self.diary is None:
            return []
        try:
            return self.diary.run(daily=daily).incoming_sent
        except PostvaktError as exc:
            log.warning("the diary outbox could not be delivered now: %s", type(exc).__name__)
            return []

    def schedule(self) -> list[tuple[str, str, time]]:
        """(job, slot, time of day) for the rule jobs; cron fires Mon–Fri, jobs skip holidays."""
        rules = self.config.rules
        plan = [("coverage", "", rules.coverage_time), ("daily-open", "", rules.daily_open_time)]
        plan += [("reminders", f"{t:%H%M}", t) for t in rules.reminder_times]
        plan += [("compilation", "", rules.reminder_times[0])] if rules.reminder_times else []
        if rules.head_digest:
            plan += [("head-digest", "", rules.head_digest_time)]
        if self.config.organisation.registrar_notice == "daily":
            plan += [("registrar", "", rules.working_hours[0])]
        if self.config.classifier.retrain:
            plan += [("retrain", "", self.config.classifier.retrain_time)]
        return plan

    def follow_model(self) -> None:
        """The intake classifies with the model in use: when another was taken into use (by
        this process's retraining, another instance's, or ``postvakt classifier retrain``),
        from the next message on.  One small query, made outside any message's transaction
        (and the corrections the model learned from read only when it changed)."""
        if self.intake is None or self.sessions is None:
            return
        from postvakt.classifier.retrain import classifier_with, current_record, in_use

        try:
            with self.sessions() as session, database_errors():
                record = current_record(session)
                record_id = record.id if record is not None else None
                if record_id == self._model_in_use:
                    return
                record_id, learned = in_use(session)
        except DatabaseError as exc:  # the pass itself will say what is wrong
            log.warning("cannot see which classifier model is in use: %s", exc)
            return
        if self._model_in_use is not _UNKNOWN:
            log.info("classifier model %s taken into use; the next message uses it", record_id)
        self.intake.reload_classifier(partial(classifier_with, self.config, learned))
        self._model_in_use = record_id

    def _run_job(self, job: str, slot: str) -> None:
        assert self.jobs is not None
        if job == "registrar":
            assert self.diary is not None
            today = self.clock().date()
            if self.jobs.claim("registrar", today):
                with self.jobs.claimed("registrar", today):
                    self.deliver_diary(daily=True)
            return
        try:
            report = self.jobs.run(job, slot=slot)
        except PostvaktError as exc:
            log.error("job %s: %s", job, exc)
            return
        if not report.ran:
            log.info("job %s not run: %s", job, report.why_not)
        elif report.retraining is not None and report.retraining.accepted:
            self.follow_model()  # the next message is classified by the new model

    def catch_up(self) -> list[str]:
        """Make again today's rule runs that were claimed and never finished: the work
        failed (the database away, say), or its process stopped in the middle.  Without it
        a daily-open check cut short was not made that day.  The runs made, by key."""
        if self.jobs is None:
            return []
        try:
            left = self.jobs.unfinished(self.clock().date())
        except DatabaseError as exc:
            log.error("rule jobs not caught up: %s", exc)
            return []
        done = []
        for job, slot, _at in self.schedule():
            if claim_key(job, slot) in left:
                self._run_job(job, slot)
                done.append(claim_key(job, slot))
        return done

    def stop(self) -> None:
        self._stop.set()
