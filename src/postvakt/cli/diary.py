"""``postvakt cases number | import-numbers | callback`` and ``postvakt diary status | retry``:
the diary system's numbers of cases, and every document of a case on its way to the diary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from postvakt.cli.args import email, existing_file, text
from postvakt.cli.common import EXIT_FAILURE, EXIT_OK, iso, known_address, open_service, table
from postvakt.errors import InvalidInputError, PermissionDeniedError
from postvakt.wording import count

__all__ = ["CASE_COMMANDS", "add_case_parsers", "add_parsers", "run_case_command"]

CASE_COMMANDS = ("number", "import-numbers", "callback")
STATUS_SV = {
    "pending": "väntar",
    "sending": "skickas",
    "sent": "levererat",
    "failed": "misslyckades",
}


def add_case_parsers(cases_sub: Any) -> None:
    by = {"required": True, "type": email, "metavar": "E-POST", "help": "du som gör det"}
    number = cases_sub.add_parser(
        "number", help="ge ärendet diariesystemets nummer (numbering = diary)"
    )
    number.add_argument(
        "number", metavar="REFERENS", help="Postvakts referens, t.ex. PV-2026-000123"
    )
    number.add_argument("--diary", required=True, type=text, metavar="NUMMER", help="diarienumret")
    number.add_argument("--by", **{**by, "help": "registratorn (eller en administratör)"})
    bulk = cases_sub.add_parser(
        "import-numbers",
        help="läs in diarienummer från en CSV-fil med raderna referens;diarienummer",
    )
    bulk.add_argument("file", type=existing_file(".csv", ".txt"), metavar="FIL")
    bulk.add_argument("--by", **{**by, "help": "registratorn (eller en administratör)"})
    callback = cases_sub.add_parser(
        "callback", help="anteckna en återkoppling per telefon; anteckningen går till diariet"
    )
    callback.add_argument("number", metavar="DIARIENUMMER")
    callback.add_argument("--note", required=True, type=text, help="vad samtalet gällde")
    callback.add_argument("--by", **by)


def add_parsers(sub: Any) -> None:
    diary = sub.add_parser("diary", help="dokumentens väg till diariet: status och nya försök")
    diary_sub = diary.add_subparsers(dest="diary_command", metavar="KOMMANDO", required=True)
    status = diary_sub.add_parser("status", help="vad som väntar, har misslyckats eller är osäkert")
    status.add_argument("--all", action="store_true", help="även de levererade (de senaste 50)")
    status.add_argument("--json", action="store_true", help="skriv ut som JSON")
    retry = diary_sub.add_parser(
        "retry", help="försök igen nu med de misslyckade (och de osäkra efter ett avbrott)"
    )
    retry.add_argument("--case", metavar="DIARIENUMMER", help="bara detta ärendes dokument")
    diary.set_defaults(handler=run_diary)


def _registrar(config: Any, by: str) -> str:
    address = known_address(config, by, "--by")
    if address != config.organisation.registrar and address not in config.web.admins:
        raise PermissionDeniedError(
            f"{by} får inte ange diarienummer; det gör registratorn (organisation.registrar) "
            "eller en administratör (web.admins)."
        )
    return address


def run_case_command(args: argparse.Namespace) -> int:
    from postvakt.registry.db import database_errors
    from postvakt.registry.diary_numbers import case_for_number, import_numbers, set_diary_number

    service = open_service(args, connectors=False)
    with service:
        config, sessions = service.config, service.sessions
        assert sessions is not None
        now = service.clock()
        if args.cases_command == "callback":
            assert service.casework is not None
            known_address(config, args.by, "--by")
            done = service.casework.callback(args.number, actor=args.by, note=args.note)
            print(f"{done.case}: återkopplingen är antecknad och går till diariet.")
            service.deliver_diary()
            return EXIT_OK
        by = _registrar(config, args.by)
        if config.registry.numbering != "diary":
            raise InvalidInputError(
                'Postvakts nummer är diarienumren (registry.numbering = "postvakt"); sätt '
                'numbering = "diary" för att använda diariesystemets egna nummer.'
            )
        if args.cases_command == "number":
            with sessions() as session, database_errors(), session.begin():
                case = case_for_number(session, args.number)
                changed = set_diary_number(
                    session, case, args.diary, by=by, at=now, how="kommandoraden"
                )
                reference, label = case.reference, case.label
            print(
                f"{reference}: diarienummer {label}."
                if changed
                else f"{reference} har redan diarienummer {label}."
            )
            return EXIT_OK
        data = Path(args.file).read_bytes()
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            content = data.decode("cp1252")  # Excel's "CSV" on Swedish Windows
        with sessions() as session, database_errors(), session.begin():
            report = import_numbers(session, content, by=by, at=now)
        for line, reference, number in report.set:
            print(f"rad {line}: {reference} → {number}")
        for line, reference in report.unchanged:
            print(f"rad {line}: {reference} hade redan numret")
        for line, problem in report.problems:
            print(f"rad {line}: {problem}")
        bad = len(report.problems)
        print(
            f"{count(len(report.set), 'nummer satt', 'nummer satta')}, "
            f"{count(len(report.unchanged), 'oförändrat', 'oförändrade')}, "
            f"{bad} {'rad' if bad == 1 else 'rader'} kunde inte läsas in."
        )
        return EXIT_FAILURE if report.problems else EXIT_OK


def run_diary(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from postvakt.diary.delivery import uncertain
    from postvakt.registry.cases import find_case
    from postvakt.registry.db import database_errors
    from postvakt.registry.documents import DeliveryStatus, DiaryEntry

    service = open_service(args, connectors=False)
    with service:
        sessions, deliverer = service.sessions, service.diary
        assert sessions is not None and deliverer is not None
        now = service.clock()
        if args.diary_command == "retry":
            case_id = None
            if args.case:
                with sessions() as session, database_errors():
                    case_id = find_case(session, args.case).id
            tried = deliverer.retry(case_id=case_id)
            print(f"{tried} dokument försöks igen nu.")
            report = deliverer.run(daily=True)
            print(
                f"{count(len(report.sent), 'levererat', 'levererade')}, "
                f"{len(report.retrying)} väntar på nytt försök, "
                f"{len(report.failed)} misslyckades."
            )
            for line in (*report.retrying, *report.failed):
                print(f"  {line}")
            return EXIT_OK if not (report.failed or report.retrying) else EXIT_FAILURE
        with sessions() as session, database_errors():
            query = (
                select(DiaryEntry)
                .options(selectinload(DiaryEntry.case))
                .order_by(DiaryEntry.id.desc())
            )
            if not args.all:
                query = query.where(DiaryEntry.status != DeliveryStatus.SENT)
            rows = list(session.scalars(query.limit(500 if not args.all else 50)))
            found = [
                {
                    "case": r.case.label,
                    "reference": r.case.reference,
                    "kind": r.kind,
                    "title": r.title,
                    "system": r.system,
                    "status": "uncertain" if uncertain(r, now) else r.status.value,
                    "attempts": r.attempts,
                    "next_attempt_at": iso(r.next_attempt_at),
                    "made_at": iso(r.made_at),
                    "sent_at": iso(r.sent_at),
                    "external_id": r.external_id,
                    "error": r.last_error,
                }
                for r in rows
            ]
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return EXIT_OK
    config = service.config
    if config.registry.system == "registrar" and config.smtp is None and found:
        print(
            "Obs: [smtp] saknas, så registratorn kan inte få dokumenten med e-post; de väntar "
            'här. Ställ in [smtp], eller välj registry.system = "file".'
        )
    if not found:
        print("Inga dokument väntar på diariet." if not args.all else "Inga dokument ännu.")
        return EXIT_OK
    status_sv = {**STATUS_SV, "uncertain": "OSÄKERT – kan ha nått diariet"}
    print(
        table(
            [
                (
                    f["case"],
                    f["title"],
                    status_sv[f["status"]].upper()
                    if f["status"] == "failed"
                    else status_sv[f["status"]],
                    str(f["attempts"]),
                    (f["error"] or "")[:80],
                )
                for f in found
            ],
            ("Ärende", "Dokument", "Status", "Försök", "Senaste fel"),
        )
    )
    return EXIT_OK
