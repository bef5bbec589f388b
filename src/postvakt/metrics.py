"""Prometheus metrics: what the passes did, counted as they go, and the queues, read at scrape.

Two kinds:

- **Counted in this process** (:data:`REGISTRY`): messages by outcome, pass durations and
  passes ended by a server error, updated by :func:`observe_pass` at the end of each pass;
  the looks at mailboxes with nothing new, by :func:`observe_look`.
  ``postvakt run`` serves them on ``service.metrics_port``; the web panel's ``/metrics``
  shows its own process's (it reads no mail, so they stay at zero there).
- **Read from the database at each scrape** (:class:`DatabaseCollector`): overdue cases,
  queue depths, diary documents the diary refused, each mailbox's last good pass, the
  seconds since it and the failed passes since (``mailbox_passes``).  Any
  process sharing the database shows the same figures.

No address appears in a metric: mailboxes are labelled by their database id
(``mailbox_id``); ``postvakt_mailbox_info`` tells which config entry (``mailboxes[2]``)
an id is.  Monitoring systems keep what they scrape, and a staff address is personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from postvakt.registry.models import Disposition

if TYPE_CHECKING:
    from postvakt.clock import Clock
    from postvakt.config import Config
    from postvakt.intake.report import PassReport

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "DatabaseCollector",
    "exposition",
    "observe_look",
    "observe_pass",
    "registry_for",
    "serve_metrics",
]

log = logging.getLogger("postvakt.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)
"""The counters this process updates (shared by the intake, ``/metrics`` and the metrics
server of ``postvakt run``)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

MESSAGES = Counter(
    "postvakt_messages",
    "Messages read in passes, by what became of them (the disposition).",
    ["outcome"],
    registry=REGISTRY,
)
for _outcome in Disposition:  # every outcome shows from the start, at 0
    MESSAGES.labels(outcome=_outcome.value)

