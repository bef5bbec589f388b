"""A web form's case type against the model's verdict: a person decides, and nothing is
registered, numbered or routed before they have."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from postvakt.clock import STOCKHOLM, fixed_clock
from postvakt.config import load_config
from postvakt.registry.models import Case, Disposition, MessageRecord
from postvakt.service import Service
from tests.support.workspace import citizen_mail, make_workspace

TUESDAY = datetime(2026, 12, 8, 9, 0, tzinfo=STOCKHOLM)


def _form(kind: str, text: str, message_id: str) -> bytes:
    body = (
        f"Ärendetyp: {kind}\nNamn: Karin Ek\nE-post: karin.ek@example.net\nTelefon:\n"
        f"Meddelande: {text}\n"
    )
    return citizen_mail(
        body,
        sender="E-tjänsten <noreply@e-tjanst.example>",
        subject="Nytt ärende från e-tjänsten",
        message_id=message_id,
    )


def _run(tmp_path: Path, mails: list[bytes], ids: tuple[str, str]) -> tuple[Any, ...]:
    """Deliver ``mails``, run one pass: the two records by Message-ID, the number of cases,
    and the message ids in Granska."""
    ws = make_workspace(tmp_path / "ws")
    for mail in mails:
        ws.deliver(mail)
    with Service(load_config(ws.config_path), clock=fixed_clock(TUESDAY)).open() as service:
        service.run_once()
        assert service.sessions is not None and service.corrections is not None
        with service.sessions() as session:
            records = {
                r.message_id: r
                for r in session.scalars(select(MessageRecord)).all()
                if r.message_id in ids
            }
            cases = session.scalar(select(func.count()).select_from(Case))
        queued = service.corrections.queue("anna@testby.se")
    shown = [q.id for q in queued if q.kind == "message"]
    return records[ids[0]], records[ids[1]], cases, shown


def test_a_question_sent_as_a_complaint_is_shown_in_granska_not_registered(tmp_path: Path):
    question = "Vilka tider har återvinningscentralen öppet på lördagar?"
    mails = [
        _form("Klagomål", question, "<q1@example.net>"),
        _form("Övrigt", question, "<q2@example.net>"),
    ]
    disputed, plain, cases, shown = _run(tmp_path, mails, ("q1@example.net", "q2@example.net"))
    # Neither is a case: no number taken, no letter drafted.
    assert cases == 0
    assert disputed.disposition is Disposition.NOT_CASE
    assert plain.disposition is Disposition.NOT_CASE
    # The one whose form said "Klagomål" is before a person in Granska, saying why.
    assert disputed.flagged_by == "postvakt" and plain.flagged_by is None
    assert disputed.reasons[0].startswith("modellen bedömer meddelandet som annat")
    assert "”Klagomål”" in disputed.reasons[0]
    assert shown == [disputed.id]


def test_a_question_titled_complaint_is_shown_in_granska_not_registered(tmp_path: Path):
    asking = "Hur lämnar jag ett klagomål på skolan? Finns det en blankett?"
    mails = [
        citizen_mail(asking, subject="Klagomål – hur gör man?", message_id="<t1@x.net>"),
        citizen_mail(asking, subject="Fråga om blankett", message_id="<t2@x.net>"),
    ]
    titled, plain, cases, shown = _run(tmp_path, mails, ("t1@x.net", "t2@x.net"))
    # The model is sure it is a question: no diary number for the word in the subject ...
    assert cases == 0
    assert titled.disposition is Disposition.NOT_CASE and plain.disposition is Disposition.NOT_CASE
    # ... but a person sees it, with the reason first.
    assert titled.flagged_by == "postvakt" and plain.flagged_by is None
    assert titled.reasons[0].startswith("ämnesraden ”Klagomål – hur gör man?”")
    assert shown == [titled.id]
