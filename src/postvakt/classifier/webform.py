"""Web-form submissions: 'Ärendetyp: … Namn: … E-post: … Meddelande: …' in the body.

Municipal e-services send a citizen's form as a mail from a no-reply gateway.  The fields
hold the contact details (or nothing, for an anonymous submission) and the message itself.
"""

from __future__ import annotations

import re

__all__ = ["form_fields"]

_CANONICAL = {
    "namn": "namn",
    "name": "namn",
    "epost": "epost",
    "email": "epost",
    "mejl": "epost",
    "mail": "epost",
    "telefon": "telefon",
    "tel": "telefon",
    "mobil": "telefon",
    "phone": "telefon",
    "adress": "adress",
    "address": "adress",
    "postadress": "adress",
    "meddelande": "meddelande",
    "message": "meddelande",
    "beskrivning": "meddelande",
    "ärendetyp": "ärendetyp",
    "verksamhet": "verksamhet",
}
_FIELD = re.compile(
    r"^[ \t]*("
    + "|".join(
        sorted(
            {k.replace("epost", "e-?post").replace("email", "e-?mail") for k in _CANONICAL},
            key=len,
            reverse=True,
        )
    )
    + r")[ \t]*[:=][ \t]*([^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)


def form_fields(text: str) -> dict[str, str]:
    """The form's fields by canonical name; 'meddelande' runs to the end of the text."""
    fields: dict[str, str] = {}
    for match in _FIELD.finditer(text):
        key = _CANONICAL[match[1].lower().replace("-", "")]
        if key in fields:
            continue
        value = match[2].rstrip(" \t\r")  # trimmed here: in the pattern it would backtrack
        if key == "meddelande":
            fields[key] = (value + text[match.end() :]).strip()
            break
        fields[key] = value
    return fields
