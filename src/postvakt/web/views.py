"""Swedish words and formats for the templates."""

from __future__ import annotations

from datetime import date, datetime

from postvakt.clock import STOCKHOLM

__all__ = ["EVENT_SV", "KIND_SV", "STATUS_SV", "filters"]

KIND_SV = {"complaint": "Klagomål", "opinion": "Synpunkt"}
STATUS_SV = {
    "registered": "Registrerat",
    "acknowledged": "Bekräftat",
    "answered": "Besvarat",
    "waiting": "Väntar på medborgaren",
    "forwarded": "Överlämnat",
    "reopened": "Ny prövning",
    "closed": "Avslutat",
    "withdrawn": "Makulerat",
}
EVENT_SV = {
    "registered": "Registrerat",
    "drafted": "Brev",
    "acknowledged": "Bekräftat",
    "answered": "Besvarat",
    "forwarded": "Överlämnat",
    "escalated": "Eskalerat",
    "reopened": "Ny prövning",
    "waiting": "Väntar",
    "closed": "Avslutat",
    "note": "Anteckning",
    "delegated": "Till ersättare",
    "returned": "Tillbaka till handläggaren",
    "confirmed": "Bedömningen bekräftad",
    "reclassified": "Typ ändrad",
    "withdrawn": "Makulerat",
    "merged": "Sammanfört",
    "assigned": "Ny handläggare",
}
CHANNEL_SV = {
    "email": "e-post",
    "phone": "telefon",
    "visit": "besök",
    "letter": "brev",
    "sms": "sms",
    "web": "webb",
}
_MONTHS = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
_WEEKDAYS = ("mån", "tis", "ons", "tors", "fre", "lör", "sön")


def day(value: date | datetime | None) -> str:
    """'tis 24 nov 2026'."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(STOCKHOLM).date()
    return f"{_WEEKDAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def stamp(value: datetime | None) -> str:
    """'2026-11-24 09:15' in Stockholm time."""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if value else "–"


def iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def filters() -> dict[str, object]:
    return {
        "day": day,
        "stamp": stamp,
        "iso": iso,
        "kind_sv": lambda v: KIND_SV.get(str(v), str(v)),
        "status_sv": lambda v: STATUS_SV.get(str(v), str(v)),
        "event_sv": lambda v: EVENT_SV.get(str(v), str(v)),
        "channel_sv": lambda v: CHANNEL_SV.get(str(v), str(v)),
    }
