"""Small rules of Swedish (and English) wording shared by everything people read."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["EVENT_SV", "MONTHS_SV", "count", "listed"]

MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december")  # fmt: skip
"""The months' names, as Swedish writes them in running text ('3 december 2026')."""


def count(n: int, one: str, many: str) -> str:
    """``n`` with the noun in the right number: ``count(1, "sak", "saker")`` is '1 sak',
    ``count(2, "sak", "saker")`` '2 saker' (and 0 takes the plural: '0 saker')."""
    return f"{n} {one if n == 1 else many}"


def listed(items: Sequence[str]) -> str:
    """'A', 'A och B', 'A, B och C'; '' for none."""
    return " och ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


EVENT_SV = {
    "registered": "Registrerat",
    "drafted": "Brev skapat",
    "acknowledged": "Mottagningsbekräftelse skickad",
    "answered": "Besvarat",
    "forwarded": "Överlämnat",
    "escalated": "Ny prövning tilldelad",
    "reopened": "Ny prövning begärd",
    "waiting": "Väntar på medborgaren",
    "closed": "Avslutat",
    "note": "Anteckning",
    "delegated": "Till ersättare under frånvaro",
    "returned": "Tillbaka hos handläggaren",
    "confirmed": "Bedömningen bekräftad",
    "reclassified": "Typ ändrad",
    "withdrawn": "Makulerat",
    "merged": "Sammanfört",
    "assigned": "Ny handläggare",
    "care": "Vård och omsorg",
    "callback": "Medborgaren uppringd",
    "feedback": "Återkoppling från mottagaren",
}
"""Every :class:`~postvakt.registry.models.EventKind` in Swedish (a test checks that none is
missing); the case page words single events more exactly (:mod:`postvakt.web.events`)."""
