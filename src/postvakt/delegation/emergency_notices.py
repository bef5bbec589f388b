"""The mail an emergency delegation sends, at once and not held for working hours: the
order to both approvers, the word to both when it is in force, and the delegate's notice
saying what they may open.

Each notice is sent once: its key (``order-1:<address>``) goes into the absence's
``approvals["told"]`` after the mail server has taken it, so a notice the server refused
is sent again by the next ``absence apply`` or pass, and none twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from postvakt.clock import STOCKHOLM
from postvakt.config import Config
from postvakt.delegation.emergency import approved_by, pending, waiting_for
from postvakt.errors import AuthenticationError, UnavailableError
from postvakt.registry.absences import roster
from postvakt.registry.db import database_errors
from postvakt.registry.models import Absence
from postvakt.rules.notify import Mailer, page_link, swedish_day
from postvakt.wording import listed

__all__ = ["Notice", "due", "send_due"]

log = logging.getLogger("postvakt.delegation")

ONLY_SERVICE = (
    "Den som får delegeringen får bara öppna e-post som antas röra tjänsteangelägenheter."
)


@dataclass(frozen=True)
class Notice:
    key: str
    to: str
    subject: str
    body: str


def _name(config: Config, address: str) -> str:
    person = config.person(address)
    return person.name if person else address


def _genitive(name: str) -> str:
    return name if name[-1:].lower() in "sxz" else name + "s"


def _period(absence: Absence) -> str:
    start = swedish_day(absence.start)
    if absence.end is None:
        return f"från {start} och tills vidare"
    return f"från {start} till och med {swedish_day(absence.end)}"


def _who(config: Config, address: str) -> str:
    """'Anna Berg (anna@…)'; an address without a name once, never 'kd@… (kd@…)'."""
    name = _name(config, address)
    return address if name == address else f"{name} ({address})"


def _letter(*paragraphs: str) -> str:
    return "Hej!\n\n" + "\n\n".join(p for p in paragraphs if p) + "\n\nHälsningar\nPostvakt\n"


def due(config: Config, absence: Absence, delegate: str | None) -> list[Notice]:
    """The notices ``absence`` calls for now that have not been sent."""
    if not absence.emergency or absence.ended_at is not None:
        return []
    state = absence.approvals or {}
    told = state.get("told") or {}
    number = int(state.get("round", 1))
    head, manager = state.get("head", ""), state.get("manager", "")
    person = _name(config, absence.person)
    ordered = next(
        (e["by"] for e in reversed(state.get("log", [])) if e.get("what") == "ordered"), head
    )
    first = absence.substitutes[0] if absence.substitutes else delegate or "?"
    rule = (
        f"Enligt rutinen för e-post i akuta lägen gäller delegeringen först när både "
        f"enhetschefen {_name(config, head)} och dennes närmaste chef {_name(config, manager)} "
        "har beställt eller godkänt den."
    )
    done = approved_by(absence)
    status = (
        f"Godkänd av: {listed([_name(config, a) for a in done]) if done else 'ingen än'}. "
        f"Väntar på: {listed([_name(config, a) for a in waiting_for(absence)]) or 'ingen'}."
    )
    page = page_link(config.web.base_url, f"/franvaro#franvaro-{absence.id}") or ""
    tasks = page_link(config.web.base_url, "/uppgifter")
    found: list[Notice] = []
    if pending(absence):
        for approver in (head, manager):
            asked = approver in waiting_for(absence)
            action = (
                "Godkänn med\n\n"
                f"    postvakt absence approve {absence.id} --by {approver}\n\n"
                # The address on a line of its own: no full stop a mail program takes into it.
                "eller på sidan Frånvaro i webbpanelen" + (f":\n\n    {page}" if page else ".")
                if asked
                else "Du behöver inte göra något mer; du får ett meddelande när den gäller."
                + (f" Den syns på sidan Frånvaro:\n\n    {page}" if page else "")
            )
            found.append(
                Notice(
                    f"order-{number}:{approver}",
                    approver,
                    f"Akut delegering av {_genitive(person)} e-post: "
                    + ("ditt godkännande behövs" if asked else "beställd"),
                    _letter(
                        f"{_who(config, ordered)} har beställt en akut delegering av e-posten "
                        f"till {_who(config, absence.person)}, som inte kan nås: "
                        f"{_who(config, first)} ska få läsa brevlådan {_period(absence)} "
                        f"(frånvaro {absence.id}).",
                        rule + "\n" + status,
                        action,
                        ONLY_SERVICE,
                    ),
                )
            )
    elif delegate is not None:
        signed = listed([_name(config, a) for a in done])
        for approver in (head, manager):
            found.append(
                Notice(
                    f"approved-{number}:{approver}",
                    approver,
                    f"Akut delegering av {_genitive(person)} e-post gäller nu",
                    _letter(
                        f"{signed} har godkänt den akuta delegeringen av {_genitive(person)} "
                        f"e-post (frånvaro {absence.id}). {_who(config, delegate)} får läsa "
                        f"brevlådan {absence.person} {_period(absence)} och har fått veta vad "
                        "som får öppnas.",
                        f"Vem som beställde och godkände visas med 'postvakt absence show "
                        f"{absence.id}'"
                        + (f" och på sidan Frånvaro:\n\n    {page}" if page else "."),
                    ),
                )
            )
        found.append(
            Notice(
                f"delegate-{number}:{delegate}",
                delegate,
                f"Du får läsa {_genitive(person)} e-post (akut delegering)",
                _letter(
                    f"{_who(config, absence.person)} kan inte nås, och du har fått läsa "
                    f"brevlådan {absence.person} {_period(absence)}. Delegeringen beställdes av "
                    f"{_name(config, ordered)} och godkändes av {signed}.",
                    "Du får bara öppna e-post som antas röra tjänsteangelägenheter. Post som "
                    f"ser ut att vara privat — eller är märkt privat — öppnar du inte; "
                    f"{person} tar hand om den själv.",
                    "Ärendena i brevlådan går till dig under tiden, och Postvakts svarsutkast "
                    "läggs i brevlådans Utkast som vanligt."
                    + (f" Du ser dem under Mina uppgifter: {tasks}" if tasks else ""),
                ),
            )
        )
    return [n for n in found if n.key not in told]


def _delegate(session: Session, config: Config, absence: Absence, today: date) -> str | None:
    if pending(absence):
        return None
    coverage = roster(session, config).who_covers(absence.person, max(absence.start, today))
    return coverage.by if coverage.by and coverage.by != absence.person else None


def send_due(
    config: Config,
    sessions: sessionmaker[Session],
    mailer: Mailer | None,
    absence_id: int,
    now: datetime,
) -> list[str]:
    """Send what ``due`` finds for absence ``absence_id``, now; return what went wrong (in
    Swedish) — nothing sent is recorded as sent."""
    today = now.astimezone(STOCKHOLM).date()
    with sessions() as session, database_errors():
        absence = session.get_one(Absence, absence_id)
        notices = due(config, absence, _delegate(session, config, absence, today))
    if not notices:
        return []
    if mailer is None:
        return [
            f"Frånvaro {absence_id}: ingen [smtp] i konfigurationen, så Postvakt kan inte skicka "
            f"meddelandena om den akuta delegeringen; säg till {', '.join(n.to for n in notices)} "
            "själv, eller ange smtp.host och smtp.from_address."
        ]
    sent: dict[str, str] = {}
    errors: list[str] = []
    for notice in notices:
        try:
            mailer.send(notice.to, notice.subject, notice.body)
        except (UnavailableError, AuthenticationError) as exc:
            errors.append(f"Frånvaro {absence_id}: {exc}")
            log.warning("absence %s: an emergency notice was not sent: %s", absence_id, exc)
            continue
        sent[notice.key] = now.isoformat()
    if sent:
        with sessions() as session, database_errors(), session.begin():
            absence = session.get_one(Absence, absence_id)
            state = dict(absence.approvals or {})
            state["told"] = {**(state.get("told") or {}), **sent}
            absence.approvals = state
    return errors
