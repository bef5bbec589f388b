"""Text that makes scanners backtrack: every step after parsing is linear, and the text read
to decide is cut at 200,000 characters, with the case and the record saying so.

The bound on time is generous (20 s for the whole set, some 5 s here); before the scanners
were fixed, a single 200,000-character line took minutes (228 s in contact extraction alone).
The figures per shape are in benchmarks/pathological.py.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from postvakt.classifier.limits import SUBJECT_LIMIT, TEXT_CUT_REASON, TEXT_LIMIT, cap_text
from postvakt.clock import Clock
from postvakt.config import load_config
from postvakt.mailbox.message import HTML_CUT, HTML_LIMIT, parse_message
from postvakt.registry.models import Case, Disposition, MessageRecord
from postvakt.service import Service
from tests.support.pathological import COMPLAINT_LINE, SHAPES, message
from tests.support.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
BOUND = 20.0
"""Seconds for one pass over every shape (about 5 s on the development machine)."""
STOP = 300.0
"""The child process is stopped after this long: the old scanners ran for hours."""


def test_pathological_text_goes_from_arrival_to_case_in_bounded_time(
    workspace: Workspace, clock: Clock
) -> None:
    # The model is trained (or read from the run's cache) here, so the child's time is the
    # shapes' own.
    workspace.deliver(message(COMPLAINT_LINE + "\n", name="first"), name="first")
    with Service(load_config(workspace.config_path), clock=clock).open() as service:
        assert service.run_once().count(Disposition.CASE) == 1

    try:
        child = subprocess.run(
            [sys.executable, "-m", "tests.support.pathological", str(workspace.config_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=STOP,
            check=True,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"one pass over the shapes did not end within {STOP:.0f} s") from exc
    elapsed = float(child.stdout.strip().splitlines()[-1])
    assert elapsed < BOUND, f"{elapsed:.1f} s for {len(SHAPES)} shapes"

    with Service(load_config(workspace.config_path), clock=clock).open() as service:
        assert service.sessions is not None
        with service.sessions() as session:
            records = {
                r.message_key: r
                for r in session.scalars(
                    select(MessageRecord).where(MessageRecord.message_key.like("shape-%"))
                )
            }
            assert len(records) == len(SHAPES)
            assert {r.disposition for r in records.values()} <= {
                Disposition.CASE,
                Disposition.NOT_CASE,
            }
            cases = sum(r.disposition is Disposition.CASE for r in records.values())
            assert cases >= len(SHAPES) - 2
            review_from = service.config.classifier.review_non_cases_from
            cut = 0
            for n, shape in enumerate(SHAPES.values()):
                record = records[f"shape-{n:02d}"]
                long_text = cap_text(parse_message(shape()))[1]  # text or subject cut
                if record.case_id is None:
                    # The complaint line drowned in what the shape repeats (40,000 addresses):
                    # not made a case, but in the review queue, with the cut said.
                    assert record.case_probability is not None
                    assert record.case_probability >= review_from, record.message_key
                    assert long_text and TEXT_CUT_REASON in record.reasons
                    cut += 1
                    continue
                case = session.get_one(Case, record.case_id)
                assert (TEXT_CUT_REASON in case.review_reasons) is long_text, record.message_key
                said = any("were read" in d or d.startswith(HTML_CUT) for d in record.defects)
                assert said is long_text, (record.message_key, record.defects)
                assert len(record.subject or "") <= SUBJECT_LIMIT
                if long_text:
                    cut += 1
                    assert case.needs_review
                    assert TEXT_CUT_REASON in record.reasons
                    assert case.original == shape()  # the whole message stays on the case
            assert 0 < cut < len(SHAPES)


def test_cut_text_keeps_the_start_and_cuts_forwarded_messages_too() -> None:
    inner = parse_message(message("x" * (TEXT_LIMIT + 10), name="inner"))
    outer = dataclasses.replace(
        parse_message(message(COMPLAINT_LINE, name="outer")),
        subject="s" * (SUBJECT_LIMIT + 1),
        forwarded=(inner,),
    )
    capped, cut = cap_text(outer)
    assert cut
    assert capped.body_text == outer.body_text  # short enough: untouched
    assert capped.subject == "s" * SUBJECT_LIMIT
    assert capped.forwarded[0].body_text == inner.body_text[:TEXT_LIMIT]
    assert any("forwarded" in d for d in capped.defects)
    assert any(f"subject of {SUBJECT_LIMIT + 1} characters" in d for d in capped.defects)

    plain = parse_message(message(COMPLAINT_LINE, name="plain"))
    assert cap_text(plain) == (plain, False)


def test_html_cut_by_the_parser_counts_as_cut_text() -> None:
    # Mostly markup: far less than TEXT_LIMIT characters of text, but more HTML than is read.
    html = "<p>" + COMPLAINT_LINE + "</p>" + '<div class="x"><span>a</span></div>\n' * 40_000
    assert len(html) > HTML_LIMIT
    msg = parse_message(message(html, html=True, name="markup"))
    assert len(msg.body_text) < TEXT_LIMIT
    assert msg.body_text.startswith(COMPLAINT_LINE)
    assert any(d.startswith(HTML_CUT) for d in msg.defects)
    assert cap_text(msg) == (msg, True)
