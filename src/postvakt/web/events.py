"""A case's events as the case page tells them: a Swedish headline for each, the detail
without command-line or configuration wording, who did it.

The events keep the words they were written with (the command line, the yearly compilation
and the diary read them); this module words them for people: "Mottagningsbekräftelse
skickad", "Svar: utkast sparat", "Registrerat från" the mailbox — never ``acknowledged`` or
an English letter title, a server path, ``units.head`` or "postvakt backfill".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from postvakt.registry.models import CaseEvent, EventKind
from postvakt.registry.notes import is_internal, note_text
from postvakt.templates import LETTERS
from postvakt.templates.language import _TITLES_EN  # the English letter titles, to undo them
from postvakt.web.views import EVENT_SV, long_day

__all__ = ["EventView", "describe", "timeline"]

SYSTEM_ACTORS = frozenset({"postvakt", "system"})

_SWEDISH_TITLE = {english: LETTERS[name].title for name, english in _TITLES_EN.items()}


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: str
    title: str
    """The headline, in Swedish."""
    whom: str | None
    """An address the headline ends with (shown with its name): 'Registrerat från' it."""
    detail: str
    actor: str | None
    """Who did it (an address, or a word like 'okänd'); None for Postvakt itself."""
    internal: bool
    document: str | None


def _letter(title: str) -> str:
    """A letter's Swedish title (an English letter's events name it in English)."""
    return _SWEDISH_TITLE.get(title.strip(), title.strip())


def _iso_dates(text: str) -> str:
    """'2026-12-08' becomes '8 december 2026'."""

    def one(match: re.Match[str]) -> str:
        try:
            return long_day(date.fromisoformat(match[0]))
        except ValueError:
            return match[0]

    return re.sub(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?![\d-])", one, text)


_CONFIG_WORDS = (
    # (configuration or command-line wording, what a page says instead)
    (re.compile(r" \((?:[a-z_]+\.)+[a-z_]+\)"), ""),  # '(units.head)' after the words for it
    (
        re.compile(r"organisation\.care_deviation är inte angiven"),
        "ingen adress till avvikelsefunktionen är angiven i inställningarna",
    ),
    (re.compile(r"\[smtp\] saknas i konfigurationen"), "ingen e-postserver är inställd"),
    (re.compile(r"\(postvakt backfill av ([^)]+)\)"), r"(registrerat i efterhand av \1)"),
    (re.compile(r"med postvakt backfill av "), "i efterhand av "),
    (re.compile(r": /\S.*$"), "."),  # a path on the server: the letter is linked instead
)


def _clean(text: str) -> str:
    for pattern, instead in _CONFIG_WORDS:
        text = pattern.sub(instead, text)
    return _iso_dates(text.strip())


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else ""


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str | None, str]]]
"""A detail's shape, and from its match: (headline, whom, detail)."""

