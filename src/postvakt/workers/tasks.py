"""The workers' tasks, registered on a procrastinate app for one worker process's service.

Sync tasks (passes, drafts, the rules) run in a thread of their own, ``--concurrency`` at a
time; the periodic bookkeeping (tick, stalled, cleanup) runs on the worker's event loop.
Jobs name mailboxes by id, never by address: procrastinate logs a job's arguments.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import procrastinate
from procrastinate import exceptions as queue_errors
from procrastinate.jobs import Status
from sqlalchemy import select, text

from postvakt.errors import PostvaktError
from postvakt.intake import PassReport
from postvakt.registry.db import database_errors
from postvakt.registry.models import Disposition, Draft, DraftStatus, Mailbox
from postvakt.service import CATCH_UP_SECONDS, Service
from postvakt.workers.app import even_interval, every, periodic_local

__all__ = [
    "CLEANUP_HOURS",
    "FAILED_KEPT_HOURS",
    "STALLED_SECONDS",
    "Runtime",
    "clean_old_jobs",
    "mailbox_lock",
    "register",
]

log = logging.getLogger("postvakt.workers")

STALLED_SECONDS = 30
"""A worker with no heartbeat for this long is gone: its running jobs go back in the queue.
(Workers beat every 10 s.)"""

CLEANUP_HOURS = 1
"""Finished jobs are kept this long (``postvakt status`` and people looking at the queue
see them), then deleted: a pass a minute over 1,000 mailboxes is 1.4 million jobs a day."""


FAILED_KEPT_HOURS = 7 * 24
"""Jobs that failed, were cancelled or aborted are kept a week (to see what went wrong), then
deleted too: a mailbox whose pass fails every minute leaves 1,440 of them a day."""


async def clean_old_jobs(manager: Any) -> None:
    """Delete finished jobs: succeeded after :data:`CLEANUP_HOURS`, the others after
    :data:`FAILED_KEPT_HOURS` (procrastinate keeps every one for ever unless told)."""
    await manager.delete_old_jobs(nb_hours=CLEANUP_HOURS)
    await manager.delete_old_jobs(
        nb_hours=FAILED_KEPT_HOURS,
        include_failed=True,
        include_cancelled=True,
        include_aborted=True,
    )


async def _take_up(manager: Any, job_id: int, now: datetime) -> str | None:
    """A 'doing' job nobody works, back in the queue ("retried"); or aborted when the same
    work already waits (its queueing lock: that job does it, "replaced"); None when it is no
    longer 'doing' (another "stalled" job, they may run side by side, saw to it first)."""
    try:
        await manager.retry_job_by_id_async(job_id, retry_at=now)
        return "retried"
    except queue_errors.UniqueViolation:
        await manager.finish_job_by_id_async(job_id, status=Status.ABORTED, delete_job=False)
        return "replaced"
    except queue_errors.ConnectorException:
        log.debug("job %s already seen to", job_id, exc_info=True)
        return None


def mailbox_lock(mailbox_id: int) -> str:
    """The lock and queueing lock of a mailbox's passes: one at a time, one waiting."""
    return f"mailbox:{mailbox_id}"


