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

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from postvakt.errors import ConfigError, ConfigProblem
from postvakt.rules.policy import PRESETS, parse_duration

__all__ = [
    "Config",
    "DatabaseConfig",
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
    "UnitConfig",
    "WebConfig",
    "check_environment",
    "load_config",
    "parse_config",
]

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} är ingen e-postadress (väntade t.ex. namn@exempel.se)")
    return value.lower()


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # The value is not repeated: it may be the password itself, pasted by mistake.
        raise ValueError(
            "är inget namn på en miljövariabel (bara A–Z, 0–9 och _); ange variabelns namn, "
            "till exempel POSTVAKT_IMAP_PASSWORD — aldrig själva lösenordet"
        )
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]
EnvName = Annotated[str, AfterValidator(_env_name)]


class _Strict(BaseModel):
    """Base of every table: unknown keys are errors, values are immutable after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OrganisationConfig(_Strict):
    name: str = Field(min_length=1, description="The organisation's name as letters show it.")
    diary_prefix: str = Field(
        min_length=1,
        max_length=20,
        description="The diary's prefix, e.g. 'KS' for kommunstyrelsen.",
    )
    diary_number_format: str = Field(
        "{prefix} {year}/{seq}",
        description="How diary numbers are written; fields {prefix}, {year}, {seq} (e.g. {seq:04d}).",
    )
    domains: tuple[str, ...] = Field(
        (), description="The organisation's own mail domains: mail from them is internal."
    )
    web_form_senders: tuple[EmailAddress, ...] = Field(
        (),
        description="Addresses in the own domains that send citizens' web-form submissions "
        "(e.g. noreply@e-tjanster.exempel.se): their mail is a citizen's, not internal.",
    )
    policy: str = Field("orebro", description="Service-rule preset: orebro, linkoping or timra.")
    registrar: EmailAddress | None = Field(None, description="The registrar's mailbox.")
    registrar_notice: Literal["each", "daily", "none"] = Field(
        "each",
        description="How the registrar hears of new cases: a message per case, one digest a "
        "day, or not at all.",
    )
    timezone: str = Field("Europe/Stockholm", description="The organisation's time zone.")
    closure_days: tuple[date, ...] = Field(
        (), description="The organisation's own closure days (klämdagar), not working days."
    )
    phone: str | None = Field(None, description="Switchboard number printed on letters.")
    mail_admin: EmailAddress | None = Field(
        None,
        description="The mail administrator, who gets the exact shell lines to grant and remove "
        "a delegate's access on Exchange (the API cannot).",
    )
    private_marker: str | None = Field(
        None,
        description="Text in a subject that marks a message private (besides Sensitivity: Private), "
        "e.g. '[Privat]': kept from delegates.",
    )
    website: str | None = Field(None, description="Web address printed on letters.")

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(d.strip().lower().lstrip("@") for d in value)
        for d in cleaned:
            if "." not in d or "@" in d or " " in d:
                raise ValueError(f"{d!r} är ingen domän (väntade t.ex. exempel.se)")
        return cleaned

    @field_validator("diary_number_format")
    @classmethod
    def _format(cls, value: str) -> str:
        try:
            sample = value.format(prefix="KS", year=2026, seq=17)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"ogiltigt format ({exc}); tillåtna fält är {{prefix}}, {{year}} och {{seq}}"
            ) from exc
        if "{seq" not in value or "{year" not in value:
            raise ValueError("formatet måste innehålla {year} och {seq}")
        if not sample.strip():
            raise ValueError("formatet ger ett tomt diarienummer")
        return value

    @field_validator("policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        value = value.lower()
        if value not in PRESETS:
            raise ValueError(f"okänd policy {value!r}; välj en av: {', '.join(sorted(PRESETS))}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"okänd tidszon {value!r} (väntade t.ex. Europe/Stockholm)") from exc
        return value


class DeadlinesConfig(_Strict):
    """Overrides of the policy preset, e.g. ``reply = "5 arbetsdagar"``, ``complaint_ack = "7 dagar"``."""

    reply: str | None = None
    complaint_ack: str | None = None
    complaint_answer: str | None = None
    callback: str | None = None
    compilation_date: str | None = Field(
        None, description="The yearly compilation's deadline as MM-DD, e.g. '02-15'."
    )

    @field_validator("reply", "complaint_ack", "complaint_answer", "callback")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)  # raises ValueError with a Swedish message
        return value

    @field_validator("compilation_date")
    @classmethod
    def _month_day(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = re.fullmatch(r"(\d{2})-(\d{2})", value)
        if not match:
            raise ValueError(f"{value!r}: ange datumet som MM-DD, t.ex. 02-15")
        try:
            date(2024, int(match[1]), int(match[2]))
        except ValueError as exc:
            raise ValueError(f"{value!r} är inget datum") from exc
        return value


class DatabaseConfig(_Strict):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: SQLite file postvakt.db next to the config file. "
        "Relative SQLite paths are relative to the config file.",
    )
    password_env: EnvName | None = Field(
        None, description="Environment variable with the database password, if the URL has none."
    )
    busy_timeout_seconds: float = Field(
        30.0, gt=0, description="How long SQLite waits for another process's lock."
    )


class UnitConfig(_Strict):
    name: str = Field(min_length=1)
    head: EmailAddress = Field(description="The unit head's address (enhetschef).")
    parent: str | None = Field(None, description="The name of the unit above, if any.")


class PersonConfig(_Strict):
    name: str = Field(min_length=1)
    address: EmailAddress
    unit: str | None = None
    phone: str | None = None
    title: str | None = Field(None, description="Job title printed under the signature.")
    login: str | None = Field(
        None,
        description="Their user name on the mail server (for access rights); default the part before @.",
    )
    standing_delegates: tuple[EmailAddress, ...] = Field(
        (), description="Colleagues who always cover them when they are away, in order."
    )

    @property
    def login_name(self) -> str:
        return self.login or self.address.partition("@")[0]


class MaildirSettings(_Strict):
    path: Path = Field(
        description="The Maildir folder (with cur/, new/, tmp/); relative to the config."
    )
    drafts_folder: str = Field(".Drafts", description="Maildir++ subfolder for drafts.")
    sent_folder: str | None = Field(
        None,
        description="Maildir++ subfolder of sent mail; by default the first of .Sent, "
        ".Skickat, '.Sent Items', '.Skickade objekt' that exists.",
    )


class ImapSettings(_Strict):
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535, description="Default 993 with tls, else 143.")
    security: Literal["tls", "starttls", "none"] = "tls"
    verify_certificate: bool = Field(True, description="Check the server's TLS certificate.")
    ca_file: Path | None = Field(None, description="Extra CA bundle for the server's certificate.")
    username: str = Field(min_length=1, description="Login name: the mailbox or a service account.")
    password_env: EnvName
    master_user: str | None = Field(
        None, description="Dovecot master user: logs in as '<username>*<master_user>'."
    )
    folders: tuple[str, ...] = Field(("INBOX",), description="Folders watched for citizen mail.")
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


class EwsSettings(_Strict):
    server: str | None = Field(None, description="Exchange server host name (or use endpoint).")
    endpoint: str | None = Field(
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
    oauth_authority: str = Field(
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


class GraphSettings(_Strict):
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
    authority: str = "https://login.microsoftonline.com"
    endpoint: str = "https://graph.microsoft.com/v1.0"
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


class MailboxConfig(_Strict):
    address: EmailAddress
    kind: Literal["function", "personal"]
    unit: str
    owners: tuple[EmailAddress, ...] = Field(
        (), description="People responsible for reading it every working day."
    )
    connector: Literal["maildir", "imap", "ews", "graph"]
    name: str | None = Field(None, description="Display name, e.g. 'Kontaktcenter'.")
    check_daily_open: bool | None = Field(
        None, description="Apply the daily-open check; default on for function mailboxes."
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

    @property
    def settings(self) -> MaildirSettings | ImapSettings | EwsSettings | GraphSettings:
        value = getattr(self, self.connector)
        assert value is not None  # guaranteed by _connector_table
        return value

    @property
    def daily_open_checked(self) -> bool:
        return self.kind == "function" if self.check_daily_open is None else self.check_daily_open


class SmtpConfig(_Strict):
    host: str = Field(min_length=1)
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


class TemplatesConfig(_Strict):
    folder: Path | None = Field(
        None,
        description="Folder with the organisation's own .docx letters; relative to the config.",
    )
    letters_folder: Path = Field(
        Path("brev"),
        description="Where letters are saved that cannot be drafted in a mailbox (cases registered "
        "by hand without an e-mail address); relative to the config.",
    )


class ClassifierConfig(_Strict):
    """The complaint / opinion / other model (see ``postvakt.classifier.model``)."""

    review_band: tuple[float, float] = Field(
        (0.0, 0.55),
        description="A verdict whose confidence lies in [low, high) is registered as a case for a "
        "person to confirm ('behöver granskas') instead of being dropped or silently registered. "
        "[0.0, 0.0] turns review off.",
    )
    corpus: Path | None = Field(
        None,
        description="The organisation's own labelled messages: a folder of .eml files with "
        "labels.csv (file,label[,anonymous][,followup]), added to the shipped corpus when the "
        "model is trained; relative to the config.",
    )
    cache_folder: Path | None = Field(
        None,
        description="Where the trained model is kept; default $POSTVAKT_CACHE_DIR, else the "
        "user's cache folder. Relative to the config.",
    )

    @field_validator("review_band")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(
                f"{list(value)}: ange två tal mellan 0 och 1, det lägre först, t.ex. [0.0, 0.55]"
            )
        return value


class RulesConfig(_Strict):
    """When the service rules run and when people may be told."""

    working_hours: tuple[time, time] = Field(
        (time(8, 0), time(17, 0)),
        description="Notifications go out only between these times on working days.",
    )
    daily_open_time: time = Field(time(14, 0), description="When the daily-open check runs.")
    coverage_time: time = Field(
        time(8, 0), description="When function mailboxes are checked for a present owner."
    )
    reminder_times: tuple[time, ...] = Field(
        (time(8, 30), time(13, 0)), description="When reminders and breaches are sent as digests."
    )
    reminder_working_days_before: int = Field(
        1, ge=0, le=10, description="Remind this many working days before a deadline."
    )
    compilation_reminder: str = Field(
        "01-25", description="MM-DD: the unit heads are reminded of the yearly compilation."
    )

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: tuple[time, time]) -> tuple[time, time]:
        if value[0] >= value[1]:
            raise ValueError("arbetstiden måste börja före den slutar, t.ex. [08:00:00, 17:00:00]")
        return value

    @model_validator(mode="after")
    def _jobs_in_working_time(self) -> RulesConfig:
        # What a job finds is told at once or not at all: it must run when mail may go out.
        start, end = self.working_hours
        for name, value in (
            ("coverage_time", self.coverage_time),
            ("daily_open_time", self.daily_open_time),
            *(("reminder_times", t) for t in self.reminder_times),
        ):
            if not start <= value < end:
                raise ValueError(
                    f"{name} {value:%H:%M} ligger utanför arbetstiden {start:%H:%M}–{end:%H:%M}; "
                    "aviseringar skickas bara under arbetstid"
                )
        return self

    @field_validator("compilation_reminder")
    @classmethod
    def _reminder_day(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{2})-(\d{2})", value)
        if not match:
            raise ValueError(f"{value!r}: ange datumet som MM-DD, t.ex. 01-25")
        date(2024, int(match[1]), int(match[2]))
        return value


class ServiceConfig(_Strict):
    poll_interval_seconds: int = Field(
        60, ge=5, le=3600, description="How often mailboxes are read."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class OidcConfig(_Strict):
    """Sign-in with OpenID Connect (Entra ID, Keycloak, …), as a confidential client."""

    issuer: str = Field(
        min_length=1,
        description="The issuer URL; its /.well-known/openid-configuration is read, e.g. "
        "https://login.microsoftonline.com/<tenant>/v2.0 or https://sso.x.se/realms/kommun.",
    )
    client_id: str = Field(min_length=1, description="The client (application) id.")
    client_secret_env: EnvName = Field(description="Environment variable with the client secret.")
    scopes: tuple[str, ...] = Field(
        ("openid", "email", "profile"), description="Scopes asked for; 'openid' is required."
    )
    address_claim: str = Field(
        "email",
        description="The ID token claim holding the person's e-mail address (Entra ID: "
        "'email' or 'preferred_username').",
    )
    label: str = Field("Logga in med organisationens konto", description="The button's text.")

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "openid" not in value:
            raise ValueError("scopes måste innehålla 'openid'")
        return value


class WebConfig(_Strict):
    """The dashboard (``postvakt web``): where it listens and how people sign in.

    Roles come from the rest of the config: unit heads (``units[].head``), function-mailbox
    owners (``mailboxes[].owners``), the registrar (``organisation.registrar``), staff
    (``people``), and ``admins`` here.  Local accounts (password hashes) live in the
    database, made with ``postvakt web adduser``; never in this file.
    """

    host: str = Field("127.0.0.1", description="Address to listen on; loopback by default.")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    base_url: str | None = Field(
        None,
        description="The dashboard's public address behind a reverse proxy, e.g. "
        "https://postvakt.exempel.se (used for the OIDC redirect).",
    )
    session_secret_env: EnvName | None = Field(
        None,
        description="Environment variable with the key that signs session cookies (32 "
        "characters or more). Without it a random key is made at each start, so sign-ins end "
        "at a restart; required when host is not loopback.",
    )
    cookie_secure: bool | None = Field(
        None,
        description="Send the session cookie over HTTPS only; default on, except on loopback "
        "without base_url.",
    )
    session_hours: float = Field(9.0, gt=0, le=336, description="How long a sign-in lasts.")
    local_accounts: bool = Field(
        True, description="Allow sign-in with local accounts (postvakt web adduser)."
    )
    admins: tuple[EmailAddress, ...] = Field(
        (), description="Addresses with the admin role: every page and every unit."
    )
    oidc: OidcConfig | None = None

    @property
    def loopback(self) -> bool:
        return self.host in ("localhost", "::1") or self.host.startswith("127.")

    @property
    def secure_cookie(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return not (self.loopback and self.base_url is None)

    @model_validator(mode="after")
    def _exposed(self) -> WebConfig:
        if not self.loopback and self.session_secret_env is None:
            raise ValueError(
                "session_secret_env krävs när webbpanelen lyssnar på annat än loopback, så att "
                "inloggningar överlever en omstart och flera instanser delar nyckel"
            )
        if not (self.local_accounts or self.oidc):
            raise ValueError(
                "ingen inloggning är möjlig: slå på local_accounts eller ange [web.oidc]"
            )
        return self


class Config(_Strict):
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
    web: WebConfig = WebConfig()
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


def _reference_problems(data: Mapping[str, Any]) -> list[ConfigProblem]:
    """Problems between tables: unknown units, cycles, duplicates, function mailboxes without
    owners.  Works on the raw TOML data so that it runs even when fields have errors: one
    typo must not hide the rest.
    """

    def tables(name: str) -> list[tuple[int, Mapping[str, Any]]]:
        value = data.get(name, [])
        return (
            [(i, t) for i, t in enumerate(value) if isinstance(t, Mapping)]
            if isinstance(value, list)
            else []
        )

    def text(table: Mapping[str, Any], key: str) -> str | None:
        value = table.get(key)
        return value.strip() if isinstance(value, str) else None

    units, people, mailboxes = tables("units"), tables("people"), tables("mailboxes")
    problems: list[ConfigProblem] = []
    _duplicates(problems, "units", [(i, text(u, "name")) for i, u in units], "name")
    _duplicates(
        problems,
        "people",
        [(i, (text(p, "address") or "").lower() or None) for i, p in people],
        "address",
    )
    _duplicates(
        problems,
        "mailboxes",
        [(i, (text(m, "address") or "").lower() or None) for i, m in mailboxes],
        "address",
    )
    known = {name for _, u in units if (name := text(u, "name"))}
    for table, rows in (("units", units), ("people", people), ("mailboxes", mailboxes)):
        key = "parent" if table == "units" else "unit"
        for i, row in rows:
            name = text(row, key)
            if name is not None and name not in known:
                problems.append(_unknown_unit(f"{table}[{i}].{key}", name, known))
    for i, mailbox in mailboxes:
        if mailbox.get("kind") == "function" and not mailbox.get("owners"):
            problems.append(
                ConfigProblem(
                    f"mailboxes[{i}].owners",
                    "en funktionsbrevlåda måste ha minst en ansvarig (owners) som öppnar den "
                    "varje arbetsdag",
                )
            )
    addresses = {a.lower() for _, p in people if (a := text(p, "address"))}
    for i, person in people:
        delegates = person.get("standing_delegates")
        for j, delegate in enumerate(delegates if isinstance(delegates, list) else []):
            if not isinstance(delegate, str) or delegate.strip().lower() in addresses:
                continue
            if delegate.strip().lower() == (text(person, "address") or "").lower():
                message = "ingen kan vara sitt eget stående ombud"
            else:
                message = (
                    f"{delegate!r} finns inte bland [[people]]: ett stående ombud måste vara "
                    "en person i konfigurationen"
                )
            problems.append(ConfigProblem(f"people[{i}].standing_delegates[{j}]", message))
    parents = {text(u, "name"): text(u, "parent") for _, u in units}
    for i, unit in units:
        seen = {text(unit, "name")}
        current = text(unit, "parent")
        while current is not None and current in parents:
            if current in seen:
                problems.append(
                    ConfigProblem(
                        f"units[{i}].parent",
                        f"enheten {text(unit, 'name')!r} ligger under sig själv (cirkel)",
                    )
                )
                break
            seen.add(current)
            current = parents[current]
    return problems


def _duplicates(
    problems: list[ConfigProblem], table: str, values: list[tuple[int, str | None]], key: str
) -> None:
    seen: dict[str, int] = {}
    for i, value in values:
        if value is None:
            continue
        if value in seen:
            problems.append(
                ConfigProblem(
                    f"{table}[{i}].{key}", f"{value!r} finns redan i {table}[{seen[value]}]"
                )
            )
        else:
            seen[value] = i


def _unknown_unit(key: str, name: str, known: set[str]) -> ConfigProblem:
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    suggestion = f" — menade du {hint[0]!r}?" if hint else ""
    listed = ", ".join(sorted(known)) or "(inga enheter är angivna under [[units]])"
    return ConfigProblem(key, f"okänd enhet {name!r}{suggestion} Kända enheter: {listed}")


# ------------------------------------------------------------------------------ loading

_MESSAGES = {
    "missing": "saknas men måste anges",
    "string_type": "ska vara en text inom citattecken",
    "int_type": "ska vara ett heltal",
    "int_parsing": "ska vara ett heltal",
    "float_type": "ska vara ett tal",
    "float_parsing": "ska vara ett tal",
    "bool_type": "ska vara true eller false",
    "bool_parsing": "ska vara true eller false",
    "date_type": "ska vara ett datum, t.ex. 2026-12-24",
    "date_from_datetime_parsing": "ska vara ett datum, t.ex. 2026-12-24",
    "date_parsing": "ska vara ett datum, t.ex. 2026-12-24",
    "tuple_type": 'ska vara en lista, t.ex. ["a", "b"]',
    "list_type": 'ska vara en lista, t.ex. ["a", "b"]',
    "model_type": "ska vara en tabell",
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


def _problems_from(exc: ValidationError) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        key = _key(loc)
        kind = error["type"]
        ctx = error.get("ctx") or {}
        original = ctx.get("error")
        if kind == "extra_forbidden":
            allowed = _fields_at(Config, loc)
            hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            suggestion = f" — menade du {hint[0]!r}?" if hint else ""
            message = f"okänd nyckel (stavfel?){suggestion} Tillåtna här: {', '.join(allowed)}"
        elif kind == "literal_error":
            allowed = str(ctx.get("expected", "")).replace(" or ", " eller ")
            message = f"ogiltigt värde {error.get('input')!r}; tillåtna: {allowed}"
        elif kind == "value_error" and original is not None:
            message = str(original)
        elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            bound = next(iter(ctx.values()), "")
            word = {
                "greater_than_equal": "minst",
                "less_than_equal": "högst",
                "greater_than": "större än",
                "less_than": "mindre än",
            }[kind]
            message = f"ska vara {word} {bound} (var {error.get('input')!r})"
        else:
            message = _MESSAGES.get(kind, error["msg"])
        problems.append(ConfigProblem(key, message))
    return problems


def parse_config(data: Mapping[str, Any], *, base_dir: Path, source: str | None = None) -> Config:
    """Validate already-parsed TOML data; relative paths are taken from ``base_dir``."""
    references = _reference_problems(data)
    try:
        config = Config.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc) + references, source=source) from None
    if references:
        raise ConfigError(references, source=source)
    return config


def load_config(path: Path | str) -> Config:
    """Read and validate the TOML file at ``path``."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"Konfigurationsfilen {path} finns inte. Ange rätt fil med --config eller "
            "POSTVAKT_CONFIG, eller kör 'postvakt demo' för att se ett exempel."
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} är inte UTF-8 ({exc}); spara filen som UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"Kan inte läsa {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [ConfigProblem("", f"TOML-syntaxfel: {exc}. Rätta raden och försök igen.")],
            source=str(path),
        ) from None
    return parse_config(data, base_dir=path.resolve().parent, source=str(path))


def check_environment(
    config: Config, environ: Mapping[str, str] | None = None
) -> list[ConfigProblem]:
    """Secrets the config names that the environment does not hold.

    Only the variable's *name* is ever reported, never a value.
    """
    environ = os.environ if environ is None else environ
    needed: list[tuple[str, str]] = []
    if config.database.password_env:
        needed.append(("database.password_env", config.database.password_env))
    if config.smtp and config.smtp.password_env:
        needed.append(("smtp.password_env", config.smtp.password_env))
    if config.web.session_secret_env:
        needed.append(("web.session_secret_env", config.web.session_secret_env))
    if config.web.oidc:
        needed.append(("web.oidc.client_secret_env", config.web.oidc.client_secret_env))
    for i, mailbox in enumerate(config.mailboxes):
        settings = mailbox.settings
        for attr in ("password_env", "client_secret_env"):
            name = getattr(settings, attr, None)
            if name:
                needed.append((f"mailboxes[{i}].{mailbox.connector}.{attr}", name))
    return [
        ConfigProblem(key, f"miljövariabeln {name} är inte satt; sätt den innan Postvakt startas")
        for key, name in needed
        if not environ.get(name)
    ]
