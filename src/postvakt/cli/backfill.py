"""``postvakt backfill``: a mailbox's older mail registered on purpose; and the lines
``check-config`` and ``run`` print about the mail each mailbox holds from before its start."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

from postvakt.cli.args import email, parse_date
from postvakt.cli.common import EXIT_FAILURE, EXIT_OK, iso, local_date, open_service
from postvakt.errors import InvalidInputError
from postvakt.wording import count

__all__ = ["add_parsers", "before_start_lines", "cmd_backfill"]

DISPOSITION_SV = {
    "case": "nytt ärende",
    "duplicate": "redan registrerat",
    "not_case": "inget ärende",
    "screened": "maskinpost",
    "internal": "intern e-post",
    "failed": "misslyckades",
    "followup": "i ett befintligt ärende",
    "before_start": "före start",
}
HINT = (
    "Post som kom före start registreras inte; 'postvakt backfill BREVLÅDA --since "
    "ÅÅÅÅ-MM-DD --by E-POST' registrerar den med avsikt."
)


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    backfill = sub.add_parser(
        "backfill",
        help="registrera äldre post: det som kom före brevlådans start (start_from)",
        description="Registrerar meddelanden som kom till brevlådan från och med --since men "
        "före brevlådans start. Svarstiderna räknas från när meddelandet kom; ett ärende vars "
        "tidsgräns redan har gått ut markeras för granskning (inga påminnelser), och "
        "mottagningsbekräftelsen lovar svar så snart som möjligt i stället för ett datum "
        "som redan har passerat. Det som brevlådan redan har besvarat blir besvarade ärenden.",
    )
    backfill.add_argument("mailbox", metavar="BREVLÅDA", type=email, help="brevlådans adress")
    backfill.add_argument(
        "--since",
        required=True,
        type=parse_date,
        metavar="ÅÅÅÅ-MM-DD",
        help="första dagen att ta med (post som kom den dagen och senare, före start)",
    )
    backfill.add_argument(
        "--by", required=True, type=email, metavar="E-POST", help="du som gör det"
    )
    backfill.add_argument("--json", action="store_true", help="skriv ut som JSON")
    backfill.set_defaults(handler=cmd_backfill)


def _count(n: int, one: str = "meddelande", many: str = "meddelanden") -> str:
    return f"inga {many}" if n == 0 else count(n, one, many)


def before_start_lines(found: Sequence[Any]) -> list[str]:
    """One Swedish line per mailbox (:class:`postvakt.intake.start.BeforeStart`), and a hint
    when any holds older mail."""
    lines = []
    for item in found:
        if item.error:
            why = item.error.removeprefix(f"{item.address}: ")  # the address is said once
            lines.append(f"  {item.address}: kunde inte räkna posten före start: {why}")
            continue
        if item.count is None:
            what = "antalet kan inte räknas med den här anslutningen"
        elif item.start is None:
            what = (
                f"start när brevlådan bevakas första gången; {_count(item.count)} finns där "
                "redan och kommer före start"
            )
        else:
            since = "start_from" if item.configured else "då brevlådan först bevakades"
            what = f"start {local_date(item.start)} ({since}); {_count(item.count)} kom före start"
        lines.append(f"  {item.address}: {what}")
    if any(item.count for item in found):
        lines.append(f"  {HINT}")
    return lines


def cmd_backfill(args: argparse.Namespace) -> int:
    from postvakt.intake.backfill import backfill

    service = open_service(args)
    with service:
        config, intake = service.config, service.intake
        assert intake is not None
        address = args.mailbox
        if config.mailbox(address) is None:
            raise InvalidInputError(
                f"{address} är ingen brevlåda i konfigurationen; ange en adress ur [[mailboxes]]",
                argument="BREVLÅDA",
            )
        now = intake.now()
        if args.since > now.date():
            raise InvalidInputError(
                f"{args.since.isoformat()} har inte varit än; ange den första dagen att ta med",
                argument="--since",
            )
        since = datetime.combine(args.since, time(0), intake.tz)
        report = backfill(intake, service.connectors[address], since=since, by=args.by)
        if service.notifier is not None:  # e.g. a reviewer told of a reopened case
            report.placed.errors += service.notifier.flush(service.clock()).errors
    if report.skipped:
        print(f"Fel: {report.skipped}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print(
            json.dumps(
                {
                    "mailbox": address,
                    "since": iso(since),
                    "messages": [
                        {
                            "key": o.key,
                            "disposition": o.disposition.value,
                            "case": o.case,
                            "reason": o.reason,
                        }
                        for o in report.outcomes
                    ],
                    "gone": report.gone,
                    "drafts": [where for _ref, where in report.placed.drafts_saved],
                    "errors": report.read.errors + report.placed.errors,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print(report)
    failed = sum(o.disposition.value == "failed" for o in report.outcomes)
    return EXIT_FAILURE if failed or report.read.errors or report.placed.errors else EXIT_OK


def _print(report: Any) -> None:
    from postvakt.registry.models import Disposition

    day = report.since.date().isoformat()
    if not report.outcomes and not report.gone:
        print(f"{report.mailbox}: ingen post från {day} som kom före brevlådans start.")
    else:
        print(
            f"{report.mailbox}: {_count(len(report.outcomes))} från {day} och före start "
            f"togs upp: {_count(report.count(Disposition.CASE), 'nytt ärende', 'nya ärenden')}, "
            f"{report.count(Disposition.FAILED)} misslyckades."
        )
    for o in report.outcomes:
        what = DISPOSITION_SV.get(o.disposition.value, o.disposition.value)
        print(f"  {o.key:<40} {what + (' ' + o.case if o.case else ''):<26} {o.reason}")
    for key in report.gone:
        print(f"  {key:<40} finns inte längre i brevlådan (raderat eller flyttat)")
    if report.placed.drafts_saved:
        print(f"Utkast i Drafts: {len(report.placed.drafts_saved)}.")
    for error in (*report.read.errors, *report.placed.errors):
        print(f"Fel: {error}", file=sys.stderr)
    if report.count(Disposition.FAILED):
        print(
            "Se 'postvakt failed list'. Ett misslyckat meddelande tas upp igen när "
            "'postvakt backfill' körs på nytt.",
            file=sys.stderr,
        )
