"""A pass over every mailbox at once: a cheap look at each, a full read only where needed.

:meth:`Sweep.run` is what :meth:`postvakt.service.Service.run_once` does with the mailboxes:

1. **One query** (:func:`~postvakt.registry.sweep_state.sweep_states`) reads every mailbox's
   folder states, whether it has drafts waiting, and its lease.
2. Each mailbox's connector is asked, folder by folder, whether anything may be new since
   the stored state (:func:`~postvakt.mailbox.base.may_have_news`: one STATUS on IMAP over
   the connection kept open between passes, two stats on a Maildir, and "maybe" for EWS
   and Graph).  The look takes no lease and no transaction.
3. Only a mailbox with something new, drafts waiting, an error (or a skip) in its previous
   pass, or no look possible gets the full pass, :meth:`Intake.run_mailbox` (through
   ``Service.run_mailbox``), which takes the lease and reads, registers and drafts as always.
4. The unchanged mailboxes' good passes are noted together, in one transaction at the end
   (:func:`~postvakt.registry.passes.note_passes`).

Mailboxes are visited in threads, at most ``service.pool_size`` at a time per server (an
IMAP host and port, an EWS endpoint, a Graph tenant; every Maildir is one local "server"),
so at most that many connections to one server are logging in or working at once (Maildirs
are read one after another).  A
mailbox whose server fails is reported and the others go on.  After :meth:`Service.stop`
the mailboxes being read are finished and no new one is started.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from postvakt.config import (
    Config,
    EwsSettings,
    GraphSettings,
    ImapSettings,
    MailboxConfig,
)
from postvakt.errors import ConnectorError
from postvakt.intake import Intake, PassReport
from postvakt.mailbox.base import Connector, may_have_news
from postvakt.metrics import observe_look
from postvakt.registry.db import database_errors
from postvakt.registry.leases import holder_is_gone
from postvakt.registry.passes import clean_error, note_failure, note_passes
from postvakt.registry.sweep_state import MailboxSweepState, sweep_states

__all__ = ["Sweep", "server_of"]

log = logging.getLogger("postvakt.sweep")

Outcome = Literal["quiet", "full", "failed", "busy", "stopped"]
LOCAL = "local"
"""The "server" of every Maildir (and any connector without a server): read one mailbox
after another, in the configured order — local files give threads nothing to wait for,
and Python's threads would only take turns."""


def server_of(mailbox: MailboxConfig | None) -> str:
    """The server a mailbox's connections go to: the unit the pool size bounds."""
    settings = mailbox.settings if mailbox is not None else None
    if isinstance(settings, ImapSettings):
        port = settings.port or (993 if settings.security == "tls" else 143)
        return f"imap:{settings.host.lower()}:{port}"
    if isinstance(settings, EwsSettings):
        return f"ews:{settings.endpoint or settings.server or 'autodiscover'}"
    if isinstance(settings, GraphSettings):
        return f"graph:{settings.tenant_id}"
    return LOCAL


SQLITE_WRITERS = 4
"""Full passes at once on SQLite: it has one writer, so more only wait for its lock (and
for ``database.busy_timeout_seconds``); the looks, which write nothing, are not bounded by it."""


@dataclass
class _Visit:
    """What happened to one mailbox in a sweep."""

    address: str
    outcome: Outcome
    report: PassReport = field(default_factory=PassReport)
    mailbox_id: int | None = None
    error: str | None = None


