"""``postvakt demo``: the whole job on the embedded default, in one command.

Makes a working folder with two Maildir mailboxes (a function mailbox and a personal one)
holding realistic sample messages, a config and a SQLite database; runs one pass; prints
each message's disposition, the cases with their numbers and deadlines, and where the
drafts are.  Running it again starts the folder afresh, so it never fails on a second run.

The sample messages are dated relative to the day the demo runs (their Date headers and
the Maildir file times are rewritten), so what a newcomer sees first is this week's mail
with deadlines still ahead, and one old complaint from before the mailboxes' start that is
recorded but not acted on.
"""

from __future__ import annotations

import math
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from pathlib import Path

from postvakt.clock import STOCKHOLM, Clock, system_clock
from postvakt.config import load_config
from postvakt.intake import PassReport, swedish_date
from postvakt.mailbox.maildir import deliver
from postvakt.mailbox.message import parse_message
from postvakt.registry.cases import list_cases
from postvakt.registry.models import Disposition
from postvakt.service import Service

__all__ = ["DEMO_CONFIG", "build_demo", "demo_config", "redate", "run_demo"]

MARKER = ".postvakt-demo"

DEMO_CONFIG = """\
# Postvakt demo configuration — an example to copy and adapt.
[organisation]
name = "Exempel kommun"
diary_prefix = "KS"
domains = ["exempel.se"]
web_form_senders = ["noreply@e-tjanster.exempel.se"]
policy = "orebro"
registrar = "registrator@exempel.se"
# Klagomål som rör enskilds vård och omsorg (hemtjänst, LSS …) skickas med ärendekortet till
# avvikelsefunktionen, för verksamhetssystemets avvikelsemodul (kräver [smtp]):
# care_deviation = "avvikelse@exempel.se"
phone = "0123-45 67 00"

[database]
url = "sqlite:///postvakt.db"

[[units]]
name = "Kommunledningskontoret"
head = "kommundirektor@exempel.se"

[[units]]
name = "Kontaktcenter"
head = "lena.chef@exempel.se"
parent = "Kommunledningskontoret"

[[people]]
name = "Anna Berg"
address = "anna.berg@exempel.se"
unit = "Kontaktcenter"
title = "Handläggare"
phone = "0123-45 67 12"

[[people]]
name = "Lena Holm"
address = "lena.chef@exempel.se"
unit = "Kontaktcenter"
title = "Enhetschef"

# Post som kom före start_from räknas men registreras inte (inga ärenden, inga utkast, inga
# svarstider); utan start_from är starten när brevlådan bevakas första gången.
# 'postvakt backfill' registrerar äldre post med avsikt.
[[mailboxes]]
address = "kontaktcenter@exempel.se"
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna.berg@exempel.se", "lena.chef@exempel.se"]
connector = "maildir"
start_from = 2026-11-16

[mailboxes.maildir]
path = "mail/kontaktcenter"

[[mailboxes]]
address = "anna.berg@exempel.se"
name = "Anna Berg"
kind = "personal"
unit = "Kontaktcenter"
owners = ["anna.berg@exempel.se"]
connector = "maildir"
start_from = 2026-11-16

[mailboxes.maildir]
path = "mail/anna.berg"
"""

_MAILBOX_OF = {"kontaktcenter": "mail/kontaktcenter", "anna": "mail/anna.berg"}

_DISPOSITION_SV = {
    Disposition.CASE: "nytt ärende",
    Disposition.DUPLICATE: "redan registrerat",
    Disposition.NOT_CASE: "inget ärende",
    Disposition.SCREENED: "maskinpost",
    Disposition.INTERNAL: "intern e-post",
    Disposition.FAILED: "misslyckades",
    Disposition.FOLLOWUP: "i ett befintligt ärende",
    Disposition.BEFORE_START: "före start",
}

