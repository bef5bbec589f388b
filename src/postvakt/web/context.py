"""What every page needs, built once from the config: the service's pieces and the clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from postvakt.casework import Casework
from postvakt.clock import Clock
from postvakt.config import Config
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
    def calendar(self) -> WorkingCalendar:
        assert self.service.intake is not None
        return self.service.intake.calendar

    @property
    def policy(self) -> Policy:
        assert self.service.intake is not None
        return self.service.intake.policy

    def close(self) -> None:
        self.service.close()
