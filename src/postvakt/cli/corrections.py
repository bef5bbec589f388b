"""The corrections under ``postvakt cases`` (review, confirm, reclassify, withdraw, register,
attach, detach, assign, area, merge, flag, dismiss): people see what the machine decided and
correct it, with ``--by`` checked against rights."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from postvakt.cli.args import email, integer, text
from postvakt.cli.common import EXIT_OK, iso, local_date, open_service, table

__all__ = ["COMMANDS", "add_case_parsers", "run"]

COMMANDS = (
    "review",
    "confirm",
    "reclassify",
    "withdraw",
    "register",
    "attach",
    "detach",
    "assign",
    "area",
    "merge",
    "flag",
    "dismiss",
)
KINDS = ("klagomal", "synpunkt", "annat")
positive_int = integer(1, 10**9)
LABEL_SV = {"complaint": "klagomål", "opinion": "synpunkt", "other": "annat", None: "-"}


def add_case_parsers(cases_sub: Any) -> None:
    """Add the correction commands under ``postvakt cases``."""
    by = {"required": True, "type": email, "metavar": "E-POST", "help": "du som gör det"}
    record = {
        "required": True,
        "type": positive_int,
        "metavar": "NR",
        "help": "meddelandets nummer (i 'cases review', på webben ”Meddelande nr …”)",
    }
    review = cases_sub.add_parser(
        "review",
        help="granskningskön: ärenden att bekräfta och meddelanden som kanske borde bli ärenden",
    )
    review.add_argument("--by", **{**by, "help": "du som granskar (visar det du får rätta)"})
    review.add_argument("--json", action="store_true", help="skriv ut som JSON")
    review.add_argument("--limit", type=positive_int, metavar="N", help="högst N rader")
    confirm = cases_sub.add_parser("confirm", help="bedömningen står sig; ärendet lämnar kön")
    confirm.add_argument("number", metavar="DIARIENUMMER")
    confirm.add_argument("--by", **by)
    reclassify = cases_sub.add_parser(
        "reclassify", help="ändra typ: klagomål, synpunkt eller annat (annat makulerar)"
    )
    reclassify.add_argument("number", metavar="DIARIENUMMER")
    reclassify.add_argument("--kind", required=True, choices=KINDS, help="den rätta typen")
    reclassify.add_argument("--by", **by)
    withdraw = cases_sub.add_parser(
        "withdraw", help="makulera: numret finns kvar och används aldrig igen"
    )
    withdraw.add_argument("number", metavar="DIARIENUMMER")
    withdraw.add_argument("--reason", required=True, type=text, help="varför")
    withdraw.add_argument("--by", **by)
    register = cases_sub.add_parser(
        "register",
        help="gör ett läst meddelande till ärende (även ett som sållades bort eller blev annat)",
    )
    register.add_argument(
        "--message-id", required=True, metavar="ID", help="meddelandets Message-ID"
    )
    register.add_argument(
        "--record",
        type=positive_int,
        metavar="NR",
        help="när flera meddelanden har samma Message-ID",
    )
    register.add_argument(
        "--kind", required=True, choices=KINDS[:2], help="klagomal eller synpunkt"
    )
    register.add_argument("--by", **by)
    attach = cases_sub.add_parser(
        "attach",
        help="meddelandet hör till ett befintligt ärende (t.ex. avsändaren tar tillbaka "
        "klagomålet): knyt det dit i stället för att göra ett nytt ärende",
    )
    attach.add_argument("--record", **record)
    attach.add_argument("--to", required=True, metavar="DIARIENUMMER", help="ärendet det hör till")
    attach.add_argument("--by", **by)
    detach = cases_sub.add_parser(
        "detach",
        help="meddelandet hör inte till ärendet det ligger i: flytta det därifrån till "
        "granskningskön",
    )
    detach.add_argument("--record", **record)
    detach.add_argument("--by", **by)
    assign = cases_sub.add_parser("assign", help="ge ärendet till en annan handläggare")
    assign.add_argument("number", metavar="DIARIENUMMER")
    assign.add_argument("--to", required=True, type=email, metavar="E-POST", help="ny handläggare")
    assign.add_argument("--by", **by)
    area = cases_sub.add_parser(
        "area",
        help="rätta verksamhetsområdet (t.ex. skola); ärendet går till enheten som har det",
    )
    area.add_argument("number", metavar="DIARIENUMMER")
    area.add_argument("--area", required=True, type=text, metavar="OMRÅDE")
    area.add_argument("--by", **by)
    merge = cases_sub.add_parser(
        "merge", help="två meddelanden om samma sak: ärendet makuleras och pekar på det andra"
    )
    merge.add_argument("number", metavar="DIARIENUMMER")
    merge.add_argument("--into", required=True, metavar="DIARIENUMMER", help="ärendet som gäller")
    merge.add_argument("--by", **by)
    flag = cases_sub.add_parser(
        "flag", help="be om granskning av ett meddelande som inte blev ärende"
    )
    flag.add_argument("--record", **record)
    flag.add_argument("--by", **by)
    dismiss = cases_sub.add_parser(
        "dismiss", help="meddelandet är varken klagomål eller synpunkt: ta bort det ur kön"
    )
    dismiss.add_argument("--record", **record)
    dismiss.add_argument("--by", **by)


def run(args: argparse.Namespace) -> int:
    """Run one correction command."""
    command = args.cases_command
    service = open_service(
        args, connectors=command in ("register", "withdraw", "reclassify", "merge")
    )
    with service:
        corrections = service.corrections
        assert corrections is not None
        if command == "review":
            return _review(corrections.queue(args.by), as_json=args.json, limit=args.limit)
        if command == "flag":  # flagged now, or told who flagged it before: nothing to do
            print(corrections.flag(args.record, by=args.by).text)
            return EXIT_OK
        if command == "dismiss":  # done, or told it was done before: nothing to do
            print(corrections.dismiss(args.record, by=args.by))
            return EXIT_OK
        if command == "confirm":
            done = corrections.confirm(args.number, by=args.by)
        elif command == "reclassify":
            done = corrections.reclassify(args.number, kind=args.kind, by=args.by)
        elif command == "withdraw":
            done = corrections.withdraw(args.number, reason=args.reason, by=args.by)
        elif command == "register":
            done = corrections.register(
                args.message_id, kind=args.kind, by=args.by, record_id=args.record
            )
        elif command == "attach":
            done = corrections.attach(args.record, to=args.to, by=args.by)
        elif command == "detach":
            done = corrections.detach(args.record, by=args.by)
        elif command == "assign":
            done = corrections.assign(args.number, to=args.to, by=args.by)
        elif command == "area":
            done = corrections.set_area(args.number, area=args.area, by=args.by)
        else:
            done = corrections.merge(args.number, into=args.into, by=args.by)
        print(done.text)
        assert service.intake is not None
        for connector in service.connectors.values():  # drafts placed, withdrawn ones removed
            placed = service.intake.deliver_drafts(connector)
            for line in placed.skipped:
                print(f"Utkast väntar: {line} Utkasten hanteras av den processen.")
    return EXIT_OK


def reason_cell(reasons: list[str], width: int = 60) -> str:
    """The first reason, cut to the column, and how many more there are."""
    if not reasons:
        return ""
    more = f" (+{len(reasons) - 1})" if len(reasons) > 1 else ""
    first = reasons[0]
    if len(first) + len(more) > width:
        first = first[: width - len(more) - 1] + "…"
    return first + more


def left_out(total: int, limit: int | None) -> str:
    """The line under a review queue cut at ``--limit``: how many more there are; "" when
    none were left out."""
    if not limit or total <= limit:
        return ""
    return f"… och {total - limit} till; visa alla med --limit {total} eller utan --limit."


def _review(queue: list[Any], *, as_json: bool, limit: int | None = None) -> int:
    items = queue[:limit] if limit else queue
    more = left_out(len(queue), limit)
    if as_json:
        if more:  # stdout stays a JSON list; the person running it is told beside it
            print(more, file=sys.stderr)
        print(
            json.dumps(
                [
                    {
                        "kind": i.kind,
                        "id": i.id,
                        "number": i.reference,
                        "label": i.label,
                        "probability": i.probability,
                        "reasons": list(i.reasons),
                        "received_at": iso(i.received_at),
                        "due": iso(i.due),
                        "mailbox": i.mailbox,
                        "sender": i.sender,
                        "subject": i.subject,
                        "message_id": i.message_id,
                        "flagged_by": i.flagged_by,
                        "sender_cases": list(i.sender_cases),
                    }
                    for i in items
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    if not items:
        print("Inget att granska.")
        return EXIT_OK
    rows = [
        (
            i.reference or f"meddelande {i.id}",
            LABEL_SV.get(i.label, i.label or "-"),
            f"{i.probability:.2f}" if i.probability is not None else "-",
            local_date(i.received_at),
            iso(i.due) or "-",
            i.mailbox or "",
            (i.subject or "")[:40],
            reason_cell(list(i.reasons)),
        )
        for i in items
    ]
    print(
        table(
            rows,
            ("Ärende", "Bedömning", "Säkerhet", "Inkom", "Frist", "Brevlåda", "Ämne", "Skäl"),
        )
    )
    if more:
        print(more)
    print(
        "\nÄrenden: 'cases confirm|reclassify|withdraw NUMMER --by …'. Meddelanden: "
        "'cases register --message-id ID --kind klagomal|synpunkt --by …', "
        "'cases attach --record NR --to NUMMER --by …' eller 'cases dismiss --record NR --by …'."
    )
    if any(len(i.reasons) > 1 for i in items):
        print(
            "(+N): fler skäl. Alla skäl: för ett ärende 'cases show NUMMER', för ett "
            "meddelande 'cases review --json'."
        )
    return EXIT_OK
