"""Citizens' e-mail for the dashboard's tests: real .eml bytes put in the test municipality's
Maildirs and read by the real intake, so the pages show what the intake stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select, update

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import Config, load_config
from postvakt.mailbox.maildir import deliver
from postvakt.registry.models import Case, Disposition, MessageRecord
from postvakt.service import Service
from tests.web.support import make_config

ARRIVED = datetime(2026, 11, 19, 8, 0, tzinfo=STOCKHOLM)
"""A Thursday, before the dashboard's NOW (Tuesday 24 November 2026)."""

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HOSTILE_PAGE = b"<html><body><script>document.title='stulen'</script></body></html>"
COMPLAINT_HTML = (
    "<html><head><title>Klagom\u00e5l</title></head><body>"
    "<p>Hej!</p><p>Jag vill klaga p\u00e5 sn\u00f6r\u00f6jningen p\u00e5 Bj\u00f6rkv\u00e4gen. "
    "Ingen har plogat p\u00e5 tre dagar och bussen kommer inte fram. Det \u00e4r "
    "oacceptabelt och jag \u00e4r mycket missn\u00f6jd.</p>"
    '<script>document.title="stulen"</script>'
    "<p>I formul\u00e4ret skrev jag &lt;script&gt;alert(1)&lt;/script&gt; av misstag.</p>"
    "<p>Karin Ek</p></body></html>"
)
OPINION = (
    "Hej! Jag har ett f\u00f6rslag: det vore bra om biblioteket hade \u00f6ppet p\u00e5 "
    "s\u00f6ndagar.\n\nPer Holm\n"
)
QUESTION = "Hej, n\u00e4r har ni \u00f6ppet p\u00e5 kommunhuset i jul?\n\nMvh Sara\n"
BYGG_COMPLAINT = (
    "Hej!\n\nJag vill klaga p\u00e5 handl\u00e4ggningen av mitt bygglov. Jag har v\u00e4ntat i "
    "fyra m\u00e5nader utan svar och ingen ringer tillbaka. Det \u00e4r inte acceptabelt.\n\n"
    "Olle Str\u00f6m\n"
)


def _message(sender: str, to: str, subject: str, message_id: str, when: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    return msg


def complaint_with_attachments(when: datetime = ARRIVED) -> bytes:
    """An HTML-only complaint (with a script in it) and two attachments: a PDF and an HTML
    page whose name tries to climb out of the download folder."""
    msg = _message(
        "Karin Ek <karin.ek@example.net>",
        "kontakt@testby.se",
        "Klagom\u00e5l p\u00e5 sn\u00f6r\u00f6jningen",
        "<html-complaint@example.net>",
        when,
    )
    msg.set_content(COMPLAINT_HTML, subtype="html")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="Foto av gatan.pdf")
    msg.add_attachment(
        HOSTILE_PAGE, maintype="text", subtype="html", filename="../../kvitto <b>.html"
    )
    return msg.as_bytes()


def plain(
    body: str, *, sender: str, to: str, subject: str, message_id: str, when: datetime = ARRIVED
) -> bytes:
    msg = _message(sender, to, subject, message_id, when)
    msg.set_content(body)
    return msg.as_bytes()


@dataclass(frozen=True)
class Mail:
    """Ids and numbers of what the intake made of the test mail."""

    complaint: int
    complaint_ref: str
    opinion: int
    opinion_ref: str
    bygg: int
    bygg_ref: str
    question: int
    """The message record id of the question (not made a case)."""


def deliver_and_read(config: Config) -> None:
    """Put the test mail in the Maildirs and run the real intake over them once."""
    kontakt = config.path("mail/kontakt")
    bygglov = config.path("mail/bygglov")
    when = ARRIVED.timestamp()
    deliver(kontakt, complaint_with_attachments(), when=when, name="1-complaint")
    deliver(
        kontakt,
        plain(
            OPINION,
            sender="Per Holm <per.holm@example.org>",
            to="kontakt@testby.se",
            subject="F\u00f6rslag om biblioteket",
            message_id="<opinion@example.org>",
        ),
        when=when + 60,
        name="2-opinion",
    )
    deliver(
        kontakt,
        plain(
            QUESTION,
            sender="Sara Lind <sara.lind@example.org>",
            to="kontakt@testby.se",
            subject="\u00d6ppettider i jul",
            message_id="<question@example.org>",
        ),
        when=when + 120,
        name="3-question",
    )
    deliver(
        bygglov,
        plain(
            BYGG_COMPLAINT,
            sender="Olle Str\u00f6m <olle@example.org>",
            to="bygglov@testby.se",
            subject="Mitt bygglov",
            message_id="<bygg@example.org>",
        ),
        when=when + 180,
        name="4-bygg",
    )
    with Service(config, clock=fixed_clock(ARRIVED), environ={}).open() as service:
        report = service.run_once()
    assert report.count(Disposition.CASE) == 3, report
    assert report.count(Disposition.NOT_CASE) == 1, report


def mail_of(service_sessions) -> Mail:  # type: ignore[no-untyped-def]
    """What the intake made of the test mail, looked up by Message-ID."""
    with service_sessions() as session:
        by_mid = {c.message_id: c for c in session.scalars(select(Case))}
        question = session.scalars(
            select(MessageRecord).where(MessageRecord.message_id == "question@example.org")
        ).one()
        complaint = by_mid["html-complaint@example.net"]
        opinion = by_mid["opinion@example.org"]
        bygg = by_mid["bygg@example.org"]
        return Mail(
            complaint.id,
            complaint.reference,
            opinion.id,
            opinion.reference,
            bygg.id,
            bygg.reference,
            question.id,
        )


EXTRA_PERSON = """
[[people]]
name = "Dan Dahl"
address = "dan@testby.se"
unit = "Kontaktcenter"
title = "Handläggare"
"""
"""Staff of Kontaktcenter who owns no mailbox: reads the unit's cases, corrects none of them."""


def mailed_config(root: Path, db_url: str | None = None) -> Config:
    """The test municipality (with Dan Dahl), its mail read by the intake."""
    config = make_config(root, db_url)
    with (root / "postvakt.toml").open("a", encoding="utf-8") as file:
        file.write(EXTRA_PERSON)
    config = load_config(root / "postvakt.toml")
    deliver_and_read(config)
    return config


def put_in_review(app: FastAPI, mail: Mail) -> None:
    """Every case waits for review (which cases the model is unsure of depends on the
    model; the queue is what is tested), and the question is flagged by its mailbox's owner."""
    ctx = app.state.ctx
    with ctx.sessions() as session, session.begin():
        session.execute(
            update(Case)
            .where(Case.id.in_([mail.complaint, mail.opinion, mail.bygg]))
            .values(needs_review=True)
        )
    ctx.corrections.flag(mail.question, by="anna@testby.se")
