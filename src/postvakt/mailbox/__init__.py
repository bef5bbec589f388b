"""Connectors to mail systems, behind one protocol, and MIME parsing.

This is ``postvakt.mailbox``, never a top-level ``mailbox`` (that would shadow the standard
library's module).  :func:`open_connector` builds the connector a mailbox's config names.
"""

from __future__ import annotations

from collections.abc import Mapping

from postvakt.config import (
    Config,
    EwsSettings,
    GraphSettings,
    ImapSettings,
    MailboxConfig,
    MaildirSettings,
)
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
    if isinstance(settings, EwsSettings):
        from postvakt.mailbox.ews import EwsConnector

        return EwsConnector(mailbox.address, settings, environ.get(settings.password_env, ""))
    if isinstance(settings, GraphSettings):
        from postvakt.mailbox.graph import GraphConnector

        if settings.ca_file is not None:  # relative to the config file, like every path
            settings = settings.model_copy(update={"ca_file": config.path(settings.ca_file)})
        if settings.client_secret_env:
            return GraphConnector(
                mailbox.address, settings, environ.get(settings.client_secret_env, "")
            )
        assert settings.certificate_path is not None  # the config requires one of the two
        index = config.mailboxes.index(mailbox)
        key_file = config.path(settings.certificate_path)
        try:
            private_key = key_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                [
                    ConfigProblem(
                        f"mailboxes[{index}].graph.certificate_path",
                        f"kan inte läsa nyckelfilen {key_file}: {exc}",
                    )
                ]
            ) from exc
        return GraphConnector(mailbox.address, settings, private_key)
    raise AssertionError(
        f"unknown connector settings {type(settings).__name__}"
    )  # pragma: no cover
