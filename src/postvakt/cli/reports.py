"""``postvakt report``, ``failed`` and ``messages``: what was compiled, what failed, what waits for an answer."""

from __future__ import annotations

import argparse
import errno
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from postvakt.cli.args import email, integer, output_file, parse_date, text, year
from postvakt.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Parser,
    iso,
    known_address,
    local_date,
    open_service,
    table,
)
from postvakt.clock import STOCKHOLM
from postvakt.errors import InvalidInputError, NotFoundError
from postvakt.wording import count


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    report = sub.add_parser("report", help="rapporter")
    report_sub = report.add_subparsers(
        dest="report_command", metavar="RAPPORT", parser_class=Parser, required=True
    )
    annual = report_sub.add_parser(
        "annual", help="årlig sammanställning av synpunkter och klagomål"
    )
    annual.add_argument("--year", type=year, required=True, metavar="ÅR")
    annual.add_argument("--unit", help="bara den här enheten")
    annual.add_argument(
        "--out",
        type=output_file(".docx", ".xlsx", ".csv"),
        metavar="FIL",
        help="FIL.docx, FIL.xlsx eller FIL.csv (behövs inte med --send)",
    )
    annual.add_argument(
        "--send",
        action="store_true",
        help="skicka sammanställningen (Word och Excel) till organisation.compilation_to "
        "och anteckna att den är skickad",
    )
    annual.add_argument("--by", type=email, help="du som skickar (e-postadress; krävs med --send)")
    counts = report_sub.add_parser(
        "counts",
        help="antal ärenden: öppna, försenade, besvarade i tid (samma räkning som webbpanelen)",
    )
    counts.add_argument("--unit", default="", metavar="ENHET", help="bara den här enheten")
    counts.add_argument(
        "--kind",
        choices=("complaint", "opinion"),
        default="",
        help="bara klagomål eller synpunkter",
    )
    counts.add_argument("--mailbox", type=email, metavar="ADRESS", help="bara den här brevlådan")
    counts.add_argument(
        "--handler",
        type=email,
        dest="handler_address",  # 'handler' is the command's function
        metavar="ADRESS",
        help="bara den här handläggaren",
    )
    counts.add_argument(
        "--area", default="", metavar="OMRÅDE", help="bara det här verksamhetsområdet"
    )
    counts.add_argument(
        "--since", type=parse_date, metavar="DATUM", help="inkomna från och med DATUM"
    )
    counts.add_argument(
        "--until", type=parse_date, metavar="DATUM", help="inkomna till och med DATUM"
    )
    counts.add_argument("--json", action="store_true", help="skriv ut som JSON")
    counts.set_defaults(report_handler=cmd_counts)
    failed = sub.add_parser("failed", help="meddelanden som inte kunde behandlas")
    failed_sub = failed.add_subparsers(
        dest="failed_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    failed_list = failed_sub.add_parser("list", help="lista misslyckade meddelanden")
    failed_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    failed_retry = failed_sub.add_parser("retry", help="behandla misslyckade meddelanden igen")
    failed_retry.add_argument(
        "ids",
        nargs="*",
        type=integer(1, 2**31 - 1),
        metavar="NR",
        help="bara dessa (standard: alla)",
    )
    messages = sub.add_parser("messages", help="medborgarmeddelanden och deras svarstider")
    messages_sub = messages.add_subparsers(
        dest="messages_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    messages_list = messages_sub.add_parser("list", help="lista bevakade meddelanden")
    messages_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    messages_list.add_argument(
        "--open",
        action="store_true",
        help="bara de som väntar på eget svar (meddelanden som inte blev ärenden, och nya "
        "meddelanden i ett ärende efter svaret)",
    )
    answered = messages_sub.add_parser(
        "answered",
        help="meddelandet är besvarat på annat sätt (t.ex. per telefon) eller behöver inget "
        "svar: svarstiden stoppas",
    )
    answered.add_argument(
        "--record",
        required=True,
        type=integer(1, 10**9),
        metavar="NR",
        help="meddelandets nummer (i 'messages list', på webben ”Meddelande nr …”)",
    )
    answered.add_argument(
        "--how",
        required=True,
        type=text,
        metavar="TEXT",
        help="hur det besvarades, eller varför det inte behöver svar",
    )
    answered.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som gör det"
    )
    report.set_defaults(handler=cmd_report)
    failed.set_defaults(handler=cmd_failed)
    messages.set_defaults(handler=cmd_messages)


def cmd_counts(args: argparse.Namespace) -> int:
    """``postvakt report counts``: the numbers of :mod:`postvakt.registry.case_query`, for
    every case (the web panel counts the same within what its user may see)."""
    from postvakt.registry.case_query import (
        CaseFilter,
        CaseScope,
        answered_in_time,
        count_cases,
        message_counts,
    )
    from postvakt.registry.db import database_errors

    service = open_service(args, read_only=True)
    assert service.sessions is not None
    every = CaseFilter(
        unit=args.unit.strip(),
        kind=args.kind,
        status="all",
        mailbox=args.mailbox or "",
        handler=args.handler_address or "",
        since=args.since,
        until=args.until,
        area=args.area.strip(),
    )
    scope = CaseScope.everything()
    with service, service.sessions() as session, database_errors():
        today = service.clock().astimezone(STOCKHOLM).date()
        total = count_cases(session, scope, every, today)
        open_ = count_cases(session, scope, replace(every, status="open"), today)
        late = count_cases(session, scope, replace(every, status="open", overdue=True), today)
        in_time = answered_in_time(session, scope, every, today)
        mailboxes = [args.mailbox] if args.mailbox else None
        messages = message_counts(session, today, mailboxes)
    data = {
        "today": today.isoformat(),
        "filter": {
            k: v
            for k, v in {
                "unit": every.unit,
                "kind": every.kind,
                "mailbox": every.mailbox,
                "handler": every.handler,
                "area": every.area,
                "since": iso(every.since),
                "until": iso(every.until),
            }.items()
            if v
        },
        "cases": {"total": total, "open": open_, "overdue": late},
        "answered_in_time": {
            "in_time": in_time.in_time,
            "late": in_time.late,
            "judged": in_time.judged,
            "not_yet_due": in_time.not_yet_due,
            "share": in_time.share,
        },
        "messages": {"unanswered": messages.unanswered, "overdue": messages.overdue},
    }
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    share = f"{in_time.percent} %" if in_time.percent is not None else "–"
    print(
        f"{count(total, 'ärende', 'ärenden')}, varav {open_} öppna och {late} försenade.\n"
        f"Besvarade i tid: {share} ({in_time.in_time} av {in_time.judged}; "
        f"{in_time.not_yet_due} ännu inte förfallna).\n"
        f"Obesvarade meddelanden (inte ärenden, eller nya efter ett svar): {messages.unanswered}, "
        f"varav {messages.overdue} försenade."
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    handler = getattr(args, "report_handler", None)
    if handler is not None:
        return int(handler(args))
    from postvakt.compilation import compilation_docx, send_compilation, to_csv, to_xlsx
    from postvakt.compilation.word import share_text
    from postvakt.registry.db import database_errors
    from postvakt.registry.report import annual_report

    if args.out is None and not args.send:
        raise InvalidInputError(
            "ange vart sammanställningen ska skrivas med --out FIL (.docx, .xlsx eller .csv), "
            "eller skicka den med --send",
            argument="--out",
        )
    if args.send and not args.by:
        raise InvalidInputError(
            "ange vem som skickar sammanställningen med --by DIN-ADRESS", argument="--by"
        )
    service = open_service(args)
    with service:
        now = service.clock()
        this_year = now.year
        if not 2000 <= args.year <= this_year:
            raise InvalidInputError(
                f"ange ett år från 2000 till i år ({this_year}); var {args.year}",
                argument="--year",
            )
        assert (
            service.sessions is not None
            and service.casework is not None
            and service.intake is not None
        )
        by = known_address(service.config, args.by, "--by") if args.by else None
        policy = service.intake.policy
        deadline = policy.compilation_due(args.year)
        with service.sessions() as session, database_errors():
            report = annual_report(
                session, args.year, deadline, args.unit, as_of=now.astimezone(STOCKHOLM).date()
            )
        if args.unit and not report.units:
            raise NotFoundError(f"Det finns ingen enhet som heter {args.unit!r}.")
        written = []
        if args.out is not None:
            suffix = args.out.suffix.lower()
            if suffix == ".csv":
                data = to_csv(report)
            elif suffix == ".xlsx":
                data = to_xlsx(report, service.config.organisation.name)
            else:
                renderer = service.casework.letters.renderer
                data = compilation_docx(renderer, service.config, report, now, by=by)
            written.append(_write(args.out, data))
        sent = None
        if args.send:
            assert by is not None
            sent = send_compilation(
                service.config,
                service.sessions,
                service.casework.mailer,
                service.casework.letters.renderer,
                policy,
                year=args.year,
                by=by,
                now=now,
                unit=args.unit,
            )
    whole = report.organisation(service.config.organisation.name)
    print(
        f"Sammanställning {args.year}: {count(whole.total, 'ärende', 'ärenden')} i "
        f"{count(len(report.units), 'enhet', 'enheter')}; besvarade i tid {share_text(whole)}, "
        f"ännu inte förfallna {whole.not_yet_due}; klar senast {deadline.isoformat()}."
    )
    for path in written:
        print(f"  {path}")
    if sent is not None:
        print(f"Skickad till {sent.to} och antecknad som skickad: {', '.join(sent.files)}.")
    return EXIT_OK


def _write(path: Path, data: bytes) -> Path:
    try:
        path.write_bytes(data)
    except PermissionError:
        raise InvalidInputError(
            f"du får inte skriva {path}; välj en annan mapp", argument="--out"
        ) from None
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        raise InvalidInputError(
            f"{path} gick inte att skriva (felkod {code}; full disk?)", argument="--out"
        ) from None
    return path


def cmd_failed(args: argparse.Namespace) -> int:
    from postvakt.intake.drafts import retry_failed_drafts
    from postvakt.registry.db import database_errors
    from postvakt.registry.drafts import failed_drafts
    from postvakt.registry.messages import unresolved_failures
    from postvakt.registry.models import Disposition

    if args.failed_command == "list":
        service = open_service(args, read_only=True)
        assert service.sessions is not None
        with service, service.sessions() as session, database_errors():
            failures = unresolved_failures(session)
            drafts = failed_drafts(session)
            if args.json:
                print(
                    json.dumps(
                        [
                            {
                                "id": f.id,
                                "kind": "message",
                                "mailbox": f.mailbox.address,
                                "folder": f.folder,
                                "key": f.message_key,
                                "failed_at": iso(f.failed_at),
                                "attempts": f.attempts,
                                "error": f.error,
                            }
                            for f in failures
                        ]
                        + [_draft_json(d) for d in drafts],
                        ensure_ascii=False,
                        indent=2,
                    )
                )
                return EXIT_OK
            if drafts:
                print(_drafts_table(drafts))
            if not failures:
                if not drafts:
                    print("Inga misslyckade meddelanden.")
                return EXIT_OK
            print(
                table(
                    [
                        (
                            str(f.id),
                            f.mailbox.address,
                            f.folder,
                            local_date(f.failed_at),
                            str(f.attempts),
                            f.error.splitlines()[0][:70],
                        )
                        for f in failures
                    ],
                    ("Nr", "Brevlåda", "Mapp", "Misslyckades", "Försök", "Fel"),
                )
            )
        return EXIT_OK

    service = open_service(args)
    assert service.intake is not None and service.sessions is not None
    with service:
        # Drafts that could not be built are tried again with the messages (not by number).
        drafts_again = 0 if args.ids else retry_failed_drafts(service.intake)
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
        done = len(report.outcomes) - still
        print(f"{count(done, 'behandlat', 'behandlade')}, {still} misslyckades igen.")
        with service.sessions() as session, database_errors():
            drafts_failed = len(failed_drafts(session))
        if drafts_again or drafts_failed:
            print(
                f"{drafts_again} utkast försöktes igen, {drafts_failed} kunde inte skapas "
                "(se 'postvakt failed list')."
            )
        return EXIT_FAILURE if still or drafts_failed else EXIT_OK


def _draft_json(draft: Any) -> dict[str, Any]:
    return {
        "id": draft.id,
        "kind": "draft",
        "mailbox": draft.mailbox.address,
        "case": draft.case.reference if draft.case else None,
        "created_at": iso(draft.created_at),
        "attempts": draft.attempts,
        "error": draft.last_error,
    }


def _drafts_table(drafts: list[Any]) -> str:
    rows = [
        (
            str(d.id),
            d.mailbox.address,
            d.case.reference if d.case else "-",
            str(d.attempts),
            (d.last_error or "").splitlines()[0][:70] if d.last_error else "",
        )
        for d in drafts
    ]
    return (
        "Utkast som inte kunde skapas (försöks igen med 'postvakt failed retry'):\n"
        + table(rows, ("Utkast", "Brevlåda", "Ärende", "Försök", "Fel"))
        + "\n"
    )


def cmd_messages(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from postvakt.registry.case_query import awaiting_reply
    from postvakt.registry.db import database_errors
    from postvakt.registry.models import CaseStatus, Disposition, MessageRecord
    from postvakt.registry.replies import CITIZEN

    if args.messages_command == "answered":
        return _answered(args)
    service = open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        query = (
            select(MessageRecord)
            .options(selectinload(MessageRecord.mailbox), selectinload(MessageRecord.case))
            .where(MessageRecord.disposition.in_(CITIZEN))
            .order_by(MessageRecord.received_at, MessageRecord.id)
        )
        if args.open:  # as Översikt and the reminders count them
            query = query.where(*awaiting_reply())
        records = list(session.scalars(query))
        data = [
            {
                "id": r.id,
                "mailbox": r.mailbox.address,
                "sender": r.sender_address,
                "subject": r.subject,
                "message_id": r.message_id,
                "received_at": iso(r.received_at),
                "reply_due": iso(r.reply_due),
                "answered_at": iso(r.answered_at),
                "answered_by": r.answered_by,
                "answered_note": r.answered_note,
                "disposition": r.disposition.value,
                "case": r.case.reference if r.case else None,
                # a withdrawn (makulerat) case's messages keep its number for history,
                # but are in no case any more
                "case_withdrawn": r.case is not None and r.case.status is CaseStatus.WITHDRAWN,
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
            str(d["id"]),
            d["mailbox"],
            d["sender"] or "",
            (d["subject"] or "")[:40],
            (d["received_at"] or "")[:16].replace("T", " "),
            d["reply_due"] or "-",
            _answered_cell(d),
            _case_cell(d),
        )
        for d in data
    ]
    print(
        table(
            rows,
            ("Nr", "Brevlåda", "Avsändare", "Ämne", "Inkom", "Svar senast", "Besvarat", "Ärende"),
        )
    )
    if any(d["disposition"] == Disposition.BEFORE_START for d in data):
        print(
            "\nFöre start: kom innan brevlådan började bevakas (start_from) och registreras "
            "inte. 'postvakt backfill BREVLÅDA --since DATUM --by ADRESS' registrerar äldre post."
        )
    return EXIT_OK


def _case_cell(d: dict[str, Any]) -> str:
    """The case a message is in; a withdrawn one's number marked as such."""
    from postvakt.registry.models import Disposition

    if d["case"]:
        return f"{d['case']} (makulerat)" if d["case_withdrawn"] else d["case"]
    return "före start" if d["disposition"] == Disposition.BEFORE_START else ""


def _answered_cell(d: dict[str, Any]) -> str:
    """'2026-11-24 10:00', with how when a person said so; else 'obesvarat'."""
    when = (d["answered_at"] or "")[:16].replace("T", " ")
    if not when:
        return "obesvarat"
    return f"{when} ({d['answered_note'][:40]})" if d["answered_note"] else when


def _answered(args: argparse.Namespace) -> int:
    service = open_service(args)
    with service:
        assert service.corrections is not None
        print(service.corrections.answered_otherwise(args.record, by=args.by, how=args.how))
    return EXIT_OK