_RULES: dict[EventKind, list[Rule]] = {
    EventKind.REGISTERED: [
        (
            re.compile(r"^Registrerat automatiskt från (\S+)(.*)$"),
            lambda m: ("Registrerat från", m[1], _sentence(m[2])),
        ),
        (
            re.compile(r"^Registrerat av (\S+) från ett meddelande i (\S+)(.*)$"),
            lambda m: ("Registrerat från", m[2], _sentence(f"av {m[1]}{m[3]}")),
        ),
        (
            re.compile(r"^Registrerat för hand \(([^)]+)\)(.*)$"),
            lambda m: (f"Registrerat för hand ({m[1]})", None, ""),
        ),
    ],
    EventKind.DRAFTED: [
        (
            re.compile(r"^(.+?) skapad som utkast till (\S+)$"),
            lambda m: (f"{_letter(m[1])}: utkast sparat", None, f"Till {m[2]}."),
        ),
        (
            re.compile(r"^(.+?) skapad som utkast utan mottagare.*$"),
            lambda m: (
                f"{_letter(m[1])}: utkast sparat",
                None,
                "Utan mottagare: avsändarens adress måste kontrolleras.",
            ),
        ),
        (
            re.compile(r"^(.+?) sparad för utskrift.*$"),
            lambda m: (
                f"{_letter(m[1])}: sparat för utskrift",
                None,
                "Skrivs ut och skickas med post.",
            ),
        ),
        (
            re.compile(r"^Följebrevet kunde inte skickas \((.*)\); sparat.*$"),
            lambda m: (
                "Följebrev: inte skickat",
                None,
                f"Följebrevet kunde inte skickas ({m[1]}); det är sparat och skickas för hand.",
            ),
        ),
    ],
    EventKind.ACKNOWLEDGED: [
        (
            re.compile(r"^Mottagningsbekräftelsen skickades till avsändaren;? ?(.*)$"),
            lambda m: ("Mottagningsbekräftelse skickad", None, _sentence(m[1])),
        ),
    ],
    EventKind.ANSWERED: [
        (
            re.compile(r"^Svar skickat: (.*)$"),
            lambda m: ("Svar skickat", None, f"Ämne: {m[1]}" if m[1].strip() else ""),
        ),
        (re.compile(r"^Svar: (.*)$", re.S), lambda m: ("Besvarat", None, m[1])),
        (re.compile(r"^Besvarat från (\S+) (.*)$"), lambda m: ("Besvarat från", m[1], m[2])),
    ],
    EventKind.REOPENED: [
        (re.compile(r"^Ny prövning: (.*)$", re.S), lambda m: ("Ny prövning begärd", None, m[1])),
    ],
    EventKind.CLOSED: [
        (re.compile(r"^Avslutat\. (.*)$", re.S), lambda m: ("Avslutat", None, m[1])),
    ],
    EventKind.WAITING: [
        (
            re.compile(r"^(.*?) ?Svarstiden är pausad tills medborgaren hör av sig\.$", re.S),
            lambda m: (
                "Väntar på medborgaren",
                None,
                _sentence(m[1]) + (" " if m[1] else "") + "Svarstiden är pausad.",
            ),
        ),
    ],
    EventKind.NOTE: [
        (
            re.compile(r"^Medborgaren har svarat; (.*)$"),
            lambda m: ("Medborgaren har svarat", None, _sentence(m[1])),
        ),
        (
            re.compile(r"^Nytt meddelande från avsändaren i ärendet: (.*)$"),
            lambda m: ("Nytt meddelande från medborgaren", None, f"Ämne: {m[1]}"),
        ),
        (
            re.compile(r"^Diarienummer (.+?) \((.*)\)(.*)$"),
            lambda m: ("Diarienummer satt", None, f"{m[1]} ({m[2]}){m[3]}."),
        ),
        (
            re.compile(r"^Registrerat i efterhand.*$"),
            lambda m: ("Registrerat i efterhand", None, m[0]),
        ),
        (
            re.compile(r"^Meddelandet kom .* och registrerades .*$"),
            lambda m: ("Registrerat efter tidsgränsen", None, m[0]),
        ),
        (
            re.compile(r"^Återkoppling till .*$"),
            lambda m: ("Återkoppling om överlämnandet", None, m[0]),
        ),
        (
            re.compile(r"^Följebrev med ärendekort .* skickat till (\S+?)\.?$"),
            lambda m: ("Följebrev skickat", m[1], ""),
        ),
        (
            re.compile(r"^Avsändaren skriver att hen inte är nöjd.*$"),
            lambda m: ("Medborgaren är inte nöjd", None, m[0]),
        ),
        (
            re.compile(r"^Ett meddelande från en annan avsändare nämner ärendet.*$"),
            lambda m: ("Nämns i ett annat meddelande", None, m[0]),
        ),
    ],
    EventKind.DELEGATED: [
        (
            re.compile(r"^Flyttat till efterträdaren.*$"),
            lambda m: ("Till efterträdaren", None, m[0]),
        ),
    ],
    EventKind.ASSIGNED: [
        (
            re.compile(r"^Kom in till (\S+?); lämnat till (.*)$"),
            lambda m: ("Lämnat till enhet", None, _sentence(f"kom in till {m[1]}; till {m[2]}")),
        ),
    ],
}


def describe(event: CaseEvent) -> EventView:
    """``event`` worded for the case page."""
    kind = event.kind
    actor = None if event.actor in SYSTEM_ACTORS else event.actor
    detail = event.detail or ""
    if is_internal(event):
        return EventView(
            event.id, event.at, kind.value, "Intern anteckning", None, note_text(event), actor,
            True, event.document,
        )  # fmt: skip
    title, whom, text = EVENT_SV.get(kind.value, "Händelse"), None, detail
    for pattern, words in _RULES.get(kind, []):
        match = pattern.match(detail.strip())
        if match:
            title, whom, text = words(match)
            break
    return EventView(
        event.id, event.at, kind.value, title, whom, _clean(text), actor, False, event.document
    )


def timeline(events: list[CaseEvent]) -> list[EventView]:
    """The case's events worded for people, oldest first."""
    return [describe(e) for e in events]
