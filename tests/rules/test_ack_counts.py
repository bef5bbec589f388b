"""Örebro: an acknowledgement that says when the answer comes fulfils the duty to reply.

"Svar behöver inte betyda slutlig lösning, utan kan vara en upplysning om att vi arbetar med
ärendet" (seed 003).  Under ``orebro`` (``[deadlines] ack_counts_as_answer``) the drafted
acknowledgement promises the final answer by ``promised_answer`` after receipt; when it is
seen sent, the five working days are kept and the case's answer deadline becomes the date the
sent letter names — reminders and breaches follow that date.
"""

from __future__ import annotations

import email
import email.policy
import io
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from sqlalchemy import select

from postvakt.cli import main
from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.errors import ConfigError
from postvakt.mailbox.maildir import deliver
from postvakt.registry.models import Case, CaseStatus, EventKind
from postvakt.registry.replies import promised_in
from postvakt.rules.policy import PRESETS, Duration
from postvakt.service import Service
from tests.support.smtp import SmtpServer
from tests.support.workspace import Workspace, citizen_mail

COMPLAINT = "Jag vill klaga på snöröjningen. Ingen har plogat på tre dagar.\n\nKarin Ek\n"
OPINION = "Hej! Jag har ett förslag: det vore bra om biblioteket hade öppet på söndagar.\n"


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=STOCKHOLM)


def service_at(ws: Workspace, when: datetime) -> Service:
    return Service(load_config(ws.config_path), clock=fixed_clock(when)).open()


def prepared(ws: Workspace, smtp: SmtpServer, *, policy: str = "orebro", extra: str = "") -> None:
    text = ws.config_path.read_text().replace('policy = "orebro"', f'policy = "{policy}"')
    text = text.replace(
        'registrar = "registrator@testby.se"',
        'registrar = "registrator@testby.se"\nregistrar_notice = "none"',
    )
    ws.config_path.write_text(text + extra + smtp.config())
    with service_at(ws, at(2026, 11, 23, 8)) as service:  # watched from Monday morning
        service.run_once()


def registered(ws: Workspace, body: str = COMPLAINT) -> None:
    """The citizen writes on Monday 23 November 2026 at 10:00; it is read at once."""
    received = at(2026, 11, 23, 10)
    ws.deliver(citizen_mail(body, date=received, message_id="<c1@example.net>"), when=received)
    with service_at(ws, at(2026, 11, 23, 10)) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.case == "KS 2026/1"


def the_draft(ws: Workspace) -> EmailMessage:
    (path,) = ws.drafts()
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def letter_text(msg: EmailMessage) -> str:
    (attachment,) = list(msg.iter_attachments())
    assert (attachment.get_filename() or "").startswith("Mottagningsbekräftelse")
    document = docx.Document(io.BytesIO(attachment.get_content()))
    return "\n".join(p.text for p in document.paragraphs)


def send(ws: Workspace, msg: EmailMessage, when: datetime, *, promise: str | None = None) -> None:
    """Anna sends the draft from kontakt@ (as Outlook would: into Sent), optionally writing
    another date in the letter and the mail's text first."""
    sent = EmailMessage()
    for key in ("From", "To", "Subject", "In-Reply-To", "References", "Message-ID"):
        if msg[key]:
            sent[key] = msg[key]
    sent["Date"] = email.utils.format_datetime(when)
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    (attachment,) = list(msg.iter_attachments())
    data = attachment.get_content()
    if promise is not None:
        old = next(d for d in ("7 december 2026", "30 november 2026") if d in text)
        text = text.replace(old, promise)
        document = docx.Document(io.BytesIO(data))
        for paragraph in document.paragraphs:
            if old in paragraph.text:
                paragraph.text = paragraph.text.replace(old, promise)
        out = io.BytesIO()
        document.save(out)
        data = out.getvalue()
    sent.set_content(text)
    sent.add_attachment(
        data,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename=attachment.get_filename(),
    )
    deliver(ws.maildir() / ".Sent", sent.as_bytes(), when=when.timestamp(), name="ack")
    with service_at(ws, when) as service:
        (outcome,) = service.run_once().outcomes
        assert outcome.disposition.value == "sent"


def the_case(ws: Workspace, when: datetime) -> Case:
    with service_at(ws, when) as service:
        assert service.sessions is not None
        with service.sessions() as session:
            case = session.scalars(select(Case)).one()
            case.events  # noqa: B018 - loaded before the session closes
            return case


def reminders(ws: Workspace, when: datetime) -> list[str]:
    with service_at(ws, when) as service:
        assert service.jobs is not None
        report = service.jobs.run("reminders", force=True)
    return [f"{p.recipient} {p.kind} {p.line}" for p in report.planned]


# ------------------------------------------------------------------------------ the policy


