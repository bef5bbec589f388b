"""The organisation's own tables: who it is, its units and people, its deadlines, rules,
database, templates, classifier and service loop."""

from __future__ import annotations

import re
import string
from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from postvakt.config.fields import EmailAddress, EnvName, HostName, Strict
from postvakt.rules.policy import PRESETS, parse_duration

__all__ = [
    "ClassifierConfig",
    "DatabaseConfig",
    "DeadlinesConfig",
    "OrganisationConfig",
    "PersonConfig",
    "RulesConfig",
    "ServiceConfig",
    "TemplatesConfig",
    "UnitConfig",
    "check_number_format",
]


def check_number_format(value: str) -> str:
    """A number format with only the fields {prefix}, {year} and {seq} (ValueError in Swedish)."""
    allowed = "tillåtna fält är {prefix}, {year} och {seq}, t.ex. {seq:04d}"
    try:
        # Attribute or index access ({prefix.__class__}, {year[0]}) would format Python
        # internals into every number: only the three plain names are fields.
        names = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        sample = value.format(prefix="KS", year=2026, seq=17)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        raise ValueError(f"{value!r} är inget giltigt format; {allowed}") from None
    unknown = [n for n in names if n not in ("prefix", "year", "seq")]
    if unknown:
        raise ValueError(f"okänt fält {{{unknown[0]}}} i {value!r}; {allowed}")
    if "{seq" not in value or "{year" not in value:
        raise ValueError("formatet måste innehålla {year} och {seq}")
    if not sample.strip():
        raise ValueError("formatet ger ett tomt nummer")
    return value


class OrganisationConfig(Strict):
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
    web_form_fields: tuple[str, ...] = Field(
        ("Verksamhet", "Område", "Service"),
        description="The web form's fields that name the service area (first found wins), "
        "e.g. 'Verksamhet: Förskola': the case gets that area and goes to the unit that has it "
        "(see units.areas).",
    )
    policy: str = Field("orebro", description="Service-rule preset: orebro, linkoping or timra.")
    registrar: EmailAddress | None = Field(None, description="The registrar's mailbox.")
    compilation_to: EmailAddress | None = Field(
        None,
        description="Where the yearly compilation of complaints and opinions is sent "
        "('postvakt report annual --send'), e.g. the department that analyses it; its owner, "
        "reminded weekly from [rules] compilation_reminder until it is sent (default: the "
        "registrar).",
    )
    registrar_notice: Literal["each", "daily", "none"] = Field(
        "each",
        description="How the registrar hears of new cases: a message per case, one digest a "
        "day, or not at all.",
    )
    care_deviation: EmailAddress | None = Field(
        None,
        description="The deviation (quality) function's mailbox: a complaint or opinion about "
        "an individual's own care gets there with its case card and original message, to be "
        "registered in the care system's deviation module (avvikelsemodul).",
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
        return check_number_format(value)

    @field_validator("web_form_fields")
    @classmethod
    def _form_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(v.strip().rstrip(":").strip() for v in value)
        for name in cleaned:
            if not name or ":" in name or "\n" in name:
                raise ValueError(
                    f"{name!r} är inget fältnamn; skriv namnet som formuläret visar det, "
                    't.ex. "Verksamhet"'
                )
        return cleaned

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


_LONGEST = {"days": 366, "working_days": 260}
"""The longest deadline that makes sense (a year); longer ones are typos."""


class DeadlinesConfig(Strict):
    """Overrides of the policy preset, e.g. ``reply = "5 arbetsdagar"``, ``complaint_ack = "7 dagar"``."""

    reply: str | None = None
    complaint_ack: str | None = None
    complaint_answer: str | None = None
    callback: str | None = None
    compilation_date: str | None = Field(
        None, description="The yearly compilation's deadline as MM-DD, e.g. '02-15'."
    )
    ack_counts_as_answer: bool | None = Field(
        None,
        description="A sent acknowledgement that says when the answer comes fulfils the duty "
        "to reply (Örebro): the reply clock stops at it and a new one runs to the date it "
        "promises. Default: the policy's (true under orebro).",
    )
    promised_answer: str | None = Field(
        None,
        description="With ack_counts_as_answer: how long after receipt the acknowledgement "
        "promises the final answer, e.g. '10 arbetsdagar' (orebro's default). The date the sent "
        "letter names wins, so a handler may change it in the draft.",
    )

    @field_validator("reply", "complaint_ack", "complaint_answer", "callback", "promised_answer")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            duration = parse_duration(value)  # raises ValueError with a Swedish message
            # A deadline of 0 days is due before anyone reads the mail; one of years would
            # overflow the date arithmetic for every message.
            if not 1 <= duration.amount <= _LONGEST[duration.unit]:
                raise ValueError(
                    f"{value!r}: ange en tidsfrist mellan 1 och {_LONGEST[duration.unit]} "
                    f"{'arbetsdagar' if duration.unit == 'working_days' else 'dagar'}"
                )
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


class DatabaseConfig(Strict):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: SQLite file postvakt.db next to the config file. "
        "Relative SQLite paths are relative to the config file.",
    )
    password_env: EnvName | None = Field(
        None, description="Environment variable with the database password, if the URL has none."
    )
    busy_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="How long SQLite waits for another process's lock."
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        example = (
            "skriv t.ex. sqlite:///postvakt.db eller postgresql+psycopg://postvakt@db/postvakt"
        )
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(f"{value!r} är ingen databasadress; {example}") from None
        backend = url.get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                f"Postvakt använder SQLite eller PostgreSQL, inte {backend!r}; {example}"
            )
        if url.password is not None:
            # The value is not repeated: it holds the password.
            raise ValueError(
                "adressen innehåller ett lösenord; lösenord står aldrig i filen: ta bort det ur "
                "url och ange miljövariabeln som håller det med database.password_env"
            )
        return value


