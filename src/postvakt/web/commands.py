"""``postvakt web``: serve the dashboard, make local accounts, list them."""

from __future__ import annotations

import getpass
import logging
import os
import signal
import sys
from types import FrameType

from sqlalchemy import select

from postvakt.clock import system_clock
from postvakt.config import Config
from postvakt.errors import NotFoundError
from postvakt.logs import configure_logging
from postvakt.registry.db import database_errors, open_database, session_factory
from postvakt.registry.models import WebUser
from postvakt.web.auth import add_user as add_account
from postvakt.web.roles import user_for

__all__ = ["PathOnly", "add_user", "list_users", "serve"]


class PathOnly(logging.Filter):
    """Cuts the query string from uvicorn's access-log lines: a list's address may hold a
    search (a sender's address, a phrase from a complaint), which must not be logged.

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with (client, method, path with query,
    version, status) as the record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _password(address: str, password_env: str | None) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise NotFoundError(f"Miljövariabeln {password_env} är inte satt.")
        return value
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Nytt lösenord för {address}: ")
    if getpass.getpass("Samma lösenord igen: ") != first:
        raise NotFoundError("Lösenorden var inte lika; inget ändrades.")
    return first


def _sessions(config: Config):  # type: ignore[no-untyped-def]
    password = (
        os.environ.get(config.database.password_env) if config.database.password_env else None
    )
    engine = open_database(
        config.database_url, busy_timeout=config.database.busy_timeout_seconds, password=password
    )
    return engine, session_factory(engine)


def add_user(config: Config, address: str, *, password_env: str | None = None) -> int:
    address = address.strip().lower()
    if user_for(config, address) is None:  # before asking for a password
        raise NotFoundError(
            f"{address} har ingen roll i konfigurationen (people, units.head, mailboxes.owners, "
            "organisation.registrar eller web.admins); lägg in personen där först."
        )
    password = _password(address, password_env)
    engine, sessions = _sessions(config)
    try:
        with sessions() as session, database_errors(), session.begin():
            add_account(session, config, address, password, now=system_clock()())
    finally:
        engine.dispose()
    user = user_for(config, address)
    assert user is not None
    print(f"Kontot {address} är klart ({user.role_names}).")
    return 0


def list_users(config: Config) -> int:
    engine, sessions = _sessions(config)
    try:
        with sessions() as session, database_errors():
            accounts = list(session.scalars(select(WebUser).order_by(WebUser.address)))
    finally:
        engine.dispose()
    if not accounts:
        print("Inga lokala konton. Skapa ett med 'postvakt web adduser E-POST'.")
    for account in accounts:
        user = user_for(config, account.address)
        roles = user.role_names if user else "ingen roll längre (kan inte logga in)"
        state = "" if account.active else " [avstängt]"
        print(f"{account.address}{state}: {roles}")
    return 0


def serve(config: Config, *, host: str | None = None, port: int | None = None) -> int:
    import uvicorn

    from postvakt.web.app import create_app

    configure_logging(config.service.log_level, config=config)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Through the root logger's redacting handler; the access log tells who (by client
        # address) asked for what — paths carry ids only, never citizen data, and the query
        # strings that may (a search) are cut off (PathOnly).
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(config.service.log_level)
        logger.propagate = True
    logging.getLogger("uvicorn.access").addFilter(PathOnly())
    host = host or config.web.host
    port = port or config.web.port
    app = create_app(config)
    print(f"Postvakts webbpanel: http://{host}:{port}/", flush=True)
    # uvicorn stops gracefully on SIGTERM and SIGINT, then raises the signal once more for
    # the handler that was there before it: the default one would end the process *by* the
    # signal.  A stop that was asked for is a clean exit (0), as for `postvakt run`.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stopped)
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True)
    return 0


def _stopped(_signum: int, _frame: FrameType | None) -> None:
    """The stop uvicorn has already carried out."""
