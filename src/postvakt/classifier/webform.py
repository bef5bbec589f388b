"""Web-form submissions: 'Ärendetyp: … Namn: … E-post: … Meddelande: …' in the body.

Municipal e-services send a citizen's form as a mail from a no-reply gateway.  The fields
hold the contact details (or nothing, for an anonymous submission) and the message itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["form_fields", "form_says_complaint", "form_side", "form_value"]

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
    # Fields some forms use for the case type — and others for the service area: read as
    # the case type only when their value is one (see citizen_text).
    "typ": "typ",
    "type": "typ",
    "kategori": "typ",
    "category": "typ",
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


_CASE_TYPES = frozenset(
    {
        "klagomål",
        "klagomal",
        "synpunkt",
        "synpunkter",
        "beröm",
        "förslag",
        "tyck till",
        "lämna synpunkt",
        "lämna synpunkter",
        "lämna klagomål",
        "lämna beröm",
        "positiv återkoppling",
        "complaint",
        "complaints",
        "compliment",
        "compliments",
        "praise",
        "suggestion",
        "suggestions",
    }
)
"""Case types that name a complaint or an opinion, whole: "Klagomål på buller" (a report
about a neighbour), "Synpunkter på detaljplan" (a consultation) and "Synpunkter och klagomål"
(often the whole e-service's name) are not among them."""
_OTHER_TYPE = re.compile(
    r"\b(?:fråga|frågor|question|questions|enquiry|inquiry|felanmälan|felanmälningar|ansökan|"
    r"application|bokning|booking|beställning|order|begäran|request|intresseanmälan)\b"
)


def form_side(form_type: str | None) -> bool | None:
    """Which side of *case* (complaint or opinion) vs *annat* the citizen put the message on
    by the form's case type: True for 'Klagomål', 'Synpunkt', 'Beröm' … (the whole value);
    False for a type naming 'Fråga', 'Felanmälan', 'Ansökan …', 'Bokning' …; None for
    'Övrigt', an unknown type, one naming both sides, or no form.
    """
    if not form_type:
        return None
    low = _words_of(form_type)
    if low in _CASE_TYPES:
        return True
    if _OTHER_TYPE.search(low) and not any(word in _CASE_TYPES for word in low.split()):
        return False
    return None


_COMPLAINT_TYPES = frozenset({"klagomål", "klagomal", "lämna klagomål", "complaint", "complaints"})
"""Case types that name a complaint, whole (of :data:`_CASE_TYPES`)."""


def form_says_complaint(form_type: str | None) -> bool:
    """The form's case type is a complaint ('Klagomål', 'Lämna klagomål', 'Complaint'): the
    whole value, as :func:`form_side` reads it."""
    return form_type is not None and _words_of(form_type) in _COMPLAINT_TYPES


def _words_of(form_type: str) -> str:
    """The case type as words: lower case, punctuation and extra spaces gone."""
    return " ".join(re.sub(r"[^\w\s]", " ", form_type.lower()).split())


def form_value(text: str, names: Sequence[str]) -> tuple[str, str] | None:
    """(the field's name as configured, its value) of the first of ``names`` the form fills
    in, e.g. ``("Verksamhet", "Förskola")`` for a line 'Verksamhet: Förskola'.

    Only the form's own lines count: those before its message field ('Meddelande:'), so a
    citizen who writes 'Område: …' in the message does not choose the field.  An empty
    field is no answer.
    """
    if not names:
        return None
    message = _FIELD.search(text)
    while message is not None and _CANONICAL[message[1].lower().replace("-", "")] != "meddelande":
        message = _FIELD.search(text, message.end())
    head = text[: message.start()] if message is not None else text
    pattern = re.compile(
        r"^[ \t]*(" + "|".join(re.escape(n) for n in names) + r")[ \t]*[:=][ \t]*([^\n]*)",
        re.IGNORECASE | re.MULTILINE,
    )
    found = {m[1].lower(): m[2].strip() for m in reversed(list(pattern.finditer(head)))}
    for name in names:
        value = found.get(name.lower())
        if value:
            return name, value
    return None
