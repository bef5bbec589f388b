"""Earlier revisions' tables and the rows a Postvakt at each could have written, for
tests/registry/test_upgrade.py.  Written from the migrations, never from the current models."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from postvakt.clock import STOCKHOLM

REVISIONS = (
    "0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011",
    "0012", "0013", "0014", "0015", "0016", "0017", "0018",
)  # fmt: skip
HEAD = "0019"

# --------------------------------------------------------------------------- the old tables

INT, S, T, B, D, F = sa.Integer, sa.String, sa.Text, sa.Boolean, sa.Date, sa.Float
DT, J, BIN = sa.DateTime(timezone=True), sa.JSON, sa.LargeBinary

COLUMNS: dict[str, dict[str, list[tuple[str, Any]]]] = {
    "0001": {
        "units": [("id", INT), ("name", S), ("head", S), ("parent_id", INT)],
        "mailboxes": [
            ("id", INT), ("address", S), ("name", S), ("kind", S), ("connector", S),
            ("unit_id", INT), ("active", B),
        ],
        "people": [
            ("id", INT), ("name", S), ("address", S), ("unit_id", INT), ("phone", S), ("title", S),
        ],
        "mailbox_owners": [("mailbox_id", INT), ("address", S), ("position", INT)],
        "diary_sequences": [("id", INT), ("prefix", S), ("year", INT), ("last_seq", INT)],
        "collective_numbers": [
            ("id", INT), ("prefix", S), ("year", INT), ("seq", INT), ("number", S), ("last_entry", INT),
        ],
        "cases": [
            ("id", INT), ("reference", S), ("number", S), ("year", INT), ("seq", INT), ("entry", INT),
            ("kind", S), ("status", S), ("heading", S), ("summary", T), ("channel", S),
            ("anonymous", B), ("needs_review", B), ("mailbox_id", INT), ("unit_id", INT),
            ("handler", S), ("sender_name", S), ("sender_address", S), ("contact", T),
            ("subject", T), ("message_id", S), ("received_at", DT), ("registered_at", DT),
            ("reply_due", D), ("ack_due", D), ("answer_due", D), ("classifier_label", S),
            ("classifier_confidence", F), ("classifier_reasons", J), ("original", BIN),
            ("closed_at", DT),
        ],
        "case_events": [
            ("id", INT), ("case_id", INT), ("at", DT), ("kind", S), ("actor", S), ("detail", T),
            ("document", S),
        ],
        "drafts": [
            ("id", INT), ("case_id", INT), ("mailbox_id", INT), ("message_id", S), ("to_name", S),
            ("to_address", S), ("subject", T), ("in_reply_to", S), ("references", J),
            ("body_text", T), ("attachment_name", S), ("attachment", BIN), ("status", S),
            ("created_at", DT), ("saved_at", DT), ("location", T), ("attempts", INT),
            ("last_error", T),
        ],
        "failed_messages": [
            ("id", INT), ("mailbox_id", INT), ("folder", S), ("message_key", S),
            ("received_at", DT), ("raw", BIN), ("error", T), ("traceback", T),
            ("failed_at", DT), ("attempts", INT), ("resolved_at", DT),
        ],
        "messages": [
            ("id", INT), ("mailbox_id", INT), ("folder", S), ("message_key", S),
            ("message_id", S), ("sender_address", S), ("sender_name", S), ("subject", T),
            ("received_at", DT), ("processed_at", DT), ("disposition", S), ("label", S),
            ("confidence", F), ("reasons", J), ("defects", J), ("reply_due", D), ("case_id", INT),
        ],
        "sync_states": [("id", INT), ("mailbox_id", INT), ("folder", S), ("state", J),
                        ("updated_at", DT)],
    },
    "0002": {
        "messages": [("answered_at", DT), ("answered_by", S)],
        "failed_messages": [("role", S)],
    },
    "0003": {
        "notifications": [
            ("id", INT), ("recipient", S), ("kind", S), ("ref", S), ("day", D), ("text", T),
            ("status", S), ("created_at", DT), ("sent_at", DT),
        ],
        "job_claims": [("id", INT), ("job", S), ("day", D), ("claimed_by", S), ("claimed_at", DT)],
        "daily_checks": [
            ("id", INT), ("mailbox_id", INT), ("day", D), ("opened", B), ("evidence", T),
            ("checked_at", DT),
        ],
        "cases": [("waiting_since", D)],
    },
    "0004": {
        "cases": [
            ("answer_text", T), ("actions", T), ("individual_care", B), ("service_area", S),
            ("forwarded_to", S), ("registrar_status", S), ("registrar_sent_at", DT),
        ],
    },
    "0005": {
        "absences": [
            ("id", INT), ("person", S), ("kind", S), ("start", D), ("end", D), ("substitutes", J),
            ("self_handling", B), ("reply_subject", S), ("reply_text", T), ("created_by", S),
            ("created_at", DT), ("ended_at", DT), ("ended_by", S), ("applied", J),
            ("source", S),
        ],
        "cases": [("regular_handler", S), ("private", B), ("classifier_flags", J)],
    },
    "0006": {
        "web_users": [
            ("id", INT), ("address", S), ("password_hash", S), ("active", B),
            ("created_at", DT), ("password_changed_at", DT), ("last_login_at", DT),
        ],
        "cases": [
            ("diary_entered_number", S), ("diary_entered_by", S), ("diary_entered_at", DT),
        ],
    },
    "0007": {
        "messages": [("content_hash", S)],
        "cases": [("content_hash", S), ("address_check", B), ("review_reasons", J)],
        "web_sessions": [
            ("id", INT), ("token_hash", S), ("address", S), ("client", S), ("created_at", DT),
            ("last_seen_at", DT), ("expires_at", DT), ("ended_at", DT),
        ],
        "login_attempts": [
            ("id", INT), ("at", DT), ("client", S), ("account", S), ("success", B),
        ],
        "case_access": [
            ("id", INT), ("case_id", INT), ("at", DT), ("actor", S), ("via", S), ("what", S),
            ("client", S),
        ],
        "mailbox_leases": [
            ("mailbox_id", INT), ("holder", S), ("acquired_at", DT), ("expires_at", DT),
        ],
    },
    "0008": {
        "cases": [
            ("corrected_by", S), ("corrected_at", DT), ("withdrawn_at", DT),
            ("withdrawn_reason", T), ("merged_into_id", INT),
        ],
        "messages": [
            ("case_probability", F), ("excerpt", T), ("flagged_by", S), ("flagged_at", DT),
            ("reviewed_by", S), ("reviewed_at", DT),
        ],
        "corrections": [
            ("id", INT), ("at", DT), ("by", S), ("action", S), ("case_id", INT),
            ("message_record_id", INT), ("predicted", S), ("label", S), ("subject", T),
            ("text", T), ("content_hash", S),
        ],
        "classifier_models": [
            ("id", INT), ("trained_at", DT), ("model_key", S), ("examples", INT),
            ("corrections", INT), ("macro_f1", F), ("complaint_recall", F),
            ("current_macro_f1", F), ("current_complaint_recall", F), ("accepted", B),
            ("note", T),
        ],
    },
    "0009": {
        "cases": [("care_flagged_at", DT), ("care_route", S), ("care_routed_at", DT)],
    },
    "0010": {
        "cases": [("diary_number", S)],
        "diary_documents": [
            ("id", INT), ("case_id", INT), ("key", S), ("system", S), ("kind", S), ("title", S),
            ("made_at", DT), ("text", T), ("status", S), ("attempts", INT),
            ("next_attempt_at", DT), ("last_error", T), ("progress", J), ("external_id", S),
            ("created_at", DT), ("claimed_at", DT), ("sent_at", DT),
        ],
        "diary_attachments": [
            ("id", INT), ("document_id", INT), ("position", INT), ("filename", S),
            ("content_type", S), ("data", BIN),
        ],
    },
    "0011": {"mailbox_starts": [("mailbox_id", INT), ("first_watched_at", DT)]},
    "0013": {
        "callbacks": [
            ("id", INT), ("for_address", S), ("unit_id", INT), ("case_id", INT), ("name", S),
            ("phone", S), ("about", T), ("requested_at", DT), ("requested_by", S), ("due", D),
            ("done_at", DT), ("done_by", S), ("note", T),
        ],
    },
    "0014": {"absences": [("emergency", B), ("approvals", J), ("approved_at", DT)]},
    "0015": {
        "cases": [("language", S)],
        "compilations_sent": [
            ("id", INT), ("year", INT), ("unit", S), ("sent_to", S), ("sent_by", S),
            ("sent_at", DT), ("cases", INT), ("files", J),
        ],
    },
    "0016": {
        "mailbox_passes": [
            ("mailbox_id", INT), ("last_pass_at", DT), ("last_success_at", DT), ("last_error", T),
            ("last_error_at", DT), ("failures_in_row", INT), ("last_duration_ms", INT),
            ("last_messages", INT), ("holder", S),
        ],
    },
    "0018": {"messages": [("answered_note", T)]},
}  # fmt: skip
"""The columns each revision added (a table's first entry creates it), from the migrations."""

ORDER = (
    "units", "mailboxes", "people", "mailbox_owners", "diary_sequences", "collective_numbers",
    "cases", "case_events", "drafts", "failed_messages", "messages", "sync_states",
    "notifications", "job_claims", "daily_checks", "absences", "web_users",
    "web_sessions", "login_attempts", "case_access", "mailbox_leases", "corrections",
    "classifier_models", "diary_documents", "diary_attachments", "mailbox_starts", "callbacks",
    "compilations_sent", "mailbox_passes",
)  # fmt: skip
"""Parents before children."""


def tables(revision: str) -> dict[str, sa.TableClause]:
    """Every table as it is at ``revision``."""
    columns: dict[str, list[tuple[str, Any]]] = {}
    for rev, added in COLUMNS.items():
        if rev > revision:
            break
        for table, cols in added.items():
            columns.setdefault(table, []).extend(cols)
    return {
        name: sa.table(name, *(sa.column(col, kind) for col, kind in columns[name]))
        for name in ORDER
        if name in columns
    }


# --------------------------------------------------------------------------- the data

# Arrival stamps where a wrong time zone shows: the night summer time starts (02:00 does not
# exist), the hour that happens twice when it ends, midsummer eve, the last microsecond of
# the year (already next year in UTC+0?  no: 22:59 UTC — still this year).
SPRING = datetime(2026, 3, 29, 1, 59, 59, tzinfo=STOCKHOLM)
AUTUMN_FIRST = datetime(2026, 10, 25, 2, 30, tzinfo=STOCKHOLM)  # summer time, fold=0
AUTUMN_SECOND = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=STOCKHOLM)  # winter time
MIDSUMMER = datetime(2026, 6, 19, 23, 30, tzinfo=STOCKHOLM)
YEAR_END = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=STOCKHOLM)

