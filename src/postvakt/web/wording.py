"""Error messages in the web panel's words.

Postvakt's errors are written once, for whoever meets them first — often the command line:
"Se 'postvakt cases list'", "Ange din egen adress med --by".  On a page those words mean
nothing (there is no ``--by``: the person is signed in), so every message the panel shows
from an error goes through :func:`web_words`, which puts the page's words for the command's.
The command line keeps its own wording: nothing here changes what the error says.
"""

from __future__ import annotations

import re

__all__ = ["FIELD_SV", "field_sv", "web_words"]

# (pattern, replacement) in order: whole sentences first, then what is left of a flag.
_SENTENCES: tuple[tuple[str, str], ...] = (
    # The web knows who is signed in: asking for an address makes no sense there.
    (r"\s*Ange din egen adress med --by\.", ""),
    (r"Se 'postvakt cases list'( för alla ärenden)?\.", "Se listan under Ärenden."),
    (r"Se 'postvakt messages list' eller 'postvakt cases review'\.", "Se listan under Granska."),
    (
        r"Registrera det för hand med 'postvakt cases add'\.",
        "Det kan registreras för hand av den som sköter Postvakt.",
    ),
    (r"Ändra typ med 'postvakt cases reclassify'\.", "Ändra typ på ärendesidan."),
    (
        r"Använd 'postvakt cases confirm' för att bekräfta bedömningen\.",
        "Bekräfta bedömningen i stället.",
    ),
    (
        r"registreras på nytt med 'postvakt cases register[^']*'\.",
        "registreras på nytt från Granska eller av den som sköter Postvakt.",
    ),
    (
        r"Registrera meddelandet med 'postvakt cases register' på servern\.",
        "Be den som sköter Postvakt att registrera meddelandet.",
    ),
    (r"Välj ett med --record NR\.", "Välj meddelandet under Granska."),
    (
        r"Ett avslutat ärende öppnas med 'postvakt cases reopen'\.",
        "Ett avslutat ärende öppnas igen med Ny prövning på ärendesidan.",
    ),
    (
        r"Svara först med 'postvakt cases answer'",
        "Markera det som besvarat först",
    ),
    (r"Se 'postvakt callbacks list --all' för alla\.", "Se listan under Återuppringningar."),
    (r"Se 'postvakt absence list'\.", "Se listan under Frånvaro."),
    (r"lägg in en ny med 'postvakt absence add'\.", "lägg in en ny under Frånvaro."),
    (r"lägg in den med 'postvakt callbacks add'", "lägg in den under Återuppringningar"),
    (r" \(--contact\)", ""),
    (r"Skriv vad mottagaren återkopplade med --text\.", "Skriv vad mottagaren återkopplade."),
    (r"som har lämnats över med 'postvakt cases forward'\.", "som har lämnats över."),
    (r"^ange klagomal eller synpunkt$", "Välj klagomål eller synpunkt."),
    (
        r"Ange svaret med --text eller ett Word-brev med --file\.",
        "Skriv svaret, eller välj ett eget Word-brev.",
    ),
    (
        r"Ta bort --self eller lägg in en vanlig frånvaro\.",
        "Kryssa inte i ”Läser sin e-post själv”, eller lägg in en vanlig frånvaro.",
    ),
    (r"ange den med --substitute \(på webben: Ersättare\)\.", "välj den under Ersättare."),
    (r"ange den med --substitute\.", "välj den under Ersättare."),
    # Last: "Skriv vad samtalet gällde med --note." and the like say it without the flag.
    (r" med --[a-z][a-z-]*(?=[ .,;])", ""),
)


def _stop_optional(pattern: str) -> str:
    """A sentence's full stop, or its end where a list cut the stop off ('… (Se 'postvakt
    cases list')' in a summary of skipped cases)."""
    return pattern[:-2] + r"(?:\.|(?=\)|$))" if pattern.endswith(r"\.") else pattern


_COMPILED = tuple((re.compile(_stop_optional(pattern)), new) for pattern, new in _SENTENCES)
_FLAG_PREFIX = re.compile(r"^--[a-z][a-z-]*: ")
_ANY_COMMAND = re.compile(r"\s*'postvakt [^']*'")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

FIELD_SV = {
    "about": "gäller",
    "action": "åtgärd",
    "case_id": "ärende",
    "contact": "kontakt",
    "diary_number": "diarienummer",
    "for_address": "ringer upp",
    "into": "ärendet att sammanföra med",
    "kind": "typ",
    "name": "namn",
    "note": "anteckning",
    "other": "annan mottagare",
    "phone": "telefon",
    "reason": "skäl",
    "reviewer": "granskare",
    "since": "från och med",
    "status": "status",
    "text": "text",
    "to": "till",
    "unit": "enhet",
    "until": "till och med",
    "year": "år",
}
"""Form and query fields by the words their labels use (names already Swedish stay)."""


def field_sv(name: str) -> str:
    """The Swedish word for a form or query field ``name``."""
    return FIELD_SV.get(name, name.replace("_", " "))


def web_words(message: str) -> str:
    """``message`` with the web panel's words for the command line's: no ``--flag``, no
    ``postvakt …`` command — what to do on the pages instead, or who to ask."""
    text = message
    for pattern, new in _COMPILED:
        text = pattern.sub(new, text)
    text = _FLAG_PREFIX.sub("", text)
    if "'postvakt " in text:  # advice nobody mapped yet: leave out the sentences that give it
        kept = [s for s in _SENTENCE_END.split(text) if "'postvakt " not in s]
        text = " ".join(kept) if kept else _ANY_COMMAND.sub("", text)
    if text == message or "@" in text.split(" ", 1)[0]:
        return text  # the author's first letter; an address stays as it is written
    return text[:1].upper() + text[1:]
