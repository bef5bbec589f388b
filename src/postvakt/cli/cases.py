"""``postvakt cases``: list, show and work on cases; export to the diary system."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from postvakt.cli import corrections, diary
from postvakt.cli.args import email, existing_file, text
from postvakt.cli.common import (
    EXIT_OK,
    KIND_SV,
    STATUS_SV,
    Parser,
    case_for_reader,
    case_json,
    iso,
    known_address,
    local_date,
    open_service,
    parse_date,
    reader,
    table,
)
from postvakt.wording import EVENT_SV

_CHANNEL_SV = {"telefon": "phone", "besök": "visit", "besok": "visit", "brev": "letter",
               "webb": "web"}  # fmt: skip


def _channel(value: str) -> str:
    """A channel by its name or its Swedish word (``telefon`` is ``phone``)."""
    word = value.strip().lower()
    return _CHANNEL_SV.get(word, word)


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    cases = sub.add_parser("cases", help="registrerade ärenden")
    cases_sub = cases.add_subparsers(
        dest="cases_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    cases_list = cases_sub.add_parser("list", help="lista ärenden")
    cases_list.add_argument("--json", action="store_true", help="skriv ut som JSON")
    cases_show = cases_sub.add_parser("show", help="visa ett ärende med dess händelser")
    cases_show.add_argument("number", metavar="DIARIENUMMER", help='t.ex. "KS 2026/17"')
    cases_show.add_argument("--json", action="store_true", help="skriv ut som JSON")
    cases_show.add_argument(
        "--by",
        type=email,
        metavar="E-POST",
        help="du som läser: visar ärendet bara om du får öppna det på webben, och skrivs i "
        "ärendets åtkomstlogg; utan --by visas varje ärende och ditt användarnamn i systemet "
        "skrivs i loggen",
    )
    audit = cases_sub.add_parser(
        "audit", help="ärendets åtkomstlogg: vem som visat det, när och hur (för administratörer)"
    )
    audit.add_argument("number", metavar="DIARIENUMMER")
    audit.add_argument("--json", action="store_true", help="skriv ut som JSON")
    by_help = "vem som gör det (e-postadress); standard: ärendets handläggare"
    add = cases_sub.add_parser(
        "add", help="registrera ett klagomål eller en synpunkt som kom muntligt, per brev eller sms"
    )
    add.add_argument(
        "--channel",
        required=True,
        type=_channel,
        choices=("phone", "visit", "letter", "sms", "web"),
        help="phone (telefon), visit (besök), letter (brev), sms eller web (webb)",
    )
    add.add_argument("--summary", required=True, type=text, help="vad det gäller, kort")
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
    add.add_argument(
        "--email", type=email, help="medborgarens e-postadress (då skickas brev som utkast)"
    )
    add.add_argument("--name", help="medborgarens namn")
    add.add_argument("--care", action="store_true", help="rör enskilds vård och omsorg")
    add.add_argument("--by", required=True, type=email, help="du som registrerar (e-postadress)")
    answer = cases_sub.add_parser("answer", help="svara i ärendet; svarsbrevet läggs som utkast")
    answer.add_argument("number", metavar="DIARIENUMMER")
    source = answer.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="svaret (fylls i mallen Svar)")
    source.add_argument(
        "--file", type=existing_file(".docx"), metavar="FIL.docx", help="ett eget Word-brev"
    )
    answer.add_argument("--by", type=email, help=by_help)
    close = cases_sub.add_parser("close", help="avsluta ärendet")
    close.add_argument("number", metavar="DIARIENUMMER")
    close.add_argument("--action", required=True, help="vidtagna åtgärder")
    close.add_argument("--by", type=email, help=by_help)
    forward = cases_sub.add_parser(
        "forward", help="lämna över till en annan enhet eller förvaltning"
    )
    forward.add_argument("number", metavar="DIARIENUMMER")
    forward.add_argument(
        "--to", required=True, help="enhetens namn, eller en annan förvaltning/myndighet"
    )
    forward.add_argument("--contact", help="mottagarens e-post eller telefon (annan förvaltning)")
    forward.add_argument("--by", type=email, help=by_help)
    feedback = cases_sub.add_parser(
        "feedback",
        help="anteckna återkoppling från den som tog emot ett överlämnat ärende; den som "
        "lämnade över får besked",
    )
    feedback.add_argument("number", metavar="DIARIENUMMER")
    feedback.add_argument("--text", required=True, type=text, help="vad mottagaren återkopplade")
    feedback.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som antecknar (e-postadress)"
    )
    note = cases_sub.add_parser(
        "note",
        help="skriv en intern anteckning i ärendet (för kollegorna, aldrig i brev till medborgaren)",
    )
    note.add_argument("number", metavar="DIARIENUMMER")
    note.add_argument("--text", required=True, type=text, help="anteckningen")
    note.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som antecknar (e-postadress)"
    )
    reopen = cases_sub.add_parser("reopen", help="ny prövning när medborgaren inte är nöjd")
    reopen.add_argument("number", metavar="DIARIENUMMER")
    reopen.add_argument("--reason", default="", help="varför")
    reopen.add_argument(
        "--reviewer",
        type=email,
        metavar="E-POST",
        help="vem som prövar på nytt; standard: närmaste chef (chefen för handläggarens enhet, "
        "eller enheten ovanför när handläggaren själv är chef)",
    )
    reopen.add_argument("--by", type=email, help=by_help)
    wait = cases_sub.add_parser("wait", help="vänta på medborgaren; svarstiden pausas")
    wait.add_argument("number", metavar="DIARIENUMMER")
    wait.add_argument("--note", default="", help="vad vi väntar på")
    wait.add_argument("--by", type=email, help=by_help)
    care = cases_sub.add_parser(
        "care",
        help="markera att ärendet rör enskilds vård och omsorg: det går till avvikelsefunktionen",
    )
    care.add_argument("number", metavar="DIARIENUMMER")
    care.add_argument(
        "--off", action="store_true", help="ta bort markeringen (avvikelsefunktionen får besked)"
    )
    care.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som gör det (e-postadress)"
    )
    export = cases_sub.add_parser("export", help="exportera till diariesystemet")
    export.add_argument(
        "--since", type=parse_date, required=True, metavar="DATUM", help="registrerade från och med"
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    corrections.add_case_parsers(cases_sub)
    diary.add_case_parsers(cases_sub)
    cases.set_defaults(handler=cmd_cases)


def cmd_cases(args: argparse.Namespace) -> int:
    from postvakt.registry.cases import list_cases
    from postvakt.registry.db import database_errors

    if args.cases_command in CASE_ACTIONS:
        return _case_action(args)
    if args.cases_command == "care":
        return _care(args)
    if args.cases_command == "note":
        return _note(args)
    if args.cases_command in corrections.COMMANDS:
        return corrections.run(args)
    if args.cases_command in diary.CASE_COMMANDS:
        return diary.run_case_command(args)
    if args.cases_command == "export":
        return _export(args)
    if args.cases_command == "audit":
        return _audit(args)

    service = open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        # `--by` reads as that person: what the web shows them (checked before the view is
        # logged, as the web does); without it, the operator's view of every case.
        user = reader(service.config, args.by) if getattr(args, "by", None) else None
        if args.cases_command == "list":
            cases = list_cases(session)
            if args.json:
                print(json.dumps([case_json(c) for c in cases], ensure_ascii=False, indent=2))
                return EXIT_OK
            if not cases:
                print("Inga registrerade ärenden.")
                return EXIT_OK
            rows = [
                (
                    c.label,
                    KIND_SV[c.kind.value],
                    STATUS_SV[c.status.value],
                    c.mailbox.address if c.mailbox else "",
                    c.sender_address or "(anonym)",
                    local_date(c.received_at),
                    iso(c.answer_due) or "",
                    c.heading[26:][:50],
                )
                for c in cases
            ]
            print(
                table(
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
        case = case_for_reader(session, args.number, user)
        _record_view(session, case.id, user.address if user else None, service.clock())
        if args.json:
            data = case_json(case)
            from postvakt.registry.original import original_view

            view = original_view(case.original)
            data["text"] = view.text
            data["attachments"] = [
                {"name": f.filename, "content_type": f.content_type, "size": f.size}
                for f in view.attachments
            ]
            data["address_check"] = bool(case.address_check)
            data["review_reasons"] = list(case.review_reasons or [])
            from postvakt.registry.notes import is_internal, note_text

            data["events"] = [
                {
                    "at": iso(e.at),
                    "kind": e.kind.value,
                    "actor": e.actor,
                    "detail": e.detail,
                    "document": e.document,
                    "internal": is_internal(e),
                }
                for e in case.events
            ]
            data["notes"] = [
                {"at": iso(e.at), "by": e.actor, "text": note_text(e)}
                for e in case.events
                if is_internal(e)
            ]
            print(json.dumps(data, ensure_ascii=False, indent=2))
            return EXIT_OK
        print(_case_text(case))
    return EXIT_OK


CASE_ACTIONS = ("add", "answer", "close", "forward", "feedback", "reopen", "wait")


def _case_action(args: argparse.Namespace) -> int:
    from postvakt.registry.cases import find_case

    service = open_service(args)
    with service:
        casework = service.casework
        assert casework is not None and service.sessions is not None
        command = args.cases_command
        callback = None
        if args.by:  # the event log says who did it: someone the config knows
            args.by = known_address(service.config, args.by, "--by")
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
            if args.channel == "phone" and service.callbacks is not None:
                # "Ring tillbaka" in a phone message: the handler is to call back in time.
                callback = service.callbacks.from_case(done.case, by=args.by, summary=args.summary)
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
            elif command == "feedback":
                done = casework.feedback(args.number, actor=actor, text=args.text)
            elif command == "reopen":
                reviewer = args.reviewer and known_address(
                    service.config, args.reviewer, "--reviewer"
                )
                done = casework.reopen(
                    args.number, actor=actor, reason=args.reason, reviewer=reviewer
                )
            else:
                done = casework.wait(args.number, actor=actor, note=args.note)
        waiting = []  # mailboxes another process works now: it places the drafts there
        for connector in service.connectors.values():  # place the drafts now
            placed = service.intake.deliver_drafts(connector)  # type: ignore[union-attr]
            waiting += placed.skipped
        service.deliver_diary()  # the new document (or the closure) to the diary now
        if command == "add" and service.care is not None:
            service.care.route_pending()  # a care case: to the deviation function now
    print(f"{done.case}: {STATUS_SV[done.status]}")
    if done.letter:
        print(f"{done.letter}: {done.where}")
    for who in done.told:
        print(f"Meddelat: {who}")
    for note in done.notes:
        print(note)
    if callback is not None and callback.made is not None:
        from postvakt.rules.notify import swedish_day

        view = callback.made.view
        print(
            f"Återuppringning {view.id}: {view.for_name} ringer {view.citizen} på {view.phone} "
            f"senast {swedish_day(view.due, weekday=True)}. {callback.made.told}".rstrip()
        )
    elif callback is not None and callback.wanted:
        print(f"Obs: medborgaren vill bli uppringd, men {callback.why_not}.")
    for line in waiting:
        print(f"Utkast väntar: {line} Utkasten läggs i brevlådan av den processen.")
    return EXIT_OK


def _note(args: argparse.Namespace) -> int:
    """An internal note, with the corrections' rights (``postvakt.registry.notes``)."""
    from postvakt.registry.notes import write_note

    service = open_service(args, connectors=False)
    with service:
        assert service.sessions is not None
        noted = write_note(
            service.config, service.sessions, service.clock, args.number, text=args.text, by=args.by
        )
    print(f"{noted.case}: intern anteckning sparad ({args.by}): {noted.text}")
    return EXIT_OK