PASS_SECONDS = Histogram(
    "postvakt_pass_duration_seconds",
    "How long one full pass over one mailbox took (reading, registering, placing drafts).",
    ["mailbox_id"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)

LOOK_SECONDS = Histogram(
    "postvakt_look_duration_seconds",
    "How long the look at a mailbox took that found nothing new (one STATUS per folder on "
    "IMAP, two stats on a Maildir): the pass it saved.",
    ["mailbox_id"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)

PASS_ERRORS = Counter(
    "postvakt_pass_errors",
    "Passes over a mailbox ended by an error of its mail server.",
    ["mailbox_id"],
    registry=REGISTRY,
)


def observe_pass(mailbox_id: int, report: PassReport, seconds: float) -> None:
    """Count one pass over a mailbox: its messages by outcome, its duration, its error."""
    for outcome in report.outcomes:
        MESSAGES.labels(outcome=outcome.disposition.value).inc()
    label = str(mailbox_id)
    PASS_SECONDS.labels(mailbox_id=label).observe(seconds)
    if report.errors:
        PASS_ERRORS.labels(mailbox_id=label).inc()


def observe_look(mailbox_id: int, seconds: float, *, failed: bool = False) -> None:
    """Count one look at a mailbox (:mod:`postvakt.sweep`): nothing new, or its server failed
    (a pass ended by an error of its mail server)."""
    label = str(mailbox_id)
    LOOK_SECONDS.labels(mailbox_id=label).observe(seconds)
    if failed:
        PASS_ERRORS.labels(mailbox_id=label).inc()


class _Shared(Collector):
    """The process's counters, inside another registry."""

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from REGISTRY.collect()


class DatabaseCollector(Collector):
    """The figures read from the database at each scrape.

    A database that does not answer gives ``postvakt_database_up 0`` and nothing else
    from here (the scrape itself succeeds: the counters still come).
    """

    def __init__(self, config: Config, sessions: sessionmaker[Session], clock: Clock):
        self.config, self.sessions, self.clock = config, sessions, clock

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        up = GaugeMetricFamily("postvakt_database_up", "Whether the database answered (1) or not.")
        try:
            families = self._read(self.clock())
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, now: datetime) -> list[object]:
        from postvakt.registry.case_query import CaseFilter, CaseScope, count_cases
        from postvakt.registry.documents import DeliveryStatus, DiaryEntry
        from postvakt.registry.models import Draft, DraftStatus, FailedMessage, Mailbox
        from postvakt.registry.passes import pass_rows
        from postvakt.registry.status import job_counts

        def count(session: Session, model: type, *where: object) -> int:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        with self.sessions() as session:
            overdue = count_cases(
                session, CaseScope.everything(), CaseFilter(overdue=True), now.date()
            )
            queues = {
                "drafts": count(
                    session, Draft, Draft.status.in_([DraftStatus.PENDING, DraftStatus.REMOVE])
                ),
                "diary": count(
                    session,
                    DiaryEntry,
                    DiaryEntry.status.in_([DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                ),
                "failed_messages": count(
                    session, FailedMessage, FailedMessage.resolved_at.is_(None)
                ),
            }
            jobs = job_counts(session)
            if jobs is not None:  # the worker queue (postvakt worker), where there is one
                queues["jobs"] = sum(n["todo"] for n in jobs.values())
            diary_failed = count(session, DiaryEntry, DiaryEntry.status == DeliveryStatus.FAILED)
            diary_retrying = count(
                session,
                DiaryEntry,
                DiaryEntry.status == DeliveryStatus.PENDING,
                DiaryEntry.attempts > 0,
            )
            mailboxes = dict(session.execute(select(Mailbox.address, Mailbox.id)).all())
            passes = {
                mailbox_id: (row.last_success_at, row.failures_in_row)
                for mailbox_id, row in pass_rows(session).items()
            }

        families: list[object] = []
        gauge = GaugeMetricFamily(
            "postvakt_deadlines_overdue", "Open cases with a deadline passed (försenade ärenden)."
        )
        gauge.add_metric([], overdue)
        families.append(gauge)
        gauge = GaugeMetricFamily(
            "postvakt_queue_depth",
            "Work waiting: drafts to place, diary documents to deliver, failed messages to retry,"
            " jobs in the worker queue (postvakt worker) not yet taken.",
            labels=["queue"],
        )
        for queue, depth in queues.items():
            gauge.add_metric([queue], depth)
        families.append(gauge)
        if jobs is not None:
            gauge = GaugeMetricFamily(
                "postvakt_jobs_running", "Jobs of the worker queue a worker is doing now."
            )
            gauge.add_metric([], sum(n["doing"] for n in jobs.values()))
            families.append(gauge)
        gauge = GaugeMetricFamily(
            "postvakt_diary_outbox_failed",
            "Diary documents the diary refused; a person looks, then 'postvakt diary retry'.",
        )
        gauge.add_metric([], diary_failed)
        families.append(gauge)
        gauge = GaugeMetricFamily(
            "postvakt_diary_outbox_retrying",
            "Diary documents waiting for another try after a failed delivery.",
        )
        gauge.add_metric([], diary_retrying)
        families.append(gauge)
        info = InfoMetricFamily(
            "postvakt_mailbox", "Which config entry a mailbox id is.", labels=["mailbox_id"]
        )
        last = GaugeMetricFamily(
            "postvakt_mailbox_last_pass_timestamp_seconds",
            "When the mailbox's last pass without an error ended (Unix time).",
            labels=["mailbox_id"],
        )
        since = GaugeMetricFamily(
            "postvakt_mailbox_seconds_since_last_good_pass",
            "Seconds since the mailbox's last pass without an error (absent: never had one).",
            labels=["mailbox_id"],
        )
        failures = GaugeMetricFamily(
            "postvakt_mailbox_failures_in_row",
            "Passes over the mailbox that failed since its last good one (0: the last was good).",
            labels=["mailbox_id"],
        )
        for index, mailbox in enumerate(self.config.mailboxes):
            mailbox_id = mailboxes.get(mailbox.address)
            if mailbox_id is None:
                continue
            label = str(mailbox_id)
            info.add_metric([label], {"config_key": f"mailboxes[{index}]", "kind": mailbox.kind})
            if mailbox_id not in passes:
                continue
            good, failed = passes[mailbox_id]
            failures.add_metric([label], failed)
            if good is not None:
                last.add_metric([label], good.timestamp())
                since.add_metric([label], max(0.0, (now - good).total_seconds()))
        families += [info, last, since, failures]
        return families


def registry_for(
    config: Config, sessions: sessionmaker[Session], clock: Clock
) -> CollectorRegistry:
    """A registry with this process's counters and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Shared())
    registry.register(DatabaseCollector(config, sessions, clock))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus's text format."""
    return generate_latest(registry)


def serve_metrics(registry: CollectorRegistry, port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` from ``registry`` on ``host:port`` in a daemon thread."""
    start_http_server(port, addr=host, registry=registry)
