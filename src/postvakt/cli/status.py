"""``postvakt status``: how the mailboxes' passes go, who works them, what waits.

Reads the database only (it works while no mail server answers).  Exit code 1 when a
mailbox's last pass failed or its last good pass is stale (older than three poll intervals,
or none at all), for monitoring scripts; 0 when every mailbox is fine.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from typing import Any

from postvakt.cli.common import EXIT_FAILURE, EXIT_OK, iso, local_date, open_service, table
from postvakt.registry.status import MailboxStatus, Status, read_status
from postvakt.wording import count

__all__ = ["add_parsers", "cmd_status", "lag_words", "render", "status_json", "summary"]

MAX_PROCESSES = 20
"""Processes shown when there are no workers (the most recently seen)."""


def add_parsers(sub: Any) -> None:
    """Add ``status`` to the top-level sub-parsers."""
    status = sub.add_parser(
        "status",
        help="brevlådornas senaste genomgångar, fel, vem som läser dem, arbetare och köer "
        "(slutkod 1 om en brevlåda har fel eller inte lästs på länge)",
    )
    status.add_argument("--json", action="store_true", help="skriv ut som JSON")
    status.add_argument(
        "--problems",
        action="store_true",
        help="visa bara brevlådor med fel eller som inte lästs på länge (slutkoden gäller alla)",
    )
    status.set_defaults(handler=cmd_status)


def lag_words(lag: timedelta | None) -> str:
    """A lag in short Swedish words: '45 s', '3 min', '2 h 5 min', '3 d 4 h'; 'aldrig'
    when there was no good pass."""
    if lag is None:
        return "aldrig"
    seconds = int(lag.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours == 0:
        return f"{minutes} min"
    if days == 0:
        rest = minutes - hours * 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours - days * 24
    return f"{days} d {rest} h" if rest else f"{days} d"


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def _mailbox_json(row: MailboxStatus, now: datetime) -> dict[str, Any]:
    lease = None
    if row.lease_holder is not None and row.lease_expires_at is not None:
        lease = {
            "holder": row.lease_holder,
            "expires_at": iso(row.lease_expires_at),
            "expires_in_seconds": _seconds(row.lease_expires_at - now),
        }
    return {
        "address": row.address,
        "name": row.name,
        "mailbox_id": row.mailbox_id,
        "ok": row.ok,
        "failed": row.failed,
        "stale": row.stale,
        "last_pass_at": iso(row.last_pass_at),
        "last_success_at": iso(row.last_success_at),
        "lag_seconds": _seconds(row.lag),
        "last_error": row.last_error,
        "last_error_at": iso(row.last_error_at),
        "failures_in_row": row.failures_in_row,
        "last_duration_seconds": None
        if row.last_duration_ms is None
        else row.last_duration_ms / 1000,
        "last_messages": row.last_messages,
        "last_holder": row.last_holder,
        "lease": lease,
    }


def status_json(status: Status) -> dict[str, Any]:
    """The status with stable English keys, ISO times and seconds."""
    queues = status.queues
    return {
        "now": iso(status.now),
        "ok": status.ok,
        "stale_after_seconds": _seconds(status.stale_after),
        "mailboxes": [_mailbox_json(m, status.now) for m in status.mailboxes],
        "workers": None
        if status.workers is None
        else [
            {
                "id": w.id,
                "last_heartbeat": iso(w.last_heartbeat),
                "heartbeat_age_seconds": round(w.heartbeat_age, 3),
                "alive": w.alive,
                "jobs_doing": w.jobs_doing,
            }
            for w in status.workers
        ],
        "processes": [
            {"holder": p.holder, "last_seen": iso(p.last_seen), "leases": p.leases}
            for p in status.processes[:MAX_PROCESSES]
        ],
        "queues": {
            "jobs": queues.jobs,
            "drafts_pending": queues.drafts_pending,
            "diary_waiting": queues.diary_waiting,
            "diary_failed": queues.diary_failed,
            "failed_messages": queues.failed_messages,
        },
    }


def _state_words(row: MailboxStatus) -> str:
    if row.failed:
        return f"FEL ({row.failures_in_row} i rad)"
    if row.last_success_at is None:
        return "INTE LÄST"
    if row.stale:
        return "GAMMAL"
    return "ok"


def _lease_words(row: MailboxStatus, now: datetime) -> str:
    if row.lease_holder is None or row.lease_expires_at is None:
        return "–"
    if row.lease_expires_at <= now:
        return f"{row.lease_holder} (utgått {local_date(row.lease_expires_at)})"
    return f"{row.lease_holder} (till {local_date(row.lease_expires_at)})"


def summary(status: Status) -> str:
    """One line: how many mailboxes, how many ok, failing, stale or never read."""
    failing = sum(1 for m in status.mailboxes if m.failed)
    never = sum(1 for m in status.mailboxes if not m.failed and m.last_success_at is None)
    stale = sum(1 for m in status.mailboxes if not m.failed and m.stale) - never
    ok = len(status.mailboxes) - failing - stale - never
    parts = [f"{ok} ok", f"{failing} med fel", f"{stale} gamla", f"{never} inte lästa"]
    return f"{count(len(status.mailboxes), 'brevlåda', 'brevlådor')}: " + ", ".join(parts)


def render(status: Status, *, problems_only: bool = False) -> str:
    """The status as Swedish text: a summary, the mailboxes' table (only those not ok with
    ``problems_only``), their errors, workers, queues."""
    now = status.now
    lines = [f"Status {local_date(now)}", summary(status), ""]
    shown = [m for m in status.mailboxes if not (problems_only and m.ok)]
    rows = [
        [
            m.address,
            _state_words(m),
            local_date(m.last_success_at) or "–",
            lag_words(m.lag),
            "" if m.last_messages is None else str(m.last_messages),
            _lease_words(m, now),
        ]
        for m in shown
    ]
    lines.append(
        table(
            rows,
            ["Brevlåda", "Läge", "Senast läst utan fel", "Sedan", "Nya senast", "Läses av"],
        )
    )
    errors = [m for m in shown if m.last_error]
    if errors:
        lines += ["", "Senaste fel:"]
        for m in errors:
            when = local_date(m.last_error_at)
            still = "" if m.failed else " (läst utan fel sedan dess)"
            lines.append(f"  {m.address}, {when}{still}: {m.last_error}")
    stale = [m for m in status.mailboxes if m.stale and not m.failed]
    if stale:
        limit = lag_words(status.stale_after)
        lines += [
            "",
            f"GAMMAL/INTE LÄST: ingen genomgång utan fel på mer än {limit} (tre "
            "läsintervall); kontrollera att 'postvakt run' eller 'postvakt worker' är igång.",
        ]
    lines += ["", "Arbetare:"]
    if status.workers is None:
        lines.append("  inga arbetare (postvakt run)")
    elif not status.workers:
        lines.append("  inga arbetare igång (postvakt worker)")
    else:
        lines.append(
            table(
                [
                    [
                        str(w.id),
                        local_date(w.last_heartbeat),
                        lag_words(timedelta(seconds=w.heartbeat_age)) + " sedan",
                        "ok" if w.alive else "TYST",
                        str(w.jobs_doing),
                    ]
                    for w in status.workers
                ],
                ["Arbetare", "Senaste livstecken", "Ålder", "Läge", "Jobb igång"],
            )
        )
    if status.processes:
        lines += ["", "Processer (från brevlådornas lån):"]
        lines.append(
            table(
                [
                    [p.holder, local_date(p.last_seen), str(p.leases)]
                    for p in status.processes[:MAX_PROCESSES]
                ],
                ["Process", "Senast sedd", "Brevlådor nu"],
            )
        )
    queues = status.queues
    lines += ["", "Köer:"]
    if queues.jobs is not None:
        if queues.jobs:
            for queue, counts in queues.jobs.items():
                lines.append(
                    f"  jobb i kön {queue}: {counts['todo']} väntar, {counts['doing']} pågår"
                )
        else:
            lines.append("  jobb: inga väntande")
    lines += [
        f"  utkast att placera: {queues.drafts_pending}",
        f"  diariet: {queues.diary_waiting} väntar, {queues.diary_failed} avvisade",
        f"  misslyckade meddelanden: {queues.failed_messages}",
    ]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    """``postvakt status [--json]``: exit 1 when a mailbox failed its last pass or is stale."""
    from postvakt.registry.db import database_errors

    service = open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        status = read_status(session, service.config, service.clock())
    if args.json:
        print(json.dumps(status_json(status), ensure_ascii=False, indent=2))
    else:
        print(render(status, problems_only=args.problems))
    return EXIT_OK if status.ok else EXIT_FAILURE
