"""The ``postvakt`` command.  Thin: parses arguments, calls the service or a module, prints.

Exit codes: 0 ok, 2 usage or config error, 1 runtime failure; every error prints what to do.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from postvakt import __version__
from postvakt.errors import ConfigError, NotFoundError, PostvaktError

if TYPE_CHECKING:
    from postvakt.clock import Clock
    from postvakt.service import Service

__all__ = ["main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse with Swedish error messages and our exit code for usage errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        message = (
            message.replace("the following arguments are required", "dessa argument krävs")
            .replace("invalid choice", "ogiltigt val")
            .replace("unrecognized arguments", "okända argument")
            .replace("expected one argument", "ett värde krävs")
            .replace("choose from", "välj bland")
            .replace("not allowed with argument", "kan inte kombineras med")
            .replace("argument ", "argumentet ")
        )
        print(f"{self.prog}: fel: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="postvakt",
        description="Postvakt bevakar kommunens brevlådor, registrerar klagomål och synpunkter "
        "och skriver utkast till svar.",
    )
    parser.add_argument(
        "--config", "-c", metavar="FIL", help="konfigurationsfilen (TOML); annars POSTVAKT_CONFIG"
    )
    parser.add_argument("--version", action="version", version=f"postvakt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO", parser_class=_Parser)

    run = sub.add_parser("run", help="bevaka brevlådorna tills processen stoppas")
    run.add_argument("--once", action="store_true", help="läs varje brevlåda en gång och avsluta")

    sub.add_parser("check-config", help="kontrollera konfigurationsfilen och visa alla fel")

    cases = sub.add_parser("cases", help="registrerade ärenden")
    cases_sub = cases.add_subparsers(
        dest="cases_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    cases_list = cases_sub.add_parser("list", help="lista ärenden")
    cases_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    cases_show = cases_sub.add_parser("show", help="visa ett ärende med dess händelser")
    cases_show.add_argument("number", metavar="DIARIENUMMER", help='t.ex. "KS 2026/17"')
    cases_show.add_argument("--json", action="store_true", help="skriv ut som JSON")
    by_help = "vem som gör det (e-postadress); standard: ärendets handläggare"
    add = cases_sub.add_parser(
        "add", help="registrera ett klagomål eller en synpunkt som kom muntligt, per brev eller sms"
    )
    add.add_argument(
        "--channel",
        required=True,
        choices=("phone", "visit", "letter", "sms", "web"),
        help="telefon, besök, brev, sms eller webb",
    )
    add.add_argument("--summary", required=True, help="vad det gäller, kort")
    add.add_argument(
        "--kind",
        default="complaint",
        choices=("complaint", "opinion"),
        help="klagomål (standard) eller synpunkt",
    )
    add.add_argument("--unit", required=True, help="enheten som ansvarar")
    add.add_argument(
        "--contact",
        help="kontaktuppgift: telefon, adress; utan kontaktuppgift blir ärendet anonymt",
    )
    add.add_argument("--email", help="medborgarens e-postadress (då skickas brev som utkast)")
    add.add_argument("--name", help="medborgarens namn")
    add.add_argument("--care", action="store_true", help="rör enskilds vård och omsorg")
    add.add_argument("--by", required=True, help="du som registrerar (e-postadress)")
    answer = cases_sub.add_parser("answer", help="svara i ärendet; svarsbrevet läggs som utkast")
    answer.add_argument("number", metavar="DIARIENUMMER")
    source = answer.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="svaret (fylls i mallen Svar)")
    source.add_argument("--file", type=Path, help="ett eget Word-brev (.docx)")
    answer.add_argument("--by", help=by_help)
    close = cases_sub.add_parser("close", help="avsluta ärendet")
    close.add_argument("number", metavar="DIARIENUMMER")
    close.add_argument("--action", required=True, help="vidtagna åtgärder")
    close.add_argument("--by", help=by_help)
    forward = cases_sub.add_parser(
        "forward", help="lämna över till en annan enhet eller förvaltning"
    )
    forward.add_argument("number", metavar="DIARIENUMMER")
    forward.add_argument(
        "--to", required=True, help="enhetens namn, eller en annan förvaltning/myndighet"
    )
    forward.add_argument("--contact", help="mottagarens e-post eller telefon (annan förvaltning)")
    forward.add_argument("--by", help=by_help)
    reopen = cases_sub.add_parser("reopen", help="ny prövning när medborgaren inte är nöjd")
    reopen.add_argument("number", metavar="DIARIENUMMER")
    reopen.add_argument("--reason", default="", help="varför")
    reopen.add_argument("--by", help=by_help)
    wait = cases_sub.add_parser("wait", help="vänta på medborgaren; svarstiden pausas")
    wait.add_argument("number", metavar="DIARIENUMMER")
    wait.add_argument("--note", default="", help="vad vi väntar på")
    wait.add_argument("--by", help=by_help)
    care = cases_sub.add_parser("care", help="markera att ärendet rör enskilds vård och omsorg")
    care.add_argument("number", metavar="DIARIENUMMER")
    care.add_argument("--off", action="store_true", help="ta bort markeringen")
    care.add_argument("--by", help=by_help)
    export = cases_sub.add_parser("export", help="exportera till diariesystemet")
    export.add_argument(
        "--since", type=_date, required=True, metavar="DATUM", help="registrerade från och med"
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")

    report = sub.add_parser("report", help="rapporter")
    report_sub = report.add_subparsers(
        dest="report_command", metavar="RAPPORT", parser_class=_Parser, required=True
    )
    annual = report_sub.add_parser(
        "annual", help="årlig sammanställning av synpunkter och klagomål"
    )
    annual.add_argument("--year", type=int, required=True, metavar="ÅR")
    annual.add_argument("--unit", help="bara den här enheten")
    annual.add_argument("--out", type=Path, required=True, help="FIL.docx, FIL.xlsx eller FIL.csv")

    failed = sub.add_parser("failed", help="meddelanden som inte kunde behandlas")
    failed_sub = failed.add_subparsers(
        dest="failed_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    failed_list = failed_sub.add_parser("list", help="lista misslyckade meddelanden")
    failed_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    failed_retry = failed_sub.add_parser("retry", help="behandla misslyckade meddelanden igen")
    failed_retry.add_argument(
        "ids", nargs="*", type=int, metavar="NR", help="bara dessa (standard: alla)"
    )

    absence = sub.add_parser(
        "absence", help="frånvaro: autosvar, ombud och ärenden till den som ersätter"
    )
    absence_sub = absence.add_subparsers(
        dest="absence_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    kinds = ("semester", "sjukdom", "tjänstledighet", "föräldraledighet", "tjänsteresa", "slutat")
    a_add = absence_sub.add_parser("add", help="lägg in en frånvaro")
    a_add.add_argument("person", metavar="PERSON", help="den som är borta (e-postadress)")
    a_add.add_argument("--from", dest="start", required=True, type=_date, metavar="DATUM")
    a_add.add_argument(
        "--to",
        dest="end",
        type=_date,
        metavar="DATUM",
        help="sista dagen borta (utelämnas: tills vidare)",
    )
    a_add.add_argument("--kind", required=True, choices=kinds, help="typ av frånvaro")
    a_add.add_argument(
        "--substitute",
        nargs="+",
        default=[],
        metavar="PERSON",
        help="ersättare i ordning (efterträdare för den som slutat)",
    )
    a_add.add_argument(
        "--self",
        dest="self_handling",
        action="store_true",
        help="personen läser sin e-post själv: ingen delegering",
    )
    a_add.add_argument("--subject", help="eget ämne på autosvaret")
    a_add.add_argument(
        "--text", help="egen text i autosvaret (annars skrivs den utifrån frånvaron)"
    )
    a_add.add_argument("--preview", action="store_true", help="visa autosvaret utan att spara")
    a_add.add_argument(
        "--by",
        required=True,
        metavar="E-POST",
        help="du som lägger in (personen själv eller chefen)",
    )
    a_change = absence_sub.add_parser("change", help="ändra en frånvaro")
    a_change.add_argument("id", type=int, metavar="NR")
    a_change.add_argument("--from", dest="start", type=_date, metavar="DATUM")
    a_change.add_argument("--to", dest="end", type=_date, metavar="DATUM")
    a_change.add_argument(
        "--open-ended", action="store_true", help="tills vidare (inget slutdatum)"
    )
    a_change.add_argument("--kind", choices=kinds)
    a_change.add_argument("--substitute", nargs="+", metavar="PERSON")
    a_change.add_argument("--text", help="ny text i autosvaret")
    a_change.add_argument("--by", required=True, metavar="E-POST")
    a_list = absence_sub.add_parser("list", help="pågående och kommande frånvaro")
    a_list.add_argument("--date", type=_date, metavar="DATUM", help="vem som är borta den dagen")
    a_list.add_argument("--all", action="store_true", help="även avslutade")
    a_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    a_end = absence_sub.add_parser(
        "end", help="avsluta en frånvaro i förtid (i dag är personen tillbaka)"
    )
    a_end.add_argument("id", type=int, metavar="NR")
    a_end.add_argument("--by", required=True, metavar="E-POST")
    a_import = absence_sub.add_parser(
        "import", help="läs frånvaromeddelanden i e-postsystemet och föreslå frånvaro"
    )
    a_import.add_argument("--create", action="store_true", help="lägg in förslagen")
    a_import.add_argument("--json", action="store_true", help="skriv ut som JSON")
    a_who = absence_sub.add_parser("who-covers", help="vem som ersätter en person en dag")
    a_who.add_argument("person", metavar="PERSON")
    a_who.add_argument("--date", type=_date, metavar="DATUM")
    absence_sub.add_parser(
        "apply", help="slå på och av autosvar och behörigheter nu (görs annars vid varje körning)"
    )

    classify = sub.add_parser(
        "classify",
        help="klassificera .eml-filer (med konfiguration: organisationens egen modell och domäner)",
    )
    classify.add_argument("files", nargs="+", metavar="FIL.eml")
    classify.add_argument("--json", action="store_true", help="skriv ut som JSON")

    model = sub.add_parser("classifier", help="klassificerarens modell: träna om, utvärdera")
    model_sub = model.add_subparsers(
        dest="classifier_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    train = model_sub.add_parser(
        "train", help="träna om modellen på korpusen och organisationens egna meddelanden"
    )
    train.add_argument(
        "--corpus",
        metavar="MAPP",
        help="egna märkta meddelanden (.eml och labels.csv); annars classifier.corpus",
    )
    evaluate = model_sub.add_parser(
        "evaluate",
        help="precision, täckning och F1 per etikett på märkta meddelanden; utan MAPP: korpusens "
        "utvärderingsdel och korsvalidering",
    )
    evaluate.add_argument(
        "dir", nargs="?", metavar="MAPP", help="MAPP/*.eml med MAPP/labels.csv (file,label,…)"
    )
    evaluate.add_argument("--json", action="store_true", help="skriv ut som JSON")

    calendar = sub.add_parser(
        "calendar", help="arbetsdagar och tidsfrister (ingen konfiguration behövs)"
    )
    calendar_sub = calendar.add_subparsers(
        dest="calendar_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    due = calendar_sub.add_parser("due", help="sista dag för en tidsfrist")
    due.add_argument(
        "--from",
        dest="start",
        required=True,
        type=_date,
        metavar="DATUM",
        help="dagen meddelandet kom in (ÅÅÅÅ-MM-DD); den dagen räknas inte",
    )
    length = due.add_mutually_exclusive_group(required=True)
    length.add_argument("--working-days", type=int, metavar="N", help="inom N arbetsdagar")
    length.add_argument(
        "--days", type=int, metavar="N", help="inom N dagar (sista dag flyttas till arbetsdag)"
    )
    show = calendar_sub.add_parser("show", help="årets vardagar som inte är arbetsdagar")
    show.add_argument("year", type=int, metavar="ÅR")

    messages = sub.add_parser("messages", help="medborgarmeddelanden och deras svarstider")
    messages_sub = messages.add_subparsers(
        dest="messages_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    messages_list = messages_sub.add_parser("list", help="lista bevakade meddelanden")
    messages_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    messages_list.add_argument("--open", action="store_true", help="bara obesvarade")

    rules = sub.add_parser("rules", help="kör en regelkontroll nu")
    rules_sub = rules.add_subparsers(
        dest="rules_command", metavar="ÅTGÄRD", parser_class=_Parser, required=True
    )
    rules_run = rules_sub.add_parser(
        "run", help="kör ett jobb: coverage, daily-open, reminders, compilation"
    )
    rules_run.add_argument("job", choices=("coverage", "daily-open", "reminders", "compilation"))
    rules_run.add_argument(
        "--force", action="store_true", help="kör även om jobbet redan körts i dag"
    )

    web = sub.add_parser("web", help="webbpanelen: översikt, ärenden, frånvaro, registrator")
    web_sub = web.add_subparsers(dest="web_command", metavar="ÅTGÄRD", parser_class=_Parser)
    serve = web_sub.add_parser("serve", help="starta webbpanelen (standard)")
    for where, default in ((web, None), (serve, argparse.SUPPRESS)):
        where.add_argument(
            "--host", default=default, help="adress att lyssna på (standard: web.host, 127.0.0.1)"
        )
        where.add_argument(
            "--port", type=int, default=default, help="port (standard: web.port, 8080)"
        )
    adduser = web_sub.add_parser(
        "adduser", help="skapa ett lokalt konto eller byt lösenord (lösenordet frågas efter)"
    )
    adduser.add_argument("address", metavar="E-POST", help="personens adress i konfigurationen")
    adduser.add_argument(
        "--password-env",
        metavar="VARIABEL",
        help="läs lösenordet från den här miljövariabeln i stället för att fråga",
    )
    web_sub.add_parser("users", help="lista lokala konton")

    demo = sub.add_parser("demo", help="kör Postvakt på exempelpost i en egen mapp")
    demo.add_argument(
        "--dir",
        default="postvakt-demo",
        metavar="MAPP",
        help="arbetsmapp (standard: ./postvakt-demo)",
    )
    return parser


# --------------------------------------------------------------------------- helpers


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} är inget datum; skriv ÅÅÅÅ-MM-DD") from None


def _config_path(args: argparse.Namespace) -> Path:
    value = args.config or os.environ.get("POSTVAKT_CONFIG")
    if not value:
        raise ConfigError(
            "Ingen konfigurationsfil angiven. Ange --config FIL eller sätt POSTVAKT_CONFIG."
        )
    return Path(value)


def _open_service(
    args: argparse.Namespace, *, read_only: bool = False, connectors: bool = True
) -> Service:
    """The service for the config; ``read_only`` opens only the database (lists, no templates);
    without ``connectors`` no mail server is needed (nor its password)."""
    from postvakt.config import load_config
    from postvakt.logs import configure_logging
    from postvakt.service import Service

    config = load_config(_config_path(args))
    configure_logging(config.service.log_level)
    service = Service(config, clock=getattr(args, "clock", None))
    return service.open_readonly() if read_only else service.open(need_connectors=connectors)


def _iso(value: Any) -> str | None:
    """ISO 8601; datetimes in Stockholm time, as everything users see."""
    from postvakt.registry.export import iso

    return iso(value)


def _case_json(case: Any) -> dict[str, Any]:
    from postvakt.registry.export import case_json

    return case_json(case)


_KIND_SV = {"complaint": "klagomål", "opinion": "synpunkt"}
_STATUS_SV = {
    "registered": "registrerat",
    "acknowledged": "bekräftat",
    "answered": "besvarat",
    "waiting": "väntar",
    "forwarded": "överlämnat",
    "reopened": "ny prövning",
    "closed": "avslutat",
}


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _local_date(value: Any) -> str:
    from postvakt.clock import STOCKHOLM

    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if value else ""


# --------------------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    service = _open_service(args)
    with service:
        if args.once:
            report = service.run_once()
            from postvakt.registry.models import Disposition

            print(
                f"Läste {len(report.outcomes)} nya meddelanden: "
                f"{report.count(Disposition.CASE)} nya ärenden, "
                f"{report.count(Disposition.FAILED)} misslyckade, "
                f"{len(report.drafts_saved)} utkast sparade."
            )
            for error in report.errors:
                print(f"Fel: {error}", file=sys.stderr)
            if report.count(Disposition.FAILED):
                print(
                    "Se 'postvakt failed list' och kör 'postvakt failed retry' när felet är åtgärdat.",
                    file=sys.stderr,
                )
            failed = report.count(Disposition.FAILED)
            return EXIT_FAILURE if report.errors or failed else EXIT_OK

        def _stop(signum: int, _frame: FrameType | None) -> None:
            service.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        service.run_forever()
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    from postvakt.config import check_environment, load_config

    path = _config_path(args)
    config = load_config(path)
    problems = check_environment(config)
    if problems:
        raise ConfigError(problems, source=str(path))
    from postvakt.templates import LETTERS, LetterRenderer

    renderer = LetterRenderer(config.templates_folder)
    for name in LETTERS:
        renderer.check(name)
    print(
        f"{path}: konfigurationen är giltig — {len(config.mailboxes)} brevlådor, "
        f"{len(config.units)} enheter, {len(config.people)} personer, policy {config.organisation.policy}."
    )
    return EXIT_OK


def cmd_cases(args: argparse.Namespace) -> int:
    from postvakt.registry.cases import find_case, list_cases
    from postvakt.registry.db import database_errors

    if args.cases_command in CASE_ACTIONS:
        return _case_action(args)
    if args.cases_command == "export":
        return _export(args)

    service = _open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        if args.cases_command == "list":
            cases = list_cases(session)
            if args.json:
                print(json.dumps([_case_json(c) for c in cases], ensure_ascii=False, indent=2))
                return EXIT_OK
            if not cases:
                print("Inga registrerade ärenden.")
                return EXIT_OK
            rows = [
                (
                    c.reference,
                    _KIND_SV[c.kind.value],
                    _STATUS_SV[c.status.value],
                    c.mailbox.address if c.mailbox else "",
                    c.sender_address or "(anonym)",
                    _local_date(c.received_at),
                    _iso(c.answer_due) or "",
                    c.heading[26:][:50],
                )
                for c in cases
            ]
            print(
                _table(
                    rows,
                    (
                        "Nummer",
                        "Typ",
                        "Status",
                        "Brevlåda",
                        "Avsändare",
                        "Inkom",
                        "Svar senast",
                        "Rubrik",
                    ),
                )
            )
            return EXIT_OK
        case = find_case(session, args.number)
        if args.json:
            data = _case_json(case)
            data["events"] = [
                {
                    "at": _iso(e.at),
                    "kind": e.kind.value,
                    "actor": e.actor,
                    "detail": e.detail,
                    "document": e.document,
                }
                for e in case.events
            ]
            print(json.dumps(data, ensure_ascii=False, indent=2))
            return EXIT_OK
        print(_case_text(case))
    return EXIT_OK


CASE_ACTIONS = ("add", "answer", "close", "forward", "reopen", "wait", "care")


def _case_action(args: argparse.Namespace) -> int:
    from postvakt.registry.cases import find_case

    service = _open_service(args)
    with service:
        casework = service.casework
        assert casework is not None and service.sessions is not None
        command = args.cases_command
        if command == "add":
            done = casework.add(
                kind=args.kind,
                channel=args.channel,
                summary=args.summary,
                unit=args.unit,
                actor=args.by,
                contact=args.contact,
                name=args.name,
                email=args.email,
                care=args.care,
            )
        else:
            actor = args.by
            if not actor:
                with service.sessions() as session:
                    actor = find_case(session, args.number).handler or "okänd"
            if command == "answer":
                done = casework.answer(args.number, actor=actor, text=args.text, file=args.file)
            elif command == "close":
                done = casework.close(args.number, actor=actor, action=args.action)
            elif command == "forward":
                done = casework.forward(args.number, actor=actor, to=args.to, contact=args.contact)
            elif command == "reopen":
                done = casework.reopen(args.number, actor=actor, reason=args.reason)
            elif command == "wait":
                done = casework.wait(args.number, actor=actor, note=args.note)
            else:
                done = casework.mark_care(args.number, actor=actor, care=not args.off)
        for connector in service.connectors.values():  # place the drafts now
            service.intake.deliver_drafts(connector)  # type: ignore[union-attr]
        if command == "add" and service.config.organisation.registrar_notice == "each":
            casework.send_registrar_notices()
    print(f"{done.case}: {_STATUS_SV[done.status]}")
    if done.letter:
        print(f"{done.letter}: {done.where}")
    for who in done.told:
        print(f"Meddelat: {who}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from postvakt.registry.db import database_errors
    from postvakt.registry.export import export_rows, to_csv

    service = _open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        rows = export_rows(session, args.since)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(to_csv(rows))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from postvakt.registry.db import database_errors
    from postvakt.registry.report import annual_report, to_csv, to_xlsx

    suffix = args.out.suffix.lower()
    if suffix not in (".docx", ".xlsx", ".csv"):
        raise NotFoundError(f"{args.out}: ange en fil som slutar på .docx, .xlsx eller .csv")
    service = _open_service(args)
    with service:
        assert (
            service.sessions is not None
            and service.casework is not None
            and service.intake is not None
        )
        deadline = service.intake.policy.compilation_due(args.year)
        with service.sessions() as session, database_errors():
            report = annual_report(session, args.year, deadline, unit=args.unit)
        if args.unit and not report.units:
            raise NotFoundError(f"Det finns ingen enhet som heter {args.unit!r}.")
        written = []
        if suffix == ".csv":
            args.out.write_bytes(to_csv(report))
            written.append(args.out)
        elif suffix == ".xlsx":
            args.out.write_bytes(to_xlsx(report))
            written.append(args.out)
        else:
            for unit in report.units:
                path = (
                    args.out
                    if len(report.units) == 1
                    else args.out.with_name(f"{args.out.stem} – {unit.unit}.docx")
                )
                path.write_bytes(service.casework.compilation_docx(report, unit))
                written.append(path)
    total = sum(len(u.rows) for u in report.units)
    print(
        f"Sammanställning {args.year}: {total} ärenden i {len(report.units)} enheter; klar senast {deadline.isoformat()}."
    )
    for path in written:
        print(f"  {path}")
    return EXIT_OK


def _sender_text(case: Any) -> str:
    if not case.sender_address:
        return "(anonym)"
    return (
        f"{case.sender_name} <{case.sender_address}>" if case.sender_name else case.sender_address
    )


def _case_text(case: Any) -> str:
    lines = [
        f"{case.reference}  {case.heading}",
        f"  Typ:          {_KIND_SV[case.kind.value]}"
        + ("  (behöver granskas)" if case.needs_review else ""),
        f"  Status:       {_STATUS_SV[case.status.value]}",
        f"  Enhet:        {case.unit.name if case.unit else '-'}",
        f"  Handläggare:  {case.handler or '-'}",
        f"  Brevlåda:     {case.mailbox.address if case.mailbox else '-'}",
        f"  Avsändare:    {_sender_text(case)}",
        f"  Kontakt:      {case.contact or '-'}",
        f"  Inkom:        {_local_date(case.received_at)}",
        f"  Registrerat:  {_local_date(case.registered_at)}",
        f"  Svar senast:  {_iso(case.answer_due) or '-'}",
        f"  Message-ID:   {case.message_id or '-'}",
        f"  Klassning:    {case.classifier_label or '-'} ({case.classifier_confidence or 0:.2f}): "
        + "; ".join(case.classifier_reasons or []),
    ]
    if case.individual_care:
        lines.append(
            "  Vård/omsorg:  rör enskilds vård och omsorg (registreras i avvikelsemodulen)"
        )
    if case.forwarded_to:
        lines.append(f"  Överlämnat:   {case.forwarded_to}")
    if case.answer_text:
        lines.append(f"  Svar:         {case.answer_text[:300]}")
    if case.actions:
        lines.append(f"  Åtgärder:     {case.actions[:300]}")
    lines.append("  Händelser:")
    for event in case.events:
        doc = f" [{event.document}]" if event.document else ""
        lines.append(
            f"    {_local_date(event.at)}  {event.kind.value:<12} {event.actor}: {event.detail}{doc}"
        )
    return "\n".join(lines)


def cmd_failed(args: argparse.Namespace) -> int:
    from postvakt.registry.db import database_errors
    from postvakt.registry.messages import unresolved_failures
    from postvakt.registry.models import Disposition

    if args.failed_command == "list":
        service = _open_service(args, read_only=True)
        assert service.sessions is not None
        with service, service.sessions() as session, database_errors():
            failures = unresolved_failures(session)
            if args.json:
                print(
                    json.dumps(
                        [
                            {
                                "id": f.id,
                                "mailbox": f.mailbox.address,
                                "folder": f.folder,
                                "key": f.message_key,
                                "failed_at": _iso(f.failed_at),
                                "attempts": f.attempts,
                                "error": f.error,
                            }
                            for f in failures
                        ],
                        ensure_ascii=False,
                        indent=2,
                    )
                )
                return EXIT_OK
            if not failures:
                print("Inga misslyckade meddelanden.")
                return EXIT_OK
            print(
                _table(
                    [
                        (
                            str(f.id),
                            f.mailbox.address,
                            f.folder,
                            _local_date(f.failed_at),
                            str(f.attempts),
                            f.error.splitlines()[0][:70],
                        )
                        for f in failures
                    ],
                    ("Nr", "Brevlåda", "Mapp", "Misslyckades", "Försök", "Fel"),
                )
            )
        return EXIT_OK

    service = _open_service(args)
    assert service.intake is not None
    with service:
        report = service.intake.retry_failed(args.ids or None)
        if args.ids and not report.outcomes:
            raise NotFoundError(f"Inga olösta misslyckade meddelanden med nummer {args.ids}.")
        for connector in service.connectors.values():
            report.merge(service.intake.deliver_drafts(connector))
        for outcome in report.outcomes:
            print(
                f"{outcome.key}: {outcome.disposition.value}"
                + (f" ({outcome.case})" if outcome.case else "")
            )
        still = report.count(Disposition.FAILED)
        print(f"{len(report.outcomes) - still} behandlade, {still} misslyckades igen.")
        return EXIT_FAILURE if still else EXIT_OK


def _optional_config(args: argparse.Namespace) -> Any:
    """The config when one is named (--config or POSTVAKT_CONFIG), else None."""
    if not (args.config or os.environ.get("POSTVAKT_CONFIG")):
        return None
    from postvakt.config import load_config

    return load_config(_config_path(args))


def _classifier(config: Any) -> Any:
    from postvakt.classifier import default_classifier
    from postvakt.intake import load_classifier

    return load_classifier(config) if config is not None else default_classifier()


def cmd_absence(args: argparse.Namespace) -> int:
    from postvakt.delegation import commands as absence

    command = args.absence_command
    service = _open_service(
        args,
        read_only=command in ("list", "who-covers"),
        connectors=command in ("import", "apply"),
    )
    with service:
        if command == "add":
            fields = {
                "person": args.person,
                "kind": args.kind,
                "start": args.start,
                "end": args.end,
                "substitutes": args.substitute,
                "reply_subject": args.subject,
                "reply_text": args.text,
            }
            if args.preview:
                reply = absence.preview(service, **fields)
                print(f"Ämne: {reply.subject}\n\n{reply.text}")
                return EXIT_OK
            row = absence.add(service, **fields, actor=args.by, self_handling=args.self_handling)
            print(f"Frånvaro {row.id} inlagd: {_absence_line(row)}")
            return EXIT_OK
        if command == "change":
            changes: dict[str, Any] = {}
            if args.start:
                changes["start"] = args.start
            if args.open_ended:
                changes["end"] = None
            elif args.end:
                changes["end"] = args.end
            if args.kind:
                changes["kind"] = args.kind
            if args.substitute:
                changes["substitutes"] = args.substitute
            if args.text:
                changes["reply_text"] = args.text
            row = absence.change(service, args.id, actor=args.by, **changes)
            print(f"Frånvaro {row.id} ändrad: {_absence_line(row)}")
            return EXIT_OK
        if command == "end":
            row = absence.end(service, args.id, actor=args.by)
            print(
                f"Frånvaro {row.id} avslutad; autosvar och behörigheter tas bort vid nästa körning."
            )
            return EXIT_OK
        if command == "list":
            rows = absence.listing(service, args.date, every=args.all)
            if args.json:
                print(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
            elif not rows:
                print("Ingen frånvaro inlagd.")
            for row in [] if args.json else rows:
                print(f"{row.id:>4}  {_absence_line(row)}")
            return EXIT_OK
        if command == "who-covers":
            print(
                absence.coverage_text(service, absence.who_covers(service, args.person, args.date))
            )
            return EXIT_OK
        if command == "import":
            proposals, problems = absence.import_replies(service, create=args.create)
            if args.json:
                print(json.dumps([p.as_dict() for p in proposals], ensure_ascii=False, indent=2))
            else:
                verb = "Inlagd" if args.create else "Förslag"
                for p in proposals:
                    until = p.end.isoformat() if p.end else "tills vidare"
                    subs = ", ".join(p.substitutes) or "enhetschefen"
                    note = f" ({p.note})" if p.note else ""
                    print(
                        f"{verb}: {p.person} {p.kind} {p.start.isoformat()} – {until}, ersätts av {subs}{note}"
                    )
                if not proposals:
                    print("Inga frånvaromeddelanden som saknar frånvaro i Postvakt.")
                elif not args.create:
                    print("Lägg in dem med 'postvakt absence import --create'.")
            for problem in problems:
                print(f"Fel: {problem}", file=sys.stderr)
            return EXIT_FAILURE if problems else EXIT_OK
        report = absence.apply_now(service)
        print(
            f"{len(report.started)} frånvaro påbörjade, {len(report.ended)} avslutade; "
            f"{report.cases_handed} ärenden till ersättare, {report.cases_returned} tillbaka."
        )
        for line in report.instructions:
            print(f"Till e-postadministratören: {line}")
        for error in report.errors:
            print(f"Fel: {error}", file=sys.stderr)
        return EXIT_FAILURE if report.errors else EXIT_OK


def _absence_line(row: Any) -> str:
    until = row.end.isoformat() if row.end else "tills vidare"
    cover = "läser själv" if row.self_handling else f"ersätts av {row.covered_by or 'ingen'}"
    return f"{row.person} {row.kind} {row.start.isoformat()} – {until}, {cover} [{row.status}]"


def cmd_classify(args: argparse.Namespace) -> int:
    from postvakt.classifier.commands import classify_files, format_result

    config = _optional_config(args)
    results = classify_files(args.files, _classifier(config), config=config)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            print(format_result(result))
    return EXIT_OK


def cmd_classifier(args: argparse.Namespace) -> int:
    from postvakt.classifier.commands import evaluation_json, train_model
    from postvakt.classifier.evaluate import evaluate_corpus, evaluate_dir

    config = _optional_config(args)
    if args.classifier_command == "train":
        corpus = Path(args.corpus) if args.corpus else None
        cache = None
        if config is not None:
            settings = config.classifier
            if corpus is None and settings.corpus:
                corpus = config.path(settings.corpus)
            cache = config.path(settings.cache_folder) if settings.cache_folder else None
        print(train_model(corpus, cache))
        return EXIT_OK
    if args.dir:
        result: Any = evaluate_dir(args.dir, _classifier(config))
    else:
        band = config.classifier.review_band if config is not None else None
        result = evaluate_corpus(review_band=band)
    print(
        json.dumps(evaluation_json(result), ensure_ascii=False, indent=2) if args.json else result
    )
    return EXIT_OK


def cmd_calendar(args: argparse.Namespace) -> int:
    from postvakt.rules.calendar import WorkingCalendar

    closures: tuple[date, ...] = ()
    if args.config or os.environ.get("POSTVAKT_CONFIG"):
        from postvakt.config import load_config

        closures = load_config(_config_path(args)).organisation.closure_days
    calendar = WorkingCalendar.with_closures(closures)
    if args.calendar_command == "due":
        if args.working_days is not None:
            print(calendar.add_working_days(args.start, args.working_days).isoformat())
        else:
            print(calendar.add_days(args.start, args.days).isoformat())
        return EXIT_OK
    for day, name in calendar.non_working_weekdays(args.year):
        print(f"{day.isoformat()}  {calendar.weekday_name(day):<8} {name}")
    return EXIT_OK


def cmd_messages(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from postvakt.registry.db import database_errors
    from postvakt.registry.models import MessageRecord
    from postvakt.registry.replies import CITIZEN

    service = _open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        query = (
            select(MessageRecord)
            .options(selectinload(MessageRecord.mailbox), selectinload(MessageRecord.case))
            .where(MessageRecord.disposition.in_(CITIZEN))
            .order_by(MessageRecord.received_at, MessageRecord.id)
        )
        if args.open:
            query = query.where(MessageRecord.answered_at.is_(None))
        records = list(session.scalars(query))
        data = [
            {
                "mailbox": r.mailbox.address,
                "sender": r.sender_address,
                "subject": r.subject,
                "message_id": r.message_id,
                "received_at": _iso(r.received_at),
                "reply_due": _iso(r.reply_due),
                "answered_at": _iso(r.answered_at),
                "answered_by": r.answered_by,
                "disposition": r.disposition.value,
                "case": r.case.reference if r.case else None,
            }
            for r in records
        ]
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not data:
        print(
            "Inga medborgarmeddelanden."
            if not args.open
            else "Inga obesvarade medborgarmeddelanden."
        )
        return EXIT_OK
    rows = [
        (
            d["mailbox"],
            d["sender"] or "",
            (d["subject"] or "")[:40],
            (d["received_at"] or "")[:16].replace("T", " "),
            d["reply_due"] or "-",
            (d["answered_at"] or "")[:16].replace("T", " ") or "obesvarat",
            d["case"] or "",
        )
        for d in data
    ]
    print(
        _table(
            rows, ("Brevlåda", "Avsändare", "Ämne", "Inkom", "Svar senast", "Besvarat", "Ärende")
        )
    )
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    service = _open_service(args)
    with service:
        assert service.jobs is not None
        report = service.jobs.run(args.job, force=args.force)
        if not report.ran:
            print(f"{args.job} kördes inte: {report.why_not}")
            return EXIT_OK
        for result in report.opened:
            state = {True: "öppnad", False: "INTE öppnad", None: "okänt"}[result.opened]
            print(f"{result.mailbox}: {state} – {result.evidence}")
        for item in report.planned:
            print(f"{item.recipient}: {item.line}")
        sent = report.sent
        if sent.queued:
            print(f"{sent.queued} aviseringar väntar till arbetstid.")
        print(f"{len(sent.sent)} sammanfattningar skickade.")
        for error in sent.errors:
            print(f"Fel: {error}", file=sys.stderr)
        return EXIT_FAILURE if sent.errors else EXIT_OK


def cmd_web(args: argparse.Namespace) -> int:
    from postvakt.config import load_config
    from postvakt.web.commands import add_user, list_users, serve

    config = load_config(_config_path(args))
    if args.web_command == "adduser":
        return add_user(config, args.address, password_env=args.password_env)
    if args.web_command == "users":
        return list_users(config)
    return serve(config, host=getattr(args, "host", None), port=getattr(args, "port", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from postvakt.demo import run_demo

    return run_demo(Path(args.dir))


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "check-config": cmd_check_config,
    "cases": cmd_cases,
    "failed": cmd_failed,
    "absence": cmd_absence,
    "classify": cmd_classify,
    "classifier": cmd_classifier,
    "calendar": cmd_calendar,
    "messages": cmd_messages,
    "rules": cmd_rules,
    "report": cmd_report,
    "web": cmd_web,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run the command in ``argv``; ``clock`` replaces the system clock (tests, replays)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    args.clock = clock
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except NotFoundError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PostvaktError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, and keep Python from complaining
        # about flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