class Runtime:
    """What the tasks of one worker process work with: its opened :class:`Service`."""

    def __init__(self, service: Service):
        assert service.sessions is not None and service.intake is not None, "open() first"
        self.service = service
        self._addresses: dict[int, str] = {}

    def address(self, mailbox_id: int) -> str | None:
        """The address of mailbox ``mailbox_id`` if this worker's config has it."""
        if mailbox_id not in self._addresses:
            self._load()
        return self._addresses.get(mailbox_id)

    def _load(self) -> None:
        assert self.service.sessions is not None
        with self.service.sessions() as session, database_errors():
            rows = session.execute(select(Mailbox.id, Mailbox.address)).all()
        self._addresses = {i: a for i, a in rows if a in self.service.connectors}

    def mailboxes(self) -> tuple[list[int], list[int]]:
        """(every active mailbox this worker can read, those with drafts still to place)."""
        assert self.service.sessions is not None
        with self.service.sessions() as session, database_errors():
            rows = session.execute(
                select(Mailbox.id, Mailbox.address).where(Mailbox.active.is_(True))
            ).all()
            pending = set(
                session.scalars(
                    select(Draft.mailbox_id)
                    .where(Draft.status.in_((DraftStatus.PENDING, DraftStatus.REMOVE)))
                    .distinct()
                )
            )
        ids = sorted(i for i, a in rows if a in self.service.connectors)
        self._addresses.update({i: a for i, a in rows if a in self.service.connectors})
        return ids, [i for i in ids if i in pending]

    def before_passes(self) -> None:
        """What ``run_once`` does before it reads mail: the model in use, absences begun
        or ended."""
        service = self.service
        service.follow_model()
        if service.delegation is not None and service.connectors:
            applied = service.delegation.apply()
            for error in applied.errors:
                log.error("absences: %s", error)

    def orphans(self) -> list[int]:
        """Jobs of a mailbox (its passes, its drafts) 'doing' for longer than two leases
        whose mailbox no process holds: nobody is working them.  procrastinate leaves a job
        'doing' when it could not note its end (a connection cut just then) and its worker
        lives on: "stalled" looks only at workers that stopped, and the mailbox's every later
        job would wait behind that one until the worker restarts.  A job at work holds the
        mailbox's lease and renews it; the two leases leave time for its first look."""
        assert self.service.engine is not None
        seconds = 2 * self.service.config.service.lease_seconds
        query = text(
            "SELECT job.id FROM procrastinate_jobs job "
            "JOIN procrastinate_events started ON started.job_id = job.id "
            "AND started.type = 'started' "
            "WHERE job.status = 'doing' AND job.lock LIKE :prefix || '%' "
            "GROUP BY job.id, job.lock "
            "HAVING max(started.at) < now() - make_interval(secs => :seconds) "
            "AND NOT EXISTS (SELECT 1 FROM mailbox_leases lease "
            "WHERE :prefix || lease.mailbox_id = job.lock AND lease.expires_at > now())"
        )
        with self.service.engine.connect() as db, database_errors():
            return list(
                db.execute(query, {"seconds": seconds, "prefix": mailbox_lock("")}).scalars()
            )

    def run_rule(self, job: str, slot: str) -> None:
        """One rule job of :meth:`Service.schedule`.  Its periodic task fires every day:
        the jobs themselves skip days that are not working days, and the registrar's daily
        notice keeps to Monday–Friday as under ``postvakt run``."""
        service = self.service
        if job == "registrar" and service.clock().weekday() >= 5:
            return
        service._run_job(job, slot)


def _summary(report: PassReport) -> dict[str, int]:
    return {
        "messages": len(report.outcomes),
        "cases": report.count(Disposition.CASE),
        "failed": report.count(Disposition.FAILED),
        "drafts": len(report.drafts_saved),
        "skipped": len(report.skipped),
        "errors": len(report.errors),
    }


def _reported(
    what: str,
) -> Callable[[Callable[..., dict[str, int]]], Callable[..., dict[str, int]]]:
    """A task that meets a Postvakt error (the database away, say) logs one line and ends:
    the next tick tries again.  (procrastinate would log the error with its traceback.)"""

    def wrap(func: Callable[..., dict[str, int]]) -> Callable[..., dict[str, int]]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> dict[str, int]:
            try:
                return func(*args, **kwargs)
            except PostvaktError as exc:
                ids = "".join(f" {v}" for v in kwargs.values())  # mailbox ids only
                log.error("%s%s: %s", what, ids, exc)
                return {"errors": 1}

        return run

    return wrap


async def defer_once(task: Any, *, lock: str | None, queueing_lock: str, **kwargs: Any) -> bool:
    """Defer a job unless one with ``queueing_lock`` is already waiting; True if deferred."""
    try:
        await task.configure(lock=lock, queueing_lock=queueing_lock).defer_async(**kwargs)
    except queue_errors.AlreadyEnqueued:
        return False
    return True


