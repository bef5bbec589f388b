"""The ``postvakt`` command.  Thin: parses arguments, calls the service or a module, prints.

One module per command group, each holding its sub-parser and its handlers:

- :mod:`~postvakt.cli.serve`: ``run``, ``check-config``, ``web``, ``demo``
- :mod:`~postvakt.cli.cases`: ``cases``
- :mod:`~postvakt.cli.reports`: ``report``, ``failed``, ``messages``
- :mod:`~postvakt.cli.absence`: ``absence``
- :mod:`~postvakt.cli.model`: ``classify``, ``classifier``, ``calendar``, ``rules``

Exit codes: 0 ok, 2 usage or config error, 1 runtime failure; every error prints what to do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from postvakt import __version__
from postvakt.cli import absence, cases, model, reports, serve
from postvakt.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, Parser
from postvakt.errors import ConfigError, NotFoundError, PostvaktError

if TYPE_CHECKING:
    from postvakt.clock import Clock

__all__ = ["main"]

GROUPS = (serve, cases, reports, absence, model)
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
    parser.add_argument("--version", action="version", version=f"postvakt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO", parser_class=Parser)
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    """Run the command in ``argv``; ``clock`` replaces the system clock (tests, replays)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except NotFoundError as exc:
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


if __name__ == "__main__":
    sys.exit(main())
