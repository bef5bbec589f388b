"""Mutated mail through the whole intake on Maildir: every message ends as one recorded outcome.

The mutants come from :mod:`tests.support.fuzz` (the project's own messages, made hostile;
seeded, so a failure is reproduced by its seed and index) and go through the real service:
the Maildir connector, every intake step, the draft delivery, on SQLite and PostgreSQL.  The
database is checked, not the pass report (:mod:`tests.support.fuzz_run`).  What the fuzzer
found is kept below as plain regression tests.  ``benchmarks/fuzz_intake.py`` runs 10,000.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from postvakt.clock import fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, Disposition, FailedMessage, MessageRecord
from postvakt.service import Service
from tests.support.fuzz import MUTATIONS, Mutator
from tests.support.fuzz_run import NOW, fuzz_intake
from tests.support.workspace import citizen_mail, make_workspace

SEED = 14
COUNT = 500


def test_fuzzed_mail_each_ends_as_one_recorded_outcome(tmp_path: Path, db_url: str) -> None:
    mutants = list(Mutator(SEED).mutants(COUNT))
    assert {name for m in mutants for name in m.mutations} == set(MUTATIONS)

    run = fuzz_intake(make_workspace(tmp_path / "ws", db_url), mutants, batch=250)

    assert run.problems == []
    assert run.failures == [], "a step raised on a fuzzed message (see the failed store)"
    assert run.messages == COUNT + len(range(0, COUNT, 10))  # every tenth also to anna@
    assert sum(run.outcomes.values()) == run.messages
    assert run.outcomes["case"] > 50 and run.drafts > 50


COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat.\n\nKarin Ek\n"


def test_what_the_fuzzer_found_is_recorded_and_the_pass_goes_on(
    tmp_path: Path, db_url: str
) -> None:
    """On PostgreSQL a References header of 125,000 IDs stopped the whole pass (a query with
    more parameters than the driver allows) and the next pass met it again; an encoded word
    decoding to NUL, or a 100,000-character Message-ID, put the message in the failed store
    every time.  Each is now a case, and the message after them is read."""
    ws = make_workspace(tmp_path / "ws", db_url)
    # Written as the raw line it arrives as (the email package folds it for half a minute).
    references = b" ".join(b"<%d@example.net>" % i for i in range(125_000))
    shapes = {
        "a-references": b"References: " + references + b"\n" + citizen_mail(COMPLAINT),
        "b-nul": citizen_mail(COMPLAINT, subject="Klagomål =?utf-8?b?S2FsbGUAQW5rYQ==?="),
        "c-long-id": citizen_mail(COMPLAINT, message_id="<" + "m" * 100_000 + "@example.net>"),
        "d-after": citizen_mail(COMPLAINT, sender="Per Ek <per.ek@example.org>"),
    }
    for name, raw in shapes.items():
        ws.deliver(raw, when=NOW, name=name)
    with Service(load_config(ws.config_path), clock=fixed_clock(NOW)).open() as service:
        report = service.run_once()
        assert report.errors == []
        assert [o.key for o in report.outcomes] == list(shapes)
        assert service.sessions is not None
        with service.sessions() as session:
            records = {r.message_key: r for r in session.scalars(select(MessageRecord))}
            assert {k: r.disposition for k, r in records.items()} == dict.fromkeys(
                shapes, Disposition.CASE
            )
            assert session.scalars(select(FailedMessage)).all() == []
            subjects = {c.subject for c in session.scalars(select(Case))}
            assert "Klagomål KalleAnka" in subjects
