"""``postvakt classify``, ``classifier``, ``calendar`` and ``rules``: the model, the working days, the rule jobs."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from postvakt.cli.args import existing_file, integer, year
from postvakt.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Parser,
    classifier_for,
    config_path,
    open_service,
    optional_config,
    parse_date,
)
from postvakt.errors import InvalidInputError
from postvakt.wording import count


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    classify = sub.add_parser(
        "classify",
        help="klassificera .eml-filer (med konfiguration: organisationens egen modell och domäner)",
    )
    classify.add_argument("files", nargs="+", type=existing_file(), metavar="FIL.eml")
    classify.add_argument("--json", action="store_true", help="skriv ut som JSON")

    model = sub.add_parser("classifier", help="klassificerarens modell: träna om, utvärdera")
    model_sub = model.add_subparsers(
        dest="classifier_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    train = model_sub.add_parser(
        "train",
        help="träna om modellen på korpusen, organisationens egna meddelanden och (med "
        "konfiguration) rättelserna i databasen, och ta den i bruk",
    )
    train.add_argument(
        "--corpus",
        metavar="MAPP",
        help="egna märkta meddelanden (.eml och labels.csv); annars classifier.corpus",
    )
    model_sub.add_parser(
        "retrain",
        help="träna med rättelserna och ta den nya modellen i bruk bara om den inte är sämre "
        "(som nattjobbet; konfiguration behövs)",
    )
    evaluate = model_sub.add_parser(
        "evaluate",
        help="precision, täckning och F1 per etikett på märkta meddelanden; utan MAPP: med "
        "konfiguration andelen rättade bedömningar per månad och vad som rättades till vad, "
        "annars korpusen: varje källa utanför träningen i tur och ordning, och utvärderingsdelen",
    )
    evaluate.add_argument(
        "dir", nargs="?", metavar="MAPP", help="MAPP/*.eml med MAPP/labels.csv (file,label,…)"
    )
    evaluate.add_argument(
        "--shipped",
        action="store_true",
        help="mät på korpusen (en källa i taget utanför träningen) även med konfiguration",
    )
    evaluate.add_argument("--json", action="store_true", help="skriv ut som JSON")
    calendar = sub.add_parser(
        "calendar", help="arbetsdagar och tidsfrister (ingen konfiguration behövs)"
    )
    calendar_sub = calendar.add_subparsers(
        dest="calendar_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    due = calendar_sub.add_parser("due", help="sista dag för en tidsfrist")
    due.add_argument(
        "--from",
        dest="start",
        required=True,
        type=parse_date,
        metavar="DATUM",
        help="dagen meddelandet kom in (ÅÅÅÅ-MM-DD); den dagen räknas inte",
    )
    length = due.add_mutually_exclusive_group(required=True)
    length.add_argument(
        "--working-days", type=integer(1, 3650), metavar="N", help="inom N arbetsdagar"
    )
    length.add_argument(
        "--days",
        type=integer(1, 3650),
        metavar="N",
        help="inom N dagar (sista dag flyttas till arbetsdag)",
    )
    show = calendar_sub.add_parser("show", help="årets vardagar som inte är arbetsdagar")
    show.add_argument("year", type=year, metavar="ÅR")
    rules = sub.add_parser("rules", help="kör en regelkontroll nu")
    rules_sub = rules.add_subparsers(
        dest="rules_command", metavar="ÅTGÄRD", parser_class=Parser, required=True
    )
    rules_run = rules_sub.add_parser(
        "run",
        help="kör ett jobb: coverage, daily-open, reminders, compilation, retrain, head-digest",
    )
    rules_run.add_argument(
        "job",
        metavar="JOBB",
        choices=("coverage", "daily-open", "reminders", "compilation", "retrain", "head-digest"),
    )
    rules_run.add_argument(
        "--force", action="store_true", help="kör även om jobbet redan körts i dag"
    )
    classify.set_defaults(handler=cmd_classify)
    model.set_defaults(handler=cmd_classifier)
    calendar.set_defaults(handler=cmd_calendar)
    rules.set_defaults(handler=cmd_rules)


def cmd_classify(args: argparse.Namespace) -> int:
    from postvakt.classifier.commands import classify_files, format_result

    for path in args.files:
        _check_message(path)
    config = optional_config(args)
    results = classify_files(args.files, classifier_for(config), config=config)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            print(format_result(result))
    return EXIT_OK


def _check_message(path: Path) -> None:
    """Refuse what is plainly not an e-mail message (a picture, a Word file, an empty file):
    classifying it would print a confident verdict about nothing."""
    with path.open("rb") as f:
        head = f.read(64 * 1024)
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    header = re.match(rb"(From |[\x21-\x39\x3b-\x7e]+:)", first)
    if not head.strip() or b"\x00" in head.split(b"\n\n", 1)[0] or not header:
        raise InvalidInputError(
            f"{path} är inget e-postmeddelande (ingen rubrikrad som 'From:' eller 'Subject:' "
            "först i filen); spara meddelandet som .eml från e-postprogrammet",
            argument="FIL.eml",
        )


def cmd_classifier(args: argparse.Namespace) -> int:
    from postvakt.classifier.commands import evaluation_json
    from postvakt.classifier.evaluate import evaluate_corpus, evaluate_dir

    config = optional_config(args)
    if args.classifier_command in ("train", "retrain"):
        return _train(args, config)
    if args.dir:
        result: Any = evaluate_dir(args.dir, classifier_for(config))
    elif config is not None and not args.shipped:
        result = _correction_report(args, config)
    else:
        band = config.classifier.review_band if config is not None else None
        result = evaluate_corpus(review_band=band)
    print(
        json.dumps(evaluation_json(result), ensure_ascii=False, indent=2) if args.json else result
    )
    return EXIT_OK


def _train(args: argparse.Namespace, config: Any) -> int:
    """``train``: without a config the corpus (and --corpus); with one, the corrections in
    its database too, and the model is taken into use.  ``retrain``: as the nightly job."""
    from postvakt.classifier.commands import train_model, trained_line
    from postvakt.classifier.retrain import retrain

    by_hand = args.classifier_command == "train"
    corpus = Path(args.corpus) if by_hand and args.corpus else None
    if by_hand and config is None:
        print(train_model(corpus, None))
        return EXIT_OK
    with open_service(args, read_only=True) as service:
        assert service.sessions is not None
        result = retrain(
            service.config, service.sessions, now=service.clock(), by_hand=by_hand, extra_dir=corpus
        )
    if by_hand:
        own = corpus or _own_corpus(service.config)
        print(trained_line(result, own))
    else:
        print(result)
    return EXIT_OK


def _correction_report(args: argparse.Namespace, config: Any) -> Any:
    """The correction rate per month and what was corrected into what, from the database."""
    from zoneinfo import ZoneInfo

    from postvakt.classifier.correction_report import correction_report
    from postvakt.registry.db import database_errors

    with open_service(args, read_only=True) as service:
        assert service.sessions is not None
        with service.sessions() as session, database_errors():
            return correction_report(session, ZoneInfo(config.organisation.timezone))


def _own_corpus(config: Any) -> Path | None:
    return config.path(config.classifier.corpus) if config.classifier.corpus else None


def cmd_calendar(args: argparse.Namespace) -> int:
    from postvakt.rules.calendar import WorkingCalendar

    closures: tuple[date, ...] = ()
    if args.config or os.environ.get("POSTVAKT_CONFIG"):
        from postvakt.config import load_config

        closures = load_config(config_path(args)).organisation.closure_days
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


def cmd_rules(args: argparse.Namespace) -> int:
    # Retraining reads only the database: no mail server (nor its password) is needed.
    service = open_service(args, connectors=args.job != "retrain")
    with service:
        assert service.jobs is not None
        report = service.jobs.run(args.job, force=args.force)
        if not report.ran:
            print(f"{args.job} kördes inte: {report.why_not}")
            return EXIT_OK
        if report.retraining is not None:
            print(report.retraining)
            return EXIT_OK
        for result in report.opened:
            state = {True: "öppnad", False: "INTE öppnad", None: "okänt"}[result.opened]
            print(f"{result.mailbox}: {state} – {result.evidence}")
        for item in report.planned:
            print(f"{item.recipient}: {item.line}")
        sent = report.sent
        if sent.queued:
            print(f"{count(sent.queued, 'avisering väntar', 'aviseringar väntar')} till arbetstid.")
        print(f"{count(len(sent.sent), 'sammanfattning skickad', 'sammanfattningar skickade')}.")
        for error in sent.errors:
            print(f"Fel: {error}", file=sys.stderr)
        return EXIT_FAILURE if sent.errors else EXIT_OK
