"""The words around a citizen's letter that are not in its template, in Swedish and English:
the date, what the case is called, the short e-mail that carries the letter, the letter's
title in file names.

A citizen who writes in English gets English letters (the case's ``language``, read from
their message at registration; :mod:`postvakt.intake.letters`).  Everything else — the case
card, the registrar's and the compilation — stays Swedish.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from postvakt.registry.models import Case, CaseKind

__all__ = [
    "KIND_PHRASES",
    "english_date",
    "is_address",
    "letter_kind",
    "mail_text",
    "title",
]

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip


def english_date(day: date) -> str:
    """'27 November 2026'."""
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def letter_kind(case: Case) -> str:
    """'complaint', 'opinion' or 'praise' (an opinion that only thanks and praises): what the
    letters promise — only a complaint is told that what went wrong is put right."""
    if case.kind is CaseKind.COMPLAINT:
        return "complaint"
    return "praise" if "praise" in (case.classifier_flags or []) else "opinion"


KIND_PHRASES = {
    "sv": {"complaint": "ditt klagomål", "opinion": "dina synpunkter", "praise": "ditt beröm"},
    "en": {"complaint": "your complaint", "opinion": "your comments", "praise": "your kind words"},
}

_TITLES_EN = {
    "acknowledgment": "Acknowledgement",
    "acknowledgment_care": "Acknowledgement",
    "answer": "Answer",
    "handover": "Case transferred",
    "new_review": "New review",
}


def title(name: str, swedish: str, language: str) -> str:
    """What the letter is called in file names and e-mails, in ``language``."""
    return _TITLES_EN.get(name, swedish) if language == "en" else swedish


def is_address(text: str | None) -> bool:
    """Whether ``text`` is an e-mail address (a 'name' that is only the address is no name)."""
    value = (text or "").strip().strip("<>\"'")
    return "@" in value and " " not in value


_SENTENCES = {
    "sv": {
        "acknowledgment": "Tack för ditt meddelande. Vi har registrerat det med diarienummer "
        "{number}{due}.",
        "praise": "Tack för dina vänliga ord! Vi har registrerat ditt meddelande med "
        "diarienummer {number}.",
        "acknowledgment_care": "Tack för ditt meddelande. Vi har tagit emot det med nummer "
        "{number} och lämnat det vidare till den verksamhet som ansvarar{due}.",
        "answer": "Här kommer vårt svar i ärendet {number}.",
        "handover": "Vi har lämnat över ditt ärende {number} till {to_unit}, som hör av sig "
        "till dig.",
        "new_review": "Ditt ärende {number} prövas nu på nytt av närmaste chef{due}.",
    },
    "en": {
        "acknowledgment": "Thank you for your message. We have registered it under reference "
        "number {number}{due}.",
        "praise": "Thank you for your kind words! We have registered your message under "
        "reference number {number}.",
        "acknowledgment_care": "Thank you for your message. We have received it under number "
        "{number} and passed it on to the service responsible{due}.",
        "answer": "Here is our answer in case {number}.",
        "handover": "We have transferred your case {number} to {to_unit}, who will contact you.",
        "new_review": "Your case {number} is now being reviewed anew by the nearest manager{due}.",
    },
}
_WORDS = {
    "sv": {
        "hello": "Hej {name}!",
        "hello_nobody": "Hej!",
        "due": ", och du får svar senast den {due}",
        "asap": ", och du får svar så snart som möjligt",
        "attached": "{title} finns {attached}.",
        "regards": "Med vänlig hälsning",
    },
    "en": {
        "hello": "Dear {name},",
        "hello_nobody": "Hello,",
        "due": ", and you will receive an answer by {due} at the latest",
        "asap": ", and you will receive an answer as soon as possible",
        "attached": "The letter ({title}) is attached.",
        "regards": "Kind regards",
    },
}


def mail_text(
    name: str,
    case: Case,
    context: dict[str, Any],
    *,
    language: str,
    title: str,
    neuter: bool,
    promises: bool,
) -> str:
    """The short e-mail that carries letter ``name`` (its attachment) to the citizen."""
    words = _WORDS[language]
    recipient = case.sender_name if not is_address(case.sender_name) else None
    greeting = words["hello"].format(name=recipient) if recipient else words["hello_nobody"]
    due = context.get("answer_due")
    when = words["due"].format(due=due) if due else words["asap"]
    key = "praise" if name == "acknowledgment" and letter_kind(case) == "praise" else name
    sentence = (
        _SENTENCES[language]
        .get(key, "")
        .format(number=case.label, due=when if promises else "", to_unit=context.get("to_unit", ""))
    )
    # 'Svar finns bifogat' (ett svar), 'Mottagningsbekräftelse finns bifogad' (en).
    attached = words["attached"].format(title=title, attached="bifogat" if neuter else "bifogad")
    unit = context["unit"]
    signer = context.get("handler_name") or ""
    return (
        f"{greeting}\n\n{sentence}\n{attached}\n\n{words['regards']}\n"
        + (f"{signer}\n" if signer else "")
        + f"{unit + ', ' if unit else ''}{context['organisation']}\n"
    )
