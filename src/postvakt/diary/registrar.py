"""``system = "registrar"``: every document of a case by e-mail to the registrar.

The registrar enters each document in the diary by hand.  One message per document (or one
daily digest for several), with the case's number — or, while the diary has not given one,
Postvakt's reference and a request to reply with the number — the document's kind and date,
the arrival stamp of an incoming message, and the document itself attached (the sent .docx,
the original mail as message/rfc822).

The Message-ID is made from the document's idempotency key: a message sent again after a
crash carries the same id, so the registrar's mail program (and Postvakt, reading the reply)
can tell it is the same document.  In a case about someone's own care the subject carries
none of the citizen's words: only the number and the kind of document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from pathlib import PurePath
from typing import Any

from postvakt.clock import STOCKHOLM
from postvakt.diary.base import (
    DOCUMENT_TITLES,
    INBOUND,
    OUTBOUND,
    CaseFacts,
    Delivered,
    DiaryDocument,
    DiaryUnavailable,
    DocumentKind,
)
from postvakt.errors import PostvaktError
from postvakt.rules.notify import Mailer, page_link, swedish_day

__all__ = ["CARE_MARK", "RegistrarDiary"]

CARE_MARK = "[Vård och omsorg – avvikelsemodulen]"
"""Begins the subject of a notice about someone's own care (none of their words follow)."""

_SUMMARY_MAX = 120
_KIND_SV = {"complaint": "Klagomål", "opinion": "Synpunkt"}
_CHANNEL_SV = {
    "email": "e-post",
    "phone": "telefon",
    "visit": "besök",
    "letter": "brev",
    "sms": "sms",
    "web": "webb",
}
_REPLY_HINT = (
    "diarienummer saknas ännu — svara på detta meddelande med diarienumret i ämnesraden "
    "eller på första raden"
)