def _care(args: argparse.Namespace) -> int:
    """Set or clear the care mark, with the corrections' rights; routed at once."""
    service = open_service(args)
    waiting = []
    with service:
        assert service.care is not None and service.intake is not None
        done = service.care.set_by_hand(args.number, by=args.by, care=not args.off)
        for connector in service.connectors.values():  # a neutral acknowledgment, if swapped
            waiting += service.intake.deliver_drafts(connector).skipped
    print(done.text)
    for line in waiting:
        print(f"Utkast väntar: {line} Utkasten läggs i brevlådan av den processen.")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from postvakt.registry.db import database_errors
    from postvakt.registry.export import export_rows, to_csv

    service = open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        rows = export_rows(session, args.since)
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(to_csv(rows))
    return EXIT_OK


def _sender_text(case: Any) -> str:
    if not case.sender_address:
        return "(anonym)"
    return (
        f"{case.sender_name} <{case.sender_address}>" if case.sender_name else case.sender_address
    )


def _case_text(case: Any) -> str:
    lines = [
        f"{case.label}  {case.heading}",
        f"  Typ:          {KIND_SV[case.kind.value]}"
        + ("  (behöver granskas)" if case.needs_review else ""),
        f"  Status:       {STATUS_SV[case.status.value]}",
        f"  Enhet:        {case.unit.name if case.unit else '-'}",
        f"  Område:       {case.service_area or '-'}",
        f"  Handläggare:  {case.handler or '-'}",
        f"  Brevlåda:     {case.mailbox.address if case.mailbox else '-'}",
        f"  Avsändare:    {_sender_text(case)}",
        f"  Kontakt:      {case.contact or '-'}",
        f"  Inkom:        {local_date(case.received_at)}",
        f"  Registrerat:  {local_date(case.registered_at)}",
        f"  Svar senast:  {iso(case.answer_due) or '-'}",
        f"  Message-ID:   {case.message_id or '-'}",
        f"  Klassning:    {case.classifier_label or '-'} ({case.classifier_confidence or 0:.2f}): "
        + "; ".join(case.classifier_reasons or []),
    ]
    if case.corrected_by:
        lines.append(f"  Rättat av:    {case.corrected_by} {local_date(case.corrected_at)}")
    if case.status.value == "withdrawn":
        lines.append(
            f"  Makulerat:    {local_date(case.withdrawn_at)}: {case.withdrawn_reason or '-'}"
        )
    if case.merged_into is not None:
        lines.append(f"  Sammanfört:   med {case.merged_into.label}")
    if case.address_check:
        lines.append("  Adress:       kontrollera avsändarens adress (utkastet saknar mottagare)")
    for reason in case.review_reasons or []:
        lines.append(f"  Granska:      {reason}")
    if case.individual_care:
        routed = (
            f"; skickat till avvikelsefunktionen {local_date(case.care_routed_at)}"
            if case.care_routed_at
            else "; väntar på att skickas till avvikelsefunktionen"
            if case.care_route
            else ""
        )
        lines.append(
            "  Vård/omsorg:  rör enskilds vård och omsorg (registreras i avvikelsemodulen)" + routed
        )
    if case.forwarded_to:
        lines.append(f"  Överlämnat:   {case.forwarded_to}")
    if case.answer_text:
        lines.append(f"  Svar:         {case.answer_text[:300]}")
    if case.actions:
        lines.append(f"  Åtgärder:     {case.actions[:300]}")
    lines += _citizen_lines(case)
    lines.append("  Händelser:")
    for event in case.events:
        doc = f" [{event.document}]" if event.document else ""
        lines.append(
            f"    {local_date(event.at)}  {EVENT_SV.get(event.kind.value, 'Händelse')}: "
            f"{event.actor}: {event.detail}{doc}"
        )
    return "\n".join(lines)


