"""What the command groups share: the Swedish argument parser, the config, the service, tables."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postvakt.cli.args import EXIT_USAGE, Parser, parse_date
from postvakt.errors import ConfigError, InvalidInputError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from postvakt.config import Config
    from postvakt.registry.models import Case
    from postvakt.roles import User
    from postvakt.service import Service

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "KIND_SV",
    "STATUS_SV",
    "Parser",
    "case_for_reader",
    "case_json",
    "classifier_for",
    "config_path",
    "iso",
    "known_address",
    "local_date",
    "open_service",
    "optional_config",
    "parse_date",
    "reader",
    "table",
]

EXIT_OK, EXIT_FAILURE = 0, 1


def config_path(args: argparse.Namespace) -> Path:
    value = args.config or os.environ.get("POSTVAKT_CONFIG")
    if not value:
        raise ConfigError(
            "Ingen konfigurationsfil angiven. Ange --config FIL eller sätt POSTVAKT_CONFIG."
        )
    return Path(value)


def open_service(
    args: argparse.Namespace, *, read_only: bool = False, connectors: bool = True
) -> Service:
    """The service for the config; ``read_only`` opens only the database (lists, no templates);
    without ``connectors`` no mail server is needed (nor its password)."""
    from postvakt.config import check_paths, load_config
    from postvakt.logs import configure_logging
    from postvakt.service import Service

    path = config_path(args)
    config = load_config(path)
    # What the machine lacks stops here with every key named, before anything is opened; a
    # lister needs only the database.
    problems = check_paths(config)
    if read_only:
        problems = [p for p in problems if p.key.startswith("database.")]
    if problems:
        raise ConfigError(problems, source=str(path))
    configure_logging(config.service.log_level, config=config)
    service = Service(config, clock=getattr(args, "clock", None))
    return service.open_readonly() if read_only else service.open(need_connectors=connectors)


def known_address(config: Any, value: str, argument: str) -> str:
    """``value`` (lower case) when it is someone in the config who may act on cases: a person,
    a unit head, the registrar or an admin; else :class:`InvalidInputError` naming ``argument``."""
    address = value.strip().lower()
    known = {p.address for p in config.people} | {u.head for u in config.units}
    known |= set(config.web.admins) | {config.organisation.registrar}
    if address not in known:
        raise InvalidInputError(
            f"{value} finns inte i konfigurationen; ange en person i [[people]], en enhetschef "
            "(units.head) eller registratorn (organisation.registrar) — med rätt stavning",
            argument=argument,
        )
    return address


# ----------------------------------------------------------------- who reads, and what

# The command line is the operator's tool on the server: whoever runs it has the config and
# the database, and a command that names nobody (``cases list``, ``messages list``, ``cases
# show`` without ``--by``) shows every case.  A command that names the person it reads for
# (``--by``) shows what the web shows that person: the same rules (postvakt.roles), never a
# copy of them.


def reader(config: Config, by: str) -> User:
    """The person ``--by`` names, with the roles the web gives them; refused
    (:class:`PermissionDeniedError`) when the config gives them none, as the web lets nobody
    without a role in."""
    from postvakt.roles import user_for

    user = user_for(config, by)
    if user is None:
        raise PermissionDeniedError(
            f"{by.strip()} finns inte i konfigurationen som person, ägare, chef, registrator "
            "eller administratör och får inte visa ärenden. Ange din egen adress med --by."
        )
    return user


def case_for_reader(session: Session, reference: str, user: User | None) -> Case:
    """The case called ``reference`` when ``user`` may open it on the web
    (:func:`postvakt.roles.can_view_case`: a private case only for its handler, the heads of
    its unit, the registrar and admins).  One they may not open gets the answer a number
    never given gets (:class:`NotFoundError`), as the web's "not found": the refusal says
    nothing of the case.  ``user`` None: the operator, who may open every case."""
    from postvakt.registry.cases import find_case, normalise_number
    from postvakt.roles import can_view_case

    if user is None:
        return find_case(session, reference)
    try:
        case: Case | None = find_case(session, reference)
    except NotFoundError:
        case = None
    if case is None or not can_view_case(user, case):
        raise NotFoundError(
            f"Det finns inget ärende med nummer {normalise_number(reference)!r} som "
            f"{user.address} får öppna. Kontrollera numret och att du har angett din egen "
            "adress med --by."
        )
    return case


def iso(value: Any) -> str | None:
    """ISO 8601; datetimes in Stockholm time, as everything users see."""
    from postvakt.registry.export import iso as export_iso

    return export_iso(value)


def case_json(case: Any) -> dict[str, Any]:
    from postvakt.registry.export import case_json as export_case_json

    return export_case_json(case)


KIND_SV = {"complaint": "klagomål", "opinion": "synpunkt"}
STATUS_SV = {
    "registered": "registrerat",
    "acknowledged": "bekräftat",
    "answered": "besvarat",
    "waiting": "väntar",
    "forwarded": "överlämnat",
    "reopened": "ny prövning",
    "closed": "avslutat",
    "withdrawn": "makulerat",
}


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def local_date(value: Any) -> str:
    from postvakt.clock import STOCKHOLM

    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M") if value else ""


def optional_config(args: argparse.Namespace) -> Any:
    """The config when one is named (--config or POSTVAKT_CONFIG), else None."""
    if not (args.config or os.environ.get("POSTVAKT_CONFIG")):
        return None
    from postvakt.config import load_config

    return load_config(config_path(args))


def classifier_for(config: Any) -> Any:
    """The organisation's model in use when there is a config (as the service classifies:
    its database says which), else the shipped one."""
    from postvakt.classifier import default_classifier
    from postvakt.intake import load_classifier
    from postvakt.registry.db import database_errors, open_database, session_factory

    if config is None:
        return default_classifier()
    database = config.database
    password = os.environ.get(database.password_env) if database.password_env else None
    with database_errors():
        engine = open_database(
            config.database_url, busy_timeout=database.busy_timeout_seconds, password=password
        )
    try:
        return load_classifier(config, session_factory(engine))
    finally:
        engine.dispose()