ORIGINAL_1 = (
    b"From: =?utf-8?q?G=C3=B6ran_Sj=C3=B6berg?= <goran@example.net>\r\n"
    b"Subject: Sn\xf6r\xf6jningen\r\nMessage-ID: <a1@example.net>\r\n\r\n"
    b"Ingen har plogat p\xe5 tre dagar.\x00\r\n"
)
ORIGINAL_2 = b"From: anna@example.net\nMessage-ID: <a2@example.net>\n\nF\xc3\xb6rslag: \xff\xfe\n"
ORIGINAL_3 = b"From: x@example.net\r\n\r\nAnonymt via e-tj\xe4nsten\r\n"


def later(when: datetime, by: timedelta) -> datetime:
    """``when`` plus ``by`` of real time (aware arithmetic in one zone is wall-clock time)."""
    return (when.astimezone(UTC) + by).astimezone(STOCKHOLM)


def _hashes() -> dict[int, str]:
    from postvakt.mailbox.identity import content_hash

    return {1: content_hash(ORIGINAL_1), 2: content_hash(ORIGINAL_2), 3: content_hash(ORIGINAL_3)}


CONTENT_HASHES = _hashes()
"""What 0007 computes from the stored originals (and a 0007 Postvakt wrote itself)."""

DOCX = bytes(range(256)) * 40 + b"PK\x03\x04\x00\x00"


