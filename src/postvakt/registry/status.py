"""What ``postvakt status`` shows, read from the database alone (no mail server is asked).

Per mailbox its passes (:mod:`postvakt.registry.passes`) and its lease; per worker its
heartbeat (procrastinate's ``procrastinate_workers``, when ``postvakt worker`` has put its
schema in a PostgreSQL database), else the processes that hold or last held a lease; the
queues: procrastinate's jobs waiting and running per queue, and Postvakt's own (drafts to
place, diary documents to deliver or refused, failed messages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from postvakt.registry.documents import DeliveryStatus, DiaryEntry
from postvakt.registry.models import Draft, DraftStatus, FailedMessage, Mailbox, MailboxLease
from postvakt.registry.passes import pass_rows

if TYPE_CHECKING:
    from postvakt.config import Config

__all__ = [
    "STALLED_WORKER_SECONDS",
    "MailboxStatus",
    "ProcessSeen",
    "Queues",
    "Status",
    "WorkerStatus",
    "read_status",
    "stale_after",
]

STALLED_WORKER_SECONDS = 30.0
"""A worker whose heartbeat is older than this is silent (procrastinate beats every 10 s and
counts a worker stalled after 30 s)."""


def stale_after(config: Config) -> timedelta:
    """How old a mailbox's last good pass may be before it is stale: three poll intervals."""
    return 3 * timedelta(seconds=config.service.poll_interval_seconds)


@dataclass
class MailboxStatus:
    address: str
    name: str
    mailbox_id: int | None
    """None when the mailbox is in the config but Postvakt has not started with it yet."""
    last_pass_at: datetime | None = None
    last_success_at: datetime | None = None
    lag: timedelta | None = None
    """Now minus the last good pass; None when it never had one."""
    stale: bool = True
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures_in_row: int = 0
    last_duration_ms: int | None = None
    last_messages: int | None = None
    last_holder: str | None = None
    lease_holder: str | None = None
    lease_expires_at: datetime | None = None

    @property
    def failed(self) -> bool:
        """The last pass ended on an error."""
        return self.failures_in_row > 0

    @property
    def ok(self) -> bool:
        return not (self.failed or self.stale)


@dataclass(frozen=True)
class WorkerStatus:
    id: int
    last_heartbeat: datetime
    heartbeat_age: float
    """Seconds since the heartbeat, by the database's clock (procrastinate's)."""
    jobs_doing: int

    @property
    def alive(self) -> bool:
        return self.heartbeat_age <= STALLED_WORKER_SECONDS


@dataclass(frozen=True)
class ProcessSeen:
    """A process known by its leases (``host:pid:random``), when there are no workers."""

    holder: str
    last_seen: datetime
    leases: int
    """Mailboxes it holds right now."""


@dataclass
class Queues:
    jobs: dict[str, dict[str, int]] | None = None
    """procrastinate's jobs per queue: {"todo": n, "doing": n}; None without its schema."""
    drafts_pending: int = 0
    diary_waiting: int = 0
    diary_failed: int = 0
    failed_messages: int = 0


@dataclass
class Status:
    now: datetime
    stale_after: timedelta
    mailboxes: list[MailboxStatus] = field(default_factory=list)
    workers: list[WorkerStatus] | None = None
    """None when procrastinate's schema is not in the database (``postvakt run`` only)."""
    processes: list[ProcessSeen] = field(default_factory=list)
    queues: Queues = field(default_factory=Queues)

    @property
    def ok(self) -> bool:
        return all(m.ok for m in self.mailboxes)


def _count(session: Session, model: type, *where: object) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _has_procrastinate(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False  # procrastinate runs on PostgreSQL only
    found = session.execute(text("SELECT to_regclass('procrastinate_workers')")).scalar()
    return found is not None


def job_counts(session: Session) -> dict[str, dict[str, int]] | None:
    """The worker queue's jobs waiting (``todo``) and running (``doing``), per queue; None
    where no ``postvakt worker`` has set up its tables (SQLite, or ``run`` alone)."""
    if not _has_procrastinate(session):
        return None
    jobs: dict[str, dict[str, int]] = {}
    for queue, status, n in session.execute(
        text(
            "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing') GROUP BY queue_name, status ORDER BY queue_name"
        )
    ):
        jobs.setdefault(queue, {"todo": 0, "doing": 0})[status] = int(n)
    return jobs


def _workers(session: Session) -> list[WorkerStatus]:
    return [
        WorkerStatus(int(wid), beat, float(age), int(doing))
        for wid, beat, age, doing in session.execute(
            text(
                "SELECT w.id, w.last_heartbeat, "
                "EXTRACT(EPOCH FROM (NOW() - w.last_heartbeat)), "
                "(SELECT count(*) FROM procrastinate_jobs j "
                " WHERE j.worker_id = w.id AND j.status = 'doing') "
                "FROM procrastinate_workers w ORDER BY w.id"
            )
        )
    ]


def read_status(session: Session, config: Config, now: datetime) -> Status:
    """Everything ``postvakt status`` shows, for the mailboxes in ``config``, at ``now``."""
    status = Status(now=now, stale_after=stale_after(config))
    ids = dict(session.execute(select(Mailbox.address, Mailbox.id)).all())
    passes = pass_rows(session)
    leases = {lease.mailbox_id: lease for lease in session.scalars(select(MailboxLease))}
    for mailbox in config.mailboxes:
        mailbox_id = ids.get(mailbox.address)
        row = MailboxStatus(mailbox.address, mailbox.name or "", mailbox_id)
        found = passes.get(mailbox_id) if mailbox_id is not None else None
        if found is not None:
            row.last_pass_at, row.last_success_at = found.last_pass_at, found.last_success_at
            row.last_error, row.last_error_at = found.last_error, found.last_error_at
            row.failures_in_row = found.failures_in_row
            row.last_duration_ms, row.last_messages = found.last_duration_ms, found.last_messages
            row.last_holder = found.holder
        if row.last_success_at is not None:
            row.lag = max(timedelta(0), now - row.last_success_at)
            row.stale = row.lag > status.stale_after
        lease = leases.get(mailbox_id) if mailbox_id is not None else None
        if lease is not None:
            row.lease_holder, row.lease_expires_at = lease.holder, lease.expires_at
        status.mailboxes.append(row)

    jobs = job_counts(session)
    if jobs is not None:
        status.workers, status.queues.jobs = _workers(session), jobs
    last_seen: dict[str, datetime] = {}
    holding: dict[str, int] = {}
    for found in passes.values():
        if found.holder:
            at = found.last_pass_at
            last_seen[found.holder] = max(at, last_seen.get(found.holder, at))
    for lease in leases.values():
        if lease.expires_at <= now:
            continue  # run out: its holder is gone or done
        holding[lease.holder] = holding.get(lease.holder, 0) + 1
        last_seen[lease.holder] = max(
            lease.acquired_at, last_seen.get(lease.holder, lease.acquired_at)
        )
    seen = [ProcessSeen(h, at, holding.get(h, 0)) for h, at in last_seen.items()]
    status.processes = sorted(seen, key=lambda p: p.last_seen, reverse=True)

    queues = status.queues
    queues.drafts_pending = _count(
        session, Draft, Draft.status.in_([DraftStatus.PENDING, DraftStatus.REMOVE])
    )
    queues.diary_waiting = _count(
        session, DiaryEntry, DiaryEntry.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING])
    )
    queues.diary_failed = _count(session, DiaryEntry, DiaryEntry.status == DeliveryStatus.FAILED)
    queues.failed_messages = _count(session, FailedMessage, FailedMessage.resolved_at.is_(None))
    return status
