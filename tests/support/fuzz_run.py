"""Mutated messages through the whole intake on Maildir, and what the database says after.

:func:`fuzz_intake` delivers mutants (see :mod:`tests.support.fuzz`) into the workspace's
Maildirs in batches, runs one real pass (``Service.run_once``, the Maildir connector, the
real :class:`~postvakt.intake.Intake`) per batch, then checks the database, not the pass
report: every delivered message is one ``messages`` row of its mailbox with a disposition;
a case holds the message's bytes; a non-case has its reason; a failure is in the failed
store with its bytes; every draft is placed in the Drafts folder.  What is wrong is listed
in :attr:`FuzzRun.problems`; steps that raised (``failed`` entries) in
:attr:`FuzzRun.failures`, with the line they raised at.

Used by ``tests/test_fuzz.py`` and ``benchmarks/fuzz_intake.py``.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.intake import Intake
from postvakt.registry.models import (
    Case,
    Disposition,
    Draft,
    DraftStatus,
    FailedMessage,
    Mailbox,
    MessageRecord,
)
from postvakt.service import Service
from tests.support.fuzz import Mutant
from tests.support.workspace import Workspace

__all__ = ["FuzzRun", "fuzz_intake"]

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=STOCKHOLM)
"""The service's clock: a Monday; the mail arrived in the weeks before."""
COPY_EVERY = 10
"""Every tenth mutant is also delivered to the second mailbox (the same mail to two boxes)."""


