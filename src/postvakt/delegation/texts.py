"""The auto-reply an absence sets: Swedish first, then English.

Back on <the first working day after the absence>, your message is handled by <name>,
<e-mail>, <phone> — or, for a person who has left, who took over.  Sick leave is never named:
the reply says only that the person is away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from postvakt.config import Config
from postvakt.rules.calendar import WorkingCalendar

__all__ = ["KINDS", "KIND_SV", "ReplyText", "auto_reply", "contact_line"]

KINDS: dict[str, tuple[str, str]] = {
    "semester": ("på semester", "on holiday"),
    "sjukdom": ("inte på plats", "away"),  # the reason is nobody's business
    "tjänstledighet": ("tjänstledig", "on leave"),
    "föräldraledighet": ("föräldraledig", "on parental leave"),
    "tjänsteresa": ("på tjänsteresa", "travelling for work"),
    "slutat": ("", ""),
}
"""The kinds of absence, with how the auto-reply says it (Swedish, English)."""
KIND_SV = {
    "semester": "Semester",
    "sjukdom": "Sjukdom",
    "tjänstledighet": "Tjänstledighet",
    "föräldraledighet": "Föräldraledighet",
    "tjänsteresa": "Tjänsteresa",
    "slutat": "Har slutat",
}
"""The kinds as a unit head reads them (the absence form, lists)."""
_MONTHS_SV = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
              "september", "oktober", "november", "december")  # fmt: skip
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip
_WEEKDAYS_SV = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ReplyText:
    subject: str
    text: str


def _sv(day: date, weekday: bool = False) -> str:
    text = f"{day.day} {_MONTHS_SV[day.month - 1]} {day.year}"
    return f"{_WEEKDAYS_SV[day.weekday()]} {text}" if weekday else text


def _en(day: date, weekday: bool = False) -> str:
    text = f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{_WEEKDAYS_EN[day.weekday()]} {text}" if weekday else text


def contact_line(config: Config, address: str) -> tuple[str, str]:
    """A person's name, and their e-mail address and phone for a reply text."""
    person = config.person(address)
    name = person.name if person else address
    details = address + (f", tel. {person.phone}" if person and person.phone else "")
    return name, details


def _contact(config: Config, address: str) -> str:
    """'Anna Berg, anna@…, tel. …' — or, for someone the config gives no name (a unit head
    who is not among the people), the address once: never 'kd@…, kd@…'."""
    name, details = contact_line(config, address)
    return details if name == address else f"{name}, {details}"


def auto_reply(
    config: Config,
    calendar: WorkingCalendar,
    *,
    person: str,
    kind: str,
    end: date | None,
    covered_by: str | None,
) -> ReplyText:
    """The Swedish and English auto-reply for an absence (``end`` is the last day away)."""
    name, _ = contact_line(config, person)
    org = config.organisation.name
    other = _contact(config, covered_by) if covered_by and covered_by != person else None
    if kind == "slutat":
        subject = f"{name} har slutat / {name} no longer works here"
        sv = f"Jag har slutat min anställning i {org}."
        en = f"I no longer work at {org}."
        if other:
            sv += f" Kontakta i stället {other}."
            en += f" Please contact {other}."
    else:
        state_sv, state_en = KINDS.get(kind, ("inte på plats", "away"))
        subject = f"Frånvaro / Out of office: {name}"
        if end is not None:
            back = calendar.next_working_day(end)
            sv = f"Jag är {state_sv} till och med {_sv(end)} och tillbaka {_sv(back, True)}."
            en = f"I am {state_en} until {_en(end)} and back on {_en(back, True)}."
        else:
            sv = f"Jag är {state_sv} tills vidare."
            en = f"I am {state_en} until further notice."
        if other:
            sv += f" Ditt meddelande handläggs av {other}."
            en += f" Your message is handled by {other}."
        else:
            sv += " Ditt meddelande läses när jag är tillbaka."
            en += " Your message will be read when I am back."
    text = (
        f"Hej!\n\n{sv}\n\nMed vänlig hälsning\n{name}\n{org}\n\n---\n\n"
        f"Hello,\n\n{en}\n\nKind regards\n{name}\n{org}\n"
    )
    return ReplyText(subject, text)
