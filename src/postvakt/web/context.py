"""What every page needs, built once from the config: the service's pieces and the clock."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from postvakt.casework import Casework
from postvakt.clock import Clock
from postvakt.config import Config, check_environment
from postvakt.corrections import Corrections
from postvakt.errors import ConfigError
from postvakt.mailbox import open_connector
from postvakt.rules.calendar import WorkingCalendar
from postvakt.rules.policy import Policy
from postvakt.service import Service

__all__ = ["WebContext"]


@dataclass
class WebContext:
    """The dashboard's dependencies.  Pages get it from ``request.app.state.ctx``."""

    service: Service
    environ: Mapping[str, str]
    evidence_cache: dict[str, tuple[datetime, tuple[bool | None, str]]] = field(
        default_factory=dict
    )
    reading: threading.Lock = field(default_factory=threading.Lock)
    """Held while a message is read again from its mailbox (a connector is not thread-safe)."""

    @classmethod
    def open(cls, config: Config, *, clock: Clock, environ: Mapping[str, str]) -> WebContext:
        """Open the database (migrating it) and build case work; no mailbox is logged into."""
        service = Service(config, clock=clock, environ=environ).open(need_connectors=False)
        return cls(service, environ)

    @property
    def config(self) -> Config:
        return self.service.config

    @property
    def clock(self) -> Clock:
        return self.service.clock

    def now(self) -> datetime:
        return self.service.clock()

    def today(self) -> date:
        return self.now().date()

    @property
    def sessions(self) -> sessionmaker[Session]:
        assert self.service.sessions is not None
        return self.service.sessions

    @property
    def casework(self) -> Casework:
        assert self.service.casework is not None
        return self.service.casework

    @property
    def corrections(self) -> Corrections:
        assert self.service.corrections is not None
        return self.service.corrections

    def open_reader(self, address: str) -> None:
        """Let the corrections read messages of mailbox ``address`` again (to register one
        that was not made a case).  The dashboard logs into no mailbox until it must; the
        connector is kept for the next time.  Raises ConfigError when the mailbox's secret
        is not in this process's environment."""
        connectors = self.service.connectors  # the same dict the corrections read from
        if address in connectors:
            return
        mailbox = next((m for m in self.config.mailboxes if m.address == address), None)
        if mailbox is None:
            return  # taken out of the config: the corrections say it cannot be read
        index = self.config.mailboxes.index(mailbox)
        problems = [
            p
            for p in check_environment(self.config, self.environ)
            if p.key.startswith(f"mailboxes[{index}]")
        ]
        if problems:
            raise ConfigError(problems)
        connectors[address] = open_connector(mailbox, self.config, self.environ)

    @property
    def calendar(self) -> WorkingCalendar:
        assert self.service.intake is not None
        return self.service.intake.calendar

    @property
    def policy(self) -> Policy:
        assert self.service.intake is not None
        return self.service.intake.policy

    def close(self) -> None:
        self.service.close()