START_DAYS = 7
"""The demo mailboxes' start_from: this many days before the day the demo runs."""
RECENT_SPAN = 10
"""The sample messages of the demo's week were written over this many days (17–27 Nov 2026)..."""
RECENT_DAYS = 3
"""...and arrive within the last three days before the demo runs; older ones keep their age."""
_RFC5322_DATE = re.compile(
    rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
    rb"Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"
)


def demo_config(start: date) -> str:
    """The demo's config with the mailboxes' ``start_from`` on ``start``."""
    return DEMO_CONFIG.replace("start_from = 2026-11-16", f"start_from = {start.isoformat()}")


def _moved(original: datetime, latest: datetime, now: datetime) -> datetime:
    """When a sample written at ``original`` arrives in a demo run at ``now``: the demo's
    week within the last :data:`RECENT_DAYS` days at the same time of day (never later than
    now), anything older as much older than that."""
    local, newest = original.astimezone(STOCKHOLM), latest.astimezone(STOCKHOLM)
    age = (newest.date() - local.date()).days
    back = (
        math.ceil(age * RECENT_DAYS / RECENT_SPAN)
        if age <= RECENT_SPAN
        else age - RECENT_SPAN + RECENT_DAYS
    )
    today = now.astimezone(STOCKHOLM).date()
    moved = datetime.combine(today - timedelta(days=back), local.time(), STOCKHOLM)
    while moved > now:
        moved -= timedelta(days=1)
    return moved


def redate(raw: bytes, latest: datetime, now: datetime) -> tuple[bytes, datetime | None]:
    """``raw`` with every date in it (Date, Received, an enclosed message's) moved as its
    Date header is (:func:`_moved`), and the new arrival time; unchanged without a Date."""
    original = parse_message(raw).date
    if original is None:
        return raw, None
    moved = _moved(original, latest, now)
    # In UTC: between two times of one zone Python subtracts wall clocks, not elapsed time.
    delta = moved.astimezone(UTC) - original.astimezone(UTC)

    def shift(found: re.Match[bytes]) -> bytes:
        when = parsedate_to_datetime(found.group().decode("ascii")) + delta
        return format_datetime(when.astimezone(STOCKHOLM)).encode("ascii")

    return _RFC5322_DATE.sub(shift, raw), moved


