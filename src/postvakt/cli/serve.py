"""``postvakt run``, ``check-config``, ``web`` and ``demo``: running Postvakt."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from postvakt.cli.args import email, port
from postvakt.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Parser,
    config_path,
    open_service,
)
from postvakt.errors import ConfigError, ConfigProblem, InvalidInputError, PostvaktError
from postvakt.process import settle_garbage_collector
from postvakt.wording import count


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    run = sub.add_parser("run", help="bevaka brevlådorna tills processen stoppas")
    run.add_argument("--once", action="store_true", help="läs varje brevlåda en gång och avsluta")

    check = sub.add_parser("check-config", help="kontrollera konfigurationsfilen och visa alla fel")
    web = sub.add_parser("web", help="webbpanelen: översikt, ärenden, frånvaro, registrator")
    web_sub = web.add_subparsers(dest="web_command", metavar="ÅTGÄRD", parser_class=Parser)
    serve = web_sub.add_parser("serve", help="starta webbpanelen (standard)")
    for where, default in ((web, None), (serve, argparse.SUPPRESS)):
        where.add_argument(
            "--host", default=default, help="adress att lyssna på (standard: web.host, 127.0.0.1)"
        )
        where.add_argument(
            "--port", type=port, default=default, help="port (standard: web.port, 8080)"
        )
    adduser = web_sub.add_parser(
        "adduser", help="skapa ett lokalt konto eller byt lösenord (lösenordet frågas efter)"
    )
    adduser.add_argument(
        "address", metavar="E-POST", type=email, help="personens adress i konfigurationen"
    )
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
    demo.add_argument(
        "--diary",
        action="store_true",
        help="diariesystemets egna nummer: Postvakts referens tills registratorn ger "
        "diarienumret, och varje dokument till en mapp per ärende (diarium/)",
    )
    run.set_defaults(handler=cmd_run)
    check.set_defaults(handler=cmd_check_config)
    web.set_defaults(handler=cmd_web)
    demo.set_defaults(handler=cmd_demo)


def _before_start(config: Any, connectors: Any, environ: Any, now: Any) -> None:
    """How much of each mailbox's mail is from before its start (``start_from``)."""
    from postvakt.cli.backfill import before_start_lines
    from postvakt.intake.start import count_before_start, recorded_starts

    found = count_before_start(config, connectors, recorded_starts(config, environ), now)
    print("Post före brevlådornas start:")
    print("\n".join(before_start_lines(found)))


def cmd_run(args: argparse.Namespace) -> int:
    service = open_service(args)
    with service:
        _before_start(service.config, service.connectors, service.environ, service.clock())
        if args.own_process:
            settle_garbage_collector()
        if args.once:
            report = service.run_once()
            from postvakt.registry.models import Disposition

            print(
                f"Läste {count(len(report.outcomes), 'nytt meddelande', 'nya meddelanden')}: "
                f"{count(report.count(Disposition.CASE), 'nytt ärende', 'nya ärenden')}, "
                f"{count(report.count(Disposition.FAILED), 'misslyckat', 'misslyckade')}, "
                f"{count(len(report.drafts_saved), 'utkast sparat', 'utkast sparade')}."
            )
            for skipped in report.skipped:  # another process works it: not an error
                print(f"Hoppade över {skipped}")
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
        serve_metrics_of(service)
        service.run_forever()
    return EXIT_OK


def serve_metrics_of(service: Any, port: int | None = None) -> None:
    """Start the metrics server on ``port`` (default ``service.metrics_port``), if one is
    set: a daemon thread serving this process's counters and the database's figures."""
    settings = service.config.service
    port = settings.metrics_port if port is None else port
    if port is None:
        return
    from postvakt.metrics import registry_for, serve_metrics

    registry = registry_for(service.config, service.sessions, service.clock)
    try:
        serve_metrics(registry, port, settings.metrics_host)
    except OSError as exc:
        raise ConfigError(
            [
                ConfigProblem(
                    "service.metrics_port",
                    f"mätvärdena kan inte visas på {settings.metrics_host}:{port} "
                    f"({exc.strerror}); välj en ledig port (för 'postvakt worker': "
                    "--metrics-port, en per arbetare på samma maskin)",
                )
            ]
        ) from exc
    print(f"Mätvärden: http://{settings.metrics_host}:{port}/metrics", flush=True)


def cmd_check_config(args: argparse.Namespace) -> int:
    from postvakt.config import inspect_config

    path = config_path(args)
    config, problems = inspect_config(path)
    if config is None or problems:
        raise ConfigError(problems, source=str(path))
    print(
        f"{path}: konfigurationen är giltig — "
        f"{count(len(config.mailboxes), 'brevlåda', 'brevlådor')}, "
        f"{count(len(config.units), 'enhet', 'enheter')}, "
        f"{count(len(config.people), 'person', 'personer')}, policy {config.organisation.policy}."
    )
    import os

    from postvakt.clock import system_clock
    from postvakt.mailbox import open_connector

    connectors = {m.address: open_connector(m, config, os.environ) for m in config.mailboxes}
    try:
        _before_start(config, connectors, os.environ, (args.clock or system_clock())())
    finally:
        for connector in connectors.values():
            with contextlib.suppress(PostvaktError):
                connector.close()
    return EXIT_OK


def cmd_web(args: argparse.Namespace) -> int:
    from postvakt.config import WebConfig, check_paths, load_config
    from postvakt.web.commands import add_user, list_users, serve

    path = config_path(args)
    config = load_config(path)
    problems = check_paths(config)
    if problems:
        raise ConfigError(problems, source=str(path))
    host = getattr(args, "host", None)
    loopback = WebConfig.model_construct(host=host).loopback if host else True
    if not loopback and config.web.session_secret_env is None:
        # The same rule as web.host in the file: an exposed panel needs a lasting key.
        raise InvalidInputError(
            f"webbpanelen kan bara lyssna på {host} när web.session_secret_env är satt i "
            "konfigurationen; använd 127.0.0.1 eller ange nyckeln först",
            argument="--host",
        )
    if args.web_command == "adduser":
        return add_user(config, args.address, password_env=args.password_env)
    if args.web_command == "users":
        return list_users(config)
    return serve(config, host=getattr(args, "host", None), port=getattr(args, "port", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from postvakt.demo import run_demo

    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{folder} är en fil; ange en mapp", argument="--dir")
    from postvakt.logs import configure_logging

    configure_logging()
    return run_demo(folder, diary=args.diary, clock=args.clock)
