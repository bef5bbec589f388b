"""The argument parser in Swedish, and the types that check each argument as it is read.

argparse's own messages are English and assembled from pieces; :class:`Parser` translates
the whole message by pattern (never word by word, so a value the user typed is left alone),
and its help says *användning*, *argument* and *flaggor*.  The type functions raise
``argparse.ArgumentTypeError`` with a Swedish message that says what to write instead;
argparse puts the argument's name in front.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "EXIT_USAGE",
    "Parser",
    "email",
    "existing_file",
    "integer",
    "output_file",
    "parse_date",
    "port",
    "text",
    "translate",
    "year",
]

EXIT_USAGE = 2

FIRST_YEAR, LAST_YEAR = 1900, 2199
"""Dates and years outside these are typos (and beyond 9999 crash the date arithmetic)."""

_TYPE_SV = {"int": "ett heltal", "float": "ett tal", "Path": "en sökväg"}

# argparse's messages (Python 3.11–3.13), each as a whole; the groups are the user's words.
_MESSAGES: tuple[tuple[str, Callable[..., str]], ...] = (
    (r"the following arguments are required: (.+)", "följande argument saknas: {0}".format),
    (r"one of the arguments (.+) is required", "ett av argumenten {0} måste anges".format),
    (r"unrecognized arguments: (.+)", "okända argument: {0}".format),
    (
        r"invalid choice: (.+?) \(choose from (.+)\)",
        "ogiltigt val: {0} (välj bland {1})".format,
    ),
    (
        r"unknown parser (.+?) \(choices: (.+)\)",
        "okänt kommando {0} (välj bland {1})".format,
    ),
    (
        r"invalid (\w+) value: (.+)",
        lambda kind, value: f"ogiltigt värde {value}: ska vara {_TYPE_SV.get(kind, 'något annat')}",
    ),
    (
        r"ambiguous option: (\S+?)(?:=\S*)? could match (.+)",
        "tvetydig flagga {0}: kan vara {1}; skriv hela namnet".format,
    ),
    (r"expected one argument", lambda: "ett värde saknas efter flaggan"),
    (r"expected at most one argument", lambda: "högst ett värde får anges"),
    (r"expected at least one argument", lambda: "minst ett värde saknas efter flaggan"),
    (r"expected (\d+) arguments?", "{0} värden ska anges".format),
    (r"not allowed with argument (.+)", "kan inte anges tillsammans med {0}".format),
    (r"ignored explicit argument (.+)", "flaggan tar inget värde (fick {0})".format),
    (r"unexpected option string: (.+)", "oväntad flagga: {0}".format),
)


def translate(message: str) -> str:
    """argparse's error ``message`` in Swedish; a message it does not know is left as it is."""
    prefix = ""
    match = re.fullmatch(r"argument (.+?): (.*)", message, flags=re.S)
    if match:
        prefix, message = f"argumentet {match[1]}: ", match[2]
    for pattern, swedish in _MESSAGES:
        found = re.fullmatch(pattern, message, flags=re.S)
        if found:
            return prefix + swedish(*found.groups())
    return prefix + message


_METAVAR_SV = {
    "action": "TEXT",
    "by": "E-POST",
    "contact": "KONTAKT",
    "email": "E-POST",
    "host": "ADRESS",
    "name": "NAMN",
    "note": "TEXT",
    "port": "PORT",
    "reason": "TEXT",
    "subject": "ÄMNE",
    "summary": "TEXT",
    "text": "TEXT",
    "to": "MOTTAGARE",
    "unit": "ENHET",
}


class _Formatter(argparse.HelpFormatter):
    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Any,
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, "användning: " if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """argparse with Swedish messages and help, and our exit code for usage errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "argument"
        self._optionals.title = "flaggor"
        if add_help:
            self.add_argument(
                "-h",
                "--help",
                action="help",
                default=argparse.SUPPRESS,
                help="visa hjälpen och avsluta",
            )

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        # Usage lines show a placeholder for each value: in Swedish, not the English key.
        longs = [a for a in args if isinstance(a, str) and a.startswith("--")]
        if longs and "metavar" not in kwargs and "choices" not in kwargs:
            name = kwargs.get("dest") or longs[0][2:].replace("-", "_")
            if name in _METAVAR_SV and kwargs.get("action", "store") in ("store", "append"):
                kwargs["metavar"] = _METAVAR_SV[name]
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(
            f"{self.prog}: fel: {translate(message)}\nSe '{self.prog} --help'.",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)


def parse_date(value: str) -> date:
    """A date written ÅÅÅÅ-MM-DD, in years 1900–2199."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} är inget datum; skriv ÅÅÅÅ-MM-DD, t.ex. 2026-12-24"
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{value!r} ligger utanför åren {FIRST_YEAR}–{LAST_YEAR}; stavfel i året?"
        )
    return day


def integer(low: int, high: int) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high``."""

    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{value!r} är inget heltal; skriv t.ex. {low}"
            ) from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"ska vara mellan {low} och {high} (var {number})")
        return number

    parse.__name__ = "integer"
    return parse


def year(value: str) -> int:
    """A year, 1900–2199."""
    try:
        return integer(FIRST_YEAR, LAST_YEAR)(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{value!r} är inget år mellan {FIRST_YEAR} och {LAST_YEAR}; skriv t.ex. 2026"
        ) from None


port = integer(1, 65535)


def text(value: str) -> str:
    """Text that is not empty."""
    if not value.strip():
        raise argparse.ArgumentTypeError("får inte vara tom")
    return value.strip()


_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


def email(value: str) -> str:
    """An e-mail address (lower case)."""
    value = value.strip()
    if not _ADDRESS.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} är ingen e-postadress; skriv t.ex. namn@exempel.se"
        )
    return value.lower()


def existing_file(*suffixes: str) -> Callable[[str], Path]:
    """A file that exists and can be read (with one of ``suffixes``, when given)."""

    def parse(value: str) -> Path:
        path = Path(value).expanduser()
        if suffixes and path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{value}: ange en fil som slutar på {_either(suffixes)}"
            )
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{value} är en mapp; ange en fil")
        if not path.is_file():
            raise argparse.ArgumentTypeError(f"filen {value} finns inte; kontrollera sökvägen")
        try:
            with path.open("rb") as f:
                head = f.read(4)
        except OSError:
            raise argparse.ArgumentTypeError(f"du får inte läsa {value}") from None
        if suffixes == (".docx",) and head != b"PK\x03\x04":  # a .docx is a zip file
            raise argparse.ArgumentTypeError(
                f"{value} är inget Word-dokument; spara brevet som .docx i Word"
            )
        return path

    parse.__name__ = "Path"
    return parse


def output_file(*suffixes: str) -> Callable[[str], Path]:
    """A file to write: one of ``suffixes``, in a folder that exists, not itself a folder."""

    def parse(value: str) -> Path:
        path = Path(value).expanduser()
        if path.is_dir():
            raise argparse.ArgumentTypeError(
                f"{value} är en mapp; ange en fil i den, t.ex. {path / ('fil' + suffixes[0])}"
            )
        if path.suffix.lower() not in suffixes:
            raise argparse.ArgumentTypeError(
                f"{value}: ange en fil som slutar på {_either(suffixes)}"
            )
        folder = path.parent
        if not folder.is_dir():
            raise argparse.ArgumentTypeError(
                f"mappen {folder} finns inte; skapa den eller välj en annan"
            )
        return path

    parse.__name__ = "Path"
    return parse


def _either(suffixes: tuple[str, ...]) -> str:
    return suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} eller {suffixes[-1]}"