def rows(revision: str) -> dict[str, list[dict[str, Any]]]:
    """What a Postvakt at ``revision`` could have written (only that revision's columns)."""
    at = lambda rev: revision >= rev  # noqa: E731 - reads as a condition below
    cases: list[dict[str, Any]] = [
        {
            "id": 1, "reference": "KS 2026/1", "number": "KS 2026/1", "year": 2026, "seq": 1,
            "entry": None, "kind": "complaint", "status": "acknowledged",
            "heading": "Synpunkter och klagomål – Snöröjningen", "summary": "Snöröjningen",
            "channel": "email", "anonymous": False, "needs_review": True, "mailbox_id": 1,
            "unit_id": 2, "handler": "anna@testby.se", "sender_name": "Göran Sjöberg",
            "sender_address": "goran@example.net", "contact": "070-123 45 67",
            "subject": "Snöröjningen", "message_id": "a1@example.net", "received_at": SPRING,
            "registered_at": later(SPRING, timedelta(minutes=3)), "reply_due": date(2026, 4, 7),
            "ack_due": date(2026, 4, 1), "answer_due": date(2026, 4, 28),
            "classifier_label": "complaint", "classifier_confidence": 0.8731,
            "classifier_reasons": ["ord: klaga", "negation: ingen har", "”citat” – å ä ö"],
            "original": ORIGINAL_1, "closed_at": None,
        },
        {
            "id": 2, "reference": "KS 2026/2", "number": "KS 2026/2", "year": 2026, "seq": 2,
            "entry": None, "kind": "opinion", "status": "closed",
            "heading": "Synpunkter och klagomål – Förslag", "summary": "Förslag",
            "channel": "email", "anonymous": False, "needs_review": False, "mailbox_id": 2,
            "unit_id": 2, "handler": "anna@testby.se", "sender_name": None,
            "sender_address": "anna@example.net", "contact": None, "subject": "Förslag",
            "message_id": "a2@example.net", "received_at": AUTUMN_FIRST,
            "registered_at": AUTUMN_SECOND, "reply_due": date(2026, 11, 2), "ack_due": None,
            "answer_due": date(2026, 11, 23), "classifier_label": "opinion",
            "classifier_confidence": 0.5, "classifier_reasons": [], "original": ORIGINAL_2,
            "closed_at": YEAR_END,
        },
        {
            "id": 3, "reference": "KS 2026/3-1", "number": "KS 2026/3", "year": 2026, "seq": 3,
            "entry": 1, "kind": "complaint", "status": "registered",
            "heading": "Synpunkter och klagomål – Anonymt", "summary": "Anonymt",
            "channel": "email", "anonymous": True, "needs_review": False, "mailbox_id": 1,
            "unit_id": None, "handler": None, "sender_name": None, "sender_address": None,
            "contact": None, "subject": None, "message_id": "a3@postvakt.invalid",
            "received_at": MIDSUMMER, "registered_at": MIDSUMMER, "reply_due": None,
            "ack_due": None, "answer_due": None, "classifier_label": None,
            "classifier_confidence": None, "classifier_reasons": ["anonym"],
            "original": ORIGINAL_3, "closed_at": None,
        },
        {
            "id": 4, "reference": "KS 2026/4", "number": "KS 2026/4", "year": 2026, "seq": 4,
            "entry": None, "kind": "opinion", "status": "waiting",
            "heading": "Synpunkter och klagomål – Registrerat för hand", "summary": "För hand",
            "channel": "phone", "anonymous": False, "needs_review": False, "mailbox_id": None,
            "unit_id": 1, "handler": "kd@testby.se", "sender_name": "Per Å",
            "sender_address": None, "contact": "Storgatan 1, 123 45 Testby",
            "subject": None, "message_id": None, "received_at": YEAR_END,
            "registered_at": YEAR_END, "reply_due": date(2027, 1, 11), "ack_due": None,
            "answer_due": None, "classifier_label": None, "classifier_confidence": None,
            "classifier_reasons": [], "original": None, "closed_at": None,
        },
    ]  # fmt: skip
    for case in cases:
        if at("0003"):
            case["waiting_since"] = date(2027, 1, 4) if case["id"] == 4 else None
        if at("0004"):
            case.update(
                answer_text="Vi har plogat." if case["id"] == 2 else None,
                actions="Ny entreprenör" if case["id"] == 2 else None,
                individual_care=case["id"] == 3,
                service_area="gator" if case["id"] == 1 else None,
                forwarded_to=None,
                registrar_status="sent" if case["id"] == 1 else "none",
                registrar_sent_at=later(SPRING, timedelta(hours=1)) if case["id"] == 1 else None,
            )
        if at("0005"):
            case.update(
                regular_handler="anna@testby.se" if case["id"] == 1 else None,
                private=case["id"] == 2,
                classifier_flags=["forwarded", "personal_data"] if case["id"] == 1 else [],
            )
        if at("0006"):
            case.update(
                diary_entered_number="KS-2026-0017" if case["id"] == 2 else None,
                diary_entered_by="registrator@testby.se" if case["id"] == 2 else None,
                diary_entered_at=AUTUMN_SECOND if case["id"] == 2 else None,
            )
        if at("0007"):
            # What 0007's Postvakt wrote itself: the hash of the original, a review reason.
            case.update(
                content_hash=CONTENT_HASHES.get(case["id"]),
                address_check=case["id"] == 1,
                review_reasons=["nämner ärende KS 2026/2, men avsändaren är inte part i det"]
                if case["id"] == 1
                else [],
            )
        if at("0008"):
            # A 0008 Postvakt's corrections: case 4 merged into case 1 by its handler.
            merged = case["id"] == 4
            case.update(
                corrected_by="kd@testby.se" if merged else None,
                corrected_at=YEAR_END if merged else None,
                withdrawn_at=YEAR_END if merged else None,
                withdrawn_reason="samma sak som KS 2026/1" if merged else None,
                merged_into_id=1 if merged else None,
            )
        if at("0010"):
            # A 0010 Postvakt kept the diary's number beside its own (numbering = postvakt).
            case["diary_number"] = case.get("diary_entered_number") or case["number"]
        if at("0009"):
            # A 0009 Postvakt's care routing: case 3 flagged and its card sent.
            care = case["id"] == 3
            case.update(
                care_flagged_at=AUTUMN_SECOND if care else None,
                care_route=None,
                care_routed_at=YEAR_END if care else None,
            )
    # Events whose times are not in id order: the order is by id and must stay.
    events = [
        {"id": 1, "case_id": 1, "at": SPRING, "kind": "registered", "actor": "postvakt",
         "detail": "Registrerat automatiskt från kontakt@testby.se", "document": None},
        {"id": 2, "case_id": 1, "at": SPRING, "kind": "drafted", "actor": "postvakt",
         "detail": "Mottagningsbekräftelse", "document": "Mottagningsbekräftelse KS 2026-1.docx"},
        {"id": 3, "case_id": 2, "at": AUTUMN_SECOND, "kind": "registered", "actor": "postvakt",
         "detail": "", "document": None},
        {"id": 4, "case_id": 1, "at": later(SPRING, -timedelta(seconds=1)), "kind": "note",
         "actor": "anna@testby.se", "detail": "Ringde – ”ingen svarade”", "document": None},
        {"id": 5, "case_id": 2, "at": AUTUMN_FIRST, "kind": "closed", "actor": "anna@testby.se",
         "detail": "Avslutat", "document": None},
        {"id": 6, "case_id": 4, "at": YEAR_END, "kind": "waiting", "actor": "kd@testby.se",
         "detail": "Väntar på komplettering", "document": None},
    ]  # fmt: skip
    messages = [
        {"id": 1, "mailbox_id": 1, "folder": "INBOX", "message_key": "1700000000.M1P1.host",
         "message_id": "a1@example.net", "sender_address": "goran@example.net",
         "sender_name": "Göran Sjöberg", "subject": "Snöröjningen", "received_at": SPRING,
         "processed_at": later(SPRING, timedelta(minutes=3)), "disposition": "case",
         "label": "complaint", "confidence": 0.8731, "reasons": ["ord: klaga"],
         "defects": ["header Subject: 8-bit bytes without RFC 2047 encoding"],
         "reply_due": date(2026, 4, 7), "case_id": 1},
        {"id": 2, "mailbox_id": 2, "folder": "INBOX", "message_key": "1700000001.M2P1.host",
         "message_id": "a1@example.net", "sender_address": "goran@example.net",
         "sender_name": "Göran Sjöberg", "subject": "Snöröjningen", "received_at": SPRING,
         "processed_at": MIDSUMMER, "disposition": "duplicate", "label": None,
         "confidence": None, "reasons": [], "defects": [], "reply_due": None, "case_id": 1},
        {"id": 3, "mailbox_id": 1, "folder": "INBOX", "message_key": "1700000002.M3P1.host",
         "message_id": "q@example.net", "sender_address": "fraga@example.net",
         "sender_name": None, "subject": "Öppettider", "received_at": AUTUMN_SECOND,
         "processed_at": AUTUMN_SECOND, "disposition": "not_case", "label": "other",
         "confidence": 0.91, "reasons": ["en fråga"], "defects": [],
         "reply_due": date(2026, 11, 2), "case_id": None},
        {"id": 4, "mailbox_id": 1, "folder": "Sent", "message_key": "1700000003.M4P1.host",
         "message_id": "s@testby.se", "sender_address": "kontakt@testby.se",
         "sender_name": "Kontaktcenter", "subject": "SV: Snöröjningen", "received_at": None,
         "processed_at": YEAR_END, "disposition": "sent", "label": None, "confidence": None,
         "reasons": [], "defects": [], "reply_due": None, "case_id": None},
        {"id": 5, "mailbox_id": 1, "folder": "INBOX", "message_key": "1700000004.M5P1.host",
         "message_id": None, "sender_address": None, "sender_name": None, "subject": None,
         "received_at": MIDSUMMER, "processed_at": MIDSUMMER, "disposition": "failed",
         "label": None, "confidence": None, "reasons": [], "defects": [], "reply_due": None,
         "case_id": None},
    ]  # fmt: skip
    if at("0007"):
        for message in messages:
            message["content_hash"] = "c" * 64 if message["id"] == 3 else None
    if at("0008"):
        for message in messages:
            flagged = message["id"] == 3
            message.update(
                case_probability=0.41 if flagged else None,
                excerpt="Vilka är öppettiderna? – å ä ö" if flagged else None,
                flagged_by="anna@testby.se" if flagged else None,
                flagged_at=AUTUMN_SECOND if flagged else None,
                reviewed_by=None,
                reviewed_at=None,
            )
    if at("0002"):
        for message in messages:
            answered = message["id"] == 3
            message["answered_at"] = YEAR_END if answered else None
            message["answered_by"] = "anna@testby.se" if answered else None
    failed = [
        {"id": 1, "mailbox_id": 1, "folder": "INBOX", "message_key": "1700000004.M5P1.host",
         "received_at": MIDSUMMER, "raw": b"\x00\xff\xfe From: trasig\r\n\r\n\xe5\xe4\xf6" * 50,
         "error": "ValueError: ogiltig – å", "traceback": "Traceback …\nValueError",
         "failed_at": MIDSUMMER, "attempts": 2, "resolved_at": None},
        {"id": 2, "mailbox_id": 2, "folder": "Sent", "message_key": "k2", "received_at": None,
         "raw": b"", "error": "tom", "traceback": "", "failed_at": AUTUMN_FIRST, "attempts": 1,
         "resolved_at": AUTUMN_SECOND},
    ]  # fmt: skip
    if at("0002"):
        failed[0]["role"], failed[1]["role"] = "inbox", "sent"
    data: dict[str, list[dict[str, Any]]] = {
        "units": [
            {"id": 1, "name": "Kommunledningen", "head": "kd@testby.se", "parent_id": None},
            {"id": 2, "name": "Kontaktcenter", "head": "chef@testby.se", "parent_id": 1},
        ],
        "mailboxes": [
            {"id": 1, "address": "kontakt@testby.se", "name": "Kontaktcenter",
             "kind": "function", "connector": "maildir", "unit_id": 2, "active": True},
            {"id": 2, "address": "gammal@testby.se", "name": None, "kind": "personal",
             "connector": "imap", "unit_id": None, "active": False},
        ],
        "people": [
            {"id": 1, "name": "Anna Berg", "address": "anna@testby.se", "unit_id": 2,
             "phone": "0123-456 78", "title": "Handläggare"},
        ],
        "mailbox_owners": [
            {"mailbox_id": 1, "address": "anna@testby.se", "position": 0},
            {"mailbox_id": 1, "address": "chef@testby.se", "position": 1},
        ],
        "diary_sequences": [{"id": 1, "prefix": "KS", "year": 2026, "last_seq": 4}],
        "collective_numbers": [
            {"id": 1, "prefix": "KS", "year": 2026, "seq": 3, "number": "KS 2026/3",
             "last_entry": 1},
        ],
        "cases": cases,
        "case_events": events,
        "drafts": [
            {"id": 1, "case_id": 1, "mailbox_id": 1, "message_id": "d1@postvakt.testby.se",
             "to_name": "Göran Sjöberg", "to_address": "goran@example.net",
             "subject": "SV: Snöröjningen", "in_reply_to": "a1@example.net",
             "references": ["a0@example.net", "a1@example.net"],
             "body_text": "Hej Göran!\n\nTack – vi svarar senast 7 april.\n",
             "attachment_name": "Mottagningsbekräftelse KS 2026-1.docx", "attachment": DOCX,
             "status": "saved", "created_at": SPRING, "saved_at": later(SPRING, timedelta(seconds=2)),
             "location": "/mail/kontakt/.Drafts/cur/x:2,DS", "attempts": 1, "last_error": None},
            {"id": 2, "case_id": None, "mailbox_id": 2, "message_id": "d2@postvakt.testby.se",
             "to_name": None, "to_address": "anna@example.net", "subject": "SV: Förslag",
             "in_reply_to": None, "references": [], "body_text": "", "attachment_name": None,
             "attachment": None, "status": "pending", "created_at": AUTUMN_SECOND,
             "saved_at": None, "location": None, "attempts": 3,
             "last_error": "servern svarade inte"},
        ],
        "failed_messages": failed,
        "messages": messages,
        "sync_states": [
            {"id": 1, "mailbox_id": 1, "folder": "INBOX",
             "state": {"uidvalidity": 4294967295, "last_uid": 52, "modseq": 2**62,
                       "seen": ["ö", "a"], "nested": {"x": None, "y": 1.5}},
             "updated_at": YEAR_END},
            {"id": 2, "mailbox_id": 2, "folder": "Skickat", "state": {}, "updated_at": SPRING},
        ],
    }  # fmt: skip
    if at("0003"):
        data["notifications"] = [
            {"id": 1, "recipient": "anna@testby.se", "kind": "reminder", "ref": "KS 2026/1",
             "day": date(2026, 4, 6), "text": "Påminnelse: svara senast i morgon",
             "status": "sent", "created_at": SPRING, "sent_at": later(SPRING, timedelta(hours=8))},
        ]  # fmt: skip
        data["job_claims"] = [
            {"id": 1, "job": "daily_open", "day": date(2026, 6, 19),
             "claimed_by": "host:123", "claimed_at": MIDSUMMER},
        ]  # fmt: skip
        data["daily_checks"] = [
            {"id": 1, "mailbox_id": 1, "day": date(2026, 6, 19), "opened": False,
             "evidence": "inga ändrade flaggor", "checked_at": MIDSUMMER},
        ]  # fmt: skip
    if at("0005"):
        data["absences"] = [
            {"id": 1, "person": "anna@testby.se", "kind": "semester", "start": date(2026, 7, 1),
             "end": None, "substitutes": ["chef@testby.se", "kd@testby.se"],
             "self_handling": False, "reply_subject": "Semester", "reply_text": "Åter i augusti",
             "created_by": "chef@testby.se", "created_at": MIDSUMMER, "ended_at": None,
             "ended_by": None, "applied": {"auto_reply": True, "granted": ["chef@testby.se"]},
             "source": "imported"},
        ]  # fmt: skip
    if at("0006"):
        data["web_users"] = [
            {"id": 1, "address": "anna@testby.se", "password_hash": "$argon2id$v=19$m=65536$x",
             "active": True, "created_at": SPRING, "password_changed_at": AUTUMN_SECOND,
             "last_login_at": None},
        ]  # fmt: skip
    if at("0007"):
        data["web_sessions"] = [
            {"id": 1, "token_hash": "a" * 64, "address": "anna@testby.se", "client": "10.0.0.7",
             "created_at": SPRING, "last_seen_at": AUTUMN_FIRST, "expires_at": YEAR_END,
             "ended_at": None},
        ]  # fmt: skip
        data["login_attempts"] = [
            {"id": 1, "at": MIDSUMMER, "client": "10.0.0.7", "account": "anna@testby.se",
             "success": False},
        ]  # fmt: skip
        data["case_access"] = [
            {"id": 1, "case_id": 1, "at": AUTUMN_SECOND, "actor": "registrator@testby.se",
             "via": "web", "what": "visa", "client": "10.0.0.8"},
        ]  # fmt: skip
        data["mailbox_leases"] = [
            {"mailbox_id": 1, "holder": "host:42:abc", "acquired_at": YEAR_END,
             "expires_at": later(YEAR_END, timedelta(minutes=5))},
        ]  # fmt: skip
    if at("0008"):
        data["corrections"] = [
            {"id": 1, "at": YEAR_END, "by": "kd@testby.se", "action": "merge", "case_id": 4,
             "message_record_id": None, "predicted": None, "label": "opinion",
             "subject": "", "text": "För hand – ”citat”", "content_hash": None},
        ]  # fmt: skip
        data["classifier_models"] = [
            {"id": 1, "trained_at": AUTUMN_FIRST, "model_key": "a" * 40, "examples": 4000,
             "corrections": 1, "macro_f1": 0.93, "complaint_recall": 0.98,
             "current_macro_f1": 0.92, "current_complaint_recall": 0.97, "accepted": True,
             "note": "i bruk"},
        ]  # fmt: skip
    if at("0014"):
        for absence in data["absences"]:
            absence.update(emergency=False, approvals={}, approved_at=None)
    if at("0010"):
        data["diary_documents"] = [
            {"id": 1, "case_id": 1, "key": "case-1/incoming", "system": "registrar",
             "kind": "incoming", "title": "Inkommande synpunkt/klagomål", "made_at": SPRING,
             "text": "Inkommet meddelande. Ankomststämpel 2026-03-29 01:59.", "status": "sent",
             "attempts": 1, "next_attempt_at": None, "last_error": None,
             "progress": {"document_number": "26/00001-1", "files": ["a.eml"]},
             "external_id": "<diary.abc@testby.se>", "created_at": SPRING, "claimed_at": SPRING,
             "sent_at": AUTUMN_SECOND},
        ]  # fmt: skip
        data["diary_attachments"] = [
            {"id": 1, "document_id": 1, "position": 0, "filename": "Inkommande KS 2026-1.eml",
             "content_type": "message/rfc822", "data": b"From: a@example.net\r\n\r\n\xe5\xe4\xf6"},
        ]  # fmt: skip
    if at("0011"):
        data["mailbox_starts"] = [{"mailbox_id": 1, "first_watched_at": SPRING}]
    if at("0013"):
        data["callbacks"] = [
            {"id": 1, "for_address": "anna@testby.se", "unit_id": 1, "case_id": 1,
             "name": "Karin Ek", "phone": "070-111 22 33", "about": "Snöröjningen – å ä ö",
             "requested_at": AUTUMN_FIRST, "requested_by": "chef@testby.se",
             "due": date(2026, 10, 27), "done_at": None, "done_by": None, "note": None},
        ]  # fmt: skip
    if at("0015"):
        for case in data["cases"]:
            case["language"] = "en" if case["id"] == 2 else "sv"
        data["compilations_sent"] = [
            {"id": 1, "year": 2025, "unit": None, "sent_to": "kansli@testby.se",
             "sent_by": "registrator@testby.se", "sent_at": AUTUMN_FIRST, "cases": 4,
             "files": ["Sammanställning 2025.docx", "Sammanställning 2025.xlsx"]},
        ]  # fmt: skip
    if at("0016"):
        data["mailbox_passes"] = [
            {"mailbox_id": 1, "last_pass_at": AUTUMN_FIRST, "last_success_at": AUTUMN_FIRST,
             "last_error": "IMAP-servern svarade inte – å ä ö", "last_error_at": SPRING,
             "failures_in_row": 0, "last_duration_ms": 840, "last_messages": 3,
             "holder": "värd-1:4242"},
        ]  # fmt: skip
    if at("0018"):
        for message in data["messages"]:
            message["answered_note"] = (
                "per telefon – å ä ö" if message.get("answered_at") is not None else None
            )
    return data
