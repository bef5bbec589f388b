"""The one configuration file: its schema, validated at start-up.

Every option is documented where it is defined (the ``description`` of its field).  Unknown
keys are errors, because a typo (``adress`` for ``address``) must not silently fall back to
a default.  Passwords and tokens are never in the file: the file names the environment
variable that holds them (``password_env = "POSTVAKT_IMAP_PASSWORD"``).

:func:`load_config` reads and validates a file and raises :class:`~postvakt.errors.ConfigError`
listing *every* problem, each with the dotted key that caused it.  :func:`check_environment`
lists what is missing from the environment (secrets that are named but not set).
"""

from __future__ import annotations

from postvakt.config.connectors import (
    EwsSettings,
    GraphSettings,
    ImapSettings,
    MailboxConfig,
    MaildirSettings,
    SmtpConfig,
)
from postvakt.config.loading import (
    check_environment,
    check_paths,
    inspect_config,
    load_config,
    parse_config,
)
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
from postvakt.config.schema import Config
from postvakt.config.web import OidcConfig, WebConfig

__all__ = [
    "ClassifierConfig",
    "Config",
    "DatabaseConfig",
    "DeadlinesConfig",
    "EwsSettings",
    "GraphSettings",
    "ImapSettings",
    "MailboxConfig",
    "MaildirSettings",
    "OidcConfig",
    "OrganisationConfig",
    "PersonConfig",
    "RulesConfig",
    "ServiceConfig",
    "SmtpConfig",
    "TemplatesConfig",
    "UnitConfig",
    "WebConfig",
    "check_environment",
    "check_paths",
    "inspect_config",
    "load_config",
    "parse_config",
]