def test_orebro_counts_the_acknowledgement_the_others_do_not() -> None:
    orebro = PRESETS["orebro"]
    assert orebro.ack_counts_as_answer is True
    assert orebro.promised_answer == Duration(10, "working_days")
    assert not PRESETS["linkoping"].ack_counts_as_answer
    assert not PRESETS["timra"].ack_counts_as_answer
    from postvakt.rules.calendar import WorkingCalendar

    calendar = WorkingCalendar()
    # A complaint of Tue 22 Dec 2026: five working days -> 4 Jan; ten -> 12 Jan 2027
    # (julafton, juldagen, annandagen, nyårsafton, nyårsdagen and trettondedag jul are off).
    assert orebro.case_deadlines("complaint", date(2026, 12, 22), calendar) == (
        date(2027, 1, 4),
        date(2027, 1, 4),
    )
    assert orebro.promised_date("complaint", date(2026, 12, 22), calendar) == date(2027, 1, 12)
    assert PRESETS["linkoping"].promised_date("complaint", date(2026, 12, 22), calendar) is None
    # Never earlier than the case's own answer deadline.
    long_answer = orebro.with_overrides(complaint_answer="30 arbetsdagar")
    assert long_answer.promised_date(
        "complaint", date(2026, 11, 23), calendar
    ) == long_answer.complaint_answer.due(date(2026, 11, 23), calendar)


# ------------------------------------------------------------------------------ end to end


