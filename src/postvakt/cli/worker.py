"""``postvakt worker``: one of many processes sharing the work through PostgreSQL."""

from __future__ import annotations

import argparse
from typing import Any

from postvakt.cli.args import integer
from postvakt.cli.common import EXIT_OK, config_path, open_service
from postvakt.cli.serve import serve_metrics_of
from postvakt.process import settle_garbage_collector


def add_parsers(sub: Any) -> None:
    """Add this group's commands to the top-level sub-parsers."""
    worker = sub.add_parser(
        "worker",
        help="arbeta i kön i PostgreSQL tillsammans med andra 'postvakt worker' (flera maskiner)",
    )
    worker.add_argument(
        "--concurrency",
        type=integer(1, 64),
        default=4,
        metavar="N",
        help="så många jobb åt gången i den här processen (standard: 4)",
    )
    worker.add_argument(
        "--metrics-port",
        type=integer(1, 65535),
        metavar="PORT",
        help="visa den här arbetarens mätvärden (Prometheus) på PORT i stället för "
        "service.metrics_port; en egen port för varje arbetare på samma maskin",
    )
    worker.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from postvakt.config import load_config
    from postvakt.workers import refuse_sqlite, run_worker

    refuse_sqlite(load_config(config_path(args)))  # before a SQLite file would be created
    with open_service(args) as service:
        if args.own_process:
            settle_garbage_collector()
        # This process reads the mail: its counters (messages by outcome, pass durations)
        # are counted here and nowhere else.
        serve_metrics_of(service, args.metrics_port)
        run_worker(service, concurrency=args.concurrency)
    return EXIT_OK
