"""``postvakt absence``: who is away, who covers, the auto-reply and delegate access."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from postvakt.cli.args import email, integer
from postvakt.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Parser,
    open_service,
    parse_date,
)
from postvakt.clock import STOCKHOLM
from postvakt.errors import NotFoundError
from postvakt.wording import count

ID = integer(1, 2**31 - 1)


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    absence = sub.add_parser(
        "absence", help="frånvaro: autosvar, ombud och ärenden till den som ersätter"
    )
    absence_sub = absence.add_subparsers(
        dest="absence_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    kinds = ("semester", "sjukdom", "tjänstledighet", "föräldraledighet", "tjänsteresa", "slutat")
    a_add = absence_sub.add_parser("add", help="lägg in en frånvaro")
    a_add.add_argument(
        "person", metavar="PERSON", type=email, help="den som är borta (e-postadress)"
    )
    a_add.add_argument("--from", dest="start", required=True, type=parse_date, metavar="DATUM")
    a_add.add_argument(
        "--to",
        dest="end",
        type=parse_date,
        metavar="DATUM",
        help="sista dagen borta (utelämnas: tills vidare)",
    )
    a_add.add_argument("--kind", required=True, choices=kinds, help="typ av frånvaro")
    a_add.add_argument(
        "--substitute",
        nargs="+",
        type=email,
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
    a_add.add_argument(
        "--emergency",
        action="store_true",
        help="akut delegering för den som inte kan nås: gäller först när enhetschefen och "
        "dennes närmaste chef båda har godkänt (se 'absence approve')",
    )
    a_add.add_argument("--preview", action="store_true", help="visa autosvaret utan att spara")
    a_add.add_argument(
        "--by",
        required=True,
        type=email,
        metavar="E-POST",
        help="du som lägger in (personen själv eller chefen)",
    )
    a_change = absence_sub.add_parser("change", help="ändra en frånvaro")
    a_change.add_argument("id", type=ID, metavar="NR")
    a_change.add_argument("--from", dest="start", type=parse_date, metavar="DATUM")
    a_change.add_argument("--to", dest="end", type=parse_date, metavar="DATUM")
    a_change.add_argument(
        "--open-ended", action="store_true", help="tills vidare (inget slutdatum)"
    )
    a_change.add_argument("--kind", choices=kinds)
    a_change.add_argument("--substitute", nargs="+", type=email, metavar="PERSON")
    a_change.add_argument("--text", help="ny text i autosvaret")
    a_change.add_argument("--by", required=True, type=email, metavar="E-POST")
    a_approve = absence_sub.add_parser(
        "approve", help="godkänn en akut delegering (enhetschefen och dennes närmaste chef)"
    )
    a_approve.add_argument("id", type=ID, metavar="NR")
    a_approve.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som godkänner"
    )
    a_show = absence_sub.add_parser(
        "show", help="en frånvaro och dess logg: vem som lade in, beställde och godkände"
    )
    a_show.add_argument("id", type=ID, metavar="NR")
    a_show.add_argument("--json", action="store_true", help="skriv ut som JSON")
    a_list = absence_sub.add_parser("list", help="pågående och kommande frånvaro")
    a_list.add_argument(
        "--date", type=parse_date, metavar="DATUM", help="vem som är borta den dagen"
    )
    a_list.add_argument("--all", action="store_true", help="även avslutade")
    a_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    a_end = absence_sub.add_parser(
        "end", help="avsluta en frånvaro i förtid (i dag är personen tillbaka)"
    )
    a_end.add_argument("id", type=ID, metavar="NR")
    a_end.add_argument("--by", required=True, type=email, metavar="E-POST")
    a_import = absence_sub.add_parser(
        "import", help="läs frånvaromeddelanden i e-postsystemet och föreslå frånvaro"
    )
    a_import.add_argument("--create", action="store_true", help="lägg in förslagen")
    a_import.add_argument("--json", action="store_true", help="skriv ut som JSON")
    a_who = absence_sub.add_parser("who-covers", help="vem som ersätter en person en dag")
    a_who.add_argument("person", metavar="PERSON", type=email)
    a_who.add_argument("--date", type=parse_date, metavar="DATUM")
    absence_sub.add_parser(
        "apply", help="slå på och av autosvar och behörigheter nu (görs annars vid varje körning)"
    )
    absence.set_defaults(handler=cmd_absence)


def cmd_absence(args: argparse.Namespace) -> int:
    from postvakt.delegation import commands as absence

    command = args.absence_command
    service = open_service(
        args,
        read_only=command in ("list", "who-covers", "show"),
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
            row = absence.add(
                service,
                **fields,
                actor=args.by,
                self_handling=args.self_handling,
                emergency_order=args.emergency,
            )
            print(f"Frånvaro {row.id} inlagd: {_absence_line(row)}")
            if row.emergency:
                print(
                    f"Akut delegering: gäller först när {' och '.join(row.waiting_for)} "
                    f"också har godkänt ('postvakt absence approve {row.id} --by …'). "
                    + ("Båda har fått ett meddelande." if not row.notices else "")
                )
            return _notices(row)
        if command == "approve":
            row = absence.approve(service, args.id, actor=args.by)
            if row.waiting_for:
                print(
                    f"Frånvaro {row.id}: godkänd av {args.by}; väntar på "
                    f"{' och '.join(row.waiting_for)}."
                )
            else:
                print(
                    f"Frånvaro {row.id}: godkänd av {' och '.join(row.approved_by)}. Den akuta "
                    "delegeringen gäller från nästa körning; ombudet har fått veta vad hen får "
                    "öppna."
                )
            return _notices(row)
        if command == "show":
            row, log = absence.events(service, args.id)
            if args.json:
                shown = {
                    **row.as_dict(),
                    "events": [
                        {"at": e.at.isoformat(), "by": e.by, "what": e.what, "detail": e.detail}
                        for e in log
                    ],
                }
                print(json.dumps(shown, ensure_ascii=False, indent=2))
                return EXIT_OK
            print(f"Frånvaro {row.id}: {_absence_line(row)}")
            for event in log:
                when = event.at.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
                print(f"  {when}  {event.by}: {event.text}")
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
            return _notices(row)
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
            if service.config.person(args.person) is None:
                raise NotFoundError(
                    f"PERSON: {args.person} finns inte bland personerna i konfigurationen "
                    "([[people]]); kontrollera stavningen"
                )
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
            f"{count(len(report.started), 'frånvaro påbörjad', 'frånvaror påbörjade')}, "
            f"{count(len(report.ended), 'avslutad', 'avslutade')}; "
            f"{count(report.cases_handed, 'ärende', 'ärenden')} till ersättare, "
            f"{report.cases_returned} tillbaka."
        )
        for line in report.instructions:
            print(f"Till e-postadministratören: {line}")
        for error in report.errors:
            print(f"Fel: {error}", file=sys.stderr)
        return EXIT_FAILURE if report.errors else EXIT_OK


def _notices(row: Any) -> int:
    """Print what could not be sent about an emergency; the exit code follows."""
    for problem in row.notices:
        print(f"Fel: {problem}", file=sys.stderr)
    return EXIT_FAILURE if row.notices else EXIT_OK


def _absence_line(row: Any) -> str:
    until = row.end.isoformat() if row.end else "tills vidare"
    cover = "läser själv" if row.self_handling else f"ersätts av {row.covered_by or 'ingen'}"
    return f"{row.person} {row.kind} {row.start.isoformat()} – {until}, {cover} [{row.status}]"