class Sweep:
    """Passes over every mailbox, bounded per server; keeps, between passes, which mailboxes
    must be read in full next time."""

    def __init__(
        self,
        config: Config,
        sessions: sessionmaker[Session],
        intake: Intake,
        connectors: Mapping[str, Connector],
        *,
        run_mailbox: Callable[[str], PassReport],
        lock_of: Callable[[str], threading.Lock],
        stop: threading.Event,
    ):
        """``run_mailbox`` is the full pass (``Service.run_mailbox``); ``lock_of`` gives the
        lock that keeps one pass at a time on a mailbox's connector (the IDLE watchers take
        it too)."""
        self.config, self.sessions, self.intake = config, sessions, intake
        self.connectors = connectors
        self._run_mailbox, self._lock_of, self._stop = run_mailbox, lock_of, stop
        self.pool_size = config.service.pool_size
        bind = sessions.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._full_passes = threading.BoundedSemaphore(
            min(self.pool_size, SQLITE_WRITERS) if sqlite else self.pool_size
        )
        """Full passes at once over all servers: they are what uses the database."""
        self.read_next: set[str] = set()
        """Mailboxes read in full on the next pass: their last pass (or look) in this process
        had an error or was skipped."""
        self._guard = threading.Lock()
        self._abort = threading.Event()
        self._servers = {m.address.lower(): server_of(m) for m in config.mailboxes}
        """Each mailbox's server, looked up once (``config.mailbox`` walks the list)."""

    def run(self) -> PassReport:
        """One pass over every mailbox (see the module's docstring).  A server's failure is
        in the report; anything else (the database gone, a bug) is raised once the mailboxes
        being read are finished, and no new one is started meanwhile."""
        report = PassReport()
        self._abort.clear()
        with database_errors(), self.sessions() as session:
            known = sweep_states(session)
        groups: dict[str, list[str]] = {}
        order = {address: index for index, address in enumerate(self.connectors)}
        for address in order:
            groups.setdefault(self._servers.get(address.lower(), LOCAL), []).append(address)
        pools = [
            ThreadPoolExecutor(
                1 if server == LOCAL else min(self.pool_size, len(addresses)), f"pass-{index}"
            )
            for index, (server, addresses) in enumerate(groups.items())
        ]
        visits: list[_Visit] = []
        raised: list[BaseException] = []
        try:
            futures: list[Future[_Visit]] = [
                pool.submit(self._visit, address, known.get(address))
                for pool, addresses in zip(pools, groups.values(), strict=True)
                for address in addresses
            ]
            for future in as_completed(futures):
                try:
                    visits.append(future.result())
                except BaseException as exc:  # raised below, once the others are done
                    self._abort.set()
                    raised.append(exc)
        finally:
            for pool in pools:
                pool.shutdown(wait=True)
        visits.sort(key=lambda v: order[v.address])  # the report in the config's order
        for visit in visits:
            report.merge(visit.report)
        self._note(visits)
        if raised:
            raise raised[0]
        return report

    def run_one(self, address: str) -> PassReport:
        """One mailbox as the sweep treats it: a look, a full pass only where needed, the
        good pass or the failed look noted.  For ``postvakt worker``'s pass task: a worker
        queues every mailbox each interval, and a quiet one costs one query and one STATUS."""
        with database_errors(), self.sessions() as session:
            known = sweep_states(session, address).get(address)
        visit = self._visit(address, known)
        self._note([visit])
        return visit.report

    def _visit(self, address: str, known: MailboxSweepState | None) -> _Visit:
        if self._stop.is_set() or self._abort.is_set():
            return _Visit(address, "stopped")
        if self._needs_full_pass(address, known):
            return self._full(address)
        assert known is not None
        connector = self.connectors[address]
        lock = self._lock_of(address)
        if not lock.acquire(blocking=False):  # an IDLE watcher is reading it right now
            return _Visit(address, "busy")
        started = time.perf_counter()
        try:
            news = any(
                may_have_news(connector, folder, known.states.get(folder))
                for role in ("inbox", "sent")
                for folder in connector.folders(role)  # type: ignore[arg-type]
            )
        except ConnectorError as exc:
            log.error("mailbox %s: %s", address, exc)
            with self._guard:
                self.read_next.add(address)
            visit = _Visit(address, "failed", mailbox_id=known.mailbox_id, error=str(exc))
            visit.report.errors.append(str(exc))
            observe_look(known.mailbox_id, time.perf_counter() - started, failed=True)
            return visit
        finally:
            lock.release()
        if news:
            return self._full(address)
        observe_look(known.mailbox_id, time.perf_counter() - started)
        return _Visit(address, "quiet", mailbox_id=known.mailbox_id)

    def _needs_full_pass(self, address: str, known: MailboxSweepState | None) -> bool:
        with self._guard:
            if address in self.read_next:
                return True
        if known is None or known.drafts_waiting:
            return True
        holder = known.lease_holder
        # another live process is reading it: the full pass says so (and skips it)
        return (
            holder is not None
            and holder != self.intake.holder
            and known.lease_expires_at is not None
            and known.lease_expires_at > self.intake.now()
            and not holder_is_gone(holder)
        )

    def _full(self, address: str) -> _Visit:
        started = time.perf_counter()
        try:
            with self._full_passes:
                report = self._run_mailbox(address)
        except BaseException:
            with self._guard:
                self.read_next.add(address)
            raise
        with self._guard:
            if report.errors or report.skipped:
                self.read_next.add(address)
            else:
                self.read_next.discard(address)
        log.debug("full pass over %s in %.3f s", address, time.perf_counter() - started)
        return _Visit(address, "full", report)

    def _note(self, visits: list[_Visit]) -> None:
        """The unchanged mailboxes' good passes and the failed looks, in one transaction."""
        quiet = [v.mailbox_id for v in visits if v.outcome == "quiet" and v.mailbox_id]
        failed = [v for v in visits if v.outcome == "failed" and v.mailbox_id]
        if not (quiet or failed):
            return
        now = self.intake.now()
        with database_errors(), self.sessions.begin() as session:
            note_passes(session, quiet, self.intake.holder, now)
            for visit in failed:
                assert visit.mailbox_id is not None and visit.error is not None
                note_failure(
                    session,
                    visit.mailbox_id,
                    self.intake.holder,
                    now,
                    clean_error(visit.error, visit.address),
                )