def _citizen_lines(case: Any) -> list[str]:
    """The citizen's own text and the attached files, from the stored original."""
    from postvakt.registry.original import original_view

    if not case.original:
        return []
    view = original_view(case.original)
    lines = ["  Medborgarens text" + (" (från HTML)" if view.from_html else "") + ":"]
    lines += [f"    {line}" for line in (view.text.strip() or "(tomt)").splitlines()]
    if view.cut:
        lines.append("    … (texten fortsätter; hela meddelandet finns i originalet)")
    for file in view.attachments:
        lines.append(
            f"  Bilaga {file.index + 1}:     {file.filename} ({file.content_type}, {file.size} byte)"
        )
    return lines


# ------------------------------------------------------------------------ the access log


def _record_view(session: Any, case_id: int, by: str | None, now: Any) -> None:
    """``cases show`` is a view of the case: it goes into the access log before it is shown,
    by ``--by`` or else by the name the reader is logged in as on this computer."""
    import getpass
    import socket

    from postvakt.registry.access import record_access

    actor = (by or "").strip()
    if not actor:
        try:
            actor = getpass.getuser()
        except (KeyError, OSError):  # no name for the user id (a bare container)
            actor = "okänd användare"
    record_access(
        session, case_id, actor=actor, via="cli", what="visa", client=socket.gethostname(), now=now
    )
    session.commit()


def _audit(args: argparse.Namespace) -> int:
    from postvakt.registry.access import WHAT_SV, access_log
    from postvakt.registry.cases import find_case
    from postvakt.registry.db import database_errors

    service = open_service(args, read_only=True)
    assert service.sessions is not None
    with service, service.sessions() as session, database_errors():
        case = find_case(session, args.number)
        rows = list(reversed(access_log(session, case.id)))  # oldest first, as a diary reads
        reference = case.reference
    if args.json:
        data = [
            {"at": iso(a.at), "actor": a.actor, "via": a.via, "what": a.what, "client": a.client}
            for a in rows
        ]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print(f"Ingen har visat {reference} än.")
        return EXIT_OK
    count = f"{len(rows)} visning" if len(rows) == 1 else f"{len(rows)} visningar"
    print(f"Åtkomstlogg för {reference} ({count}):")
    how = {"web": "webben", "cli": "kommandoraden"}
    print(
        table(
            [
                (
                    local_date(a.at),
                    a.actor,
                    WHAT_SV.get(a.what, a.what),
                    how.get(a.via, a.via),
                    a.client or "-",
                )
                for a in rows
            ],
            ("När", "Vem", "Vad", "Hur", "Varifrån"),
        )
    )
    return EXIT_OK
