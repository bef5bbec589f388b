"""``postvakt backfill``: older mail registered on purpose, without promises in the past.

A mailbox watched from today holds mail from before its start.  Asked to, Postvakt
registers what arrived from a given day: deadlines count from arrival, a case whose deadline
had passed is flagged once (needs review, one event) and never reminded of, its
acknowledgment promises an answer as soon as possible instead of a date gone by, and what
the mailbox had already answered becomes an answered case without a letter.  Run on SQLite
and PostgreSQL with real Maildirs.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.mailbox.maildir import deliver as maildir_deliver
from postvakt.registry.leases import acquire
from postvakt.registry.models import (
    Case,
    CaseStatus,
    Disposition,
    Draft,
    EventKind,
    Mailbox,
    MessageRecord,
)
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.deadlines import due_items, to_notify
from postvakt.service import Service
from tests.support.workspace import Workspace, citizen_mail, make_workspace

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM)
LATER = MONDAY + timedelta(hours=2)
COMPLAINT = "Hej!\n\nJag vill klaga på snöröjningen på Björkvägen. Ingen har plogat.\n\nKarin Ek\n"
PARKING = "Jag vill klaga på en felaktig parkeringsbot. Skylten var borta.\n\nPer Ström\n"
LIGHTS = "Jag vill klaga på att gatlyktorna på Ekbacken har varit trasiga i två veckor.\n"
QUESTION = "Hej, när har ni öppet på kommunhuset i jul?\n"


def arrive(ws: Workspace, name: str, body: str, when: datetime, **kw: object) -> None:
    ws.deliver(citizen_mail(body, date=when, **kw), when=when, name=name)  # type: ignore[arg-type]


def answered_from_sent(ws: Workspace, to: str, in_reply_to: str, when: datetime) -> None:
    """The mailbox's own reply, in its Sent folder (Maildir++ .Sent)."""
    sent = ws.maildir() / ".Sent"
    for sub in ("cur", "new", "tmp"):
        (sent / sub).mkdir(parents=True, exist_ok=True)
    msg = EmailMessage()
    msg["From"] = "Kontaktcenter <kontakt@testby.se>"
    msg["To"] = to
    msg["Subject"] = "SV: Parkeringsbot"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = "<svar-1@testby.se>"
    msg["In-Reply-To"] = in_reply_to
    msg.set_content("Hej! Vi har tittat på boten och makulerat den.\n")
    maildir_deliver(sent, msg.as_bytes(), when=when.timestamp(), name="svar-1")


@pytest.fixture
def old_mailbox(tmp_path: Path, db_url: str) -> Workspace:
    """kontakt@ with the default start, holding mail from this year and the last."""
    ws = make_workspace(tmp_path / "ws", db_url)
    text = ws.config_path.read_text(encoding="utf-8")
    ws.config_path.write_text(text.replace("start_from = 2026-01-01\n", ""), encoding="utf-8")
    arrive(ws, "a-march", COMPLAINT, datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM))
    arrive(
        ws,
        "b-answered",
        PARKING,
        datetime(2026, 6, 1, 8, 0, tzinfo=STOCKHOLM),
        subject="Parkeringsbot",
        sender="Per Ström <per.strom@example.net>",
        message_id="<b@example.net>",
    )
    answered_from_sent(
        ws,
        "per.strom@example.net",
        "<b@example.net>",
        datetime(2026, 6, 3, 14, 0, tzinfo=STOCKHOLM),
    )
    arrive(
        ws,
        "c-recent",
        LIGHTS,
        datetime(2026, 11, 19, 8, 0, tzinfo=STOCKHOLM),
        subject="Trasiga gatlyktor",
        sender="Lisa Berg <lisa.berg@example.net>",
    )
    arrive(ws, "d-question", QUESTION, datetime(2026, 10, 5, 9, 0, tzinfo=STOCKHOLM), subject="Jul")
    arrive(
        ws,
        "e-last-year",
        COMPLAINT,
        datetime(2025, 12, 1, 9, 0, tzinfo=STOCKHOLM),
        subject="Snö förra året",
    )
    with Service(load_config(ws.config_path), clock=fixed_clock(MONDAY)).open() as svc:
        outcomes = svc.run_once().outcomes
    inbox = {o.key: o.disposition for o in outcomes if o.folder == "INBOX"}
    assert set(inbox.values()) == {Disposition.BEFORE_START} and len(inbox) == 5
    return ws