@dataclass
class FuzzRun:
    delivered: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    """mailbox -> {Maildir key -> the mutations}"""
    outcomes: Counter[str] = field(default_factory=Counter)
    """Disposition -> count, from the database."""
    seconds: float = 0.0
    """Time spent in passes (delivery and checking left out)."""
    slowest: list[tuple[float, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    """(Maildir key, where the step raised and what)."""
    drafts: int = 0

    @property
    def messages(self) -> int:
        return sum(len(keys) for keys in self.delivered.values())


def fuzz_intake(ws: Workspace, mutants: Iterable[Mutant], *, batch: int = 500) -> FuzzRun:
    """Deliver ``mutants`` ``batch`` at a time, one pass each, then check the database."""
    run = FuzzRun(delivered={"kontakt@testby.se": {}, "anna@testby.se": {}})
    service = Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open()
    try:
        assert service.intake is not None
        _time_each_message(service.intake, run)
        pending: list[Mutant] = []
        for mutant in mutants:
            pending.append(mutant)
            if len(pending) >= batch:
                _pass(ws, service, pending, run)
                pending = []
        if pending:
            _pass(ws, service, pending, run)
        try:
            again = service.run_once()  # nothing new: nothing may be read twice
            if again.outcomes:
                run.problems.append(f"a second pass processed {len(again.outcomes)} again")
            retried = service.intake.retry_failed()  # replaying the failed store must not crash
            if any(o.disposition is not Disposition.FAILED for o in retried.outcomes):
                run.problems.append("a failure went away when replayed (not deterministic)")
        except Exception as exc:
            run.problems.append(f"the second pass or the retry stopped: {exc!r}"[:500])
        _check(ws, service, run)
    finally:
        service.close()
    run.slowest = sorted(run.slowest, reverse=True)[:5]
    return run


def _time_each_message(intake: Intake, run: FuzzRun) -> None:
    """Wrap ``intake.process`` to keep the slowest messages (instrumentation, not a fake)."""
    process = intake.process

    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return process(*args, **kwargs)
        finally:
            run.slowest.append((time.perf_counter() - began, args[2].key))
            run.slowest = sorted(run.slowest, reverse=True)[:5]

    intake.process = timed  # type: ignore[method-assign]


def _pass(ws: Workspace, service: Service, mutants: list[Mutant], run: FuzzRun) -> None:
    expected = 0
    for mutant in mutants:
        when = NOW - timedelta(days=14) + timedelta(seconds=37 * mutant.index)
        ws.deliver(mutant.raw, "kontakt", when=when, name=mutant.name)
        run.delivered["kontakt@testby.se"][mutant.name] = mutant.mutations
        expected += 1
        if mutant.index % COPY_EVERY == 0:
            ws.deliver(mutant.raw, "anna", when=when, name=mutant.name)
            run.delivered["anna@testby.se"][mutant.name] = mutant.mutations
            expected += 1
    began = time.perf_counter()
    try:
        report = service.run_once()
    except Exception as exc:  # the very thing the fuzzer looks for: a pass that stops
        run.problems.append(
            f"the pass stopped at mutants {mutants[0].index}..{mutants[-1].index}: "
            f"{type(exc).__name__}: {exc}"[:500]
        )
        return
    finally:
        run.seconds += time.perf_counter() - began
    if len(report.outcomes) != expected:
        run.problems.append(f"the pass reported {len(report.outcomes)} of {expected} messages")
    run.problems += [f"pass error: {error}" for error in report.errors]


_WHERE = re.compile(r'File "[^"]*/(postvakt/[^"]+)", line (\d+), in (\w+)')


def _raised_at(traceback: str) -> str:
    """The innermost frame of Postvakt's own code in a stored traceback."""
    frames = _WHERE.findall(traceback)
    if not frames:
        return "?"
    path, line, func = frames[-1]
    return f"{path}:{line} {func}"


def _check(ws: Workspace, service: Service, run: FuzzRun) -> None:
    assert service.sessions is not None
    with service.sessions() as session:
        for address, delivered in run.delivered.items():
            who = address.partition("@")[0]
            mailbox = session.scalars(select(Mailbox).where(Mailbox.address == address)).one()
            rows = session.scalars(
                select(MessageRecord).where(MessageRecord.mailbox_id == mailbox.id)
            ).all()
            by_key: dict[str, MessageRecord] = {}
            for row in rows:
                if row.message_key in by_key:
                    run.problems.append(f"{address}: {row.message_key} recorded twice")
                by_key[row.message_key] = row
            missing = set(delivered) - set(by_key)
            extra = set(by_key) - set(delivered)
            run.problems += [f"{address}: {key} has no record" for key in sorted(missing)]
            run.problems += [f"{address}: {key} recorded, never delivered" for key in extra]
            for key, row in by_key.items():
                if key not in delivered:
                    continue
                run.outcomes[row.disposition.value] += 1
                raw = _maildir_bytes(ws, who, key)
                run.problems += [
                    f"{address}: {key} ({'+'.join(delivered[key])}): {problem}"
                    for problem in _check_row(session, mailbox, row, raw, run)
                ]
            _check_drafts(ws, session, mailbox, who, run)


def _maildir_bytes(ws: Workspace, who: str, key: str) -> bytes:
    return (ws.maildir(who) / "new" / key).read_bytes()


def _check_row(
    session: Any, mailbox: Mailbox, row: MessageRecord, raw: bytes, run: FuzzRun
) -> list[str]:
    d = row.disposition
    if d not in Disposition or d is Disposition.SENT:
        return [f"disposition {d!r} for an inbox message"]
    if d is Disposition.FAILED:
        failed = session.scalars(
            select(FailedMessage).where(
                FailedMessage.mailbox_id == mailbox.id,
                FailedMessage.folder == row.folder,
                FailedMessage.message_key == row.message_key,
            )
        ).one_or_none()
        if failed is None:
            return ["FAILED without an entry in the failed store"]
        run.failures.append(
            (row.message_key, f"{_raised_at(failed.traceback)}: {failed.error[:160]}")
        )
        return [] if bytes(failed.raw) == raw else ["the failed store holds other bytes"]
    if d is Disposition.DUPLICATE and row.case_id is None:
        # The same message read before in this mailbox, which became no case then.
        earlier = session.scalars(
            select(MessageRecord).where(
                MessageRecord.mailbox_id == mailbox.id,
                MessageRecord.message_id == row.message_id,
                MessageRecord.content_hash == row.content_hash,
                MessageRecord.id != row.id,
            )
        ).first()
        if earlier is None:
            return ["duplicate of nothing: no case and no earlier record of it"]
        return [] if row.reasons else ["duplicate without a reason"]
    if d in (Disposition.CASE, Disposition.DUPLICATE, Disposition.FOLLOWUP):
        if row.case_id is None:
            return [f"{d.value} without a case"]
        case = session.get(Case, row.case_id)
        if d is Disposition.CASE and (case.original is None or bytes(case.original) != raw):
            return ["the case does not hold the message's bytes"]
        if d is Disposition.CASE and case.message_id != row.message_id:
            return ["the case has another Message-ID than its message"]
        return []
    if not row.reasons:
        return [f"{d.value} without a reason"]
    return []


def _check_drafts(ws: Workspace, session: Any, mailbox: Mailbox, who: str, run: FuzzRun) -> None:
    drafts = session.scalars(select(Draft).where(Draft.mailbox_id == mailbox.id)).all()
    run.drafts += len(drafts)
    pending = [d.id for d in drafts if d.status is not DraftStatus.SAVED]
    if pending:
        run.problems.append(f"{mailbox.address}: {len(pending)} drafts never placed")
    files = ws.drafts(who)
    if len(files) != len(drafts):
        run.problems.append(f"{mailbox.address}: {len(drafts)} drafts, {len(files)} files")
    ids = {d.message_id for d in drafts}
    for path in files:
        placed = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        if (placed["Message-ID"] or "").strip("<> ") not in ids:
            run.problems.append(f"{path.name}: a draft file without its record")
    drafted = {d.case_id for d in drafts}
    cases = session.scalars(
        select(Case).where(
            Case.mailbox_id == mailbox.id, Case.anonymous.is_(False), Case.private.is_(False)
        )
    ).all()
    for case in cases:
        if case.sender_address and case.id not in drafted:
            run.problems.append(f"{case.reference}: a citizen with an address but no draft")