class UnitConfig(Strict):
    name: str = Field(min_length=1)
    head: EmailAddress = Field(description="The unit head's address (enhetschef).")
    parent: str | None = Field(None, description="The name of the unit above, if any.")
    areas: tuple[str, ...] = Field(
        (),
        description="The service areas the unit answers for, e.g. ['skola', 'förskola']: a "
        "case of that area that arrives in a central mailbox (a function mailbox of a unit "
        "without it, such as Kontaktcenter) goes to this unit, and the compilation groups by "
        "area. An area belongs to one unit.",
    )

    @field_validator("areas")
    @classmethod
    def _areas(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(" ".join(v.split()).lower() for v in value)
        for area in cleaned:
            if not area or len(area) > 60:
                raise ValueError(
                    f'{area!r}: ett verksamhetsområde är ett namn på 1–60 tecken, t.ex. "skola"'
                )
        return tuple(dict.fromkeys(cleaned))


class PersonConfig(Strict):
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


class TemplatesConfig(Strict):
    folder: Path | None = Field(
        None,
        description="Folder with the organisation's own .docx letters; relative to the config.",
    )
    letters_folder: Path = Field(
        Path("brev"),
        description="Where letters are saved that cannot be drafted in a mailbox (cases registered "
        "by hand without an e-mail address); relative to the config.",
    )


class ClassifierConfig(Strict):
    """The complaint / opinion / other model (see ``postvakt.classifier.model``)."""

    review_band: tuple[float, float] = Field(
        (0.0, 0.55),
        description="A verdict whose confidence lies in [low, high) is registered as a case for a "
        "person to confirm ('behöver granskas') instead of being dropped or silently registered. "
        "[0.0, 0.0] turns review off.",
    )
    review_non_cases_from: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="A message that was not made a case is still shown in the review queue "
        "(Granska, 'cases review') when the model gave it at least this probability of being a "
        "complaint or an opinion. 1.0 shows none (only those a person flagged).",
    )
    care_threshold: float = Field(
        0.25,  # postvakt.classifier.verdict.CARE_THRESHOLD (not imported: config comes first)
        gt=0.0,
        lt=1.0,
        description="A complaint or opinion whose probability of concerning someone's own care "
        "(elderly care, home care, LSS, medication, a fall) is at least this is flagged and goes "
        "to the deviation function. The default, 0.25, counts a missed care complaint (a lex "
        "Sarah or lex Maria report nobody considered) as three needless routings; raise it for "
        "fewer needless routings and more misses. The care head's probabilities are calibrated.",
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
    retrain: bool = Field(
        True,
        description="Retrain every working night with the corrections people made (confirm, "
        "change kind, withdraw, register, merge) and take the new model into use only when it "
        "is no worse than the one in use (see postvakt.classifier.retrain).",
    )
    retrain_time: time = Field(
        time(2, 30),
        description="When the nightly retraining runs (working days; the service must be running).",
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


class RulesConfig(Strict):
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
        "01-15",
        description="MM-DD: from this day the compilation's owner ([organisation] "
        "compilation_to, else the registrar) is reminded weekly until it is sent, and each "
        "unit head once.",
    )
    daily_open_personal: bool | None = Field(
        None,
        description="Check personal mailboxes every working day too (the person is told, "
        "the unit head from the second working day in a row); a mailbox's own "
        "check_daily_open wins. Default: the policy's (true under orebro).",
    )
    head_digest: bool = Field(
        True,
        description="Each unit head gets one mail a working day listing the complaints and "
        "opinions registered in their unit since the last one, with links to the case pages "
        "([web] base_url) and the deadlines running; false turns it off.",
    )
    head_digest_time: time = Field(
        time(9, 0), description="When the unit heads' daily mail of new cases goes out."
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
            *((("head_digest_time", self.head_digest_time),) if self.head_digest else ()),
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
            raise ValueError(f"{value!r}: ange datumet som MM-DD, t.ex. 01-15")
        try:
            date(2024, int(match[1]), int(match[2]))
        except ValueError:
            raise ValueError(f"{value!r} är inget datum; ange MM-DD, t.ex. 01-15") from None
        return value


class ServiceConfig(Strict):
    poll_interval_seconds: int = Field(
        60, ge=5, le=3600, description="How often mailboxes are read."
    )
    lease_seconds: int = Field(
        300,
        ge=30,
        le=3600,
        description="How long a process keeps a mailbox to itself without renewing (it "
        "renews every half of it while it works); another process may take over a mailbox "
        "whose holder died once this has passed.",
    )
    pool_size: int = Field(
        16,
        ge=1,
        le=256,
        description="Mailboxes read at the same time per mail server (IMAP host and port, EWS "
        "endpoint, Graph tenant; all Maildirs count as one): at most this many connections "
        "to one server log in or work at once.",
    )
    batch_size: int = Field(
        100,
        ge=1,
        le=1000,
        description="Messages committed together in one transaction (group commit); a "
        "message that fails rolls back alone. 1 commits every message on its own.",
    )
    prepare_processes: int = Field(
        1,
        ge=0,
        le=8,
        description="Helper processes that parse and classify the next batch while this "
        "process writes the one before (a pass with more than one batch); each holds a copy "
        "of the model. 0: everything in this process.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        "text",
        description="'text': one readable line per record; 'json': one JSON object per line "
        "(for a log collector), masked the same way.",
    )
    metrics_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="Serve Prometheus metrics from 'postvakt run' on this port (/metrics); "
        "off when not set.",
    )
    metrics_host: HostName = Field(
        "127.0.0.1", description="Address the metrics port listens on; loopback by default."
    )
    logins_per_second: float = Field(
        20.0,
        gt=0,
        le=1000,
        description="How many IDLE connections are opened per second at most, at start and "
        "after failures, spread at random, so logins never storm the mail server.",
    )
