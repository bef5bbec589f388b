"""The whole file: one table per section, and the values derived from them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from postvakt.config.connectors import MailboxConfig, SmtpConfig
from postvakt.config.delegation import DelegationConfig
from postvakt.config.fields import Strict
from postvakt.config.organisation import (
    ClassifierConfig,
    DatabaseConfig,
    DeadlinesConfig,
    OrganisationConfig,
    PersonConfig,
    RulesConfig,
    ServiceConfig,
    TemplatesConfig,
    UnitConfig,
)
from postvakt.config.registry import RegistryConfig
from postvakt.config.web import WebConfig
from postvakt.rules.policy import PRESETS

__all__ = ["Config"]


class Config(Strict):
    organisation: OrganisationConfig
    database: DatabaseConfig = DatabaseConfig()
    deadlines: DeadlinesConfig = DeadlinesConfig()
    units: tuple[UnitConfig, ...] = ()
    people: tuple[PersonConfig, ...] = ()
    mailboxes: tuple[MailboxConfig, ...] = ()
    smtp: SmtpConfig | None = None
    templates: TemplatesConfig = TemplatesConfig()
    service: ServiceConfig = ServiceConfig()
    rules: RulesConfig = RulesConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    registry: RegistryConfig = RegistryConfig()
    web: WebConfig = WebConfig()
    delegation: DelegationConfig = DelegationConfig()
    base_dir: Path = Field(
        Path(), exclude=True, description="Folder of the config file (set on load)."
    )

    # -- derived values ---------------------------------------------------------

    def path(self, value: Path | str) -> Path:
        """A path from the config, made absolute relative to the config file's folder."""
        value = Path(value).expanduser()
        return value if value.is_absolute() else (self.base_dir / value).resolve()

    @property
    def database_url(self) -> str:
        """The database URL with relative SQLite paths resolved against the config's folder."""
        url = self.database.url or "sqlite:///postvakt.db"
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(self.path(url[len(prefix) :]))
        return url

    @property
    def templates_folder(self) -> Path | None:
        return self.path(self.templates.folder) if self.templates.folder else None

    def unit(self, name: str) -> UnitConfig | None:
        return next((u for u in self.units if u.name == name), None)

    def person(self, address: str) -> PersonConfig | None:
        address = address.lower()
        return next((p for p in self.people if p.address == address), None)

    def mailbox(self, address: str) -> MailboxConfig | None:
        address = address.lower()
        return next((m for m in self.mailboxes if m.address == address), None)

    def daily_open_checked(self, mailbox: MailboxConfig) -> bool:
        """Whether the daily-open check applies: the mailbox's own ``check_daily_open``;
        else always for a function mailbox, and for a personal one as ``[rules]
        daily_open_personal`` or the policy says (on under orebro: "Den personliga brevlådan
        ska öppnas dagligen")."""
        if mailbox.check_daily_open is not None:
            return mailbox.check_daily_open
        if mailbox.kind == "function":
            return True
        personal = self.rules.daily_open_personal
        if personal is None:
            personal = PRESETS[self.organisation.policy].daily_open_personal
        return personal
