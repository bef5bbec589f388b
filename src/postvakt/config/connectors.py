"""A mailbox and how Postvakt reaches it (Maildir, IMAP, EWS, Graph), and the SMTP server
that sends notifications."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from postvakt.config.fields import EmailAddress, EnvName, HostName, Strict, WebAddress

__all__ = [
    "EwsSettings",
    "GraphSettings",
    "ImapSettings",
    "MailboxConfig",
    "MaildirSettings",
    "SmtpConfig",
]


class MaildirSettings(Strict):
    path: Path = Field(
        description="The Maildir folder (with cur/, new/, tmp/); relative to the config."
    )
    drafts_folder: str = Field(".Drafts", description="Maildir++ subfolder for drafts.")
    sent_folder: str | None = Field(
        None,
        description="Maildir++ subfolder of sent mail; by default the first of .Sent, "
        ".Skickat, '.Sent Items', '.Skickade objekt' that exists.",
    )


class ImapSettings(Strict):
    host: HostName
    port: int | None = Field(None, ge=1, le=65535, description="Default 993 with tls, else 143.")
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_certificate: bool = Field(True, description="Check the server's TLS certificate.")
    ca_file: Path | None = Field(None, description="Extra CA bundle for the server's certificate.")
    username: str = Field(min_length=1, description="Login name: the mailbox or a service account.")
    password_env: EnvName
    master_user: str | None = Field(
        None, description="Dovecot master user: logs in as '<username>*<master_user>'."
    )
    folders: tuple[str, ...] = Field(
        ("INBOX",), min_length=1, description="Folders watched for citizen mail."
    )
    idle: bool | None = Field(
        None, description="Wait for new mail with IDLE; default on for function mailboxes."
    )
    sieve_port: int = Field(4190, ge=1, le=65535, description="ManageSieve port (out-of-office).")
    sieve_security: Literal["starttls", "none"] | None = Field(
        None, description="ManageSieve security; default starttls unless security is 'none'."
    )
    sent_folder: str | None = Field(
        None, description="Sent folder; default the SPECIAL-USE \\Sent one, else Sent/Skickat/…"
    )
    drafts_folder: str | None = Field(
        None, description="Drafts folder; default the SPECIAL-USE \\Drafts one, else Drafts/Utkast."
    )
    last_login_dict: Path | None = Field(
        None,
        description="Dovecot's last_login dict (file: driver) when Postvakt can read it: "
        "evidence that the person logged in today.",
    )
    timeout_seconds: float = Field(60.0, gt=0, le=600, description="Network timeout per command.")


class EwsSettings(Strict):
    server: HostName | None = Field(
        None, description="Exchange server host name (or use endpoint)."
    )
    endpoint: WebAddress | None = Field(
        None, description="Full EWS URL, e.g. https://mail.x.se/EWS/Exchange.asmx"
    )
    autodiscover: bool = False
    username: str = Field(min_length=1, description="Service account, DOMAIN\\user or UPN.")
    password_env: EnvName
    auth: Literal["ntlm", "basic", "oauth"] = "ntlm"
    access: Literal["delegate", "impersonation"] = "delegate"
    verify_certificate: bool = True
    oauth_client_id: str | None = Field(
        None,
        description="With auth = 'oauth': the Entra ID application (client) id; the client "
        "secret is in password_env. EWS accepts app-only tokens only with access = "
        "'impersonation'.",
    )
    oauth_tenant_id: str | None = Field(
        None, description="With auth = 'oauth': the Entra ID tenant (directory) id."
    )
    oauth_authority: WebAddress = Field(
        "https://login.microsoftonline.com",
        description="With auth = 'oauth': where tokens come from; the token URL is "
        "<oauth_authority>/<oauth_tenant_id>/oauth2/v2.0/token.",
    )
    throttle_wait_seconds: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Longest wait inside a pass when Exchange asks Postvakt to back off "
        "(ErrorServerBusy); a longer request ends the pass and the next one waits it out.",
    )

    @model_validator(mode="after")
    def _where(self) -> EwsSettings:
        if not (self.server or self.endpoint or self.autodiscover):
            raise ValueError("ange server, endpoint eller autodiscover = true")
        return self

    @model_validator(mode="after")
    def _oauth(self) -> EwsSettings:
        if self.auth == "oauth":
            if not (self.oauth_client_id and self.oauth_tenant_id):
                raise ValueError("auth = 'oauth' kräver oauth_client_id och oauth_tenant_id")
            if self.access != "impersonation":
                raise ValueError(
                    "auth = 'oauth' (app-only) kräver access = 'impersonation'; EWS tar inte "
                    "emot apptoken med delegerad åtkomst"
                )
        return self


class GraphSettings(Strict):
    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret_env: EnvName | None = None
    certificate_path: Path | None = Field(
        None,
        description="PEM file with the application's private key (and certificate); relative "
        "to the config. Used instead of a client secret.",
    )
    certificate_thumbprint: str | None = Field(
        None, description="SHA-1 thumbprint (hex) of the certificate uploaded to the app."
    )
    authority: WebAddress = "https://login.microsoftonline.com"
    endpoint: WebAddress = "https://graph.microsoft.com/v1.0"
    ca_file: Path | None = Field(
        None,
        description="Extra CA bundle for Graph and the token endpoint (e.g. behind a "
        "TLS-inspecting proxy); relative to the config.",
    )
    timeout_seconds: float = Field(60.0, gt=0, le=600, description="Network timeout per request.")
    throttle_wait_seconds: float = Field(
        30.0,
        ge=0,
        le=600,
        description="Longest wait inside a pass for a 429 or 503 answer's Retry-After; a "
        "longer one ends the pass and the next one waits it out.",
    )

    @model_validator(mode="after")
    def _credential(self) -> GraphSettings:
        if not self.client_secret_env and not self.certificate_path:
            raise ValueError("ange client_secret_env eller certificate_path")
        if self.certificate_path and not self.certificate_thumbprint:
            raise ValueError("certificate_path kräver certificate_thumbprint")
        return self


_CONNECTORS = ("maildir", "imap", "ews", "graph")


class MailboxConfig(Strict):
    address: EmailAddress
    kind: Literal["function", "personal"]
    unit: str
    owners: tuple[EmailAddress, ...] = Field(
        (), description="People responsible for reading it every working day."
    )
    connector: Literal["maildir", "imap", "ews", "graph"]
    name: str | None = Field(None, description="Display name, e.g. 'Kontaktcenter'.")
    check_daily_open: bool | None = Field(
        None,
        description="Apply the daily-open check; default on for function mailboxes, and for "
        "personal ones under a policy that asks it (orebro; see rules.daily_open_personal).",
    )
    start_from: datetime | date | None = Field(
        None,
        description="Mail that arrived before this moment (a date: its midnight; a time "
        "without an offset: Swedish time) is recorded as seen but never registered, drafted "
        "or given a deadline ('postvakt backfill' registers it on purpose). Default: the "
        "moment the mailbox is first watched, kept in the database.",
    )
    maildir: MaildirSettings | None = None
    imap: ImapSettings | None = None
    ews: EwsSettings | None = None
    graph: GraphSettings | None = None

    @model_validator(mode="after")
    def _connector_table(self) -> MailboxConfig:
        if getattr(self, self.connector) is None:
            raise ValueError(
                f"connector = {self.connector!r} kräver en tabell [mailboxes.{self.connector}]"
            )
        extra = [c for c in _CONNECTORS if c != self.connector and getattr(self, c) is not None]
        if extra:
            raise ValueError(
                f"tabellen [mailboxes.{extra[0]}] hör inte till connector = {self.connector!r}"
            )
        return self

    @field_validator("start_from", mode="before")
    @classmethod
    def _start_from(cls, value: Any) -> Any:
        # TOML gives a date or a datetime; a quoted ISO text is read the same way.
        if isinstance(value, str):
            try:
                return (
                    date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
                )
            except ValueError:
                pass
        if value is None or isinstance(value, date):
            return value
        raise ValueError(
            f"{value!r} är ingen tidpunkt; skriv ett datum (start_from = 2026-12-01) eller en "
            "tidpunkt (start_from = 2026-12-01T08:00:00+01:00), utan citattecken"
        )

    @property
    def settings(self) -> MaildirSettings | ImapSettings | EwsSettings | GraphSettings:
        value = getattr(self, self.connector)
        assert value is not None  # guaranteed by _connector_table
        return value


class SmtpConfig(Strict):
    host: HostName
    port: int | None = Field(
        None, ge=1, le=65535, description="Default 465 with tls, 587 with starttls, else 25."
    )
    security: Literal["tls", "starttls", "none"] = "starttls"
    username: str | None = None
    password_env: EnvName | None = None
    from_address: EmailAddress = Field(
        description="Sender of notifications, e.g. postvakt@exempel.se."
    )

    @model_validator(mode="after")
    def _login(self) -> SmtpConfig:
        if self.username and not self.password_env:
            raise ValueError("username kräver password_env")
        return self