def register(app: procrastinate.App, runtime: Runtime) -> None:
    """Register every task and periodic task on ``app``, working with ``runtime``."""
    service = runtime.service

    @app.task(name="postvakt.pass")
    @_reported("the pass over mailbox")
    def pass_mailbox(mailbox_id: int) -> dict[str, int]:
        address = runtime.address(mailbox_id)
        if address is None:
            log.warning("mailbox %d is not in this worker's config; its pass is left", mailbox_id)
            return {}
        service.follow_model()
        # a look first: a quiet mailbox costs one STATUS per folder, no lease (Sweep.run_one)
        return _summary(service.sweep_mailbox(address))

    @app.task(name="postvakt.drafts")
    @_reported("the drafts of mailbox")
    def drafts(mailbox_id: int) -> dict[str, int]:
        address = runtime.address(mailbox_id)
        assert service.intake is not None
        if address is None:
            return {}
        report = service.intake.deliver_drafts(service.connectors[address])
        return {"drafts": len(report.drafts_saved), "errors": len(report.errors)}

    @app.task(name="postvakt.notify", lock="notify")
    @_reported("the notifications")
    def notify() -> dict[str, int]:
        assert service.notifier is not None
        return {"errors": len(service.notifier.flush(service.clock()).errors)}

    @app.task(name="postvakt.diary", lock="diary")
    @_reported("the diary outbox")
    def diary() -> dict[str, int]:
        return {"incoming_sent": len(service.deliver_diary())}

    @app.task(name="postvakt.care", lock="care")
    @_reported("the care routing")
    def care() -> dict[str, int]:
        assert service.care is not None
        return {"routed": len(service.care.route_pending())}

    @app.task(name="postvakt.rule")
    def rule(timestamp: int, job: str, slot: str) -> None:
        runtime.run_rule(job, slot)

    @app.task(name="postvakt.catch_up")
    @_reported("the rule jobs' catch-up")
    def catch_up(timestamp: int) -> dict[str, int]:
        return {"made_again": len(service.catch_up())}

    @app.task(name="postvakt.tick")
    async def tick(timestamp: int) -> dict[str, int]:
        try:
            await asyncio.to_thread(runtime.before_passes)
        except PostvaktError as exc:  # the passes still go on
            log.error("before the passes: %s", exc)
        boxes, pending = await asyncio.to_thread(runtime.mailboxes)
        queued = 0
        for mailbox_id in boxes:
            lock = mailbox_lock(mailbox_id)
            queued += await defer_once(
                pass_mailbox, lock=lock, queueing_lock=lock, mailbox_id=mailbox_id
            )
        for mailbox_id in pending:  # after the mailbox's pass (same lock), if it left any
            await defer_once(
                drafts,
                lock=mailbox_lock(mailbox_id),
                queueing_lock=f"drafts:{mailbox_id}",
                mailbox_id=mailbox_id,
            )
        for after in (diary, care, notify):
            await defer_once(after, lock=after.lock, queueing_lock=after.lock)
        return {"mailboxes": len(boxes), "queued": queued}

    @app.task(name="postvakt.stalled", pass_context=True)
    async def stalled(context: procrastinate.JobContext, timestamp: int) -> dict[str, int]:
        manager = context.app.job_manager
        # The gone workers out of procrastinate_workers (postvakt status lists the live
        # ones); their running jobs keep status 'doing' with no worker, found just below.
        await manager.prune_stalled_workers(STALLED_SECONDS)
        stopped = [
            await _take_up(manager, job.id, service.clock())
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_SECONDS)
        ]
        retried, replaced = stopped.count("retried"), stopped.count("replaced")
        if retried or replaced:
            log.warning(
                "jobs of a stopped worker: %d back in the queue, %d left to a waiting one",
                retried,
                replaced,
            )
        orphans = [
            await _take_up(manager, job_id, service.clock())
            for job_id in await asyncio.to_thread(runtime.orphans)
        ]
        orphaned = len(orphans) - orphans.count(None)
        if orphaned:
            log.warning(
                "%d jobs of a mailbox nobody works (their end was never noted) taken up again",
                orphaned,
            )
        return {"retried": retried, "replaced": replaced, "orphaned": orphaned}

    @app.task(name="postvakt.cleanup", pass_context=True)
    async def cleanup(context: procrastinate.JobContext, timestamp: int) -> None:
        await clean_old_jobs(context.app.job_manager)

    seconds = service.config.service.poll_interval_seconds
    if (interval := even_interval(seconds)) != seconds:
        log.warning(
            "poll_interval_seconds = %d: the workers read the mailboxes every %d s, the nearest "
            "shorter interval that repeats evenly in a minute or an hour",
            seconds,
            interval,
        )
    app.periodic(cron=every(seconds), periodic_id="tick", lock="tick", queueing_lock="tick")(tick)
    # No lock, only a queueing lock: a "stalled" job whose own worker died stays 'doing', and
    # with a lock every later one would wait behind it for good, and nothing stalled would
    # ever be retried again (the dead one is retried, or dropped, by the next).
    app.periodic(cron=every(STALLED_SECONDS), periodic_id="stalled", queueing_lock="stalled")(
        stalled
    )
    app.periodic(cron="17 * * * *", periodic_id="cleanup", queueing_lock="cleanup")(cleanup)
    app.periodic(cron=every(CATCH_UP_SECONDS), periodic_id="catch-up", queueing_lock="catch-up")(
        catch_up
    )
    for job, slot, at in service.schedule():
        key = f"{job}@{slot}"
        periodic_local(
            app,
            rule,
            cron=f"{at.minute} {at.hour} * * *",
            periodic_id=key,
            lock=f"rule:{key}",
            queueing_lock=f"rule:{key}",
            task_kwargs={"job": job, "slot": slot},
        )
