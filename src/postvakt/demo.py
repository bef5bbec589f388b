"""``postvakt demo``: the whole job on the embedded default, in one command.

Makes a working folder with two Maildir mailboxes (a function mailbox and a personal one)
holding realistic sample messages, a config and a SQLite database; runs one pass; prints
each message's disposition, the cases with their numbers and deadlines, and where the
drafts are.  Running it again starts the folder afresh, so it never fails on a second run.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from postvakt.config import load_config
from postvakt.intake import PassReport, swedish_date
from postvakt.mailbox.maildir import deliver
from postvakt.mailbox.message import parse_message
from postvakt.registry.cases import list_cases
from postvakt.registry.models import Disposition
from postvakt.service import Service

__all__ = ["DEMO_CONFIG", "build_demo", "run_demo"]

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

[[mailboxes]]
address = "kontaktcenter@exempel.se"
name = "Kontaktcenter"
kind = "function"
unit = "Kontaktcenter"
owners = ["anna.berg@exempel.se", "lena.chef@exempel.se"]
connector = "maildir"

[mailboxes.maildir]
path = "mail/kontaktcenter"

[[mailboxes]]
address = "anna.berg@exempel.se"
name = "Anna Berg"
kind = "personal"
unit = "Kontaktcenter"
owners = ["anna.berg@exempel.se"]
connector = "maildir"

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
}


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


def build_demo(workdir: Path, *, diary: bool = False) -> Path:
    """Create (or re-create) the demo folder; return the config file's path.  ``diary``
    numbers cases as the diary system's (``[registry] numbering = "diary"``)."""
    if workdir.exists():
        if not (workdir / MARKER).exists() and any(workdir.iterdir()):
            raise FileExistsError(
                f"{workdir} finns redan och är ingen demomapp. Välj en annan mapp med --dir."
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, mode=0o700)  # citizen mail and their cases: the owner's only
    (workdir / MARKER).write_text("Skapad av 'postvakt demo'; tas bort när demon körs igen.\n")
    config_path = workdir / "postvakt.toml"
    config_path.write_text(DEMO_CONFIG + (DIARY_DEMO if diary else ""), encoding="utf-8")
    for path in _MAILBOX_OF.values():
        for sub in ("cur", "new", "tmp"):
            (workdir / path / sub).mkdir(parents=True, exist_ok=True)
    for name, raw in _sample_messages():
        mailbox = name.split("-")[1]
        date = parse_message(raw).date
        when = date.timestamp() if date else None
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


def run_demo(workdir: Path, *, diary: bool = False) -> int:
    workdir = workdir.resolve()
    try:
        config_path = build_demo(workdir, diary=diary)
    except FileExistsError as exc:
        print(f"Fel: {exc}")
        return 2
    print(f"Demomapp: {workdir}")
    print(f"Konfiguration: {config_path}\n")
    config = load_config(config_path)
    with Service(config) as service:
        service.open()
        report = service.run_once()
        _print_report(report, service)
        _demo_accounts(service)
        first = "PV-2026-000001" if diary else "KS 2026/1"
    print(
        "\nSe ärendena igen med:\n"
        f"  postvakt --config {config_path} cases list\n"
        f'  postvakt --config {config_path} cases show "{first}"\n'
        f"  postvakt --config {config_path} diary status --all"
    )
    print(
        "\nWebbpanelen (översikt, ärenden, frånvaro, registrator, sammanställning):\n"
        f"  postvakt --config {config_path} web\n"
        f"  öppna http://{config.web.host}:{config.web.port}/ och logga in med lösenordet "
        f"{DEMO_PASSWORD!r} som\n"
        + "\n".join(f"    {address:<28} {role}" for address, role in DEMO_ACCOUNTS)
    )
    return 0 if not report.errors else 1
