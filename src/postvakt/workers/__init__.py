"""``postvakt worker``: Postvakt on more than one machine, as procrastinate workers on PostgreSQL.

procrastinate is a task queue kept in PostgreSQL itself (row locks and ``LISTEN/NOTIFY``): no
other server runs.  Any number of ``postvakt worker`` processes, on any number of machines,
share one database and take jobs from it:

- ``postvakt.pass`` — one pass over one mailbox (:meth:`Service.run_mailbox`);
- ``postvakt.drafts`` — the pending drafts of one mailbox placed in its Drafts folder;
- ``postvakt.notify``, ``postvakt.diary``, ``postvakt.care`` — the notifier's flush, the
  diary outbox and the care routing that ``postvakt run`` does after every pass;
- ``postvakt.rule`` — one rule job of :meth:`Service.schedule` (coverage, daily-open,
  reminders, compilation, head-digest, registrar, retrain);
- ``postvakt.tick`` — every ``service.poll_interval_seconds``: a pass for every mailbox and
  the after-pass work above;
- ``postvakt.stalled`` — every 30 s: the jobs of a worker whose heartbeat stopped (killed,
  its machine gone) are put back in the queue;
- ``postvakt.cleanup`` — every hour: finished jobs older than an hour are deleted.

One mailbox is never worked by two workers at once, nor queued twice: its jobs carry the
lock and the queueing lock ``mailbox:<id>``.  (The intake's mailbox lease is kept under them
too; across machines a dead worker's lease runs out after ``service.lease_seconds``.)  The
periodic jobs are procrastinate periodic tasks: every worker offers them and the database
accepts one job per task and time; a rule job also claims its day (``job_claims``) as in
``postvakt run``.

``postvakt run`` stays the single-process mode, for SQLite and small sites.
"""

from __future__ import annotations

from postvakt.workers.app import apply_queue_schema, build_app, conninfo
from postvakt.workers.runner import refuse_sqlite, run_worker

__all__ = ["apply_queue_schema", "build_app", "conninfo", "refuse_sqlite", "run_worker"]