def _one_line(text: str, limit: int = _SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _time(moment: Any) -> str:
    return f"{moment.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}"


def _title(document: DiaryDocument) -> str:
    """The document's title without the case's number (the subject begins with it)."""
    title = document.title
    for label in (document.case.diary_number, document.case.reference):
        if label:
            title = title.replace(f" – {label}", "").replace(label, "")
    return _one_line(title.strip(" –-")) or DOCUMENT_TITLES[document.kind]


def _direction(kind: DocumentKind) -> str:
    if kind in INBOUND:
        return "inkommande handling"
    if kind in OUTBOUND:
        return "utgående handling"
    return "upprättad handling (anteckning)"  # callback, closure, a correction's memo


def _number_lines(case: CaseFacts) -> list[str]:
    if case.diary_number:
        return [f"Diarienummer: {case.diary_number}"]
    return [f"Postvakts referens: {case.reference} ({_REPLY_HINT})"]


def _party(document: DiaryDocument) -> str | None:
    """Who sent an incoming document, or gets an outgoing one."""
    case = document.case
    if document.inbound:
        role = "Avsändare"
    elif document.outbound:
        role = "Mottagare"
    else:
        return None
    if case.anonymous:
        return f"{role}: anonym"
    who = " ".join(
        p
        for p in (case.sender_name, f"<{case.sender_address}>" if case.sender_address else "")
        if p
    )
    return f"{role}: {who}" if who else None


def _unique_names(
    attachments: Sequence[tuple[str, str, bytes]],
) -> list[tuple[str, str, bytes]]:
    """The same attachments, a number added to a file name already used ('Svar (2).docx')."""
    seen: set[str] = set()
    out = []
    for filename, content_type, data in attachments:
        name, n = filename, 1
        while name.casefold() in seen:
            n += 1
            path = PurePath(filename)
            name = f"{path.stem} ({n}){path.suffix}"
        seen.add(name.casefold())
        out.append((name, content_type, data))
    return out


class RegistrarDiary:
    """Sends each document to the registrar's address through ``mailer``.

    ``reply_to`` is where the registrar's reply with the diary number goes (Postvakt's own
    mailbox, where the reply is read); without it the reply goes to the sender address.
    ``base_url`` (``[web] base_url``) makes each notice link to the case's page and the
    Registrator page; without it no link is written.
    """

    name = "registrar"

    def __init__(
        self,
        mailer: Mailer,
        registrar: str,
        *,
        reply_to: str | None = None,
        base_url: str | None = None,
    ):
        self.mailer = mailer
        self.registrar = registrar
        self.reply_to = reply_to
        self.base_url = base_url

    def message_id(self, key: str) -> str:
        """The Message-ID of the notice of the document with idempotency ``key``."""
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]
        return f"<diary.{digest}@{self.mailer.domain}>"

    def subject(self, document: DiaryDocument) -> str:
        case = document.case
        if case.individual_care:
            return f"{CARE_MARK} {case.label} – {DOCUMENT_TITLES[document.kind]}"
        return f"{case.label} – {_title(document)} – {_one_line(case.summary)}"

    def body(self, document: DiaryDocument) -> str:
        case = document.case
        lines = [
            "Till registratorn",
            "",
            f"Ett dokument i ärende {case.label} ska diarieföras.",
            "",
            *_number_lines(case),
            f"Ärende: {_KIND_SV.get(case.kind, case.kind)} – {_one_line(case.heading, 200)}",
            f"Dokument: {DOCUMENT_TITLES[document.kind]} ({_direction(document.kind)})",
            f"Titel: {_one_line(document.title, 200)}",
            f"Datum: {_time(document.date)}",
        ]
        if document.kind is DocumentKind.INCOMING:
            lines.append(
                f"Ankomststämpel: {_time(case.received_at)} "
                f"(via {_CHANNEL_SV.get(case.channel, case.channel)})"
            )
        if party := _party(document):
            lines.append(party)
        if case.unit:
            lines.append(f"Verksamhet: {case.unit}")
        if case.handler:
            lines.append(f"Handläggare: {case.handler}")
        if link := page_link(self.base_url, f"/arenden/{case.case_id}"):
            lines.append(f"I Postvakt: {link}")
        if case.individual_care:
            lines += [
                "",
                "Ärendet rör enskilds vård och omsorg och registreras i verksamhetssystemets "
                "avvikelsemodul, inte i diariet.",
            ]
        if document.text.strip():
            lines += ["", document.text.strip()]
        lines += [
            "",
            "Dokumentet är bifogat."
            if document.attachments
            else "Dokumentet har inga bilagor: texten ovan är hela handlingen.",
            "",
            "Postvakt",
        ]
        return "\n".join(lines) + "\n"

    def deliver(self, document: DiaryDocument, progress: dict[str, Any]) -> Delivered:
        """Send one notice for ``document``; the Message-ID is the external id."""
        message_id = self.message_id(document.key)
        attachments = _unique_names(
            [(a.filename, a.content_type, a.data) for a in document.attachments]
        )
        self._send(
            self.subject(document),
            self.body(document),
            attachments,
            message_id,
            what=f"{DOCUMENT_TITLES[document.kind].lower()} i ärende {document.case.label}",
        )
        return Delivered(external_id=message_id)

    def deliver_digest(
        self, documents: Sequence[DiaryDocument], day: date | None = None
    ) -> Delivered:
        """Send one notice for several ``documents`` (the daily digest), all attachments in it.

        ``day`` names the digest (default: the day of the newest document, in Sweden).
        """
        if not documents:
            raise ValueError("deliver_digest needs at least one document")
        if day is None:
            day = max(d.date for d in documents).astimezone(STOCKHOLM).date()
        keys = "\n".join(sorted(d.key for d in documents))
        digest = hashlib.sha1(keys.encode(), usedforsecurity=False).hexdigest()[:24]
        message_id = f"<diary-digest.{digest}@{self.mailer.domain}>"
        subject = f"Synpunkter och klagomål – {len(documents)} dokument {swedish_day(day)}"
        lines = [
            "Till registratorn",
            "",
            f"{len(documents)} dokument ska diarieföras:",
            "",
        ]
        for document in documents:
            number = "" if document.case.diary_number else " (referens, diarienummer saknas)"
            lines.append(
                f"  • {_time(document.date)} {self.subject(document)}{number}"
                + (" – bifogat" if document.attachments else "")
            )
        if any(not d.case.diary_number for d in documents):
            lines += [
                "",
                "För ärenden där diarienummer saknas ännu: skriv diarienumret vid ärendets "
                "referens på sidan Registrator i Postvakt.",
            ]
            if link := page_link(self.base_url, "/registrator"):
                lines.append(link)
        lines += ["", "Dokumenten är bifogade.", "", "Postvakt"]
        attachments = _unique_names(
            [
                (a.filename, a.content_type, a.data)
                for document in documents
                for a in document.attachments
            ]
        )
        self._send(
            subject,
            "\n".join(lines) + "\n",
            attachments,
            message_id,
            what=f"sammanställningen av {len(documents)} dokument",
        )
        return Delivered(external_id=message_id)

    def _send(
        self,
        subject: str,
        body: str,
        attachments: Sequence[tuple[str, str, bytes]],
        message_id: str,
        *,
        what: str,
    ) -> None:
        try:
            self.mailer.send(
                self.registrar,
                subject,
                body,
                attachments,
                message_id=message_id,
                reply_to=self.reply_to,
            )
        except PostvaktError as exc:
            raise DiaryUnavailable(
                f"Diarieföringen av {what} kunde inte skickas till registratorn: {exc}"
            ) from exc
