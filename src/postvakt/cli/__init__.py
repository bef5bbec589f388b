"""The ``postvakt`` command.  Thin: parses arguments, calls the service or a module, prints.

One module per command group, each holding its sub-parser and its handlers:

- :mod:`~postvakt.cli.serve`: ``run``, ``check-config``, ``web``, ``demo``
- :mod:`~postvakt.cli.backfill`: ``backfill`` (older mail, registered on purpose)
- :mod:`~postvakt.cli.cases`: ``cases``
- :mod:`~postvakt.cli.diary`: ``diary``, and ``cases number | import-numbers | callback``
- :mod:`~postvakt.cli.callbacks`: ``callbacks``
- :mod:`~postvakt.cli.reports`: ``report``, ``failed``, ``messages``
- :mod:`~postvakt.cli.absence`: ``absence``
- :mod:`~postvakt.cli.model`: ``classify``, ``classifier``, ``calendar``, ``rules``
- :mod:`~postvakt.cli.worker`: ``worker`` (procrastinate on PostgreSQL)
- :mod:`~postvakt.cli.status`: ``status``

Exit codes: 0 ok, 2 usage or config error (the user must change what they asked or wrote),
1 runtime failure; every error prints what to do.  An exception nobody expected is a bug: the
user gets one Swedish line naming the command and where it failed, and the traceback goes to
a crash file (:mod:`~postvakt.cli.crash`), never to the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from postvakt import __version__
from postvakt.cli import (
    absence,
    backfill,
    callbacks,
    cases,
    diary,
    model,
    reports,
    serve,
    status,
    worker,
)
from postvakt.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Parser
from postvakt.cli.crash import report_crash
from postvakt.errors import ConfigError, PostvaktError, RequestError

if TYPE_CHECKING:
    from postvakt.clock import Clock

__all__ = ["main"]

GROUPS = (serve, backfill, cases, diary, callbacks, reports, absence, model, status, worker)
"""In the order the commands are listed in ``postvakt --help``."""


def build_parser() -> Parser:
    parser = Parser(
        prog="postvakt",
        description="Postvakt bevakar kommunens brevlådor, registrerar klagomål och synpunkter "
        "och skriver utkast till svar.",
    )
    parser.add_argument(
        "--config", "-c", metavar="FIL", help="konfigurationsfilen (TOML); annars POSTVAKT_CONFIG"
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"postvakt {__version__}",
        help="visa versionen och avsluta",
    )
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO", parser_class=Parser)
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run the command in ``argv``; ``clock`` replaces the system clock (tests, replays).

    Without ``argv`` (the ``postvakt`` program) the process is Postvakt's own, and a command
    that runs for long may tune it (:func:`postvakt.process.settle_garbage_collector`); a
    caller that passes ``argv`` (tests, another program) keeps its process as it is.
    """
    command = "postvakt"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        args.clock = clock
        args.own_process = argv is None
        if not args.command:
            parser.print_help()
            return EXIT_USAGE
        command = _command(args)
        return args.handler(args)  # type: ignore[no-any-return]
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except RequestError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PostvaktError as exc:
        print(f"Fel: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader (`| head`) went away: stop quietly, and keep Python from complaining
        # about flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # a bug: told in Swedish, the traceback kept in a crash file
        print(report_crash(exc, command), file=sys.stderr)
        return EXIT_FAILURE


def _command(args: argparse.Namespace) -> str:
    """``postvakt cases show``: the command's words only, never its arguments (they may name
    a person)."""
    action = getattr(args, f"{args.command.replace('-', '_')}_command", None)
    return " ".join(w for w in ("postvakt", args.command, action) if w)


if __name__ == "__main__":
    sys.exit(main())
