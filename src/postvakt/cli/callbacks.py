"""``postvakt callbacks add | list | done``: citizens to be called back by someone who was not
there when they called (the policy's ``callback`` time, two working days in every preset)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from postvakt.cli.args import email, integer, text
from postvakt.cli.common import EXIT_OK, Parser, local_date, open_service, table

__all__ = ["add_parsers"]


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    callbacks = sub.add_parser(
        "callbacks", help="återuppringningar: medborgare som ska ringas upp inom tidsgränsen"
    )
    callbacks_sub = callbacks.add_subparsers(
        dest="callbacks_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    add = callbacks_sub.add_parser(
        "add", help="lägg in ett meddelande: någon ska ringa upp en medborgare"
    )
    add.add_argument(
        "--for", dest="for_address", required=True, type=email, metavar="E-POST",
        help="den som ska ringa upp",
    )  # fmt: skip
    add.add_argument("--name", type=text, metavar="NAMN", help="medborgarens namn")
    add.add_argument(
        "--phone", required=True, type=text, metavar="TELEFON", help="medborgarens telefonnummer"
    )
    add.add_argument(
        "--about", required=True, type=text, metavar="TEXT", help="vad samtalet gäller"
    )
    add.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som tog emot samtalet"
    )
    listing = callbacks_sub.add_parser("list", help="lista återuppringningar som väntar")
    listing.add_argument(
        "--for", dest="for_address", type=email, metavar="E-POST",
        help="bara den här personens",
    )  # fmt: skip
    listing.add_argument("--all", action="store_true", help="även de som är klara")
    listing.add_argument("--json", action="store_true", help="skriv ut som JSON")
    done = callbacks_sub.add_parser("done", help="anteckna att medborgaren har ringts upp")
    done.add_argument("id", type=integer(1, 2**31 - 1), metavar="NR")
    done.add_argument(
        "--note", required=True, type=text, metavar="TEXT", help="vad som kom ut av samtalet"
    )
    done.add_argument("--by", required=True, type=email, metavar="E-POST", help="du som ringde")
    callbacks.set_defaults(handler=run)


def _status(view: Any, today: Any) -> str:
    if view.done:
        return f"klar {local_date(view.done_at)} ({view.done_by})"
    if view.late(today):
        return "FÖRSENAD"
    return "väntar" if view.due != today else "i dag"


def run(args: argparse.Namespace) -> int:
    from postvakt.clock import STOCKHOLM
    from postvakt.rules.notify import swedish_day

    service = open_service(args, connectors=False)
    with service:
        callbacks = service.callbacks
        assert callbacks is not None
        command = args.callbacks_command
        if command == "add":
            made = callbacks.add(
                for_address=args.for_address,
                phone=args.phone,
                about=args.about,
                by=args.by,
                name=args.name,
            )
            view = made.view
            print(
                f"Återuppringning {view.id}: {view.for_name} ringer {view.citizen} på "
                f"{view.phone} senast {swedish_day(view.due, weekday=True)}."
            )
            if made.told:
                print(made.told)
            return EXIT_OK
        if command == "done":
            finished = callbacks.done(args.id, by=args.by, note=args.note)
            if finished.already:  # a second run, or a colleague after: nothing to do
                print(finished.already)
                return EXIT_OK
            view = finished.view
            print(f"Återuppringning {view.id} är klar.")
            if view.case_label:
                print(f"Samtalet är antecknat i ärende {view.case_label} och går till diariet.")
                service.deliver_diary()
            return EXIT_OK
        found = callbacks.list(for_address=args.for_address, include_done=args.all)
        today = service.clock().astimezone(STOCKHOLM).date()
    if args.json:
        print(json.dumps([v.as_json() for v in found], ensure_ascii=False, indent=2))
        return EXIT_OK
    if not found:
        print("Inga återuppringningar väntar." if not args.all else "Inga återuppringningar ännu.")
        return EXIT_OK
    print(
        table(
            [
                (
                    str(v.id),
                    v.for_name,
                    v.citizen,
                    v.phone,
                    v.about[:60],
                    v.case_label or "",
                    v.due.isoformat(),
                    _status(v, today),
                )
                for v in found
            ],
            ("Nr", "Ringer", "Medborgare", "Telefon", "Gäller", "Ärende", "Senast", "Status"),
        )
    )
    return EXIT_OK
