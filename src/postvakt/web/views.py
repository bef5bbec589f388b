"""Swedish words and formats for the templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from markupsafe import Markup

from postvakt.clock import STOCKHOLM
from postvakt.templates.casework import swedish_date
from postvakt.wording import EVENT_SV, count

if TYPE_CHECKING:
    from postvakt.config import Config

__all__ = ["EVENT_SV", "KIND_SV", "LABEL_SV", "STATUS_SV", "filters", "long_day", "who_of"]

KIND_SV = {"complaint": "Klagomål", "opinion": "Synpunkt"}
LABEL_SV = {"complaint": "klagomål", "opinion": "synpunkt", "other": "annat"}
"""The classifier's labels in running text."""
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


def long_day(value: date | datetime | None) -> str:
    """'3 december 2026' (the date in Stockholm), or '–'."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.astimezone(STOCKHOLM).date()
    return swedish_date(value)


def who_of(config: Config) -> Callable[[str | None], Markup]:
    """A template function: a person or mailbox shown by name beside the address,
    ``Anna Berg <anna.berg@…>`` as HTML; an address nobody configured shows alone."""

    def who(address: str | None) -> Markup:
        if not address:
            return Markup("–")
        person = config.person(address)
        mailbox = config.mailbox(address)
        name = person.name if person else (mailbox.name if mailbox else None)
        if not name:
            return Markup('<span class="who">{}</span>').format(address)
        return Markup('<span class="who">{} <span class="addr">{}</span></span>').format(
            name, address
        )

    return who


def stamp(value: datetime | None) -> str:
    """'2026-11-24 09:15' in Stockholm time."""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if value else "–"


def iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def percent(value: float | None) -> str:
    """'87 %' (with a no-break space, as Swedish writes it), or '–'."""
    return f"{round(100 * value)}\u00a0%" if value is not None else "–"


def size(value: int) -> str:
    """'812 byte', '14 kB', '2,3 MB'."""
    if value < 1000:
        return f"{value}\u00a0byte"
    if value < 1_000_000:
        return f"{round(value / 1000)}\u00a0kB"
    return f"{value / 1_000_000:.1f}".replace(".", ",") + "\u00a0MB"


def filters() -> dict[str, object]:
    return {
        "day": day,
        "count": count,
        "long_day": long_day,
        "stamp": stamp,
        "iso": iso,
        "percent": percent,
        "size": size,
        "label_sv": lambda v: LABEL_SV.get(str(v), str(v)) if v else "–",
        "kind_sv": lambda v: KIND_SV.get(str(v), str(v)),
        "status_sv": lambda v: STATUS_SV.get(str(v), str(v)),
        "event_sv": lambda v: EVENT_SV.get(str(v), "Händelse"),  # never the English kind
        "channel_sv": lambda v: CHANNEL_SV.get(str(v), str(v)),
    }
