"""Connectors to mail systems, behind one protocol, and MIME parsing.

This is ``postvakt.mailbox``, never a top-level ``mailbox`` (that would shadow the standard
library's module).  :func:`open_connector` builds the connector a mailbox's config names.
"""

from __future__ import annotations

from collections.abc import Mapping

from postvakt.config import Config, ImapSettings, MailboxConfig, MaildirSettings
from postvakt.errors import ConfigError, ConfigProblem
from postvakt.mailbox.base import Connector

__all__ = ["Connector", "open_connector"]


def open_connector(mailbox: MailboxConfig, config: Config, environ: Mapping[str, str]) -> Connector:
    """The connector for ``mailbox``.  Secrets are read from ``environ`` here and nowhere else."""
    settings = mailbox.settings
    if isinstance(settings, MaildirSettings):
        from postvakt.mailbox.maildir import MaildirConnector

        return MaildirConnector(
            mailbox.address,
            config.path(settings.path),
            drafts_folder=settings.drafts_folder,
            sent_folder=settings.sent_folder,
        )
    if isinstance(settings, ImapSettings):
        from postvakt.mailbox.imap import ImapConnector

        return ImapConnector(mailbox.address, settings, environ.get(settings.password_env, ""))
    index = config.mailboxes.index(mailbox)
    raise ConfigError(
        [
            ConfigProblem(
                f"mailboxes[{index}].connector",
                f"connector {mailbox.connector!r} finns inte i den här versionen av Postvakt "
                "ännu; använd maildir tills vidare",
            )
        ]
    )
