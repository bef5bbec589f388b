"""What is wrong with a config file, in Swedish: pydantic's and tomllib's errors translated,
each with the key (``mailboxes[2].owners[0]``) or the line that caused it."""

from __future__ import annotations

import difflib
import re
import tomllib
from typing import Any

from pydantic import BaseModel, ValidationError

from postvakt.errors import ConfigProblem

__all__ = ["problems_from", "toml_problem"]

_DATE = "ska vara ett datum, t.ex. 2026-12-24"
_TIME = 'ska vara en tid, t.ex. "08:00" (timmar 00–23, minuter 00–59)'
_LIST = 'ska vara en lista, t.ex. ["a", "b"]'

_MESSAGES = {
    "missing": "saknas men måste anges",
    "string_type": "ska vara en text inom citattecken",
    "int_type": "ska vara ett heltal",
    "int_parsing": "ska vara ett heltal",
    "int_from_float": "ska vara ett heltal, utan decimaler",
    "float_type": "ska vara ett tal",
    "float_parsing": "ska vara ett tal",
    "finite_number": "ska vara ett vanligt tal (inte inf eller nan)",
    "bool_type": "ska vara true eller false",
    "bool_parsing": "ska vara true eller false",
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": f"{_DATE}, utan klockslag",
    "time_type": _TIME,
    "time_parsing": _TIME,
    "path_type": "ska vara en sökväg inom citattecken",
    "tuple_type": _LIST,
    "list_type": _LIST,
    "model_type": "ska vara en tabell",
    "model_attributes_type": "ska vara en tabell",
    "dict_type": "ska vara en tabell",
    "string_too_short": "får inte vara tom",
    "too_short": "har för få värden",
    "too_long": "har för många värden",
}


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif (isinstance(part, str) and part.startswith("function-")) or part in ("tagged-union",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the table at ``loc`` (for 'did you mean' on typos)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        current = _model_in(annotation)
        if current is None:
            return []
    return [name for name, f in current.model_fields.items() if not f.exclude]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _message(error: Any, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc)
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f" — menade du {hint[0]!r}?" if hint else ""
        return f"okänd nyckel (stavfel?){suggestion} Tillåtna här: {', '.join(allowed)}"
    if kind == "literal_error":
        allowed = str(ctx.get("expected", "")).replace(" or ", " eller ")
        return f"ogiltigt värde {value!r}; tillåtna: {allowed}"
    if kind in ("value_error", "assertion_error") and ctx.get("error") is not None:
        return str(ctx["error"])
    bounds = {
        "greater_than_equal": "minst",
        "less_than_equal": "högst",
        "greater_than": "större än",
        "less_than": "mindre än",
    }
    if kind in bounds:
        bound = next(iter(ctx.values()), "")
        return f"ska vara {bounds[kind]} {bound} (var {value!r})"
    if kind == "string_too_long":
        return f"får vara högst {ctx.get('max_length')} tecken"
    if kind == "too_short" and "min_length" in ctx:
        return f"ska ha minst {ctx['min_length']} värde(n)"
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    # A check added later without a translation here still says which value and where.
    return f"ogiltigt värde {value!r}; se beskrivningen av nyckeln i README"


def problems_from(exc: ValidationError, model: type[BaseModel]) -> list[ConfigProblem]:
    """Every error pydantic found, in Swedish, keyed by the dotted TOML path."""
    return [
        ConfigProblem(_key(tuple(error["loc"])), _message(error, model))
        for error in exc.errors(include_url=False)
    ]


# tomllib's messages (Python 3.11–3.13), most specific first.
_TOML = (
    (r"Cannot declare \((.*)\) twice", "tabellen [{0}] står två gånger; slå ihop dem"),
    (r"Cannot overwrite a value", "nyckeln har redan ett värde (samma nyckel två gånger?)"),
    (r"Cannot (mutate immutable|redefine) namespace (.*)", "{1} har redan fått ett värde"),
    (r"Duplicate inline table key '(.*)'", "nyckeln '{0}' står två gånger"),
    (r"Expected '=' after a key in a key/value pair", "'=' saknas efter nyckeln (nyckel = värde)"),
    (r"Expected '\]' at the end of a table declaration", "']' saknas efter tabellens namn"),
    (r"Expected '\]\]' at the end of an array declaration", "']]' saknas efter tabellens namn"),
    (
        r"Expected newline or end of document after a statement",
        "något står efter värdet på samma rad (en nyckel per rad; texter inom citattecken)",
    ),
    (r"Expected '(.*)'", "'{0}' saknas"),
    (r"Invalid date or datetime", "ogiltigt datum eller klockslag (t.ex. 2026-12-24)"),
    (r"Invalid hex value|Escaped character|Unescaped '\\\\'", "ogiltigt \\ i texten; skriv \\\\"),
    (r"Invalid initial character for a key part", "ogiltigt tecken i början av en nyckel"),
    (r"Invalid statement", "raden är varken 'nyckel = värde' eller en [tabell]"),
    (r"Invalid value", 'ogiltigt värde; texter står inom citattecken, t.ex. "Kontaktcenter"'),
    (r"Unclosed array", "listan saknar avslutande ]"),
    (r"Unclosed inline table", "tabellen saknar avslutande }"),
    (r"Unterminated string", "texten saknar avslutande citattecken"),
    (r"(?:Found invalid|Illegal) character (.*)", "otillåtet tecken {0}"),
)


def toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> ConfigProblem:
    """A TOML syntax error as a Swedish problem keyed by its line (``rad 12``)."""
    raw = str(exc)
    where = re.search(r"\(at line (\d+), column (\d+)\)$|\(at end of document\)$", raw)
    message = raw[: where.start()].strip() if where else raw
    for pattern, swedish in _TOML:
        match = re.fullmatch(pattern, message)
        if match:
            # "('mailboxes', 'imap')" -> "mailboxes.imap"
            parts = [".".join(re.findall(r"'([^']*)'", g or "")) or g for g in match.groups()]
            message = swedish.format(*parts)
            break
    else:
        message = f"TOML-syntaxfel ({message})"
    if where and where.group(1):
        line = int(where.group(1))
        lines = text.splitlines()
        shown = lines[line - 1].strip() if line <= len(lines) else ""
        quoted = f" — raden lyder: {shown[:80]}" if shown else ""
        return ConfigProblem(
            f"rad {line}, kolumn {where.group(2)}",
            f"{message}{quoted}. Rätta raden (filen är TOML) och försök igen.",
        )
    return ConfigProblem("i slutet av filen", f"{message}. Rätta filen (TOML) och försök igen.")
