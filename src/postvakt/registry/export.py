"""Cases as rows for the diary system (``postvakt cases export`` and the registrar's page).

One row per case registered since a day, with the fields a diary system (W3D3, Public 360,
Platina, Lex …) imports: numbers, kind, heading, times, sender, unit, handler, deadlines,
answer and actions.  Times are ISO 8601 in Stockholm time.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from postvakt.clock import STOCKHOLM
from postvakt.registry.models import Case, EventKind

__all__ = ["EXPORT_FIELDS", "EXPORT_HEADERS_SV", "case_json", "export_rows", "iso", "to_csv"]

EXPORT_FIELDS = (
    "number",
    "diary_number",
    "entry",
    "kind",
    "heading",
    "subject",
    "status",
    "received_at",
    "registered_at",
    "channel",
    "sender_name",
    "sender",
    "contact",
    "anonymous",
    "individual_care",
    "unit",
    "handler",
    "mailbox",
    "message_id",
    "service_area",
    "reply_due",
    "ack_due",
    "answer_due",
    "acknowledged_at",
    "answered_at",
    "closed_at",
    "answer_text",
    "actions",
    "forwarded_to",
)


EXPORT_HEADERS_SV = {
    "number": "Nummer",
    "diary_number": "Diarienummer",
    "entry": "Delnummer (anonymt)",
    "kind": "Typ",
    "heading": "Rubrik",
    "subject": "Ämnesrad",
    "status": "Status",
    "received_at": "Inkom",
    "registered_at": "Registrerat",
    "channel": "Kanal",
    "sender_name": "Avsändarens namn",
    "sender": "Avsändarens e-post",
    "contact": "Kontaktuppgift",
    "anonymous": "Anonymt",
    "individual_care": "Vård och omsorg",
    "unit": "Enhet",
    "handler": "Handläggare",
    "mailbox": "Brevlåda",
    "message_id": "Message-ID",
    "service_area": "Verksamhetsområde",
    "reply_due": "Besvaras senast (meddelande)",
    "ack_due": "Bekräftas senast",
    "answer_due": "Svar senast",
    "acknowledged_at": "Bekräftat",
    "answered_at": "Besvarat",
    "closed_at": "Avslutat",
    "answer_text": "Svar",
    "actions": "Vidtagna åtgärder",
    "forwarded_to": "Överlämnat till",
}
"""The CSV's column headings, in Swedish for the people who open it in a spreadsheet (the
JSON export keeps the field names)."""


def iso(value: Any) -> str | None:
    """ISO 8601; datetimes in Stockholm time, as everything users see."""
    if isinstance(value, datetime):
        value = value.astimezone(STOCKHOLM)
    return value.isoformat() if value is not None else None


def case_json(case: Case) -> dict[str, Any]:
    return {
        # The number people quote: the diary's (Postvakt's own, with numbering = postvakt),
        # None while the diary system has not given one; ``reference`` is Postvakt's.
        "number": case.label if case.diary_number else None,
        "reference": case.reference,
        "diary_number": case.diary_number,
        "entry": case.entry,
        "kind": case.kind.value,
        "status": case.status.value,
        "heading": case.heading,
        "mailbox": case.mailbox.address if case.mailbox else None,
        "unit": case.unit.name if case.unit else None,
        "handler": case.handler,
        "sender": case.sender_address,
        "sender_name": case.sender_name,
        "subject": case.subject,
        "message_id": case.message_id,
        "received_at": iso(case.received_at),
        "registered_at": iso(case.registered_at),
        "anonymous": case.anonymous,
        "needs_review": case.needs_review,
        "reply_due": iso(case.reply_due),
        "ack_due": iso(case.ack_due),
        "answer_due": iso(case.answer_due),
        "status_sv": STATUS_SV.get(case.status.value, case.status.value),
        "classifier_label": case.classifier_label,
        "classifier_probability": case.classifier_confidence,
        "corrected_by": case.corrected_by,
        "corrected_at": iso(case.corrected_at),
        "withdrawn_reason": case.withdrawn_reason,
        "withdrawn_at": iso(case.withdrawn_at),
        "merged_into": case.merged_into.label if case.merged_into else None,
        "individual_care": case.individual_care,
        "care_routed_at": iso(case.care_routed_at),
    }


STATUS_SV = {
    "registered": "registrerat",
    "acknowledged": "bekräftat",
    "answered": "besvarat",
    "waiting": "väntar",
    "forwarded": "överlämnat",
    "reopened": "ny prövning",
    "closed": "avslutat",
    "withdrawn": "makulerat",
}
"""The statuses as a registrar reads them (also ``status_sv`` in JSON)."""


def export_rows(
    session: Session, since: date, *, case_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Every case registered on or after ``since`` (or only ``case_ids``), in number order."""
    query = (
        select(Case)
        .options(selectinload(Case.events), selectinload(Case.unit), selectinload(Case.mailbox))
        .where(Case.registered_at >= datetime.combine(since, datetime.min.time(), STOCKHOLM))
        .order_by(Case.year, Case.seq, Case.entry)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(case_ids))
    rows = []
    for case in session.scalars(query):
        first = {
            kind: next((e.at for e in case.events if e.kind is kind), None)
            for kind in (EventKind.ACKNOWLEDGED, EventKind.ANSWERED)
        }
        row = {
            **case_json(case),
            "channel": case.channel,
            "contact": case.contact,
            "individual_care": case.individual_care,
            "service_area": case.service_area,
            "acknowledged_at": iso(first[EventKind.ACKNOWLEDGED]),
            "answered_at": iso(first[EventKind.ANSWERED]),
            "closed_at": iso(case.closed_at),
            "answer_text": case.answer_text,
            "actions": case.actions,
            "forwarded_to": case.forwarded_to,
        }
        rows.append({key: row.get(key) for key in EXPORT_FIELDS})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Semicolon-separated, as Swedish spreadsheet programs read it, with Swedish headings."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, delimiter=";")
    writer.writerow(EXPORT_HEADERS_SV)
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()