def backfill(ws: Workspace, *extra: str, by: str = "anna@testby.se", at: datetime = LATER) -> int:
    return main(
        [
            "--config",
            str(ws.config_path),
            "backfill",
            "kontakt@testby.se",
            "--since",
            "2026-01-01",
            "--by",
            by,
            *extra,
        ],
        clock=fixed_clock(at),
    )


MONTHS = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
]


def letter_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def test_backfill_registers_older_mail_with_deadlines_from_arrival(
    old_mailbox: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = old_mailbox
    assert backfill(ws) == 0
    out = capsys.readouterr().out
    assert (
        "kontakt@testby.se: 4 meddelanden från 2026-01-01 och före start togs upp: 3 nya ärenden"
        in out
    )
    assert "Utkast i Drafts: 2." in out

    config = load_config(ws.config_path)
    with Service(config, clock=fixed_clock(LATER)).open_readonly() as svc:
        assert svc.sessions is not None
        with svc.sessions() as session:
            records = {r.message_key: r for r in session.scalars(select(MessageRecord))}
            assert records["e-last-year"].disposition is Disposition.BEFORE_START  # before --since
            assert records["d-question"].disposition is Disposition.NOT_CASE
            assert records["d-question"].reply_due == date(2026, 10, 12)  # from its arrival
            cases = {r.message_key: r.case for r in records.values() if r.case is not None}
            march, parking, recent = cases["a-march"], cases["b-answered"], cases["c-recent"]
            # Numbered in order of arrival, in the year they are registered.
            assert [march.reference, parking.reference, recent.reference] == [
                "KS 2026/1",
                "KS 2026/2",
                "KS 2026/3",
            ]

            # Overdue since March: flagged once, one event, and a letter with no date.
            assert march.received_at == datetime(2026, 3, 2, 9, 0, tzinfo=STOCKHOLM)
            assert march.answer_due == march.ack_due == date(2026, 3, 9)
            assert march.needs_review
            assert any("tidsgränsen gick ut 9 mars 2026" in r for r in march.review_reasons)
            notes = [e for e in march.events if e.kind is EventKind.NOTE]
            assert len(notes) == 1 and "Markerat för granskning" in (notes[0].detail or "")
            assert notes[0].actor == "anna@testby.se"
            ack = session.scalars(select(Draft).where(Draft.case_id == march.id)).one()
            assert "så snart som möjligt" in ack.body_text and "senast" not in ack.body_text
            text = letter_text(ack.attachment or b"")
            assert "Du får svar från oss så snart som möjligt." in text
            assert "senast den" not in text and "9 mars" not in text

            # Answered from the mailbox in June: an answered case, no letter, no flag.
            assert parking.status is CaseStatus.ANSWERED
            assert not parking.needs_review
            answered = [e for e in parking.events if e.kind is EventKind.ANSWERED]
            assert len(answered) == 1 and answered[0].actor == "kontakt@testby.se"
            assert answered[0].at == datetime(2026, 6, 3, 14, 0, tzinfo=STOCKHOLM)
            assert not list(session.scalars(select(Draft).where(Draft.case_id == parking.id)))

            # Arrived last Thursday: its deadline is still ahead and is promised.
            assert recent.answer_due == date(2026, 11, 26)
            assert not recent.needs_review
            ack = session.scalars(select(Draft).where(Draft.case_id == recent.id)).one()
            promise = re.search(
                r"senast den (\d+) (\w+) (\d{4})", letter_text(ack.attachment or b"")
            )
            assert promise is not None
            day, month, year = promise.groups()
            assert date(int(year), MONTHS.index(month) + 1, int(day)) >= LATER.date()
            note = [e for e in recent.events if e.kind is EventKind.NOTE]
            assert len(note) == 1 and "Registrerat i efterhand" in (note[0].detail or "")

            # Reminders: nothing about what was already overdue when registered, now or
            # later; a deadline that passes after registration is reminded of as always.
            calendar = WorkingCalendar.with_closures(config.organisation.closure_days)
            for today in (date(2026, 11, 24), date(2026, 12, 1)):
                notices = to_notify(due_items(session), today, calendar)
                refs = {n.item.ref for n in notices}
                assert march.reference not in refs
                assert not any(n.item.kind == "reply" for n in notices)
            later = to_notify(due_items(session), date(2026, 11, 27), calendar)
            assert {(n.kind, n.item.ref) for n in later} >= {("breach", recent.reference)}
    assert len(ws.drafts()) == 2  # placed in kontakt@'s Drafts

    # Again: nothing twice.
    assert backfill(ws, at=LATER + timedelta(minutes=5)) == 0
    assert "ingen post från 2026-01-01 som kom före brevlådans start" in capsys.readouterr().out
    with Service(config).open_readonly() as svc:
        assert svc.sessions is not None
        with svc.sessions() as session:
            assert len(list(session.scalars(select(Case)))) == 3
            assert len(list(session.scalars(select(Draft)))) == 2


def test_backfill_answers_in_json(
    old_mailbox: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert backfill(old_mailbox, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mailbox"] == "kontakt@testby.se"
    assert data["since"].startswith("2026-01-01T00:00:00")
    assert [(m["key"], m["disposition"]) for m in data["messages"]] == [
        ("a-march", "case"),
        ("b-answered", "case"),
        ("d-question", "not_case"),
        ("c-recent", "case"),
    ]
    assert len(data["drafts"]) == 2 and data["gone"] == [] and data["errors"] == []


def test_backfill_is_refused_to_someone_without_the_right(
    old_mailbox: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backfill(old_mailbox, by="per@testby.se") == 2  # a colleague not in the config
    err = capsys.readouterr().err
    assert "per@testby.se får inte registrera äldre post i kontakt@testby.se" in err
    assert "Traceback" not in err
    with Service(load_config(old_mailbox.config_path)).open_readonly() as svc:
        assert svc.sessions is not None
        with svc.sessions() as session:
            assert list(session.scalars(select(Case))) == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["okand@testby.se", "--since", "2026-01-01"], "okand@testby.se är ingen brevlåda"),
        (["kontakt@testby.se", "--since", "2026-12-24"], "2026-12-24 har inte varit än"),
        (["kontakt@testby.se", "--since", "1 januari"], "skriv ÅÅÅÅ-MM-DD"),
    ],
    ids=["unknown-mailbox", "future", "not-a-date"],
)
def test_backfill_says_what_is_wrong_with_the_command(
    workspace: Workspace, capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    try:  # a value argparse refuses ends the command line as argparse does
        code = main(
            ["--config", str(workspace.config_path), "backfill", *argv, "--by", "anna@testby.se"],
            clock=fixed_clock(MONDAY),
        )
    except SystemExit as exc:
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    assert words in capsys.readouterr().err


def test_backfill_waits_for_another_process_working_the_mailbox(
    old_mailbox: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(old_mailbox.config_path)
    with Service(config, clock=fixed_clock(LATER)).open_readonly() as svc:
        assert svc.sessions is not None
        with svc.sessions() as session, session.begin():
            mailbox_id = session.scalars(
                select(Mailbox.id).where(Mailbox.address == "kontakt@testby.se")
            ).one()
            acquire(session, mailbox_id, "annan-server:4242:x", now=LATER, seconds=600)

    assert backfill(old_mailbox) == 1
    assert (
        "läses just nu av en annan Postvakt-process (annan-server:4242:x)"
        in capsys.readouterr().err
    )
    with Service(config).open_readonly() as svc:
        assert svc.sessions is not None
        with svc.sessions() as session:
            assert list(session.scalars(select(Case))) == []