def test_a_sent_acknowledgement_keeps_the_five_days_and_the_promised_date_runs(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    prepared(workspace, smtp_server)
    registered(workspace)
    case = the_case(workspace, at(2026, 11, 23, 10))
    # Monday 23 Nov + 5 working days = Monday 30 Nov: answer or acknowledge by then.
    assert (case.ack_due, case.answer_due) == (date(2026, 11, 30), date(2026, 11, 30))
    draft = the_draft(workspace)
    # The acknowledgement says when the answer comes: 10 working days -> Monday 7 December.
    assert "Du får svar från oss senast den 7 december 2026." in letter_text(draft)
    body = draft.get_body(("plain",))
    assert body is not None and "du får svar senast den 7 december 2026" in body.get_content()

    send(workspace, draft, at(2026, 11, 24, 9))  # Anna sends it on Tuesday
    case = the_case(workspace, at(2026, 11, 24, 10))
    assert case.status is CaseStatus.ACKNOWLEDGED
    assert case.answer_due == date(2026, 12, 7)
    (ack,) = [e for e in case.events if e.kind is EventKind.ACKNOWLEDGED]
    assert "räknas som svar enligt rutinen" in ack.detail and "2026-12-07" in ack.detail

    # Tuesday 1 December: the five working days have passed, and nobody hears of a breach.
    assert reminders(workspace, at(2026, 12, 1, 8, 30)) == []
    # Friday 4 December: one working day before the promised date, the handler is reminded.
    (reminder,) = reminders(workspace, at(2026, 12, 4, 8, 30))
    assert reminder.startswith("anna@testby.se reminder KS 2026/1")
    assert "svar senast 7 december 2026" in reminder
    # Tuesday 8 December: the promise is broken -> the handler and the unit head.
    breaches = reminders(workspace, at(2026, 12, 8, 8, 30))
    assert sorted(b.split(" ")[0] for b in breaches) == ["anna@testby.se", "chef@testby.se"]
    assert all("skulle ha lämnats senast 7 december 2026" in b for b in breaches)
    assert smtp_server.to("chef@testby.se"), "the breach went out by mail"


def test_the_date_the_sent_letter_names_is_the_deadline(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    """The handler knows the work takes longer and writes another date before sending."""
    prepared(workspace, smtp_server)
    registered(workspace)
    send(workspace, the_draft(workspace), at(2026, 11, 24, 9), promise="18 december 2026")
    case = the_case(workspace, at(2026, 11, 24, 10))
    assert case.answer_due == date(2026, 12, 18)
    assert reminders(workspace, at(2026, 12, 8, 8, 30)) == []  # the proposed 7 Dec is not it
    (reminder,) = reminders(workspace, at(2026, 12, 17, 8, 30))
    assert "svar senast 18 december 2026" in reminder


def test_an_opinion_acknowledged_is_answered_by_the_promised_date(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    prepared(workspace, smtp_server)
    registered(workspace, OPINION)
    case = the_case(workspace, at(2026, 11, 23, 10))
    assert case.kind.value == "opinion" and case.answer_due == date(2026, 11, 30)
    send(workspace, the_draft(workspace), at(2026, 11, 23, 15))
    assert the_case(workspace, at(2026, 11, 24)).answer_due == date(2026, 12, 7)
    assert reminders(workspace, at(2026, 12, 1, 8, 30)) == []


def test_a_change_of_kind_after_the_acknowledgement_keeps_the_promised_date(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    """The citizen was promised an answer by a date: a unit head who corrects the kind
    afterwards does not take that promise back (nor move it to the new kind's deadline)."""
    prepared(workspace, smtp_server)
    registered(workspace)
    send(workspace, the_draft(workspace), at(2026, 11, 24, 9), promise="18 december 2026")
    argv = ["--config", str(workspace.config_path), "cases", "reclassify", "KS 2026/1"]
    argv += ["--kind", "synpunkt", "--by", "registrator@testby.se"]
    assert main(argv, clock=fixed_clock(at(2026, 11, 25, 9))) == 0
    case = the_case(workspace, at(2026, 11, 25, 10))
    assert case.kind.value == "opinion" and case.status is CaseStatus.ACKNOWLEDGED
    assert case.answer_due == date(2026, 12, 18)


def test_without_the_rule_the_acknowledgement_is_no_answer(
    workspace: Workspace, smtp_server: SmtpServer
) -> None:
    """Örebro with the rule turned off, as Linköping and Timrå have it: the letter promises
    the answer deadline itself, and it still runs after the acknowledgement."""
    prepared(workspace, smtp_server, extra="\n[deadlines]\nack_counts_as_answer = false\n")
    registered(workspace)
    draft = the_draft(workspace)
    assert "senast den 30 november 2026" in letter_text(draft)
    send(workspace, draft, at(2026, 11, 24, 9))
    case = the_case(workspace, at(2026, 11, 24, 10))
    assert case.status is CaseStatus.ACKNOWLEDGED and case.answer_due == date(2026, 11, 30)
    (ack,) = [e for e in case.events if e.kind is EventKind.ACKNOWLEDGED]
    assert "räknas som svar" not in ack.detail
    breaches = reminders(workspace, at(2026, 12, 1, 8, 30))
    assert any("svar skulle ha lämnats senast 30 november 2026" in b for b in breaches)


def test_linkoping_keeps_its_seven_days(workspace: Workspace, smtp_server: SmtpServer) -> None:
    prepared(workspace, smtp_server, policy="linkoping")
    registered(workspace)
    draft = the_draft(workspace)
    assert "senast den 30 november 2026" in letter_text(draft)  # Mon 23 Nov + 7 days
    send(workspace, draft, at(2026, 11, 24, 9))
    assert the_case(workspace, at(2026, 11, 24, 10)).answer_due == date(2026, 11, 30)


def test_the_promised_time_is_configurable(workspace: Workspace, smtp_server: SmtpServer) -> None:
    prepared(workspace, smtp_server, extra='\n[deadlines]\npromised_answer = "15 arbetsdagar"\n')
    registered(workspace)
    # 23 Nov + 15 working days: 24–27, 30 Nov, 1–4, 7–11, 14 Dec.
    assert "senast den 14 december 2026" in letter_text(the_draft(workspace))


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ('promised_answer = "0 dagar"', "deadlines.promised_answer", "mellan 1 och"),
        ('promised_answer = "snart"', "deadlines.promised_answer", "ingen tidsfrist"),
        ('ack_counts_as_answer = "ja"', "deadlines.ack_counts_as_answer", "true eller false"),
    ],
)
def test_bad_values_are_named(workspace: Workspace, line: str, key: str, words: str) -> None:
    workspace.config_path.write_text(workspace.config_path.read_text() + f"\n[deadlines]\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_config(workspace.config_path)
    assert key in str(info.value) and words in str(info.value)


# ------------------------------------------------------------------------------ reading a date


def _mail_with_letter(body: str, letter: str | None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "kontakt@testby.se", "k@example.net", "SV: x"
    msg.set_content(body)
    if letter is not None:
        document = docx.Document()
        document.add_paragraph(letter)
        out = io.BytesIO()
        document.save(out)
        msg.add_attachment(
            out.getvalue(),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename="Mottagningsbekräftelse KS 2026-1.docx",
        )
    return msg.as_bytes()


@pytest.mark.parametrize(
    ("body", "letter", "expected"),
    [
        ("Du får svar senast den 7 december 2026.", None, date(2026, 12, 7)),
        ("Svar senast 2026-12-07.", None, date(2026, 12, 7)),
        ("You will hear from us by 7 December 2026.", None, date(2026, 12, 7)),
        ("An answer no later than December 7, 2026.", None, date(2026, 12, 7)),
        # The letter is what the citizen reads: it wins over the mail's short text.
        ("du får svar senast den 7 december 2026", "Svar senast den 18 december 2026.",
         date(2026, 12, 18)),
        ("Vi tog emot det den 23 november 2026.", None, None),  # no promise, only a date
        ("Svar senast den 31 november 2026.", None, None),  # no such day
    ],
)  # fmt: skip
def test_the_promised_date_is_read_from_what_was_sent(
    body: str, letter: str | None, expected: date | None
) -> None:
    assert promised_in(_mail_with_letter(body, letter), body) == expected


def test_a_letter_that_cannot_be_read_leaves_the_mail_text(tmp_path: Path) -> None:
    msg = EmailMessage()
    msg.set_content("Svar senast den 9 december 2026.")
    msg.add_attachment(b"not a zip", maintype="application", subtype="octet-stream",
                       filename="Mottagningsbekräftelse.docx")  # fmt: skip
    assert promised_in(msg.as_bytes(), "Svar senast den 9 december 2026.") == date(2026, 12, 9)