def _sample_messages() -> list[tuple[str, bytes]]:
    folder = resources.files("postvakt") / "demo_messages"
    return sorted(
        (entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith(".eml")
    )


DIARY_DEMO = """
# The diary system's own numbers: a Postvakt reference (PV-2026-000001) until the registrar
# gives the diary number; every document of a case goes to a folder per case in diarium/.
[registry]
numbering = "diary"
system = "file"
folder = "diarium"
"""
"""Added by ``postvakt demo --diary``."""


def build_demo(workdir: Path, *, diary: bool = False, now: datetime | None = None) -> Path:
    """Create (or re-create) the demo folder; return the config file's path.  ``diary``
    numbers cases as the diary system's (``[registry] numbering = "diary"``).  The messages
    and the mailboxes' start are dated relative to ``now`` (default: the system clock)."""
    now = now or system_clock()()
    if workdir.exists():
        if not (workdir / MARKER).exists() and any(workdir.iterdir()):
            raise FileExistsError(
                f"{workdir} finns redan och är ingen demomapp. Välj en annan mapp med --dir."
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, mode=0o700)  # citizen mail and their cases: the owner's only
    (workdir / MARKER).write_text("Skapad av 'postvakt demo'; tas bort när demon körs igen.\n")
    config_path = workdir / "postvakt.toml"
    start = now.astimezone(STOCKHOLM).date() - timedelta(days=START_DAYS)
    config_path.write_text(demo_config(start) + (DIARY_DEMO if diary else ""), encoding="utf-8")
    for path in _MAILBOX_OF.values():
        for sub in ("cur", "new", "tmp"):
            (workdir / path / sub).mkdir(parents=True, exist_ok=True)
    samples = _sample_messages()
    dates = [d for d in (parse_message(raw).date for _name, raw in samples) if d is not None]
    latest = max(dates)
    for name, original in samples:
        mailbox = name.split("-")[1]
        raw, arrived = redate(original, latest, now)
        when = arrived.timestamp() if arrived else None
        deliver(
            workdir / _MAILBOX_OF[mailbox], raw, when=when, name=f"demo-{name.removesuffix('.eml')}"
        )
    return config_path


def _print_report(report: PassReport, service: Service) -> None:
    print("Meddelanden:")
    for o in sorted(report.outcomes, key=lambda o: o.key):
        what = _DISPOSITION_SV[o.disposition] + (f" {o.case}" if o.case else "")
        print(f"  {o.key.removeprefix('demo-'):<45} {what:<24} {o.reason}")
    assert service.sessions is not None
    with service.sessions() as session:
        cases = list_cases(session)
        print(f"\nÄrenden ({len(cases)}):")
        for case in cases:
            kind = "klagomål" if case.kind.value == "complaint" else "synpunkt"
            due = f"svar senast {swedish_date(case.answer_due)}" if case.answer_due else ""
            who = case.sender_address or "anonym"
            print(f"  {case.label:<12} {kind:<9} {due:<30} {who:<34} {case.heading}")
    print(f"\nUtkast i Drafts-mapparna ({len(report.drafts_saved)}):")
    for reference, location in report.drafts_saved:
        print(f"  {reference:<12} {location}")


DEMO_PASSWORD = "postvakt-demo"  # noqa: S105 - the demo's own accounts, printed for the user
DEMO_ACCOUNTS = (
    ("lena.chef@exempel.se", "enhetschef för Kontaktcenter"),
    ("anna.berg@exempel.se", "handläggare, ansvarig för kontaktcenter@"),
    ("registrator@exempel.se", "registrator"),
)


def _demo_accounts(service: Service) -> None:
    """Local dashboard accounts for the demo's people (only ever in the demo's database)."""
    from postvakt.web.auth import add_user

    assert service.sessions is not None
    with service.sessions() as session, session.begin():
        for address, _role in DEMO_ACCOUNTS:
            add_user(session, service.config, address, DEMO_PASSWORD, now=service.clock())


def run_demo(workdir: Path, *, diary: bool = False, clock: Clock | None = None) -> int:
    workdir = workdir.resolve()
    clock = clock or system_clock()
    try:
        config_path = build_demo(workdir, diary=diary, now=clock())
    except FileExistsError as exc:
        print(f"Fel: {exc}")
        return 2
    print(f"Demomapp: {workdir}")
    print(f"Konfiguration: {config_path}\n")
    config = load_config(config_path)
    with Service(config, clock=clock) as service:
        service.open()
        report = service.run_once()
        _print_report(report, service)
        _demo_accounts(service)
        year = clock().astimezone(STOCKHOLM).year  # numbers are of the year of registration
        first = f"PV-{year}-000001" if diary else f"KS {year}/1"
    print(
        "\nSe ärendena igen med:\n"
        f"  postvakt --config {config_path} cases list\n"
        f'  postvakt --config {config_path} cases show "{first}"\n'
        f"  postvakt --config {config_path} diary status --all"
    )
    if report.count(Disposition.BEFORE_START):
        since = clock().astimezone(STOCKHOLM).date() - timedelta(days=START_DAYS + 90)
        print(
            "\nPost som kom före brevlådornas start (start_from) registreras bara med avsikt:\n"
            f"  postvakt --config {config_path} backfill kontaktcenter@exempel.se "
            f"--since {since.isoformat()} --by lena.chef@exempel.se"
        )
    print(
        "\nWebbpanelen (översikt, ärenden, frånvaro, registrator, sammanställning):\n"
        f"  postvakt --config {config_path} web\n"
        f"  öppna http://{config.web.host}:{config.web.port}/ och logga in med lösenordet "
        f"{DEMO_PASSWORD!r} som\n"
        + "\n".join(f"    {address:<28} {role}" for address, role in DEMO_ACCOUNTS)
    )
    return 0 if not report.errors else 1
